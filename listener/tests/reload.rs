//! Reload under load: 4 Python stdlib `SocketHandler` producers and 2
//! acknowledged Rust producers log steadily while the test reloads the
//! real binary 20 times with SIGHUP, alternating two configurations that
//! add and remove an `[[output]]`, change a level and a pattern, and add
//! and remove a second TCP input; an invalid configuration in the middle is
//! refused and the one in effect kept.
//!
//! Every record carries the phase it was logged in: phase k starts once
//! the listener has reported reload k, so a record of phase k was routed
//! by configuration k, or by k + 1 if that reload came before the listener
//! read it. Each record must be, exactly once, in the outputs one of those
//! two configurations sends it to, and nowhere else. No producer
//! connection may be reset: Python's handler never calls `handleError`,
//! and the main input served exactly one connection per producer.

#![allow(clippy::unwrap_used)] // a test: a failure should fail it

mod common;

use common::*;
use std::collections::BTreeMap;
use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};
use tributary_core::{JsonFormatter, Level, Record, frame};
use tributary_handlers::Handler;
use tributary_handlers::net::SocketHandler;

/// Configuration A (even phases): one input; every record to main.log,
/// and to text.log with pattern `A|...`.
const CONFIG_A: &str = r#"tcp = ["127.0.0.1:0"]
out = "main.log"

[[output]]
file = "text.log"
format = "text"
pattern = "A|%(producer)s|%(n)s|%(levelname)s|%(phase)s"
"#;

/// Configuration B (odd phases): a second input; main.log takes WARNING
/// and up, text.log's pattern is `B|...`, and extra.log takes ERROR and up.
const CONFIG_B: &str = r#"tcp = ["127.0.0.1:0", "127.0.0.2:0"]
out = "main.log"
level = "WARNING"

[[output]]
file = "text.log"
format = "text"
pattern = "B|%(producer)s|%(n)s|%(levelname)s|%(phase)s"

[[output]]
file = "extra.log"
level = "ERROR"
"#;

/// Refused: the level has no such name (line 3).
const CONFIG_INVALID: &str = r#"tcp = ["127.0.0.1:0"]
out = "main.log"
level = "LOUD"
"#;

const RELOADS: u64 = 20;
/// The invalid configuration is sent after this many reloads.
const INVALID_AFTER: u64 = 10;

const PYTHON_PRODUCER: &str = r#"
import logging, logging.handlers, os, sys, time
port, name, phase_path, stop_path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
errors = 0
class Counting(logging.handlers.SocketHandler):
    def handleError(self, record):
        global errors
        errors += 1
        super().handleError(record)
handler = Counting("127.0.0.1", port)
log = logging.getLogger("py." + name)
log.setLevel(logging.DEBUG)
log.propagate = False
log.addHandler(handler)
levels = [logging.INFO, logging.WARNING, logging.ERROR]
n = 0
while not os.path.exists(stop_path):
    with open(phase_path) as f:
        phase = int(f.read())
    log.log(levels[n % 3], "record %d", n, extra={"producer": name, "n": n, "phase": phase})
    n += 1
    time.sleep(0.002)
handler.close()
print(n, errors)
"#;

fn level_of(n: u64) -> Level {
    [Level::INFO, Level::WARNING, Level::ERROR][(n % 3) as usize].clone()
}

fn record(producer: &str, n: u64, phase: u64) -> Record {
    Record::builder(level_of(n), format!("record {n}"))
        .logger(format!("rust.{producer}"))
        .seq(n)
        .field("producer", producer)
        .field("n", n)
        .field("phase", phase)
        .build()
}

/// Where a record went: main.log and extra.log counts, and the patterns
/// of its text.log lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Placement {
    main: usize,
    extra: usize,
    text: Vec<String>,
}

/// Where configuration `phase` sends a record of level number `levelno`.
fn expected(phase: u64, levelno: i64) -> Placement {
    if phase.is_multiple_of(2) {
        Placement {
            main: 1,
            extra: 0,
            text: vec!["A".into()],
        }
    } else {
        Placement {
            main: usize::from(levelno >= 30),
            extra: usize::from(levelno >= 40),
            text: vec!["B".into()],
        }
    }
}

fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Lines of `path` (none if it does not exist).
fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn reloads_under_load_lose_nothing_and_reset_no_connection() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf.toml");
    let phase_file = dir.path().join("phase");
    let stop_file = dir.path().join("stop");
    write_atomically(&conf, CONFIG_A);
    write_atomically(&phase_file, "0");
    let t = Tributary::start_expecting(dir.path(), &["--config", "conf.toml"], 1);
    let main_addr = t.tcp(0);

    // The producers.
    let phase = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut pythons = Vec::new();
    for i in 0..4 {
        let child = Command::new("python3")
            .args(["-c", PYTHON_PRODUCER])
            .arg(main_addr.port().to_string())
            .arg(format!("py{i}"))
            .arg(&phase_file)
            .arg(&stop_file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("python3 is needed for this test (apt-get install python3): {e}")
            });
        pythons.push(child);
    }
    let mut rusts = Vec::new();
    for i in 0..2 {
        let (phase, stop) = (phase.clone(), stop.clone());
        rusts.push(std::thread::spawn(move || {
            let name = format!("rust{i}");
            let mut h = SocketHandler::tcp(main_addr.to_string())
                .acknowledged()
                .with_producer_id(name.clone());
            let mut n = 0;
            while !stop.load(Relaxed) {
                h.handle(&record(&name, n, phase.load(Relaxed))).unwrap();
                n += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            h.close().unwrap();
            assert_eq!(h.unacknowledged(), 0, "{name}: records never acknowledged");
            n
        }));
    }

    // Records are flowing from every producer before the first reload.
    let text_log = dir.path().join("text.log");
    wait_until(&t, "every producer's records in text.log", || {
        let text = lines(&text_log);
        (0..4)
            .map(|i| format!("|py{i}|"))
            .chain((0..2).map(|i| format!("|rust{i}|")))
            .all(|p| text.iter().any(|l| l.contains(&p)))
    });

    let mut probes: Vec<(u64, u64)> = Vec::new(); // (n, phase)
    let mut second: Option<SocketAddr> = None;
    let mut pauses = Vec::new();
    let mut done = 0u64;
    while done < RELOADS {
        let before = lines(&text_log).len();
        if done == INVALID_AFTER && t.stderr_now().matches("reload refused").count() == 0 {
            write_atomically(&conf, CONFIG_INVALID);
            t.signal(libc::SIGHUP);
            wait_until(&t, "the invalid configuration's refusal on stderr", || {
                t.stderr_now().matches("reload refused").count() == 1
            });
        } else {
            let next = done + 1;
            write_atomically(
                &conf,
                if next.is_multiple_of(2) {
                    CONFIG_A
                } else {
                    CONFIG_B
                },
            );
            t.signal(libc::SIGHUP);
            wait_until(&t, &format!("reload {next} on stderr"), || {
                let said = t.stderr_now();
                assert!(
                    !said.contains("reload refused") || next > INVALID_AFTER,
                    "{said}"
                );
                let reloads = said.matches("reloaded: ").count() as u64;
                assert!(said.matches("reload refused").count() <= 1, "{said}");
                reloads == next
            });
            done = next;
            let said = t.stderr_now();
            let line = said
                .lines()
                .filter(|l| l.contains("reloaded: "))
                .nth(next as usize - 1)
                .unwrap()
                .to_owned();
            pauses.push(pause_ms(&line));
            // From now on the producers log in the new phase.
            phase.store(next, Relaxed);
            write_atomically(&phase_file, &next.to_string());
            if next % 2 == 1 {
                // The second input is there: a record through it lands.
                let addr: SocketAddr = line
                    .split("+tcp ")
                    .nth(1)
                    .unwrap_or_else(|| panic!("no input added in {line:?}"))
                    .split([',', ';'])
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(line.contains("+extra.log"), "{line}");
                let mut wire = Vec::new();
                frame::encode_record(
                    &record("probe", next, next),
                    &JsonFormatter::native(),
                    &mut wire,
                )
                .unwrap();
                TcpStream::connect(addr).unwrap().write_all(&wire).unwrap();
                probes.push((next, next));
                second = Some(addr);
            } else {
                // The second input is gone: nothing listens there.
                assert!(line.contains("-extra.log"), "{line}");
                let addr = second.take().unwrap();
                let refused = TcpStream::connect(addr).unwrap_err();
                assert_eq!(refused.kind(), ErrorKind::ConnectionRefused, "{addr}");
            }
        }
        // Logging goes on in between.
        wait_until(&t, "records between reloads", || {
            lines(&text_log).len() >= before + 60
        });
    }

    // Stop the producers; every record they sent is in.
    std::fs::write(&stop_file, "").unwrap();
    stop.store(true, Relaxed);
    let mut sent: BTreeMap<String, u64> = BTreeMap::new();
    for (i, r) in rusts.into_iter().enumerate() {
        sent.insert(format!("rust{i}"), r.join().unwrap());
    }
    for (i, child) in pythons.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "py{i}: {said} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (n, errors) = said.trim().split_once(' ').unwrap();
        assert_eq!(
            errors,
            "0",
            "py{i}: SocketHandler.handleError was called: its connection broke. {}",
            String::from_utf8_lossy(&out.stderr)
        );
        sent.insert(format!("py{i}"), n.parse().unwrap());
    }
    let total: u64 = sent.values().sum::<u64>() + probes.len() as u64;
    wait_until(&t, "every record in text.log", || {
        lines(&text_log).len() as u64 >= total
    });
    // extra.log, removed by every even reload, is closed once the records
    // routed to it are written: one line each time.
    wait_until(&t, "the last removed extra.log closed", || {
        t.stderr_now().matches("reload: closed ").count() as u64 == RELOADS / 2
    });
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");

    // Each reload's outcome was on stderr; the invalid one named its key
    // and line and kept the configuration in effect.
    assert_eq!(
        stderr.matches("reloaded: ").count() as u64,
        RELOADS,
        "{stderr}"
    );
    let refusal = stderr
        .lines()
        .find(|l| l.contains("reload refused"))
        .unwrap();
    assert!(
        refusal.contains("line 3") && refusal.contains("`level`") && refusal.contains("LOUD"),
        "{refusal}"
    );
    // One connection per producer on the main input: none was reset.
    assert_eq!(summary_counter(&stderr, "connections"), 6, "{stderr}");
    assert_eq!(summary_counter(&stderr, "acknowledged"), 2, "{stderr}");

    // Where each record went, and its phase (text.log has every record).
    let mut placed: BTreeMap<(String, u64), Placement> = BTreeMap::new();
    let mut phases: BTreeMap<(String, u64), u64> = BTreeMap::new();
    for (file, extra) in [("main.log", false), ("extra.log", true)] {
        for line in read_json(&dir.path().join(file)) {
            let f = &line["fields"];
            let key = (
                f["producer"].as_str().unwrap().to_owned(),
                f["n"].as_u64().unwrap(),
            );
            let at = placed.entry(key).or_default();
            if extra {
                at.extra += 1;
            } else {
                at.main += 1;
            }
        }
    }
    let mut text_lines = 0u64;
    for line in lines(&text_log) {
        let parts: Vec<&str> = line.split('|').collect();
        assert_eq!(parts.len(), 5, "text line {line:?}");
        let key = (parts[1].to_owned(), parts[2].parse::<u64>().unwrap());
        phases.insert(key.clone(), parts[4].parse().unwrap());
        placed
            .entry(key)
            .or_default()
            .text
            .push(parts[0].to_owned());
        text_lines += 1;
    }
    assert_eq!(text_lines, total, "text.log takes every record once");
    let mut expected_keys: Vec<(String, u64)> = sent
        .iter()
        .flat_map(|(p, n)| (0..*n).map(move |n| (p.clone(), n)))
        .collect();
    expected_keys.extend(probes.iter().map(|(n, _)| ("probe".to_owned(), *n)));
    assert_eq!(placed.len(), expected_keys.len(), "records made up or lost");
    let mut per_phase = BTreeMap::<u64, u64>::new();
    for key in &expected_keys {
        let at = placed
            .get(key)
            .unwrap_or_else(|| panic!("record {key:?} was written nowhere"));
        let phase = phases[key];
        let levelno = i64::from(level_of(key.1).no());
        let fits = [phase, phase + 1]
            .iter()
            .filter(|&&p| p <= RELOADS)
            .any(|&p| expected(p, levelno) == *at);
        assert!(
            fits,
            "record {key:?} (level {levelno}, phase {phase}) went to {at:?}, which neither configuration {phase} nor {} sends it to",
            phase + 1
        );
        *per_phase.entry(phase).or_default() += 1;
    }
    // Every phase had records.
    for p in 0..=RELOADS {
        assert!(
            per_phase.get(&p).is_some_and(|&n| n > 0),
            "no records in phase {p}: {per_phase:?}"
        );
    }
    let closings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("reload: closed "))
        .collect();
    assert_eq!(closings.len() as u64, RELOADS / 2, "{stderr}");
    assert!(closings.iter().all(|l| l.contains("extra.log")), "{stderr}");
    let worst = pauses.iter().copied().fold(0.0f64, f64::max);
    let worst_close = closings.iter().map(|l| pause_ms(l)).fold(0.0f64, f64::max);
    eprintln!(
        "reload: {RELOADS} reloads, {total} records; longest writer pause: switching {worst:.2} ms, closing removed outputs {worst_close:.2} ms"
    );
}

