//! `tracing::info!` with 3 fields through the Tributary layer vs.
//! `tracing-subscriber`'s JSON layer over `tracing_appender::non_blocking`
//! (blocking mode, `lossy(false)`), both writing JSON lines to a file.
//!
//! Run: `cargo bench -p tributary-handlers --bench tracing_layer`
//! (`-- --quick` for a short run). Besides criterion's figures it prints
//! per-event p50/p99 on the calling thread; `-- percentiles_only` (a name
//! no criterion benchmark has) prints just those.
#![allow(clippy::unwrap_used, missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};
use tracing::Dispatch;
use tracing_subscriber::prelude::*;
use tributary_handlers::{FileHandler, QueueListener, TributaryLayer};

trait Guard: Send {}
impl<T: Send> Guard for T {}

fn tributary(path: &Path) -> (Dispatch, Box<dyn Guard>) {
    let listener = QueueListener::builder()
        .handler(FileHandler::append(path).unwrap())
        .start()
        .unwrap();
    let layer = TributaryLayer::new(listener.queue_handler()).with_max_level(tracing::Level::INFO);
    (
        Dispatch::new(tracing_subscriber::registry().with(layer)),
        Box::new(listener),
    )
}

fn baseline(path: &Path) -> (Dispatch, Box<dyn Guard>) {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(file);
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .with_writer(writer)
        .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
    (
        Dispatch::new(tracing_subscriber::registry().with(layer)),
        Box::new(guard),
    )
}

type Setup = fn(&Path) -> (Dispatch, Box<dyn Guard>);
const SETUPS: [(&str, Setup); 2] = [
    ("tributary", tributary),
    ("tracing-subscriber+appender", baseline),
];

#[inline(always)]
fn event(i: u64) {
    tracing::info!(user = "ann", attempt = i, ratio = 0.25, "request handled");
}

/// Runs `per_thread` events on each of `threads` threads with `dispatch`;
/// returns the mean per-thread wall time.
fn run_threads(dispatch: &Dispatch, threads: usize, per_thread: u64) -> Duration {
    let times: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let d = dispatch.clone();
                s.spawn(move || {
                    tracing::dispatcher::with_default(&d, || {
                        let t0 = Instant::now();
                        for i in 0..per_thread {
                            event(black_box(i));
                        }
                        t0.elapsed()
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    times.iter().sum::<Duration>() / threads as u32
}

fn caller_cost(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    for threads in [1, 4] {
        let mut group = c.benchmark_group(format!("caller_cost_{threads}_threads"));
        group.throughput(Throughput::Elements(1));
        for (name, setup) in SETUPS {
            let path = dir.path().join(format!("{name}-{threads}.log"));
            let (dispatch, guard) = setup(&path);
            group.bench_function(name, |b| {
                b.iter_custom(|iters| run_threads(&dispatch, threads, iters))
            });
            drop(guard);
            let _ = std::fs::remove_file(&path);
        }
        group.finish();
    }
}

fn end_to_end(c: &mut Criterion) {
    const EVENTS: u64 = 200_000;
    let dir = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("end_to_end_4_threads");
    group.throughput(Throughput::Elements(EVENTS));
    group.sample_size(10);
    for (name, setup) in SETUPS {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let path = dir.path().join(format!("{name}-e2e.log"));
                    let (dispatch, guard) = setup(&path);
                    let t0 = Instant::now();
                    run_threads(&dispatch, 4, EVENTS / 4);
                    drop(dispatch);
                    drop(guard); // drains and flushes: the file is complete
                    total += t0.elapsed();
                    let _ = std::fs::remove_file(&path);
                }
                total
            })
        });
    }
    group.finish();
}

/// Times `per_thread` single events on each of `threads` threads, one by
/// one; returns (p50, p99) in nanoseconds.
fn one_round(path: &Path, setup: Setup, threads: usize, per_thread: u64) -> (u64, u64) {
    let (dispatch, guard) = setup(path);
    let mut all: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let d = dispatch.clone();
                s.spawn(move || {
                    tracing::dispatcher::with_default(&d, || {
                        (0..per_thread)
                            .map(|i| {
                                let t0 = Instant::now();
                                event(black_box(i));
                                t0.elapsed().as_nanos() as u64
                            })
                            .collect::<Vec<_>>()
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    drop(dispatch);
    drop(guard);
    let _ = std::fs::remove_file(path);
    all.sort_unstable();
    let p = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    (p(0.50), p(0.99))
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

/// p50/p99 of single events on the calling thread. The two sides take
/// turns, round after round, so a change in the machine's load hits both
/// alike; the medians over the rounds are printed, with the ratio.
fn percentiles(_: &mut Criterion) {
    const ROUNDS: usize = 11;
    const EVENTS: u64 = 50_000;
    let dir = tempfile::tempdir().unwrap();
    for threads in [1usize, 4] {
        let mut rounds: Vec<Vec<(u64, u64)>> = vec![Vec::new(); SETUPS.len()];
        for _ in 0..ROUNDS {
            for (at, (name, setup)) in SETUPS.iter().enumerate() {
                let path = dir.path().join(format!("{name}-pct.log"));
                rounds[at].push(one_round(&path, *setup, threads, EVENTS / threads as u64));
            }
        }
        let summary: Vec<(u64, u64)> = rounds
            .iter()
            .map(|r| {
                (
                    median(r.iter().map(|x| x.0).collect()),
                    median(r.iter().map(|x| x.1).collect()),
                )
            })
            .collect();
        for ((name, _), (p50, p99)) in SETUPS.iter().zip(&summary) {
            println!(
                "percentiles {threads} thread(s) {name}: p50 {p50} ns, p99 {p99} ns (median of {ROUNDS} rounds)"
            );
        }
        let (t, b) = (summary[0], summary[1]);
        println!(
            "percentiles {threads} thread(s) tributary/baseline: p50 {:.0}%, p99 {:.0}%",
            100.0 * t.0 as f64 / b.0 as f64,
            100.0 * t.1 as f64 / b.1 as f64
        );
    }
}

criterion_group!(benches, caller_cost, end_to_end, percentiles);
criterion_main!(benches);
