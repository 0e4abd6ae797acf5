//! `xtask limit`: the ceiling for any system in the bench. The lines
//! (native JSON, the scenario 1 output shape) are formatted before the clock
//! starts; timed is only writing them to the file, one `write` per 64 KiB.

use crate::procstat::{self_usage, wall_ns};
use crate::report::{ProducerReport, Report, WriterReport};
use crate::shape;
use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `xtask limit`.
#[derive(Debug, clap::Args)]
pub struct LimitArgs {
    /// Producers whose records to lay out (records are numbered per producer).
    #[arg(long, default_value_t = 1)]
    pub producers: usize,
    /// Records per producer.
    #[arg(long, value_parser = crate::units::parse_count)]
    pub records: u64,
    /// Output file.
    #[arg(long)]
    pub out: PathBuf,
    /// Bytes per `write` call.
    #[arg(long, value_parser = crate::units::parse_size, default_value = "64KiB")]
    pub chunk: u64,
}

/// Formats every line, then writes them and prints the reports.
pub fn limit(args: &LimitArgs) -> anyhow::Result<()> {
    let json = tributary_core::JsonFormatter::native();
    let mut lines = Vec::new();
    for seq in 0..args.records {
        for id in 0..args.producers {
            let mut r = shape::record(id, seq);
            r.pid = Some(std::process::id());
            r.seq = Some(seq);
            tributary_core::Formatter::format(&json, &r, &mut lines);
            lines.push(b'\n');
        }
    }
    let mut file = std::fs::File::create(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let cpu0 = self_usage().cpu_ns;
    let first = wall_ns();
    for chunk in lines.chunks(usize::try_from(args.chunk.max(1)).unwrap_or(usize::MAX)) {
        file.write_all(chunk).context("cannot write the output")?;
    }
    let done = wall_ns();
    let usage = self_usage();
    let peak = usage.maxrss_kib;
    let cpu = usage.cpu_ns - cpu0;
    Report::Producer(ProducerReport {
        id: 0,
        records: args.records * args.producers as u64,
        first_emit_ns: first,
        last_emit_ns: done,
        cpu_ns: 0, // one process: its CPU is the writer's

        maxrss_kib: peak,
        p50_ns: 0,
        p99_ns: 0,
    })
    .print();
    Report::Writer(WriterReport {
        cpu_ns: cpu,
        maxrss_kib: peak,
        done_ns: done,
    })
    .print();
    Ok(())
}
