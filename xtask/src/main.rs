//! Developer tasks for the Tributary workspace.
//!
//! `cargo xtask bench [--quick] [--filter NAME] [--json FILE] [--compare FILE] [--plot FILE.svg]`
//! measures Tributary side by side with what users would use instead; see
//! the "Benchmarks" section of the README for what the figures mean.
//!
//! The other subcommands are the bench's own processes: `produce` (one Rust
//! producer), `inproc` (an in-process logging system) and `limit` (the
//! write ceiling).

mod bench;
mod child;
mod filter;
mod histogram;
mod inproc;
mod limit;
mod micro;
mod oracle;
mod plan;
mod plot;
mod procstat;
mod producer;
mod read_bench;
mod receivers;
mod report;
mod results;
mod run;
mod scale_bench;
mod scrape;
mod shape;
mod table;
mod units;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Developer tasks for the Tributary workspace.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about)]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Benchmarks: criterion micro-benchmarks and end-to-end scenarios
    /// against the alternatives, with an oracle checking every record.
    Bench(bench::BenchArgs),
    /// (bench internal) One Rust producer process.
    #[command(hide = true)]
    Produce(producer::ProduceArgs),
    /// (bench internal) An in-process logging system.
    #[command(hide = true)]
    Inproc(inproc::InprocArgs),
    /// (bench internal) Pre-formatted lines written 64 KiB at a time.
    #[command(hide = true)]
    Limit(limit::LimitArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Task::Bench(args) => bench::bench(args),
        Task::Produce(args) => producer::produce(args),
        Task::Inproc(args) => inproc::inproc(args),
        Task::Limit(args) => limit::limit(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
