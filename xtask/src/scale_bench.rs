//! Scenario s10: past one host. 4 Rust producer processes → 2 `tributary
//! listen` (host ids `bench-0` and `bench-1`, forwarding) → a `nats-server
//! -js` of its own (free loopback port, temporary store) → `tributary
//! collect`, JSON lines; the oracle checks every record of the collector's
//! output. In the same run, alternating with it, the same workload into
//! one listener's local file (s1's setup), the figure end to end is
//! compared with.
//!
//! Figures: records/s end to end (first log call to the collector's last
//! write); the forwarding lag (the listeners' last local write to the
//! collector's last write); the collector's CPU per record (`wait4` minus
//! a `/proc` sample taken when it was ready); the JetStream messages the
//! listeners published (their forwarding cursors' last acknowledged batch
//! numbers) per second. A missing `nats-server` fails the scenario with
//! how to install it.

use crate::child::{Child, Watchdog, wait_for};
use crate::oracle::{LineFormat, Oracle, Verdict};
use crate::plan::{Case, Producers, Receiver, Scenario, Setup, Transport};
use crate::procstat::{self, wall_ns};
use crate::producer::Client;
use crate::receivers::Address;
use crate::run::{self, RunContext};
use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Producer processes.
const PRODUCERS: usize = 4;
/// Forwarding listeners (producer `i` logs to listener `i % LISTENERS`).
const LISTENERS: usize = 2;

/// The scenario's label, as `--filter` matches it.
pub const LABEL: &str = "s10 jetstream n=4";

/// s10's figures: medians over the runs (by end-to-end rate).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ScaleResult {
    /// Records sent per run.
    pub records: u64,
    /// Runs measured.
    pub runs: usize,
    /// Distinct records in the collector's output per second, from the
    /// first log call to the collector's last write.
    pub end_to_end_per_s: f64,
    /// The same workload into one listener's local file, records/s.
    pub local_per_s: f64,
    /// `end_to_end_per_s ÷ local_per_s` (target ≥ 0.6).
    pub ratio: f64,
    /// The listeners' last local write to the collector's last write, ms.
    pub forwarding_lag_ms: f64,
    /// The collector's CPU per record, ns (target ≤ 1,000).
    pub collector_cpu_ns: f64,
    /// Each listener's CPU per record it received, ns (mean of the two).
    pub listener_cpu_ns: f64,
    /// The producer processes' CPU per record, ns (all of them ÷ records).
    #[serde(default)]
    pub producer_cpu_ns: f64,
    /// nats-server's CPU per record, ns (from its readiness to its exit).
    #[serde(default)]
    pub nats_cpu_ns: f64,
    /// The local-file run's producers' CPU per record, ns.
    #[serde(default)]
    pub local_producer_cpu_ns: f64,
    /// The local-file run's listener's CPU per record, ns.
    #[serde(default)]
    pub local_listener_cpu_ns: f64,
    /// Messages published to JetStream in a run.
    pub messages: u64,
    /// JetStream messages per second over the end-to-end time.
    pub messages_per_s: f64,
    /// What the oracle found in the collector's output (all runs).
    pub verdict: Verdict,
    /// What the oracle found in the local-file runs.
    pub local_verdict: Verdict,
    /// Whether nats-server could use transparent huge pages
    /// (`--nats-huge-pages`; off by default, as docs/scale-out.md advises).
    #[serde(default)]
    pub nats_huge_pages: bool,
    /// Why there is no figure.
    pub error: Option<String>,
}

impl ScaleResult {
    /// Whether every record arrived once and nothing failed.
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.verdict.ok() && self.local_verdict.ok()
    }
}

/// One end-to-end run's figures.
struct EndToEnd {
    per_s: f64,
    lag_ms: f64,
    collector_cpu_ns: f64,
    listener_cpu_ns: f64,
    producer_cpu_ns: f64,
    nats_cpu_ns: f64,
    messages: u64,
    messages_per_s: f64,
    verdict: Verdict,
}

