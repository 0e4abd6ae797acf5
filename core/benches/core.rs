//! Core hot paths: JSON formatting, native JSON decoding, frame splitting.
//!
//! Run: `cargo bench -p tributary-core --bench core`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tributary_core::frame::{StreamDecoder, encode_record};
use tributary_core::json::decode_json_into;
use tributary_core::{Formatter, JsonFormatter, JsonProfile, Record, decode_json};

mod common;
use common::typical;

fn json(c: &mut Criterion) {
    let record = typical();
    let mut out = Vec::with_capacity(512);
    let mut g = c.benchmark_group("json_format");
    for profile in [
        JsonProfile::Native,
        JsonProfile::Ecs,
        JsonProfile::Otel,
        JsonProfile::Tracing,
    ] {
        let f = JsonFormatter::new(profile);
        out.clear();
        f.format(&record, &mut out);
        g.throughput(Throughput::Bytes(out.len() as u64));
        g.bench_function(profile.name(), |b| {
            b.iter(|| {
                out.clear();
                f.format(black_box(&record), &mut out);
                black_box(out.len())
            })
        });
    }
    g.finish();

    let mut line = Vec::new();
    JsonFormatter::native().format(&record, &mut line);
    let mut g = c.benchmark_group("json_decode");
    g.throughput(Throughput::Bytes(line.len() as u64));
    g.bench_function("native", |b| {
        b.iter(|| decode_json(black_box(&line)).map(|r| r.seq))
    });
    // A foreign producer's record (keys alphabetical, as `serde_json::json!`
    // writes them), decoded into one reused record as the listener does.
    let foreign = common::FOREIGN.as_bytes();
    g.throughput(Throughput::Bytes(foreign.len() as u64));
    let mut reused = Record::empty();
    g.bench_function("foreign", |b| {
        b.iter(|| decode_json_into(black_box(foreign), &mut reused).map(|()| reused.seq))
    });
    g.throughput(Throughput::Bytes(line.len() as u64));
    g.bench_function("native_reused", |b| {
        b.iter(|| decode_json_into(black_box(&line), &mut reused).map(|()| reused.seq))
    });
    g.finish();
}

fn frames(c: &mut Criterion) {
    let record = typical();
    let f = JsonFormatter::native();
    let mut wire = Vec::new();
    for _ in 0..1000 {
        encode_record(&record, &f, &mut wire).expect("frame fits");
    }
    let mut g = c.benchmark_group("frames");
    g.throughput(Throughput::Elements(1000));
    g.bench_function("split_1000_in_4k_chunks", |b| {
        b.iter(|| {
            let mut d = StreamDecoder::new(1 << 20);
            let mut n = 0;
            for chunk in wire.chunks(4096) {
                d.push(chunk);
                while let Ok(Some(p)) = d.next_payload() {
                    n += p.len();
                }
            }
            black_box(n)
        })
    });
    g.bench_function("split_and_decode_1000", |b| {
        b.iter(|| {
            let mut d = StreamDecoder::new(1 << 20);
            let mut n = 0;
            d.push(&wire);
            while let Ok(Some(p)) = d.next_payload() {
                n += decode_json(p).map(|r| r.msg.len()).unwrap_or(0);
            }
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(benches, json, frames);
criterion_main!(benches);
