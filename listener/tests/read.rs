//! `tributary cat` and `tributary tail` (without -f) on real files: archives
//! written by the real rotating file in every naming and compression, every
//! filter against a selection computed here independently, the output
//! formats (pipe and pseudo-terminal), broken lines, cursors and stats.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tributary_core::{Formatter, JsonFormatter, Level, Record, Timestamp};
use tributary_rotation::{Compression, ManualClock, Naming, RotatingFile, When};

/// `tributary ARGS` in `cwd`, stdin from `input`, TZ=UTC so times print
/// the same everywhere.
fn run_with(cwd: &Path, args: &[&str], env: &[(&str, &str)], input: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tributary"));
    cmd.args(args)
        .current_dir(cwd)
        .env("TZ", "UTC")
        .env_remove("NO_COLOR")
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn tributary");
    if let Some(input) = input {
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn run(cwd: &Path, args: &[&str]) -> Output {
    run_with(cwd, args, &[], None)
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "tributary failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_owned).collect()
}

fn line(r: &Record) -> Vec<u8> {
    let mut out = Vec::new();
    JsonFormatter::native().format(r, &mut out);
    out.push(b'\n');
    out
}

const T0: i64 = 1_796_000_000_000_000_000;

/// Record `i`: message `m<i>`, one millisecond after the previous one.
fn numbered(i: u64) -> Record {
    Record::builder(Level::INFO, format!("m{i}"))
        .ts(Timestamp::from_unix_nanos(T0 + i as i64 * 1_000_000))
        .logger("app")
        .seq(i)
        .field("pad", "x".repeat(40))
        .build()
}

/// Writes `n` numbered records through a real `RotatingFile`, advancing the
/// clock by `tick` per record.
fn write_rotated(
    log: &Path,
    n: u64,
    build: impl FnOnce(tributary_rotation::Builder) -> tributary_rotation::Builder,
    clock: Option<(Arc<ManualClock>, Duration)>,
) {
    let mut b = RotatingFile::builder(log).max_bytes(2048).backup_count(0);
    if let Some((c, _)) = &clock {
        b = b.clock(c.clone() as Arc<dyn tributary_rotation::Clock>);
    }
    let mut file = build(b).open().unwrap();
    for i in 0..n {
        if let Some((c, tick)) = &clock {
            c.advance(*tick);
        }
        file.write_record(&line(&numbered(i))).unwrap();
    }
    file.close().unwrap();
}

fn expect_numbered(out: &str, n: u64) {
    let want: Vec<String> = (0..n).map(|i| format!("m{i}")).collect();
    let got = lines(out);
    assert_eq!(got.len(), want.len(), "record count");
    assert_eq!(got, want, "every record once, in order");
}

fn archive_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn archives_in_every_naming_and_compression_read_back_in_order() {
    type Setup = fn(tributary_rotation::Builder) -> tributary_rotation::Builder;
    let cases: Vec<(&str, Setup, bool)> = vec![
        ("python size", |b| b, false),
        (
            "python size gzip",
            |b| b.compression(Compression::gzip()),
            false,
        ),
        ("index", |b| b.naming(Naming::Index), false),
        (
            "index gzip",
            |b| b.naming(Naming::Index).compression(Compression::gzip()),
            false,
        ),
        (
            "timestamp gzip",
            |b| b.naming(Naming::Timestamp).compression(Compression::gzip()),
            false,
        ),
        (
            "python time (seconds)",
            |b| b.when(When::Seconds).utc(true),
            true,
        ),
        (
            "python time (minutes) gzip",
            |b| {
                b.when(When::Minutes)
                    .utc(true)
                    .compression(Compression::gzip())
            },
            true,
        ),
    ];
    for (name, setup, timed) in cases {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        let clock = timed.then(|| {
            (
                Arc::new(ManualClock::new(
                    jiff::Timestamp::from_second(1_796_000_000).unwrap(),
                )),
                Duration::from_secs(7),
            )
        });
        write_rotated(&log, 500, setup, clock);
        let names = archive_names(dir.path());
        assert!(names.len() > 5, "{name}: rotated several times: {names:?}");
        // A compression still running (or killed) leaves `.gz.tmp`: never read.
        std::fs::write(
            dir.path().join(format!("{}.gz.tmp", names[0])),
            b"{\"msg\":\"junk\"}\n",
        )
        .unwrap();
        let out = run(dir.path(), &["cat", "-o", "raw", "app.log"]);
        let text = ok(&out);
        assert_eq!(
            lines(&text).len(),
            500,
            "{name}: {names:?}\n{}",
            stderr(&out)
        );
        expect_numbered(&text, 500);
        // Decoded on the reading thread alone, or by several decoders
        // ahead of it: the same records in the same order.
        for threads in ["1", "3"] {
            let out = run(
                dir.path(),
                &["cat", "-o", "raw", "--threads", threads, "app.log"],
            );
            let text = ok(&out);
            assert_eq!(lines(&text).len(), 500, "{name} --threads {threads}");
            expect_numbered(&text, 500);
        }
    }
}

#[test]
fn multi_member_gzip_globs_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Two gzip members in one file (`cat a.gz b.gz > c.gz`): both are read.
    let mut gz = Vec::new();
    for range in [0..3u64, 3..6] {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for i in range {
            enc.write_all(&line(&numbered(i))).unwrap();
        }
        gz.extend(enc.finish().unwrap());
    }
    std::fs::write(d.join("app.log.2.gz"), &gz).unwrap();
    let mut plain = Vec::new();
    for i in 6..9 {
        plain.extend(line(&numbered(i)));
    }
    std::fs::write(d.join("app.log.1"), &plain).unwrap();
    std::fs::write(d.join("app.log"), line(&numbered(9))).unwrap();
    // Explicit archives are read as given, even a live file named with them.
    let out = run(
        d,
        &["cat", "-o", "raw", "app.log.2.gz", "app.log.1", "app.log"],
    );
    expect_numbered(&ok(&out), 10);
    let out = run(d, &["cat", "-o", "raw", "app.log.*.gz"]);
    expect_numbered(&ok(&out), 6);
    let out = run_with(d, &["cat", "-o", "raw", "-"], &[], Some(&gz));
    expect_numbered(&ok(&out), 6);
    let out = run_with(d, &["cat", "-o", "raw"], &[], Some(&plain));
    assert_eq!(lines(&ok(&out)), ["m6", "m7", "m8"]);
}

/// A varied record set: levels, loggers, hosts, pids and fields that every
/// filter can cut through.
fn varied() -> Vec<Record> {
    let loggers = [
        "app",
        "app.db",
        "app::db",
        "application",
        "other",
        "app.db.pool",
    ];
    let levels = [
        Level::DEBUG,
        Level::INFO,
        Level::WARNING,
        Level::ERROR,
        Level::CRITICAL,
        Level::custom(25, "NOTICE"),
    ];
    let words = ["alpha", "beta", "gamma delta", "error: disk full"];
    (0..300u64)
        .map(|i| {
            Record::builder(
                levels[(i % 6) as usize].clone(),
                format!("msg {i} {}", words[(i % 4) as usize]),
            )
            .ts(Timestamp::from_unix_nanos(T0 + i as i64 * 1_000_000_000))
            .logger(loggers[(i % 5 + i % 2) as usize % 6])
            .host(if i % 3 == 0 { "h2" } else { "h1" })
            .pid(100 + (i % 4) as u32)
            .field("n", i)
            .field("user", if i % 7 == 0 { "ann" } else { "bob" })
            .field("ratio", i as f64 / 10.0)
            .build()
        })
        .collect()
}

fn write_varied(dir: &Path) -> Vec<Record> {
    let records = varied();
    let mut text = Vec::new();
    for r in &records {
        text.extend(line(r));
    }
    std::fs::write(dir.join("app.log"), text).unwrap();
    records
}

#[test]
fn every_filter_selects_what_is_computed_independently() {
    let dir = tempfile::tempdir().unwrap();
    let records = write_varied(dir.path());
    let at = |secs: i64| Timestamp::from_unix_nanos(T0 + secs * 1_000_000_000).to_rfc3339();
    let since = at(40);
    let until = at(200);
    let under_app = |l: &str| l == "app" || l.starts_with("app.") || l.starts_with("app::");
    let n = |r: &Record| r.fields.get("n").and_then(|v| v.as_i64()).unwrap();
    type Keep<'a> = Box<dyn Fn(&Record) -> bool + 'a>;
    let cases: Vec<(Vec<String>, Keep)> = vec![
        (
            vec!["--level".into(), "WARNING".into()],
            Box::new(|r| r.level.no() >= 30),
        ),
        (
            vec!["--level".into(), "25".into()],
            Box::new(|r| r.level.no() >= 25),
        ),
        (
            vec!["-l".into(), "error".into()],
            Box::new(|r| r.level.no() >= 40),
        ),
        (
            vec!["--logger".into(), "app".into()],
            Box::new(move |r| under_app(&r.logger)),
        ),
        (
            vec![
                "--logger".into(),
                "app.db".into(),
                "--logger".into(),
                "other".into(),
            ],
            Box::new(|r| ["app.db", "app.db.pool", "other"].contains(&r.logger.as_str())),
        ),
        (
            vec!["--since".into(), since.clone()],
            Box::new(|r| n(r) >= 40),
        ),
        (
            vec!["--until".into(), until.clone()],
            Box::new(|r| n(r) <= 200),
        ),
        (
            vec![
                "--since".into(),
                since.clone(),
                "--until".into(),
                until.clone(),
                "--level".into(),
                "ERROR".into(),
            ],
            Box::new(|r| (40..=200).contains(&n(r)) && r.level.no() >= 40),
        ),
        (
            vec!["--grep".into(), r"^msg 1\d\b".into()],
            Box::new(|r| (10..20).contains(&n(r))),
        ),
        (
            vec!["--grep".into(), "disk".into()],
            Box::new(|r| r.msg.contains("disk")),
        ),
        (
            vec!["--field".into(), "user=ann".into()],
            Box::new(|r| n(r) % 7 == 0),
        ),
        (
            vec![
                "--field".into(),
                "n>100".into(),
                "--field".into(),
                "n<150".into(),
            ],
            Box::new(|r| (101..150).contains(&n(r))),
        ),
        (
            vec!["--field".into(), "ratio>29.5".into()],
            Box::new(|r| n(r) > 295),
        ),
        (
            vec!["--field".into(), "n=42".into()],
            Box::new(|r| n(r) == 42),
        ),
        (
            vec!["--host".into(), "h2".into()],
            Box::new(|r| n(r) % 3 == 0),
        ),
        (
            vec!["--pid".into(), "101".into()],
            Box::new(|r| n(r) % 4 == 1),
        ),
        (
            vec![
                "--pid".into(),
                "101".into(),
                "--host".into(),
                "h1".into(),
                "--logger".into(),
                "app".into(),
                "--level".into(),
                "INFO".into(),
            ],
            Box::new(move |r| {
                n(r) % 4 == 1 && n(r) % 3 != 0 && under_app(&r.logger) && r.level.no() >= 20
            }),
        ),
    ];
    for (args, keep) in cases {
        let want: Vec<String> = records
            .iter()
            .filter(|r| keep(r))
            .map(|r| r.msg.to_string())
            .collect();
        assert!(
            !want.is_empty() && want.len() < records.len(),
            "{args:?} selects a strict subset"
        );
        let mut argv = vec!["cat", "-o", "raw", "app.log"];
        argv.extend(args.iter().map(String::as_str));
        let out = run(dir.path(), &argv);
        assert_eq!(lines(&ok(&out)), want, "{args:?}");
        // The same through json output (the prefix-only path for level and time).
        let mut argv = vec!["cat", "-o", "json", "app.log"];
        argv.extend(args.iter().map(String::as_str));
        let out = run(dir.path(), &argv);
        let got: Vec<String> = lines(&ok(&out))
            .iter()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["msg"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(got, want, "{args:?} (json)");
    }
    let out = run(dir.path(), &["cat", "app.log", "--field", "n"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("KEY=VALUE, KEY>N or KEY<N"),
        "{}",
        stderr(&out)
    );
    let out = run(dir.path(), &["cat", "app.log", "--since", "soon"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--since") && stderr(&out).contains("RFC 3339"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn output_formats_and_color_through_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = Record::builder(Level::ERROR, "it broke")
        .ts(Timestamp::from_unix_nanos(T0))
        .logger("app.db")
        .field("user", "ann")
        .field("attempt", 2)
        .field("note", "two words")
        .exc("Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: bad")
        .build();
    let bytes = line(&r);
    std::fs::write(d.join("app.log"), &bytes).unwrap();
    // Not a terminal: json by default, the line exactly as written.
    assert_eq!(ok(&run(d, &["cat", "app.log"])).as_bytes(), &bytes[..]);
    let pretty = ok(&run(d, &["cat", "-o", "pretty", "app.log"]));
    assert_eq!(
        pretty,
        "2026-11-30 00:53:20.000 ERROR    app.db: it broke user=ann attempt=2 note=\"two words\"\n    Traceback (most recent call last):\n      File \"x.py\", line 1\n    ValueError: bad\n"
    );
    assert!(!pretty.contains('\x1b'), "no color through a pipe");
    let colored = ok(&run(
        d,
        &["cat", "-o", "pretty", "--color", "always", "app.log"],
    ));
    assert!(colored.contains("\x1b[31mERROR"), "{colored:?}");
    let never = ok(&run_with(
        d,
        &["cat", "-o", "pretty", "--color", "auto", "app.log"],
        &[("NO_COLOR", "1")],
        None,
    ));
    assert!(!never.contains('\x1b'));
    let text = ok(&run(
        d,
        &[
            "cat",
            "--pattern",
            "%(levelname)s:%(name)s:%(message)s:%(user)s",
            "app.log",
        ],
    ));
    assert!(
        text.starts_with("ERROR:app.db:it broke:ann\nTraceback"),
        "{text}"
    );
    assert_eq!(ok(&run(d, &["cat", "-o", "raw", "app.log"])), "it broke\n");
}

/// Runs `tributary` with its stdout on a pseudo-terminal and returns what
/// it wrote there.
fn run_on_pty(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    use std::os::fd::FromRawFd;
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two descriptors into the integers given.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned here.
    let (master, slave) = unsafe {
        (
            std::fs::File::from_raw_fd(master),
            std::fs::File::from_raw_fd(slave),
        )
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tributary"));
    cmd.args(args)
        .current_dir(cwd)
        .env("TZ", "UTC")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(slave.try_clone().unwrap())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap();
    drop(slave);
    drop(cmd);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut got = Vec::new();
    let mut master = master;
    let mut buf = [0u8; 4096];
    // Reading the master after every slave is closed ends with EIO.
    while let Ok(n) = master.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(got).unwrap()
}

#[test]
fn pretty_with_colors_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let r = Record::builder(Level::WARNING, "careful")
        .ts(Timestamp::from_unix_nanos(T0))
        .logger("app")
        .build();
    std::fs::write(dir.path().join("app.log"), line(&r)).unwrap();
    let screen = run_on_pty(dir.path(), &["cat", "app.log"], &[]);
    assert!(
        screen.contains("\x1b[33mWARNING"),
        "pretty and colored by default on a terminal: {screen:?}"
    );
    assert!(screen.contains("careful"));
    let screen = run_on_pty(dir.path(), &["cat", "app.log"], &[("NO_COLOR", "1")]);
    assert!(!screen.contains('\x1b'), "NO_COLOR: {screen:?}");
    assert!(screen.contains("WARNING  app: careful"), "{screen:?}");
}

#[test]
fn broken_lines_are_shown_counted_and_never_stop_reading() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut bytes = Vec::new();
    bytes.extend(line(&numbered(0)));
    bytes.extend(b"this is not json\n");
    bytes.extend(line(&numbered(1)));
    bytes.extend(b"{\"msg\":\"caf\xe9\"}\n");
    bytes.extend(line(&numbered(2)));
    let cut = line(&numbered(3));
    bytes.extend(&cut[..cut.len() / 2]);
    std::fs::write(d.join("app.log"), &bytes).unwrap();
    let out = run(d, &["cat", "-o", "json", "app.log"]);
    assert_eq!(
        out.stdout,
        bytes.iter().copied().chain([b'\n']).collect::<Vec<u8>>(),
        "json passes every line through"
    );
    assert_eq!(
        stderr(&out).trim(),
        "tributary: 3 broken lines (1 invalid UTF-8, 1 invalid JSON, 1 truncated)"
    );
    let out = run(d, &["cat", "-o", "pretty", "app.log"]);
    let shown = lines(&ok(&out));
    assert_eq!(shown.len(), 6);
    assert_eq!(shown[1], "[broken line: invalid JSON] this is not json");
    assert!(
        shown[3].starts_with("[broken line: invalid UTF-8] {\"msg\":\"caf"),
        "{}",
        shown[3]
    );
    assert!(
        shown[5].starts_with("[broken line: truncated] {\"ts\""),
        "{}",
        shown[5]
    );
    assert!(shown[4].contains(" app: m2"));

    // A gzip archive cut short: reported with its name, not fatal, and
    // everything else is read.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for i in 0..2000 {
        enc.write_all(&line(&numbered(i))).unwrap();
    }
    let gz = enc.finish().unwrap();
    std::fs::write(d.join("app.log.1.gz"), &gz[..gz.len() / 2]).unwrap();
    std::fs::write(d.join("app.log"), line(&numbered(2000))).unwrap();
    // An older, empty archive first: the cut one is then decoded ahead, on
    // its own thread, and its error must travel back.
    let older = std::fs::File::create(d.join("app.log.2")).unwrap();
    older
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    let out = run(d, &["cat", "-o", "raw", "app.log"]);
    let got = lines(&ok(&out));
    let err = stderr(&out);
    assert!(
        err.contains("app.log.1.gz") && err.contains("truncated gzip member"),
        "{err}"
    );
    assert_eq!(got.last().map(String::as_str), Some("m2000"));
    let complete: Vec<&String> = got.iter().filter(|l| l.starts_with('m')).collect();
    assert!(
        complete.len() > 100 && complete.len() < 2001,
        "{}",
        complete.len()
    );
    for (i, l) in complete[..complete.len() - 1].iter().enumerate() {
        assert_eq!(**l, format!("m{i}"));
    }
}

#[test]
fn missing_files_and_directories_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["cat", "nope.log"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("nope.log: No such file"),
        "{}",
        stderr(&out)
    );
    std::fs::create_dir(dir.path().join("logs")).unwrap();
    let out = run(dir.path(), &["cat", "logs"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out)
            .contains("logs is a directory: pass the live log file in it (e.g. logs/tributary.log"),
        "{}",
        stderr(&out)
    );
    let out = run(dir.path(), &["tail", "nope.log"]);
    assert!(
        stderr(&out).contains("nope.log: No such file"),
        "{}",
        stderr(&out)
    );
    let out = run(dir.path(), &["cat", "logs/*.gz"]);
    assert!(
        stderr(&out).contains("logs/*.gz: no file matches"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_cursor_resumes_exactly_after_rotations_and_compression() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("app.log");
    let cursor = d.join("cursor.json");
    let cursor_arg = cursor.to_str().unwrap();
    let mut next = 0;
    let mut seen: Vec<String> = Vec::new();
    // Rounds: a few records (no rotation), many (several rotations: the
    // cursor's file renamed and, once the writer closes, gzipped — a new
    // inode, found again by its bytes), then none.
    for k in [5, 3, 200, 1, 0, 60] {
        let mut file = RotatingFile::builder(&log)
            .max_bytes(2048)
            .compression(Compression::gzip())
            .open()
            .unwrap();
        for _ in 0..k {
            file.write_record(&line(&numbered(next))).unwrap();
            next += 1;
        }
        // Closing finishes compressing.
        file.close().unwrap();
        let out = run(d, &["cat", "-o", "raw", "--cursor", cursor_arg, "app.log"]);
        let got = lines(&ok(&out));
        assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
        seen.extend(got);
    }
    assert!(
        archive_names(d)
            .iter()
            .all(|n| !n.starts_with("app.log.") || n.ends_with(".gz")),
        "every archive gzipped: {:?}",
        archive_names(d)
    );
    let want: Vec<String> = (0..next).map(|i| format!("m{i}")).collect();
    assert_eq!(seen, want, "every record exactly once across runs");
    // An unfinished line is left for the next run, which reads it whole.
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    let whole = line(&numbered(next));
    f.write_all(&whole[..10]).unwrap();
    let out = run(d, &["cat", "-o", "raw", "--cursor", cursor_arg, "app.log"]);
    assert_eq!(ok(&out), "");
    f.write_all(&whole[10..]).unwrap();
    let out = run(d, &["cat", "-o", "raw", "--cursor", cursor_arg, "app.log"]);
    assert_eq!(lines(&ok(&out)), [format!("m{next}")]);
}

#[test]
fn stats_count_levels_loggers_and_times() {
    let dir = tempfile::tempdir().unwrap();
    let records = write_varied(dir.path());
    let out = run(
        dir.path(),
        &["cat", "--stats", "app.log", "--level", "INFO"],
    );
    let text = ok(&out);
    let kept: Vec<&Record> = records.iter().filter(|r| r.level.no() >= 20).collect();
    assert!(
        text.starts_with(&format!("records: {}\n", kept.len())),
        "{text}"
    );
    let mut per_level: BTreeMap<String, usize> = BTreeMap::new();
    let mut per_logger: BTreeMap<String, usize> = BTreeMap::new();
    for r in &kept {
        *per_level.entry(r.level.name().to_owned()).or_default() += 1;
        *per_logger.entry(r.logger.to_string()).or_default() += 1;
    }
    for (level, n) in per_level {
        let row = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{level} ")))
            .unwrap();
        assert!(row.trim_end().ends_with(&format!(" {n}")), "{row}");
    }
    for (logger, n) in per_logger {
        let row = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(&logger))
            .unwrap();
        assert!(row.trim_end().ends_with(&format!(" {n}")), "{row}");
    }
    let first = kept.iter().map(|r| r.ts).min().unwrap();
    let last = kept.iter().map(|r| r.ts).max().unwrap();
    assert!(text.contains(&format!("first: {}\n", first.to_rfc3339())));
    assert!(text.contains(&format!("last: {}\n", last.to_rfc3339())));
    let rate = kept.len() as f64 / ((last.unix_nanos() - first.unix_nanos()) as f64 / 1e9);
    assert!(text.contains(&format!("records/s: {rate:.3}\n")), "{text}");
}

#[test]
fn tail_reads_the_last_records_across_archives() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("app.log");
    write_rotated(&log, 300, |b| b.compression(Compression::gzip()), None);
    let live = std::fs::read_to_string(&log).unwrap().lines().count() as u64;
    let out = run(d, &["tail", "-o", "raw", "app.log"]);
    let want: Vec<String> = (290..300).map(|i| format!("m{i}")).collect();
    assert_eq!(lines(&ok(&out)), want);
    // More than the live file holds: the rest from the (gzipped) archives.
    let n = live + 25;
    let out = run(d, &["tail", "-o", "raw", "-n", &n.to_string(), "app.log"]);
    let want: Vec<String> = (300 - n..300).map(|i| format!("m{i}")).collect();
    assert_eq!(lines(&ok(&out)), want);
    let out = run(
        d,
        &[
            "tail",
            "-o",
            "raw",
            "-n",
            "3",
            "--grep",
            "^m1[0-9]$",
            "app.log",
        ],
    );
    assert_eq!(lines(&ok(&out)), ["m17", "m18", "m19"]);
    let out = run(d, &["tail", "-o", "raw", "-n", "1000", "app.log"]);
    expect_numbered(&ok(&out), 300);
    let _ = PathBuf::new();
}

#[test]
fn every_json_profile_the_listener_writes_reads_back() {
    use tributary_core::JsonProfile;
    for profile in [
        JsonProfile::Native,
        JsonProfile::Ecs,
        JsonProfile::Otel,
        JsonProfile::Tracing,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let formatter = JsonFormatter::new(profile);
        let mut text = Vec::new();
        for (i, level) in [Level::INFO, Level::WARNING, Level::ERROR, Level::DEBUG]
            .into_iter()
            .enumerate()
        {
            let r = Record::builder(level, format!("m{i}"))
                .ts(Timestamp::from_unix_nanos(T0 + i as i64 * 1_000_000_000))
                .logger(if i == 2 { "app.db" } else { "other" })
                .host("h1")
                .pid(7)
                .field("user", "ann")
                .build();
            formatter.format(&r, &mut text);
            text.push(b'\n');
        }
        std::fs::write(dir.path().join("app.log"), &text).unwrap();
        let run_raw = |args: &[&str]| {
            let mut argv = vec!["cat", "-o", "raw", "app.log"];
            argv.extend(args);
            lines(&ok(&run(dir.path(), &argv)))
        };
        assert_eq!(run_raw(&[]), ["m0", "m1", "m2", "m3"], "{profile:?}");
        assert_eq!(
            run_raw(&["--level", "WARNING"]),
            ["m1", "m2"],
            "{profile:?}"
        );
        assert_eq!(run_raw(&["--logger", "app"]), ["m2"], "{profile:?}");
        let since = Timestamp::from_unix_nanos(T0 + 2_000_000_000).to_rfc3339();
        assert_eq!(run_raw(&["--since", &since]), ["m2", "m3"], "{profile:?}");
        assert_eq!(
            run_raw(&["--host", "h1", "--pid", "7", "--field", "user=ann"]).len(),
            4,
            "{profile:?}"
        );
    }
}

#[test]
fn tail_saves_a_cursor_that_cat_resumes_from() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut text = Vec::new();
    for i in 0..20 {
        text.extend(line(&numbered(i)));
    }
    std::fs::write(d.join("app.log"), &text).unwrap();
    let out = run(
        d,
        &[
            "tail", "-n", "2", "-o", "raw", "--cursor", "c.json", "app.log",
        ],
    );
    assert_eq!(lines(&ok(&out)), ["m18", "m19"]);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(d.join("app.log"))
        .unwrap();
    f.write_all(&line(&numbered(20))).unwrap();
    let out = run(d, &["cat", "-o", "raw", "--cursor", "c.json", "app.log"]);
    assert_eq!(lines(&ok(&out)), ["m20"]);
}

#[test]
fn text_logs_keep_tracebacks_with_their_record() {
    let ok_python = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok_python,
        "python3 is needed for this test: install it (apt-get install python3)"
    );
    let dir = tempfile::tempdir().unwrap();
    // Python's own logging writes the file and says how it formatted each
    // record: the expectation comes from Python, not from the reader.
    let script = r#"
import json, logging, sys
log = logging.getLogger("app.db")
log.setLevel(logging.DEBUG)
h = logging.FileHandler("app.log")
f = logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s")
h.setFormatter(f)
log.addHandler(h)
texts = []
class Keep(logging.Handler):
    def emit(self, record):
        texts.append({"levelno": record.levelno, "text": f.format(record)})
log.addHandler(Keep())
log.info("starting")
try:
    {}["needle"]
except KeyError:
    log.exception("lookup failed")
log.warning("careful\nsecond line of the message")
try:
    1 / 0
except ZeroDivisionError:
    log.error("division failed", exc_info=True)
log.debug("done")
json.dump(texts, sys.stdout)
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .current_dir(dir.path())
        .env("TZ", "UTC")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let texts: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let expect = |keep: &dyn Fn(i64, &str) -> bool| -> String {
        texts
            .iter()
            .filter(|t| keep(t["levelno"].as_i64().unwrap(), t["text"].as_str().unwrap()))
            .map(|t| format!("{}\n", t["text"].as_str().unwrap()))
            .collect()
    };
    let cat = |args: &[&str]| {
        let mut argv = vec!["cat", "-o", "raw", "app.log"];
        argv.extend(args);
        let out = run(dir.path(), &argv);
        assert!(stderr(&out).is_empty(), "no broken lines: {}", stderr(&out));
        ok(&out)
    };
    assert_eq!(cat(&[]), expect(&|_, _| true));
    let errors = cat(&["--level", "ERROR"]);
    assert_eq!(errors, expect(&|no, _| no >= 40));
    assert!(errors.contains("KeyError: 'needle'") && errors.contains("ZeroDivisionError"));
    assert_eq!(
        cat(&["--grep", "needle"]),
        expect(&|_, t| t.contains("needle"))
    );
    assert_eq!(
        cat(&["--level", "WARNING", "--grep", "second line"]),
        expect(&|no, t| no >= 30 && t.contains("second line"))
    );
    assert_eq!(cat(&["--logger", "app"]), expect(&|_, _| true));
    assert_eq!(cat(&["--logger", "other"]), "");
    let stats = ok(&run(dir.path(), &["cat", "--stats", "app.log"]));
    assert!(stats.starts_with("records: 5\n"), "{stats}");
}

