//! s12's `tail -f` latency, write to screen: a real listener rotating
//! every 64 KiB with gzip, records sent to it at a steady rate (one write
//! each, as a producer logging now and then would), and
//! `tributary tail -n 0 -f -o json` following its file; the time from a
//! record's write to the socket to its line on the follower's stdout.
//!
//! The oracle: every record sent appears exactly once, in order.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::child::{Child, wait_for};

/// What one follow run measured.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Latency {
    /// Records sent (and, when the oracle passed, printed).
    pub records: u64,
    /// Records sent per second.
    pub rate: u64,
    /// Archives the listener made while the records were followed.
    pub rotations: u64,
    /// Median write-to-screen latency, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile, milliseconds.
    pub p99_ms: f64,
    /// Worst, milliseconds.
    pub max_ms: f64,
}

/// Messages of the records measured; probes come before them.
const MEASURED: &str = "follow #";
const PROBE: &str = "probe";

/// Follows a listener's rotating log while `records` records are sent at
/// `rate` per second, in `dir` (created; removed by the caller).
///
/// # Errors
///
/// A process that cannot start, a follower that shows nothing within 10 s,
/// or a record missing, twice or out of order (the message says which).
pub fn measure(tributary: &Path, dir: &Path, records: u64, rate: u64) -> anyhow::Result<Latency> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let log = dir.join("app.log");
    let mut listen = Command::new(tributary);
    listen
        .args(["listen", "--tcp", "127.0.0.1:0", "--format", "json"])
        .args(["--max-bytes", "64KiB", "--compress", "gzip"])
        .args(["--backup-count", "0"])
        .arg("--out")
        .arg(&log);
    let (listener, ready) = Child::spawn_ready(&mut listen, "tributary listen", dir)?;
    let result = follow(tributary, dir, &log, &ready, records, rate);
    crate::procstat::kill(listener.pid, libc::SIGTERM);
    let stopped = listener.wait();
    let latency = result?;
    stopped?;
    Ok(latency)
}

fn follow(
    tributary: &Path,
    dir: &Path,
    log: &Path,
    ready: &str,
    records: u64,
    rate: u64,
) -> anyhow::Result<Latency> {
    let addr = ready
        .strip_prefix("listening tcp ")
        .with_context(|| format!("unexpected readiness line {ready:?}"))?;
    let mut conn = TcpStream::connect(addr).with_context(|| format!("cannot connect to {addr}"))?;
    conn.set_nodelay(true)?;
    let mut send = |msg: &str| -> anyhow::Result<Instant> {
        let line = format!(
            "{{\"level\":\"INFO\",\"levelno\":20,\"logger\":\"bench.follow\",\"msg\":\"{msg}\",\"fields\":{{\"path\":\"/api/v1/items\",\"user\":\"ann\",\"status\":200}}}}\n"
        );
        let at = Instant::now();
        conn.write_all(line.as_bytes())
            .context("the listener closed the connection")?;
        Ok(at)
    };
    // The follower needs the file: the first record makes the listener
    // write it.
    send(&format!("{PROBE} 0"))?;
    wait_for(
        Duration::from_secs(10),
        "the listener to write its file",
        || std::fs::metadata(log).is_ok_and(|m| m.len() > 0),
    )?;
    let stderr = std::fs::File::create(dir.join("tail.err"))?;
    let mut tail = Command::new(tributary)
        .args(["tail", "-n", "0", "-f", "-o", "json"])
        .arg(log)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .context("cannot start tributary tail -f")?;
    let stdout = tail.stdout.take().context("no stdout pipe")?;
    let probes = Arc::new(AtomicU64::new(0));
    let measured = Arc::new(AtomicU64::new(0));
    let (p, m) = (probes.clone(), measured.clone());
    let reader = std::thread::spawn(move || read_lines(stdout, &p, &m));
    let outcome = (|| -> anyhow::Result<Vec<Instant>> {
        // Probes until the follower prints one: it is reading the file.
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut k = 1;
        while probes.load(Ordering::Acquire) == 0 {
            if Instant::now() > deadline {
                bail!("tributary tail -f printed no record within 10 s of starting");
            }
            send(&format!("{PROBE} {k}"))?;
            k += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        let interval = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
        let t0 = Instant::now();
        let mut sent = Vec::with_capacity(records as usize);
        for seq in 0..records {
            // Pacing, not synchronisation: a steady rate.
            let due = t0 + interval * u32::try_from(seq).unwrap_or(u32::MAX);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            sent.push(send(&format!("{MEASURED}{seq:07}"))?);
        }
        let quiet = Duration::from_secs(10);
        wait_for(quiet, "the follower to print every record", || {
            measured.load(Ordering::Acquire) >= records
        })
        .or_else(|e| {
            // Fewer: the oracle below says which are missing.
            eprintln!("xtask bench: s12 follow: {e:#}");
            Ok::<_, anyhow::Error>(())
        })?;
        Ok(sent)
    })();
    let _ = tail.kill();
    let _ = tail.wait();
    let shown = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader thread panicked"))??;
    let sent = outcome?;
    let mut latencies = Vec::with_capacity(shown.len());
    for (i, (seq, at)) in shown.iter().enumerate() {
        if *seq != i as u64 {
            bail!(
                "the follower printed record {seq} where {i} was due ({} of {} printed; files in {})",
                shown.len(),
                records,
                dir.display()
            );
        }
        latencies.push(at.duration_since(sent[i]).as_secs_f64() * 1e3);
    }
    if shown.len() as u64 != records {
        bail!(
            "the follower printed {} of {records} records (files in {})",
            shown.len(),
            dir.display()
        );
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    let rotations = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("app.log."))
        .count() as u64;
    Ok(Latency {
        records,
        rate,
        rotations,
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    })
}

/// The measured records the follower printed, with when each line arrived.
fn read_lines(
    stdout: std::process::ChildStdout,
    probes: &AtomicU64,
    measured: &AtomicU64,
) -> anyhow::Result<Vec<(u64, Instant)>> {
    #[derive(Deserialize)]
    struct Line {
        msg: String,
    }
    let mut shown = Vec::new();
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(shown);
        }
        let at = Instant::now();
        let parsed: Line = serde_json::from_str(&line)
            .with_context(|| format!("the follower printed a line that is no record: {line:?}"))?;
        if let Some(seq) = parsed.msg.strip_prefix(MEASURED) {
            let seq = seq
                .parse()
                .with_context(|| format!("unexpected message {:?}", parsed.msg))?;
            shown.push((seq, at));
            measured.fetch_add(1, Ordering::Release);
        } else if parsed.msg.starts_with(PROBE) {
            probes.fetch_add(1, Ordering::Release);
        }
    }
}
