//! Scenario s12: reading a log back. `tributary cat --level ERROR` (1 % of
//! the records match) against `jq -c 'select(.levelno >= 40)'` over the
//! same files decompressed by `zcat`, and `grep '"level":"ERROR"'` (the
//! floor a scan can reach), on native JSON lines in two layouts: one plain
//! file, and a live file with 1 MiB archives, half of them gzipped. Also
//! `tributary tail -n 10` on the plain file (it reads from the end).
//!
//! Every system's output is counted against the number of ERROR records
//! written (the oracle); rates are decoded input bytes per second of wall
//! time. A missing `jq` is a note, never an install.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use tributary_core::{Formatter, JsonFormatter, Level, Record, Timestamp};

/// One system on one layout: medians over the runs.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ReadResult {
    /// `plain` (one file) or `rotated` (1 MiB archives, half gzipped).
    pub layout: String,
    /// What ran.
    pub system: String,
    /// The command line, as a user would type it.
    pub command: String,
    /// Decoded input bytes.
    pub bytes: u64,
    /// Median wall time, seconds.
    pub seconds: f64,
    /// Decoded input bytes per second, in GiB/s.
    pub gib_per_s: f64,
    /// Lines the system printed (last run).
    pub matched: u64,
    /// ERROR records written.
    pub expected: u64,
    /// Why it has no figure.
    pub error: Option<String>,
}

impl ReadResult {
    /// `s12 rotated tributary cat`.
    pub fn key(&self) -> String {
        format!("s12 {} {}", self.layout, self.system)
    }
}

/// What a data set holds.
struct Layout {
    name: &'static str,
    /// The live file (`tributary cat` finds its archives).
    live: PathBuf,
    /// Every file, oldest first (for `zcat -f`).
    files: Vec<PathBuf>,
    bytes: u64,
    errors: u64,
}