/// The `writer paused X ms` of a `reloaded:` or `reload: closed` line.
fn pause_ms(line: &str) -> f64 {
    line.rsplit("writer paused ")
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("no writer pause in {line:?}"))
}

fn wait_until(t: &Tributary, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what}: not within {PATIENCE:?}; stderr:\n{}",
            t.stderr_now()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `--pid-file`: written once every input is bound, with the listener's
/// pid (SIGHUP sent to it reloads); a second listener naming the same
/// file while the first runs is refused; removed at exit.
#[test]
fn the_pid_file_is_written_refused_while_held_and_removed_at_exit() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("tributary.pid");
    let t = Tributary::start(
        dir.path(),
        &[
            "--tcp",
            "127.0.0.1:0",
            "--out",
            "a.log",
            "--pid-file",
            "tributary.pid",
        ],
    );
    let written: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(written, t.pid());

    let second = Tributary::try_start(
        dir.path(),
        &[
            "--tcp",
            "127.0.0.1:0",
            "--out",
            "b.log",
            "--pid-file",
            "tributary.pid",
        ],
        1,
        &[],
    );
    let Err(refused) = second else {
        panic!("a second listener took a pid file held by a running one")
    };
    assert!(
        refused.contains(&format!("names process {written}, which is running")),
        "{refused}"
    );
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        written.to_string(),
        "the refused listener left the file alone"
    );

    // The pid in the file is the one to signal: a reload.
    // SAFETY: signalling the listener this test started.
    assert_eq!(unsafe { libc::kill(written, libc::SIGHUP) }, 0);
    t.wait_stderr("reloaded: no change", "SIGHUP to the pid in the file");
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    assert!(!pid_file.exists(), "removed at exit");
}