/// Runs s10 `runs` times unless `filter` leaves it out.
pub fn run(
    ctx: &RunContext,
    client: Client,
    per_producer: u64,
    runs: usize,
    filter: Option<&str>,
    nats_huge_pages: bool,
) -> Option<ScaleResult> {
    if !crate::filter::matches(LABEL, filter) {
        return None;
    }
    let mut result = ScaleResult {
        records: per_producer * PRODUCERS as u64,
        nats_huge_pages,
        ..ScaleResult::default()
    };
    let Some(nats) = crate::bench::find_program("nats-server") else {
        result.error = Some(
            "s10 needs nats-server with JetStream (2.2 or newer): `apt-get install nats-server` \
             (Debian/Ubuntu) or put a nats-server binary on PATH; the bench starts its own \
             on a free loopback port, no service is needed"
                .into(),
        );
        return Some(result);
    };
    let local_case = Case {
        scenario: Scenario::S10,
        system: "listener local file",
        tributary: true,
        n: PRODUCERS,
        per_producer,
        format: LineFormat::Json,
        rotating: false,
        setup: Setup::Network {
            receiver: Receiver::Tributary {
                text: false,
                rotate: false,
                durable: false,
                admin: false,
            },
            producers: Producers::Rust(client),
            transport: Transport::Tcp,
        },
    };
    let mut ends = Vec::new();
    let mut locals = Vec::new();
    for _ in 0..runs.max(1) {
        match end_to_end(ctx, &nats, client, per_producer, nats_huge_pages) {
            Ok(e) => ends.push(e),
            Err(e) => {
                result.error = Some(format!("{e:#}"));
                return Some(result);
            }
        }
        match run::run_case(ctx, &local_case) {
            Ok((f, _)) => locals.push(f),
            Err(e) => {
                result.error = Some(format!("local file: {e:#}"));
                return Some(result);
            }
        }
    }
    for e in &ends {
        result.verdict.add(&e.verdict);
    }
    for l in &locals {
        result.local_verdict.add(&l.verdict);
    }
    ends.sort_by(|a, b| a.per_s.total_cmp(&b.per_s));
    let mid = &ends[ends.len() / 2];
    let mut local: Vec<f64> = locals.iter().map(|f| f.records_per_s).collect();
    local.sort_by(f64::total_cmp);
    result.runs = ends.len();
    result.end_to_end_per_s = mid.per_s;
    result.local_per_s = local[local.len() / 2];
    result.ratio = mid.per_s / result.local_per_s.max(1.0);
    result.forwarding_lag_ms = mid.lag_ms;
    result.collector_cpu_ns = mid.collector_cpu_ns;
    result.listener_cpu_ns = mid.listener_cpu_ns;
    result.producer_cpu_ns = mid.producer_cpu_ns;
    result.nats_cpu_ns = mid.nats_cpu_ns;
    locals.sort_by(|a, b| a.records_per_s.total_cmp(&b.records_per_s));
    let local_mid = &locals[locals.len() / 2];
    result.local_producer_cpu_ns = local_mid.producer_cpu_ns;
    result.local_listener_cpu_ns = local_mid.receiver_cpu_ns;
    result.messages = mid.messages;
    result.messages_per_s = mid.messages_per_s;
    Some(result)
}

