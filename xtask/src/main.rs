//! Developer tasks for the Tributary workspace.
fn main() {}
