//! Core micro-benchmarks (filled below).
fn main() {}