/// Record `i` at a level that cycles through DEBUG … CRITICAL.
fn leveled(i: u64) -> Record {
    let levels = [
        Level::DEBUG,
        Level::INFO,
        Level::WARNING,
        Level::ERROR,
        Level::CRITICAL,
    ];
    Record::builder(levels[(i % 5) as usize].clone(), format!("m{i}"))
        .ts(Timestamp::from_unix_nanos(T0 + i as i64 * 1_000_000))
        .logger("app")
        .seq(i)
        .field("pad", "x".repeat(100))
        .build()
}

fn gzip(members: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in members {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(m).unwrap();
        out.extend(enc.finish().unwrap());
    }
    out
}

#[test]
fn archives_decoded_ahead_read_as_on_the_reading_thread() {
    // Readers ahead decode the archives, cut them into lines and drop the
    // lines the level or time filter rejects; the reading thread alone (`--threads
    // 1`) reads every line itself. Both must print the same bytes, report
    // the same problems and save the same cursor, whatever the lines.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut first, mut errors) = (Vec::new(), 0u64);
    for i in 0..3000u64 {
        first.extend(line(&leveled(i)));
        errors += u64::from(i % 5 >= 3);
        if i % 700 == 5 {
            // A text record with its traceback, then a native line the
            // level filter rejects, then a line that would belong to the
            // text record had that line not ended it.
            first.extend(b"2026-12-06 10:00:00,123 ERROR app: boom\n");
            first.extend(b"Traceback (most recent call last):\n  File \"x.py\", line 1\n");
            first.extend(line(&numbered(i)));
            first.extend(b"  after a rejected line\n");
            first.extend(b"\n\r\n");
        }
        if i == 1500 {
            // Longer than a decoder's chunk: it spans several.
            let long = Record::builder(Level::ERROR, "y".repeat(600 * 1024))
                .ts(Timestamp::from_unix_nanos(T0))
                .build();
            first.extend(line(&long));
            errors += 1;
        }
    }
    std::fs::write(d.join("a1.gz"), gzip(&[&first])).unwrap();
    // Plain archives are read ahead too (all but the last file), this one
    // ending without `\n`.
    std::fs::write(d.join("p1"), &first[..first.len() - 7]).unwrap();
    let mut cut = Vec::new();
    for i in 0..2000u64 {
        cut.extend(line(&leveled(i)));
    }
    let cut = gzip(&[&cut]);
    std::fs::write(d.join("a2.gz"), &cut[..cut.len() / 2]).unwrap();
    let (mut m1, mut m2) = (Vec::new(), Vec::new());
    for i in 0..500u64 {
        m1.extend(line(&leveled(i)));
        m2.extend(line(&leveled(i + 500)));
        errors += 2 * u64::from(i % 5 >= 3);
    }
    std::fs::write(d.join("a3.gz"), gzip(&[&m1, &m2])).unwrap();
    let mut last = line(&leveled(3));
    errors += 1;
    let unfinished = line(&leveled(4));
    last.extend(&unfinished[..unfinished.len() - 10]);
    std::fs::write(d.join("a4.gz"), gzip(&[&last])).unwrap();

    let since = Timestamp::from_unix_nanos(T0 + 1_000 * 1_000_000).to_rfc3339();
    let filters: [&[&str]; 3] = [
        &[],
        &["--level", "ERROR"],
        &["--level", "WARNING", "--since", &since],
    ];
    let files = ["a1.gz", "p1", "a2.gz", "a3.gz", "a4.gz"];
    for filter in filters {
        let args = |threads: &'static str| {
            let mut a = vec!["cat", "-o", "json", "--threads", threads];
            a.extend(filter);
            a.extend(files);
            a
        };
        let one = run(d, &args("1"));
        assert!(
            stderr(&one).contains("a2.gz") && stderr(&one).contains("truncated gzip member"),
            "{}",
            stderr(&one)
        );
        for threads in ["2", "3"] {
            let ahead = run(d, &args(threads));
            assert_eq!(
                stderr(&ahead),
                stderr(&one),
                "{filter:?} --threads {threads}: problems reported"
            );
            assert!(
                ahead.stdout == one.stdout,
                "{filter:?} --threads {threads}: {} bytes printed, {} on one thread",
                ahead.stdout.len(),
                one.stdout.len()
            );
        }
    }

    // The selection, counted here: every native ERROR and CRITICAL line of
    // the intact archives (and the unfinished last line, shown broken).
    for threads in ["1", "3"] {
        let out = run(
            d,
            &[
                "cat",
                "-o",
                "json",
                "--threads",
                threads,
                "--level",
                "ERROR",
                "a1.gz",
                "a3.gz",
                "a4.gz",
            ],
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let native = text.lines().filter(|l| l.ends_with('}')).count() as u64;
        assert_eq!(native, errors, "--threads {threads}: ERROR records");
    }

    // With a cursor, the unfinished last line is left for the next run,
    // which must start at the same place either way.
    let mut cursors = Vec::new();
    for threads in ["1", "3"] {
        let cursor = format!("cursor-{threads}");
        let out = run(
            d,
            &[
                "cat",
                "-o",
                "json",
                "--threads",
                threads,
                "--cursor",
                &cursor,
                "a1.gz",
                "a3.gz",
                "a4.gz",
            ],
        );
        let text = ok(&out);
        assert!(text.ends_with(&String::from_utf8(line(&leveled(3))).unwrap()));
        cursors.push(std::fs::read_to_string(d.join(&cursor)).unwrap());
    }
    assert_eq!(cursors[0], cursors[1], "the cursor saved");
}

