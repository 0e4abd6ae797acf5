//! Latency of single writes: steady state (no rotation) against rotation
//! every 1 MiB with gzip compressing in the background.
//!
//! `cargo bench -p tributary-rotation --all-features --bench latency`
//! (`ROTATION_LATENCY_LINES` sets the number of writes, default 2,000,000).

#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Instant;

use tributary_rotation::{Compression, Naming, RotatingFile};

#[path = "common/mod.rs"]
mod common;

const MAX_BYTES: u64 = 1 << 20;

struct Run {
    all: Vec<u64>,
    rotating: Vec<u64>,
}

fn run(lines: &[Vec<u8>], total: usize, rotate: bool) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let naming = match std::env::var("ROTATION_LATENCY_NAMING").as_deref() {
        Ok("index") => Naming::Index,
        Ok("timestamp") => Naming::Timestamp,
        _ => Naming::Python,
    };
    let mut b = RotatingFile::builder(dir.path().join("app.log"))
        .backup_count(5)
        .naming(naming);
    if rotate {
        b = b.max_bytes(MAX_BYTES).compression(Compression::gzip());
    }
    let mut f = b.open().unwrap();
    let mut all = Vec::with_capacity(total);
    let mut rotating = Vec::new();
    let mut in_file = 0u64;
    for i in 0..total {
        let l = &lines[i % lines.len()];
        // The same rule as the size policy, to tell which writes rotate.
        let rotates = rotate && in_file > 0 && in_file + l.len() as u64 > MAX_BYTES;
        let t = Instant::now();
        f.write_record(l).unwrap();
        let ns = t.elapsed().as_nanos() as u64;
        if rotates {
            in_file = 0;
            rotating.push(ns);
        } else {
            all.push(ns);
        }
        in_file += l.len() as u64;
    }
    f.close().unwrap();
    all.sort_unstable();
    rotating.sort_unstable();
    Run { all, rotating }
}

fn pct(v: &[u64], p: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // useful either way, so only run the short version under test.
    let quick = !std::env::args().any(|a| a == "--bench");
    let total: usize = std::env::var("ROTATION_LATENCY_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 20_000 } else { 2_000_000 });
    let lines = common::lines(10_000);
    // Warm the page cache and allocator.
    let _ = run(&lines, total / 10, true);
    let steady = run(&lines, total, false);
    let rot = run(&lines, total, true);
    println!("single-write latency, {total} writes of ~110 B (ns)");
    println!(
        "{:<36}{:>10}{:>10}{:>10}{:>10}",
        "", "p50", "p99", "p99.9", "max"
    );
    for (name, v) in [
        ("steady (no rotation)", &steady.all),
        ("1 MiB rotation + gzip, other writes", &rot.all),
    ] {
        println!(
            "{name:<36}{:>10}{:>10}{:>10}{:>10}",
            pct(v, 0.5),
            pct(v, 0.99),
            pct(v, 0.999),
            pct(v, 1.0)
        );
    }
    println!(
        "{:<36}{:>10}{:>10}{:>10}{:>10}   ({} rotations)",
        "the rotating write itself",
        pct(&rot.rotating, 0.5),
        pct(&rot.rotating, 0.99),
        pct(&rot.rotating, 0.999),
        pct(&rot.rotating, 1.0),
        rot.rotating.len()
    );
    println!(
        "p99 ratio (rotating run / steady): {:.2}",
        pct(&rot.all, 0.99) as f64 / pct(&steady.all, 0.99).max(1) as f64
    );
}
