//! Lines per second: a plain `BufWriter<File>` against `RotatingFile`
//! rotating every 1 MiB with gzip on.
//!
//! `cargo bench -p tributary-rotation --all-features --bench throughput`

#![allow(clippy::unwrap_used, missing_docs)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tributary_rotation::{Compression, RotatingFile};

#[path = "common/mod.rs"]
mod common;

const LINES: usize = 10_000;

fn bench(c: &mut Criterion) {
    let lines = common::lines(LINES);
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("write_10k_lines");
    g.throughput(Throughput::Elements(LINES as u64));
    g.measurement_time(Duration::from_secs(5));

    g.bench_function("bufwriter_file", |b| {
        b.iter_custom(|iters| {
            // A fresh file per sample keeps the disk footprint bounded.
            let path = dir.path().join("plain.log");
            let mut w = BufWriter::new(File::create(&path).unwrap());
            let start = Instant::now();
            for _ in 0..iters {
                for l in &lines {
                    w.write_all(l).unwrap();
                }
            }
            w.flush().unwrap();
            start.elapsed()
        })
    });

    for (name, compression) in [
        ("rotating_1mib_gzip", Compression::gzip()),
        ("rotating_1mib_plain", Compression::None),
        ("rotating_no_rotation", Compression::None),
    ] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let sub = tempfile::tempdir_in(dir.path()).unwrap();
                let mut builder = RotatingFile::builder(sub.path().join("app.log"))
                    .backup_count(3)
                    .compression(compression);
                if name != "rotating_no_rotation" {
                    builder = builder.max_bytes(1 << 20);
                }
                let mut f = builder.open().unwrap();
                let start = Instant::now();
                for _ in 0..iters {
                    for l in &lines {
                        f.write_record(l).unwrap();
                    }
                }
                f.flush().unwrap();
                let elapsed = start.elapsed();
                f.close().unwrap();
                elapsed
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
