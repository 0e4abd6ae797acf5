//! Decoding a pickled LogRecord as Python's SocketHandler sends it.
//!
//! Run: `cargo bench -p tributary-core --bench pickle`.
//!
//! The payload is in `common/pickled.rs`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tributary_core::pickle::{decode_record, decode_value};

#[path = "common/pickled.rs"]
mod pickled;
use pickled::RECORD;

fn pickle(c: &mut Criterion) {
    let mut g = c.benchmark_group("pickle");
    g.throughput(Throughput::Bytes(RECORD.len() as u64));
    // The listener's path: payload → Record. Target: ≤ 1.5 µs.
    g.bench_function("decode_record", |b| {
        b.iter(|| decode_record(black_box(RECORD), false))
    });
    g.bench_function("decode_value", |b| {
        b.iter(|| decode_value(black_box(RECORD), false))
    });
    g.finish();
}

criterion_group!(benches, pickle);
criterion_main!(benches);
