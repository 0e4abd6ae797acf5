//! Scenario s12: reading a log back. `tributary cat --level ERROR` (1 % of
//! the records match) against `jq -c 'select(.levelno >= 40)'` over the
//! same files decompressed by `zcat`, `lnav -n -c ':filter-in …'` (with a
//! format for the listener's lines, see [`lnav`]) and
//! `grep '"level":"ERROR"'` (the floor a scan can reach), on native JSON
//! lines in three layouts: one plain file; a live file with 1 MiB
//! archives, half of them gzipped; the same with every archive gzipped.
//! Where there are gzip archives, `tributary cat --threads 1` runs beside
//! the default (one reader ahead per core) on the same files. Also
//! `tributary tail -n 10` on the plain file (it reads from the end), and
//! `tail -f`'s write-to-screen latency through a listener rotating with
//! gzip ([`follow`]).
//!
//! The runs of a layout's systems alternate (A B C A B C …), so a machine
//! whose speed drifts slows them alike. Every system's output is counted
//! against the number of ERROR records written (the oracle); rates are
//! decoded input bytes per second of wall time. A missing `jq` or `lnav`
//! is a note, never an install.

mod follow;
mod lnav;

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use tributary_core::{Formatter, JsonFormatter, Level, Record, Timestamp};

pub use follow::Latency;

/// One system on one layout: medians over the runs.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ReadResult {
    /// `plain` (one file), `rotated` (1 MiB archives, half gzipped),
    /// `gzipped` (every archive gzipped) or `follow` (`tail -f` latency).
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
    /// `tail -f` only: write-to-screen latency (last run).
    #[serde(default)]
    pub latency: Option<Latency>,
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

/// The layouts and the systems of s12, as `--filter` sees them.
const LAYOUTS: [&str; 3] = ["plain", "rotated", "gzipped"];
const SYSTEMS: [&str; 6] = [
    "tributary cat",
    "tributary cat --threads 1",
    "jq",
    "lnav",
    "grep",
    "tributary tail -n 10",
];
const FOLLOW: &str = "s12 follow tributary tail -f";

/// Records the `tail -f` measure sends per second, and for how long.
const FOLLOW_RATE: u64 = 1000;

