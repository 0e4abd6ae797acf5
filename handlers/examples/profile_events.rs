//! Runs N `tracing::info!` events with 3 fields on T threads through either
//! the Tributary layer (queue + file) or `tracing-subscriber`'s JSON layer
//! over `tracing_appender::non_blocking` (`lossy(false)`), to a file.
//!
//! Made for instruction counting, which stays exact on a loaded machine:
//!
//! ```text
//! cargo build --release -p tributary-handlers --example profile_events
//! valgrind --tool=callgrind --separate-threads=yes \
//!     target/release/examples/profile_events tributary 100000 1 /tmp/p.log
//! callgrind_annotate callgrind.out.<pid>-02   # the calling thread
//! ```
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::path::Path;
use tracing::Dispatch;
use tracing_subscriber::prelude::*;
use tributary_handlers::{FileHandler, QueueListener, TributaryLayer};

fn tributary(path: &Path) -> (Dispatch, Box<dyn Send>) {
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

fn baseline(path: &Path) -> (Dispatch, Box<dyn Send>) {
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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 && !(args.len() == 6 && args[5] == "nocheck") {
        eprintln!("usage: profile_events <tributary|baseline> <events> <threads> <file> [nocheck]");
        std::process::exit(2);
    }
    let events: u64 = args[2].parse().unwrap();
    let threads: u64 = args[3].parse().unwrap();
    let path = Path::new(&args[4]);
    let _ = std::fs::remove_file(path);
    let (dispatch, guard) = match args[1].as_str() {
        "tributary" => tributary(path),
        "baseline" => baseline(path),
        other => panic!("unknown side {other}"),
    };
    let t0 = std::time::Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let d = dispatch.clone();
            s.spawn(move || {
                tracing::dispatcher::with_default(&d, || {
                    for i in 0..events / threads {
                        let i = black_box(i);
                        tracing::info!(user = "ann", attempt = i, ratio = 0.25, "request handled");
                    }
                })
            });
        }
    });
    let logged = t0.elapsed();
    drop(dispatch);
    drop(guard);
    let written = t0.elapsed();
    eprintln!(
        "{}: logged in {logged:.2?}, in the file after {written:.2?}: {:.0} events/s",
        args[1],
        events as f64 / written.as_secs_f64()
    );
    if args.len() == 6 {
        return; // profiling: skip reading the file back
    }
    let lines = std::fs::read_to_string(path).unwrap().lines().count();
    assert_eq!(
        lines as u64,
        events / threads * threads,
        "every event written"
    );
}