/// Runs s12 (the systems whose key contains `filter`) with `size` bytes of
/// input per layout, `runs` times each, in `work` (removed after).
pub fn run(
    tributary: &Path,
    work: &Path,
    size: u64,
    runs: usize,
    filter: Option<&str>,
    notes: &mut Vec<String>,
) -> Vec<ReadResult> {
    let wanted = |key: &str| filter.is_none_or(|f| key.contains(f));
    if !["plain", "rotated"].iter().any(|l| {
        ["tributary cat", "jq", "grep", "tributary tail -n 10"]
            .iter()
            .any(|s| wanted(&format!("s12 {l} {s}")))
    }) {
        return Vec::new();
    }
    let jq = have("jq");
    if !jq {
        notes.push("jq not installed: s12 jq skipped (enable it with `apt-get install jq`)".into());
    }
    let mut results = Vec::new();
    let layouts = match generate(work, size) {
        Ok(l) => l,
        Err(e) => {
            notes.push(format!("s12 skipped: cannot generate its input: {e:#}"));
            return results;
        }
    };
    eprintln!(
        "xtask bench: s12 reads {:.0} MiB per layout, {runs} run(s) each",
        size as f64 / (1u64 << 20) as f64,
    );
    for layout in &layouts {
        let files: Vec<String> = layout
            .files
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let mut systems: Vec<(&str, Command, String)> = Vec::new();
        let mut cat = Command::new(tributary);
        cat.args(["cat", "--level", "ERROR", "-o", "json"])
            .arg(&layout.live);
        systems.push((
            "tributary cat",
            cat,
            format!(
                "tributary cat --level ERROR -o json {}",
                layout.live.display()
            ),
        ));
        if jq {
            let mut c = Command::new("sh");
            c.args([
                "-c",
                "zcat -f \"$@\" | jq -c 'select(.levelno >= 40)'",
                "sh",
            ])
            .args(&files);
            systems.push((
                "jq",
                c,
                "zcat -f FILES... | jq -c 'select(.levelno >= 40)'".into(),
            ));
        }
        let mut g = Command::new("sh");
        if layout.name == "plain" {
            g.args(["-c", "grep -F '\"level\":\"ERROR\"' \"$@\"", "sh"])
                .args(&files);
        } else {
            g.args(["-c", "zcat -f \"$@\" | grep -F '\"level\":\"ERROR\"'", "sh"])
                .args(&files);
        }
        let grep_cmd = if layout.name == "plain" {
            "grep -F '\"level\":\"ERROR\"' FILE".to_string()
        } else {
            "zcat -f FILES... | grep -F '\"level\":\"ERROR\"'".to_string()
        };
        systems.push(("grep", g, grep_cmd));
        if layout.name == "plain" {
            let mut t = Command::new(tributary);
            t.args(["tail", "-n", "10", "-o", "json"]).arg(&layout.live);
            systems.push((
                "tributary tail -n 10",
                t,
                format!("tributary tail -n 10 -o json {}", layout.live.display()),
            ));
        }
        for (system, mut cmd, command) in systems {
            let mut result = ReadResult {
                layout: layout.name.into(),
                system: system.into(),
                command,
                bytes: layout.bytes,
                expected: if system.starts_with("tributary tail") {
                    10
                } else {
                    layout.errors
                },
                ..ReadResult::default()
            };
            if !wanted(&result.key()) {
                continue;
            }
            let out = work.join("s12-out");
            let mut times = Vec::new();
            for _ in 0..runs {
                match time(&mut cmd, &out) {
                    Ok((elapsed, lines)) => {
                        times.push(elapsed.as_secs_f64());
                        result.matched = lines;
                    }
                    Err(e) => {
                        result.error = Some(format!("{e:#}"));
                        break;
                    }
                }
            }
            let _ = fs::remove_file(&out);
            if result.error.is_none() {
                times.sort_by(f64::total_cmp);
                result.seconds = times[times.len() / 2];
                result.gib_per_s = result.bytes as f64 / result.seconds / (1u64 << 30) as f64;
                if result.matched != result.expected {
                    result.error = Some(format!(
                        "printed {} lines, {} expected",
                        result.matched, result.expected
                    ));
                }
            }
            results.push(result);
        }
    }
    let _ = fs::remove_dir_all(work.join("s12"));
    results
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `cmd` with stdout to `out`; the wall time and the lines printed.
fn time(cmd: &mut Command, out: &Path) -> anyhow::Result<(Duration, u64)> {
    let file = File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let began = Instant::now();
    let result = cmd
        .stdout(file)
        .stderr(Stdio::piped())
        .output()
        .context("cannot start")?;
    let elapsed = began.elapsed();
    // grep exits 1 when nothing matched; that is for the oracle to judge.
    if !result.status.success() && result.status.code() != Some(1) {
        bail!(
            "exited with {}: {}",
            result.status,
            String::from_utf8_lossy(&result.stderr).trim()
        );
    }
    let text = fs::read(out)?;
    let lines = text.iter().filter(|&&c| c == b'\n').count() as u64;
    Ok((elapsed, lines))
}

/// Native JSON lines as the listener writes them; every 100th is an ERROR.
fn generate(work: &Path, size: u64) -> anyhow::Result<Vec<Layout>> {
    let root = work.join("s12");
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(root.join("plain"))?;
    fs::create_dir_all(root.join("rotated"))?;
    let formatter = JsonFormatter::native();
    let levels = [Level::INFO, Level::DEBUG, Level::INFO, Level::WARNING];
    let loggers = ["app", "app.db", "app.http", "worker"];
    let start = 1_796_000_000_000_000_000i64;
    let mut line = Vec::with_capacity(512);
    let record = |i: u64, out: &mut Vec<u8>| {
        let level = if i % 100 == 42 {
            Level::ERROR
        } else {
            levels[(i % 4) as usize].clone()
        };
        let r = Record::builder(level, format!("request {i} handled for user {}", i % 977))
            .ts(Timestamp::from_unix_nanos(start + i as i64 * 250_000))
            .logger(loggers[(i % 4) as usize])
            .host("bench-host")
            .pid(4242)
            .process("MainProcess")
            .tid(140_000 + i % 8)
            .thread("worker")
            .seq(i)
            .field("status", 200 + (i % 5) as i64)
            .field("path", "/api/v1/items")
            .field("elapsed_ms", (i % 1000) as f64 / 10.0)
            .build();
        out.clear();
        formatter.format(&r, out);
        out.push(b'\n');
    };

    // plain: one file.
    let plain = root.join("plain/app.log");
    let mut w = BufWriter::with_capacity(1 << 20, File::create(&plain)?);
    let (mut bytes, mut errors, mut i) = (0u64, 0u64, 0u64);
    while bytes < size {
        record(i, &mut line);
        if i % 100 == 42 {
            errors += 1;
        }
        w.write_all(&line)?;
        bytes += line.len() as u64;
        i += 1;
    }
    w.flush()?;
    let plain = Layout {
        name: "plain",
        files: vec![plain.clone()],
        live: plain,
        bytes,
        errors,
    };

    // rotated: 1 MiB files, Python's names (`.1` newest), odd ones gzipped.
    let dir = root.join("rotated");
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut chunk = Vec::with_capacity(1 << 20);
    let (mut bytes, mut errors, mut i) = (0u64, 0u64, 0u64);
    while bytes < size {
        record(i, &mut line);
        if i % 100 == 42 {
            errors += 1;
        }
        if chunk.len() + line.len() > 1 << 20 {
            chunks.push(std::mem::take(&mut chunk));
        }
        chunk.extend_from_slice(&line);
        bytes += line.len() as u64;
        i += 1;
    }
    let live_bytes = chunk;
    let n = chunks.len();
    let now = SystemTime::now();
    let mut files = Vec::new();
    for (k, data) in chunks.iter().enumerate() {
        let number = n - k; // the oldest has the highest number
        let mut path = dir.join(format!("app.log.{number}"));
        if number % 2 == 1 {
            path = dir.join(format!("app.log.{number}.gz"));
            let mut enc = flate2::write::GzEncoder::new(
                BufWriter::new(File::create(&path)?),
                flate2::Compression::fast(),
            );
            enc.write_all(data)?;
            enc.finish()?.flush()?;
        } else {
            fs::write(&path, data)?;
        }
        // Renames keep times: the oldest archive was modified first.
        let age = Duration::from_secs((number as u64 + 1) * 10);
        File::options()
            .write(true)
            .open(&path)?
            .set_modified(now - age)?;
        files.push(path);
    }
    let live = dir.join("app.log");
    fs::write(&live, &live_bytes)?;
    files.push(live.clone());
    let rotated = Layout {
        name: "rotated",
        live,
        files,
        bytes,
        errors,
    };
    Ok(vec![plain, rotated])
}

/// The s12 table and its ratios.
pub fn table(results: &[ReadResult]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| scen | layout | system | input MiB | seconds | GiB/s | oracle |"
    );
    let _ = writeln!(s, "|---|---|---|---:|---:|---:|---|");
    for r in results {
        let oracle = match &r.error {
            None => "ok".to_string(),
            Some(e) => format!("FAILED: {e}"),
        };
        // `tail` reads the end only: a rate over the whole file means nothing.
        let rate = if r.system.contains("tail") {
            "-".to_string()
        } else {
            format!("{:.2}", r.gib_per_s)
        };
        let _ = writeln!(
            s,
            "| s12 | {} | {} | {:.0} | {:.3} | {rate} | {oracle} |",
            r.layout,
            r.system,
            r.bytes as f64 / (1u64 << 20) as f64,
            r.seconds,
        );
    }
    for layout in ["plain", "rotated"] {
        let find = |system: &str| {
            results
                .iter()
                .find(|r| r.layout == layout && r.system == system && r.error.is_none())
        };
        if let Some(t) = find("tributary cat") {
            for other in ["jq", "grep"] {
                if let Some(o) = find(other) {
                    let _ = writeln!(
                        s,
                        "s12 {layout}: tributary cat ÷ {other} = {:.2}× the rate",
                        o.seconds / t.seconds
                    );
                }
            }
        }
        if let Some(t) = find("tributary tail -n 10") {
            let _ = writeln!(
                s,
                "s12 {layout}: tributary tail -n 10 took {:.1} ms (process start included)",
                t.seconds * 1e3
            );
        }
    }
    s
}