#[test]
fn archives_without_newlines_read_ahead_stay_within_bounded_memory() {
    // An archive without a newline is tiny gzipped and huge decoded: its
    // chunks grow to the longest line kept whole (16 MiB). Readers ahead
    // must not hold such chunks for the archives waiting their turn, or
    // memory grows with the archives started ahead and `--threads`.
    const DECODED: usize = 40 << 20;
    const ARCHIVES: usize = 9;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut body = vec![b'x'; DECODED];
    body.push(b'\n');
    let packed = gzip(&[&body]);
    drop(body);
    let mut args = vec!["cat".to_owned(), "--threads".into(), "4".into()];
    for i in 0..ARCHIVES {
        let name = format!("a{i}.gz");
        std::fs::write(d.join(&name), &packed).unwrap();
        args.push(name);
    }
    std::fs::write(d.join("live.log"), line(&leveled(4))).unwrap();
    args.push("live.log".into());
    #[allow(
        clippy::zombie_processes,
        reason = "reaped by wait4 below, which also gives its peak RSS"
    )]
    let child = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args(&args)
        .current_dir(d)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    let mut status = 0;
    // SAFETY: rusage is plain data the kernel fills; `pid` is our child,
    // reaped here once (the `Child` is not waited on afterwards).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4: {}", std::io::Error::last_os_error());
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "tributary cat failed: status {status}"
    );
    let peak_mib = usage.ru_maxrss / 1024;
    // One archive's grown chunks (the one being read) and the usual
    // chunks of the rest: 62 MiB here; before the bound, the archives
    // started ahead held their 40 MiB decoded (198 MiB).
    assert!(
        peak_mib < 100,
        "peak RSS {peak_mib} MiB reading {ARCHIVES} archives of {} MiB without a newline",
        DECODED >> 20
    );
}