/// Runs s12 (the systems whose key contains `filter`) with `size` bytes of
/// input per layout, `runs` times each, in `work` (removed after); `quick`
/// shortens the `tail -f` measure.
pub fn run(
    tributary: &Path,
    work: &Path,
    size: u64,
    runs: usize,
    quick: bool,
    filter: Option<&str>,
    notes: &mut Vec<String>,
) -> Vec<ReadResult> {
    let wanted = |key: &str| crate::filter::matches(key, filter);
    let any_layout = LAYOUTS
        .iter()
        .any(|l| SYSTEMS.iter().any(|s| wanted(&format!("s12 {l} {s}"))));
    let mut results = Vec::new();
    if wanted(FOLLOW) {
        results.push(follow_result(tributary, work, quick));
    }
    if !any_layout {
        return results;
    }
    let jq = have("jq", "--version");
    if !jq {
        notes
            .push("jq: not installed: s12 jq skipped (enable it with `apt-get install jq`)".into());
    }
    let lnav_home = if have("lnav", "-V") {
        match lnav::install_format(work) {
            Ok(home) => Some(home),
            Err(e) => {
                notes.push(format!(
                    "lnav: cannot write its format file: {e}; s12 lnav skipped"
                ));
                None
            }
        }
    } else {
        notes.push(
            "lnav: not installed: s12 lnav skipped (enable it with `apt-get install lnav`)".into(),
        );
        None
    };
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
        let systems = systems(tributary, layout, jq, lnav_home.as_deref());
        let mut group: Vec<(Command, ReadResult, Vec<f64>)> = systems
            .into_iter()
            .map(|(system, cmd, command)| {
                let result = ReadResult {
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
                (cmd, result, Vec::new())
            })
            .filter(|(_, r, _)| wanted(&r.key()))
            .collect();
        let out = work.join("s12-out");
        for _ in 0..runs {
            for (cmd, result, times) in &mut group {
                if result.error.is_some() {
                    continue;
                }
                match time(cmd, &out) {
                    Ok((elapsed, lines)) => {
                        times.push(elapsed.as_secs_f64());
                        result.matched = lines;
                    }
                    Err(e) => result.error = Some(format!("{e:#}")),
                }
            }
        }
        let _ = fs::remove_file(&out);
        for (_, mut result, mut times) in group {
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
    let _ = fs::remove_dir_all(work.join("lnav-home"));
    results
}

/// The systems run on `layout`: name, command, and the command line shown.
fn systems(
    tributary: &Path,
    layout: &Layout,
    jq: bool,
    lnav_home: Option<&Path>,
) -> Vec<(&'static str, Command, String)> {
    let files: Vec<String> = layout
        .files
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let live = layout.live.display();
    let mut systems: Vec<(&str, Command, String)> = Vec::new();
    let mut cat = Command::new(tributary);
    cat.args(["cat", "--level", "ERROR", "-o", "json"])
        .arg(&layout.live);
    systems.push((
        "tributary cat",
        cat,
        format!("tributary cat --level ERROR -o json {live}"),
    ));
    if layout.name != "plain" {
        let mut one = Command::new(tributary);
        one.args(["cat", "--threads", "1", "--level", "ERROR", "-o", "json"])
            .arg(&layout.live);
        systems.push((
            "tributary cat --threads 1",
            one,
            format!("tributary cat --threads 1 --level ERROR -o json {live}"),
        ));
    }
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
    if let Some(home) = lnav_home {
        systems.push((
            "lnav",
            lnav::command(home, &layout.files),
            format!(
                "lnav -n -c ':filter-in {}' FILES... (format: tributary_json)",
                lnav::FILTER
            ),
        ));
    }
    let mut g = Command::new("sh");
    let grep_cmd = if layout.name == "plain" {
        g.args(["-c", "grep -F '\"level\":\"ERROR\"' \"$@\"", "sh"])
            .args(&files);
        "grep -F '\"level\":\"ERROR\"' FILE".to_string()
    } else {
        g.args(["-c", "zcat -f \"$@\" | grep -F '\"level\":\"ERROR\"'", "sh"])
            .args(&files);
        "zcat -f FILES... | grep -F '\"level\":\"ERROR\"'".to_string()
    };
    systems.push(("grep", g, grep_cmd));
    if layout.name == "plain" {
        let mut t = Command::new(tributary);
        t.args(["tail", "-n", "10", "-o", "json"]).arg(&layout.live);
        systems.push((
            "tributary tail -n 10",
            t,
            format!("tributary tail -n 10 -o json {live}"),
        ));
    }
    systems
}

/// The `tail -f` latency measure as a result row.
fn follow_result(tributary: &Path, work: &Path, quick: bool) -> ReadResult {
    let records = if quick {
        2 * FOLLOW_RATE
    } else {
        10 * FOLLOW_RATE
    };
    eprintln!(
        "xtask bench: s12 follows a listener rotating every 64 KiB with gzip, {records} records at {FOLLOW_RATE}/s"
    );
    let dir = work.join("s12-follow");
    let _ = fs::remove_dir_all(&dir);
    let mut result = ReadResult {
        layout: "follow".into(),
        system: "tributary tail -f".into(),
        command:
            "tributary tail -n 0 -f -o json app.log (listen --max-bytes 64KiB --compress gzip)"
                .into(),
        expected: records,
        ..ReadResult::default()
    };
    let began = Instant::now();
    match follow::measure(tributary, &dir, records, FOLLOW_RATE) {
        Ok(latency) => {
            result.seconds = began.elapsed().as_secs_f64();
            result.matched = latency.records;
            result.latency = Some(latency);
            let _ = fs::remove_dir_all(&dir);
        }
        Err(e) => result.error = Some(format!("{e:#}")),
    }
    result
}

fn have(program: &str, version_flag: &str) -> bool {
    Command::new(program)
        .arg(version_flag)
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
    fs::create_dir_all(root.join("gzipped"))?;
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

    // rotated: 1 MiB files, Python's names (`.1` newest), odd ones
    // gzipped; gzipped: the same files, every archive gzipped (the odd
    // ones are the very same archives, copied).
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
    let (rotated, gzipped) = (root.join("rotated"), root.join("gzipped"));
    let (mut rotated_files, mut gzipped_files) = (Vec::new(), Vec::new());
    // Renames keep times: the oldest archive was modified first.
    let age = |path: &Path, number: usize| -> std::io::Result<()> {
        File::options()
            .write(true)
            .open(path)?
            .set_modified(now - Duration::from_secs((number as u64 + 1) * 10))
    };
    for (k, data) in chunks.iter().enumerate() {
        let number = n - k; // the oldest has the highest number
        let gz_name = format!("app.log.{number}.gz");
        let gz = gzipped.join(&gz_name);
        let mut enc = flate2::write::GzEncoder::new(
            BufWriter::new(File::create(&gz)?),
            flate2::Compression::fast(),
        );
        enc.write_all(data)?;
        enc.finish()?.flush()?;
        age(&gz, number)?;
        gzipped_files.push(gz.clone());
        let path = if number % 2 == 1 {
            let path = rotated.join(&gz_name);
            fs::copy(&gz, &path)?;
            path
        } else {
            let path = rotated.join(format!("app.log.{number}"));
            fs::write(&path, data)?;
            path
        };
        age(&path, number)?;
        rotated_files.push(path);
    }
    let mut layouts = vec![plain];
    for (name, dir, mut files) in [
        ("rotated", rotated, rotated_files),
        ("gzipped", gzipped, gzipped_files),
    ] {
        let live = dir.join("app.log");
        fs::write(&live, &live_bytes)?;
        files.push(live.clone());
        layouts.push(Layout {
            name,
            live,
            files,
            bytes,
            errors,
        });
    }
    Ok(layouts)
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
        let rate = if r.system.contains("tail") || r.layout == "follow" {
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
    let find = |layout: &str, system: &str| {
        results
            .iter()
            .find(|r| r.layout == layout && r.system == system && r.error.is_none())
    };
    let verdict = |met: bool| if met { "met" } else { "SHORT" };
    for layout in LAYOUTS {
        if let Some(t) = find(layout, "tributary cat") {
            for other in ["jq", "lnav", "grep"] {
                if let Some(o) = find(layout, other) {
                    let ratio = o.seconds / t.seconds;
                    let target = match other {
                        "jq" => format!(" (target ≥ 20×: {})", verdict(ratio >= 20.0)),
                        _ => String::new(),
                    };
                    let _ = writeln!(
                        s,
                        "s12 {layout}: tributary cat ÷ {other} = {ratio:.2}× the rate{target}"
                    );
                }
            }
            if let Some(one) = find(layout, "tributary cat --threads 1") {
                let ratio = one.seconds / t.seconds;
                let _ = writeln!(
                    s,
                    "s12 {layout}: tributary cat, one reader ahead per core ÷ --threads 1 = {ratio:.2}× the rate (target ≥ 1.6× on 2 cores: {})",
                    verdict(ratio >= 1.6)
                );
            }
        }
    }
    if let Some(t) = find("plain", "tributary cat") {
        // One plain file has nothing to decode: the scan is one thread.
        let _ = writeln!(
            s,
            "s12 plain: tributary cat, one thread, {:.2} GiB/s (target ≥ 1 GiB/s: {})",
            t.gib_per_s,
            verdict(t.gib_per_s >= 1.0)
        );
    }
    if let Some(t) = find("plain", "tributary tail -n 10") {
        let ms = t.seconds * 1e3;
        let _ = writeln!(
            s,
            "s12 plain: tributary tail -n 10 on {:.0} MiB took {ms:.1} ms, process start included (target < 10 ms: {})",
            t.bytes as f64 / (1u64 << 20) as f64,
            verdict(ms < 10.0)
        );
    }
    if let Some(r) = find("follow", "tributary tail -f")
        && let Some(l) = &r.latency
    {
        let _ = writeln!(
            s,
            "s12 follow: tributary tail -f, write to screen over {} records at {}/s through {} rotations with gzip: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target p99 < 100 ms: {})",
            l.records,
            l.rate,
            l.rotations,
            l.p50_ms,
            l.p99_ms,
            l.max_ms,
            verdict(l.p99_ms < 100.0)
        );
    }
    s
}