/// A setting only a restart can change is refused by name, with the
/// configuration in effect kept (records still go where they went), and
/// counted as a failed reload.
#[test]
fn settings_that_need_a_restart_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf.toml");
    write_atomically(&conf, "tcp = [\"127.0.0.1:0\"]\nout = \"a.log\"\n");
    let t = Tributary::start_expecting(dir.path(), &["--config", "conf.toml"], 1);
    write_atomically(
        &conf,
        "tcp = [\"127.0.0.1:0\"]\nout = \"a.log\"\nmax-frame = \"64KiB\"\ndurable = true\n[[output]]\nfile = \"b.log\"\n",
    );
    t.signal(libc::SIGHUP);
    t.wait_stderr("reload refused", "the refusal");
    let said = t.stderr_now();
    assert!(
        said.contains("max-frame; durable cannot change while the listener runs; restart it"),
        "{said}"
    );
    send_native(t.tcp(0), "after", 10);
    wait_for_lines(&dir.path().join("a.log"), 10);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    assert!(
        !dir.path().join("b.log").exists(),
        "the refused output was opened"
    );
    assert!(stderr.contains("reloads: ok=0 failed=1"), "{stderr}");
}

/// The embedding API: `ListenerHandle::reload` reads the builder's
/// source, returns what changed, and the stats keep the outcome.
#[test]
fn an_embedded_listener_reloads_from_its_source() {
    use std::sync::Mutex;
    use tributary_listener::{OutputSpec, Settings};
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    let base = Settings {
        inputs: vec![tributary_listener::InputSpec::Tcp("127.0.0.1:0".into())],
        outputs: vec![OutputSpec::file(&a)],
        ..Settings::default()
    };
    let next = Arc::new(Mutex::new(base.clone()));
    let source = next.clone();
    let handle = tributary_listener::ListenerBuilder::from_settings(base.clone())
        .reload_from(move || Ok(source.lock().unwrap().clone()))
        .spawn()
        .unwrap();
    next.lock().unwrap().outputs.push(OutputSpec::file(&b));
    let report = handle.reload().unwrap();
    assert_eq!(report.outputs_added, std::slice::from_ref(&b));
    assert!(report.outputs_removed.is_empty() && report.inputs_added.is_empty());
    let addr = handle.bound()[0].socket_addr().unwrap();
    send_native(addr, "embedded", 5);
    wait_for_lines(&b, 5);
    // An invalid one: refused, counted, the last outcome says why.
    next.lock().unwrap().max_connections = 0;
    let refused = handle.reload().unwrap_err().to_string();
    assert!(refused.contains("max-connections"), "{refused}");
    let stats = handle.stats();
    assert_eq!((stats.reloads_ok, stats.reloads_failed), (1, 1));
    let last = stats.last_reload.unwrap();
    assert!(
        !last.ok && last.message.contains("max-connections"),
        "{last:?}"
    );
    handle.shutdown().unwrap();
    assert_eq!(read_json(&a).len(), 5);
}
