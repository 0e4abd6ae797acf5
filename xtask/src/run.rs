//! One run of one case: start the receiver, start the producers together,
//! wait for them, stop the receiver, check the output with the oracle and
//! compute the figures.
//!
//! Timing: from the first producer's first log call to the last write of
//! the output file (its mtime once the writer has exited). CPU: what each
//! producer used from its first call to the end of its flush (its own
//! report), and what the receiver used after it was ready (`wait4` minus a
//! `/proc` sample taken before the producers started).

use crate::child::{Child, Exit, Watchdog};
use crate::oracle::{Oracle, Verdict};
use crate::plan::{Case, Producers, Receiver, Setup, Transport};
use crate::procstat::{self, wall_ns};
use crate::receivers::{self, Address, Programs};
use crate::report::{ProducerReport, Report, WriterReport, parse_reports};
use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The figures of one run.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RunFigures {
    /// First emit to last write, seconds.
    pub elapsed_s: f64,
    /// Distinct records delivered per second.
    pub records_per_s: f64,
    /// Producer CPU per record, ns (all producers' CPU / records).
    pub producer_cpu_ns: f64,
    /// Receiver or writer CPU per record, ns.
    pub receiver_cpu_ns: f64,
    /// Largest producer peak RSS, KiB.
    pub producer_rss_kib: u64,
    /// Receiver or writer peak RSS, KiB.
    pub receiver_rss_kib: u64,
    /// Median over producers of their median per-call cost, ns.
    pub p50_ns: u64,
    /// Worst producer's 99th percentile per-call cost, ns.
    pub p99_ns: u64,
    /// What the oracle found.
    pub verdict: Verdict,
}

/// What a run needs from the bench.
pub struct RunContext {
    /// Programs to start.
    pub programs: Programs,
    /// Directory for the runs' files.
    pub work: PathBuf,
    /// A run taking longer than this is killed and fails.
    pub timeout: Duration,
}