/// Starts `cmd` with transparent huge pages off for it (inherited through
/// `exec`): the Go runtime of Debian's nats-server asks for them on its
/// heap, and faulting in a zeroed 2 MiB page for the message buffers it
/// keeps reallocating took up to half its CPU (docs/scale-out.md).
fn without_huge_pages(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches no memory of ours.
    unsafe {
        cmd.pre_exec(|| {
            let (on, unused): (libc::c_ulong, libc::c_ulong) = (1, 0);
            if libc::prctl(libc::PR_SET_THP_DISABLE, on, unused, unused, unused) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// One run through JetStream; every process it started is stopped when
/// it returns.
fn end_to_end(
    ctx: &RunContext,
    nats_bin: &Path,
    client: Client,
    per_producer: u64,
    huge_pages: bool,
) -> anyhow::Result<EndToEnd> {
    let dir = ctx.work.join("s10-jetstream");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let watchdog = Watchdog::new(ctx.timeout);
    let mut started = Started::default();
    let result = (|| {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut nats = Command::new(nats_bin);
        nats.args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir.join("nats-store"));
        if !huge_pages {
            without_huge_pages(&mut nats);
        }
        let nats = Child::spawn(&mut nats, "nats-server", &dir)?;
        watchdog.watch(nats.pid);
        let nats_pid = nats.pid;
        let nats_err = dir.join("nats-server.err");
        started.nats = Some(nats);
        wait_for(Duration::from_secs(30), "nats-server to be ready", || {
            std::fs::read_to_string(&nats_err).is_ok_and(|t| t.contains("Server is ready"))
        })?;
        let nats_cpu = procstat::proc_cpu_ns(nats_pid)?;
        let url = format!("nats://127.0.0.1:{port}");
        let mut addresses = Vec::new();
        let mut local_outs = Vec::new();
        for h in 0..LISTENERS {
            let out = dir.join(format!("host-{h}")).join("out.log");
            std::fs::create_dir_all(out.parent().unwrap_or(&dir))?;
            let mut cmd = Command::new(&ctx.programs.tributary);
            cmd.args(["listen", "--tcp", "127.0.0.1:0", "--format", "json"])
                .arg("--out")
                .arg(&out)
                .args(["--forward-nats", &url, "--host-id", &format!("bench-{h}")])
                .args(["--drain-timeout", "120s"]);
            let (child, line) = Child::spawn_ready(&mut cmd, &format!("listener {h}"), &dir)?;
            watchdog.watch(child.pid);
            let cpu = procstat::proc_cpu_ns(child.pid)?;
            started.listeners.push((child, cpu));
            addresses.push(match line.split_whitespace().nth(2) {
                Some(a) => Address::Tcp(a.to_owned()),
                None => bail!("unexpected readiness line {line:?}"),
            });
            local_outs.push(out);
        }
        let all = dir.join("all.log");
        let mut cmd = Command::new(&ctx.programs.tributary);
        cmd.args(["collect", "--nats", &url, "--format", "json", "--out"])
            .arg(&all);
        let (collector, _) = Child::spawn_ready_with(&mut cmd, "collector", &dir, "collecting ")?;
        watchdog.watch(collector.pid);
        let collector_cpu = procstat::proc_cpu_ns(collector.pid)?;
        started.collector = Some(collector);
        let start_at = wall_ns() + (100 + 30 * PRODUCERS as u64) * 1_000_000;
        let mut children = Vec::new();
        for id in 0..PRODUCERS {
            let mut cmd = run::producer_command(
                &ctx.programs,
                Producers::Rust(client),
                &addresses[id % LISTENERS],
                id,
                per_producer,
                start_at,
            );
            let child = Child::spawn(&mut cmd, &format!("producer {id}"), &dir)?;
            watchdog.watch(child.pid);
            children.push(child);
        }
        let mut reports = Vec::new();
        let mut producer_ns = 0u64;
        for child in children {
            let pid = child.pid;
            let exit = child.wait();
            watchdog.unwatch(pid);
            let exit = exit?;
            producer_ns += exit.usage.cpu_ns;
            reports.extend(run::producer_reports(&exit));
        }
        if reports.len() != PRODUCERS {
            bail!("{} of {PRODUCERS} producers reported", reports.len());
        }
        let total = per_producer * PRODUCERS as u64;
        let mut counter = LineCounter::default();
        wait_for(
            ctx.timeout,
            "the collector's output to hold every record",
            || counter.count(&all) >= total,
        )
        .with_context(|| format!("{} of {total} lines collected", counter.seen))?;
        // Stop the collector first: its CPU is its own work only.
        let collector = started.collector.take().context("collector")?;
        let collector_pid = collector.pid;
        procstat::kill(collector_pid, libc::SIGTERM);
        let collector_exit = collector.wait();
        watchdog.unwatch(collector_pid);
        let collector_ns = collector_exit?.usage.cpu_ns.saturating_sub(collector_cpu);
        let mut listener_ns = 0u64;
        for (child, cpu) in started.listeners.drain(..) {
            let pid = child.pid;
            procstat::kill(pid, libc::SIGTERM);
            let exit = child.wait();
            watchdog.unwatch(pid);
            listener_ns += exit?.usage.cpu_ns.saturating_sub(cpu);
        }
        // Once nothing talks to it any more: what the server did for the run.
        let nats_ns = procstat::proc_cpu_ns(nats_pid)?.saturating_sub(nats_cpu);
        let mut oracle = Oracle::new(LineFormat::Json, PRODUCERS, per_producer);
        oracle.read_file(&all)?;
        let verdict = oracle.finish();
        let first = reports.iter().map(|p| p.first_emit_ns).min().unwrap_or(0);
        let last_emit = reports.iter().map(|p| p.last_emit_ns).max().unwrap_or(0);
        let local_end = local_outs
            .iter()
            .map(|p| run::mtime_ns(p))
            .max()
            .unwrap_or(0)
            .max(last_emit);
        let end = run::mtime_ns(&all).max(local_end);
        let elapsed_s = end.saturating_sub(first).max(1) as f64 / 1e9;
        let messages: u64 = local_outs.iter().map(|o| forwarded_batches(o)).sum();
        let records = total.max(1) as f64;
        Ok(EndToEnd {
            per_s: verdict.delivered as f64 / elapsed_s,
            lag_ms: end.saturating_sub(local_end) as f64 / 1e6,
            collector_cpu_ns: collector_ns as f64 / records,
            listener_cpu_ns: listener_ns as f64 / records,
            producer_cpu_ns: producer_ns as f64 / records,
            nats_cpu_ns: nats_ns as f64 / records,
            messages,
            messages_per_s: messages as f64 / elapsed_s,
            verdict,
        })
    })();
    started.stop(&watchdog);
    match result {
        Err(e) if watchdog.fired() => bail!(
            "s10 timed out after {:?} (files in {}): {e:#}",
            ctx.timeout,
            dir.display()
        ),
        Err(e) => Err(e.context(format!("s10 (files in {})", dir.display()))),
        Ok(r) => {
            if r.verdict.ok() {
                let _ = std::fs::remove_dir_all(&dir);
            }
            Ok(r)
        }
    }
}

/// The processes of a run still to stop.
#[derive(Default)]
struct Started {
    nats: Option<Child>,
    listeners: Vec<(Child, u64)>,
    collector: Option<Child>,
}

impl Started {
    /// Stops what is left (after a failure: everything), collector and
    /// listeners before the server they talk to.
    fn stop(&mut self, watchdog: &Watchdog) {
        let listeners = self.listeners.drain(..).map(|(c, _)| c);
        for child in self.collector.take().into_iter().chain(listeners) {
            procstat::kill(child.pid, libc::SIGTERM);
            watchdog.unwatch(child.pid);
            let _ = child.wait();
        }
        if let Some(nats) = self.nats.take() {
            procstat::kill(nats.pid, libc::SIGTERM);
            watchdog.unwatch(nats.pid);
            let _ = nats.wait();
        }
    }
}

/// Counts a growing file's lines, reading only what was appended.
#[derive(Default)]
struct LineCounter {
    file: Option<std::fs::File>,
    seen: u64,
}

impl LineCounter {
    fn count(&mut self, path: &Path) -> u64 {
        use std::io::Read;
        if self.file.is_none() {
            self.file = std::fs::File::open(path).ok();
        }
        if let Some(f) = self.file.as_mut() {
            let mut buf = [0u8; 1 << 16];
            while let Ok(n) = f.read(&mut buf) {
                if n == 0 {
                    break;
                }
                self.seen += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
            }
        }
        self.seen
    }
}

/// The number of the last batch JetStream acknowledged to the listener
/// writing `out`: its forwarding cursor's last `acked` (batches are
/// numbered from 1, one message each).
fn forwarded_batches(out: &Path) -> u64 {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let cursor: PathBuf = out.with_file_name(format!(".{name}.forward"));
    std::fs::read_to_string(cursor)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["acked"].as_u64())
        .max()
        .unwrap_or(0)
}

/// s10's lines for the summary.
pub fn table(r: &ScaleResult) -> String {
    use crate::units::{fmt_ns, fmt_rate};
    if let Some(e) = &r.error {
        return format!("  {LABEL}: failed: {e}\n");
    }
    let verdict = |v: &Verdict| {
        if v.ok() {
            "ok".to_owned()
        } else {
            format!(
                "LOSS: lost {} duplicated {} unparseable {} extra {}",
                v.lost, v.duplicated, v.unparseable, v.extra
            )
        }
    };
    format!(
        "  end to end (JetStream, collector)  {:>9} records/s  oracle {}\n  \
         local file (one listener)          {:>9} records/s  oracle {}\n  \
         end to end ÷ local                 {:>9.2}          (target ≥ 0.60)\n  \
         forwarding lag                     {:>9.0} ms       (last local write → last collected write)\n  \
         collector CPU per record           {:>9}          (target ≤ 1 µs)\n  \
         listener CPU per record            {:>9}          (forwarding listeners, mean)\n  \
         CPU per record, end to end         {:>9}          producers {} + listeners {} + nats-server {} + collector {}\n  \
         CPU per record, local file         {:>9}          producers {} + listener {}\n  \
         JetStream messages                 {:>9}          {:.0} messages/s, {:.0} records per message\n  \
         nats-server huge pages             {:>9}          (--nats-huge-pages; docs/scale-out.md)\n",
        fmt_rate(r.end_to_end_per_s),
        verdict(&r.verdict),
        fmt_rate(r.local_per_s),
        verdict(&r.local_verdict),
        r.ratio,
        r.forwarding_lag_ms,
        fmt_ns(r.collector_cpu_ns),
        fmt_ns(r.listener_cpu_ns),
        fmt_ns(r.producer_cpu_ns + r.listener_cpu_ns + r.nats_cpu_ns + r.collector_cpu_ns),
        fmt_ns(r.producer_cpu_ns),
        fmt_ns(r.listener_cpu_ns),
        fmt_ns(r.nats_cpu_ns),
        fmt_ns(r.collector_cpu_ns),
        fmt_ns(r.local_producer_cpu_ns + r.local_listener_cpu_ns),
        fmt_ns(r.local_producer_cpu_ns),
        fmt_ns(r.local_listener_cpu_ns),
        r.messages,
        r.messages_per_s,
        r.records as f64 / r.messages.max(1) as f64,
        if r.nats_huge_pages { "on" } else { "off" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_the_cursors_last_acknowledged_batch() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.log");
        std::fs::write(
            dir.path().join(".out.log.forward"),
            "{\"epoch\":7}\n{\"plan\":1,\"dev\":1,\"ino\":2,\"start\":0,\"end\":9,\"records\":3}\n\
             {\"acked\":1,\"dev\":1,\"ino\":2,\"offset\":9}\n\
             {\"plan\":2,\"dev\":1,\"ino\":2,\"start\":9,\"end\":20,\"records\":4}\n\
             {\"acked\":2,\"dev\":1,\"ino\":2,\"offset\":20}\n{\"plan\":3,\"dev\"",
        )
        .unwrap();
        assert_eq!(forwarded_batches(&out), 2);
        assert_eq!(forwarded_batches(&dir.path().join("none.log")), 0);
    }

    #[test]
    fn a_program_started_without_huge_pages_has_them_off() {
        let thp = |cmd: &mut Command| {
            let out = cmd
                .args(["THP_enabled", "/proc/self/status"])
                .output()
                .unwrap();
            String::from_utf8(out.stdout).unwrap()
        };
        let mut grep = Command::new("grep");
        without_huge_pages(&mut grep);
        assert_eq!(thp(&mut grep).split_whitespace().nth(1), Some("0"));
    }

    #[test]
    fn a_missing_nats_server_is_a_failure_saying_how_to_install_it() {
        let r = ScaleResult {
            error: Some("s10 needs nats-server".into()),
            ..ScaleResult::default()
        };
        assert!(!r.ok());
        assert!(table(&r).contains("failed: s10 needs nats-server"));
        assert!(LABEL.contains("s10"));
    }
}
