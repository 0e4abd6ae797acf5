//! Compresses 16 MiB of log lines shaped like the bench's (native JSON with
//! a varying sequence number and time, 4 producers interleaved) at one gzip
//! level, as the compression worker does, and prints the ratio; run under
//! a profiler to count the cost of a level without the machine's load:
//!
//! ```sh
//! cargo build --release -p tributary-rotation --example gzip_levels
//! for level in gen 1 3 6; do valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/gzip_levels $level 2>&1 | grep -E 'refs|ratio'; done
//! ```
//!
//! (instructions at a level − instructions at `gen`) ÷ 16 = instructions
//! per MiB of log.

use std::io::Write;

const TOTAL: usize = 16 << 20;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = std::env::args().nth(1).unwrap_or_else(|| "6".to_owned());
    let mut lines = Vec::with_capacity(TOTAL + 512);
    let mut seq = 0u64;
    let mut micros = 1_765_000_000_000_000u64;
    while lines.len() < TOTAL {
        let p = seq % 4;
        micros += 3 + seq % 17;
        let (secs, frac) = (micros / 1_000_000, micros % 1_000_000);
        let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
        writeln!(
            lines,
            r#"{{"ts":"2025-12-06T{h:02}:{m:02}:{s:02}.{frac:06}Z","level":"INFO","levelno":20,"logger":"bench.p{p}","msg":"p{p} #{seq:06} GET /api/v1/items?page=3 status=200 bytes=5120 user=ann","host":"bench-host","pid":{pid},"seq":{seq},"fields":{{"user":"ann","bytes":{seq},"ok":true}}}}"#,
            pid = 41_000 + p,
        )?;
        seq += 1;
    }
    if arg == "gen" {
        std::hint::black_box(&lines);
        return Ok(());
    }
    let level: u32 = arg.parse()?;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    for chunk in lines.chunks(128 * 1024) {
        enc.write_all(chunk)?;
    }
    let out = enc.finish()?;
    println!(
        "level {level}: ratio {:.2} ({} → {} bytes)",
        lines.len() as f64 / out.len() as f64,
        lines.len(),
        out.len()
    );
    Ok(())
}