/// Runs `case` once. On an oracle failure the output is kept in the
/// returned directory for inspection; otherwise it is deleted.
pub fn run_case(ctx: &RunContext, case: &Case) -> anyhow::Result<(RunFigures, PathBuf)> {
    let dir = ctx.work.join(slug(&case.label()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let out = dir.join("out.log");
    let watchdog = Watchdog::new(ctx.timeout);
    let result = match case.setup {
        Setup::Network {
            receiver,
            producers,
            transport,
        } => network(
            ctx, case, &watchdog, receiver, producers, transport, &dir, &out,
        ),
        _ => self_contained(ctx, case, &watchdog, &dir, &out),
    };
    let (producers, writer) = match result {
        Err(e) if watchdog.fired() => bail!(
            "timed out after {:?} (files in {}): {e:#}",
            ctx.timeout,
            dir.display()
        ),
        other => other.with_context(|| format!("files in {}", dir.display()))?,
    };
    drop(watchdog);
    let figures = figures(case, &producers, &writer, &out)?;
    if figures.verdict.ok() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok((figures, dir))
}

fn slug(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn network(
    ctx: &RunContext,
    case: &Case,
    watchdog: &Watchdog,
    receiver: Receiver,
    producers: Producers,
    transport: Transport,
    dir: &Path,
    out: &Path,
) -> anyhow::Result<(Vec<ProducerReport>, WriterReport)> {
    let (rx, address, admin) = receivers::start(&ctx.programs, receiver, transport, dir, out)?;
    watchdog.watch(rx.pid);
    let mut scraper = None;
    let rx_pid = rx.pid;
    let rx_peak = procstat::watch_peak_rss(rx_pid);
    let result = (|| -> anyhow::Result<(Vec<ProducerReport>, u64)> {
        let cpu_before = procstat::proc_cpu_ns(rx.pid)?;
        let delay_ms = match producers {
            Producers::Rust(_) => 100 + 30 * case.n as u64,
            Producers::Python | Producers::PythonAck => 250 + 120 * case.n as u64,
        };
        let start_at = wall_ns() + delay_ms * 1_000_000;
        scraper = admin
            .clone()
            .map(|addr| crate::scrape::Scraper::start(addr, start_at));
        let mut children = Vec::new();
        for id in 0..case.n {
            let mut cmd = producer_command(
                &ctx.programs,
                producers,
                &address,
                id,
                case.per_producer,
                start_at,
            );
            let child = Child::spawn(&mut cmd, &format!("producer {id}"), dir)?;
            watchdog.watch(child.pid);
            children.push(child);
        }
        let mut reports = Vec::new();
        for child in children {
            let pid = child.pid;
            let exit = child.wait();
            watchdog.unwatch(pid);
            reports.extend(producer_reports(&exit?));
        }
        if receiver == Receiver::Rsyslog {
            // rsyslogd may discard what is still queued at SIGTERM.
            wait_for_lines(out, case.total(), Duration::from_secs(2));
        }
        Ok((reports, cpu_before))
    })();
    let scrapes = scraper.map(crate::scrape::Scraper::finish).transpose();
    procstat::kill(rx_pid, libc::SIGTERM);
    let rx_exit = rx.wait();
    watchdog.unwatch(rx_pid);
    let (reports, cpu_before) = result?;
    if scrapes? == Some(0) {
        bail!("/metrics was never scraped during the run");
    }
    let rx_exit = rx_exit?;
    let writer = WriterReport {
        cpu_ns: rx_exit.usage.cpu_ns.saturating_sub(cpu_before),
        maxrss_kib: rx_peak.join().unwrap_or(0),
        done_ns: wall_ns(),
    };
    Ok((reports, writer))
}

pub fn producer_command(
    programs: &Programs,
    producers: Producers,
    address: &Address,
    id: usize,
    records: u64,
    start_at: u64,
) -> Command {
    let mut cmd = match producers {
        Producers::Rust(client) => {
            let mut cmd = Command::new(&programs.xtask);
            let client = match client {
                crate::producer::Client::Handler => "handler",
                crate::producer::Client::Raw => "raw",
                crate::producer::Client::Syslog => "syslog",
                crate::producer::Client::SyslogOctet => "syslog-octet",
                crate::producer::Client::Foreign => "foreign",
                crate::producer::Client::ForeignLines => "foreign-lines",
                crate::producer::Client::HttpNdjson => "http-ndjson",
                crate::producer::Client::Acked => "acked",
            };
            cmd.args(["produce", "--client", client]);
            cmd
        }
        Producers::Python => {
            let mut cmd = Command::new("python3");
            cmd.arg(programs.bench.join("py_producer.py"));
            cmd
        }
        Producers::PythonAck => {
            let mut cmd = Command::new("python3");
            cmd.arg(programs.bench.join("py_producer.py"))
                .arg("--acknowledged");
            cmd
        }
    };
    cmd.args([
        "--id",
        &id.to_string(),
        "--records",
        &records.to_string(),
        "--start-at",
        &start_at.to_string(),
    ]);
    match address {
        Address::Tcp(a) => cmd.args(["--tcp", a]),
        Address::Unix(p) => cmd.arg("--unix").arg(p),
    };
    cmd
}

fn self_contained(
    ctx: &RunContext,
    case: &Case,
    watchdog: &Watchdog,
    dir: &Path,
    out: &Path,
) -> anyhow::Result<(Vec<ProducerReport>, WriterReport)> {
    let n = case.n.to_string();
    let records = case.per_producer.to_string();
    let (mut cmd, delay_ms) = match case.setup {
        Setup::PythonQueue => {
            let mut cmd = Command::new("python3");
            cmd.arg(ctx.programs.bench.join("mp_queue.py"))
                .args(["--procs", &n]);
            (cmd, 300 + 50 * case.n as u64)
        }
        Setup::Inproc(system) => {
            let mut cmd = Command::new(&ctx.programs.xtask);
            let system = clap::ValueEnum::to_possible_value(&system)
                .map(|v| v.get_name().to_string())
                .unwrap_or_default();
            cmd.args(["inproc", "--system", &system, "--threads", &n]);
            (cmd, 50)
        }
        Setup::Limit => {
            let mut cmd = Command::new(&ctx.programs.xtask);
            cmd.args(["limit", "--producers", &n]);
            (cmd, 0)
        }
        Setup::Network { .. } => bail!("not a self-contained case"),
    };
    cmd.args(["--records", &records]).arg("--out").arg(out);
    if delay_ms > 0 {
        cmd.args([
            "--start-at",
            &(wall_ns() + delay_ms * 1_000_000).to_string(),
        ]);
    }
    let child = Child::spawn(&mut cmd, "system", dir)?;
    watchdog.watch(child.pid);
    let pid = child.pid;
    let exit = child.wait();
    watchdog.unwatch(pid);
    let exit = exit?;
    let writer = parse_reports(&exit.stdout)
        .into_iter()
        .find_map(|r| match r {
            Report::Writer(w) => Some(w),
            Report::Producer(_) => None,
        })
        .context("the system printed no writer report")?;
    Ok((producer_reports(&exit), writer))
}

pub fn producer_reports(exit: &Exit) -> Vec<ProducerReport> {
    parse_reports(&exit.stdout)
        .into_iter()
        .filter_map(|r| match r {
            Report::Producer(p) => Some(p),
            Report::Writer(_) => None,
        })
        .collect()
}

/// Waits until `out` holds `lines` lines, or stops growing for `quiet`.
/// Reads only what was appended since the last look.
fn wait_for_lines(out: &Path, lines: u64, quiet: Duration) {
    use std::io::Read;
    let mut seen = 0u64;
    let mut last_growth = std::time::Instant::now();
    let mut buf = vec![0u8; 1 << 16];
    let mut file = None;
    loop {
        if file.is_none() {
            file = std::fs::File::open(out).ok();
        }
        let mut grew = false;
        if let Some(f) = file.as_mut() {
            while let Ok(n) = f.read(&mut buf) {
                if n == 0 {
                    break;
                }
                grew = true;
                seen += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
            }
        }
        if seen >= lines {
            return;
        }
        if grew {
            last_growth = std::time::Instant::now();
        } else if last_growth.elapsed() > quiet {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn mtime_ns(path: &Path) -> u64 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn figures(
    case: &Case,
    producers: &[ProducerReport],
    writer: &WriterReport,
    out: &Path,
) -> anyhow::Result<RunFigures> {
    if producers.len() != case.n && !matches!(case.setup, Setup::Limit) {
        let missing: Vec<usize> = (0..case.n)
            .filter(|id| !producers.iter().any(|p| p.id == *id))
            .collect();
        // Our own producers always report: one that did not is a harness
        // failure. An alternative's producer that died (a Python worker
        // killed on a loaded machine) lost records: that is what the bench
        // measures, so the oracle counts them instead of the run failing.
        if case.tributary {
            bail!(
                "{} of {} producers reported (missing: {missing:?})",
                producers.len(),
                case.n
            );
        }
        eprintln!(
            "{}: producers {missing:?} did not report; their undelivered records count as lost",
            case.label()
        );
    }
    let mut oracle = Oracle::new(case.format, case.n, case.per_producer);
    let files = if case.rotating {
        crate::inproc::outputs(out)
    } else {
        vec![out.to_path_buf()]
    };
    for file in &files {
        oracle.read_file(file)?;
    }
    let verdict = oracle.finish();
    let start = producers.iter().map(|p| p.first_emit_ns).min().unwrap_or(0);
    let last_emit = producers.iter().map(|p| p.last_emit_ns).max().unwrap_or(0);
    // The file's mtime has clock-tick resolution; the last write cannot
    // precede the last call that produced it.
    let end = mtime_ns(out).max(last_emit);
    let elapsed_s = end.saturating_sub(start).max(1) as f64 / 1e9;
    let records = case.total().max(1) as f64;
    let mut p50s: Vec<u64> = producers.iter().map(|p| p.p50_ns).collect();
    p50s.sort_unstable();
    Ok(RunFigures {
        elapsed_s,
        records_per_s: verdict.delivered as f64 / elapsed_s,
        producer_cpu_ns: producers.iter().map(|p| p.cpu_ns).sum::<u64>() as f64 / records,
        receiver_cpu_ns: writer.cpu_ns as f64 / records,
        producer_rss_kib: producers.iter().map(|p| p.maxrss_kib).max().unwrap_or(0),
        receiver_rss_kib: writer.maxrss_kib,
        p50_ns: p50s.get(p50s.len() / 2).copied().unwrap_or(0),
        p99_ns: producers.iter().map(|p| p.p99_ns).max().unwrap_or(0),
        verdict,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_make_safe_directory_names() {
        assert_eq!(
            slug("s2 QueueHandler+mp.Queue n=4"),
            "s2-queuehandler-mp-queue-n-4"
        );
    }
}
