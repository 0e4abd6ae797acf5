//! Peak memory and rate under sustained overload: 64 connections send
//! native frames as fast as the listener (the release `tributary` binary)
//! takes them. Prints the listener's peak RSS (VmHWM) and records/s.
//!
//! ```text
//! cargo bench -p tributary-listener --bench overload [-- CONNECTIONS RECORDS_EACH]
//! ```

#[path = "../tests/common/overload.rs"]
mod overload;

fn main() {
    // `cargo bench` passes `--bench`; numbers are the optional arguments.
    let numbers: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let connections = numbers.first().copied().unwrap_or(64) as usize;
    let each = numbers.get(1).copied().unwrap_or(20_000);
    let Ok(dir) = tempfile::tempdir() else {
        eprintln!("overload: cannot create a temporary directory");
        std::process::exit(1);
    };
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_tributary"));
    let run = overload::run(bin, dir.path(), connections, each);
    println!(
        "overload: {connections} connections, {} records ({:.1} MiB) in {:.2}s: {:.0} records/s; listener peak RSS {:.1} MiB",
        run.records,
        run.offered_bytes as f64 / (1 << 20) as f64,
        run.seconds,
        run.records as f64 / run.seconds,
        run.peak_rss_kib as f64 / 1024.0
    );
}
