//! Full disks and I/O errors in the listener, with real kernel errors: a
//! file size limit (`RLIMIT_FSIZE`, set in the child before `exec`, raised
//! from outside with `prlimit`) makes writes past it fail with EFBIG after
//! a short write, as a full disk does with ENOSPC; an output directory
//! replaced by a regular file makes reopening fail with ENOTDIR (chmod
//! would not stop root, who runs these tests in CI).
//!
//! What must hold: writing stops at a record boundary, the outage is
//! reported once, the writer stalls and holds what it has (the queue fills
//! and stream inputs wait), and when the cause goes away every record is
//! written exactly once, in order. A shutdown during an outage ends after
//! the drain timeout with a non-zero exit and a count of what was lost.

#![allow(clippy::unwrap_used)] // tests: a failure should fail the test

mod common;

use common::{PATIENCE, read_json, rust_record, tally};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Instant;
use tributary_core::{Formatter, JsonFormatter, frame};

/// A `tributary listen` child whose stderr is watched line by line.
struct Running {
    child: Child,
    bound: Vec<(String, String)>,
    stderr: mpsc::Receiver<String>,
    /// Every stderr line seen so far.
    seen: Vec<String>,
}

/// Starts the listener in `cwd`; with `fsize_limit`, every file it writes
/// is limited to that many bytes (and SIGXFSZ is ignored, so the write
/// fails with EFBIG instead of killing it).
fn start(cwd: &Path, args: &[&str], fsize_limit: Option<u64>) -> Running {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tributary"));
    cmd.arg("listen")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(limit) = fsize_limit {
        common::file_limit::limit_file_size(&mut cmd, limit);
    }
    let mut child = cmd.spawn().expect("spawn tributary");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let inputs = args
        .iter()
        .filter(|a| matches!(**a, "--tcp" | "--udp"))
        .count();
    let mut bound = Vec::new();
    for line in BufReader::new(stdout).lines().take(inputs) {
        let line = line.unwrap();
        let rest = line.strip_prefix("listening ").expect("readiness line");
        let (kind, addr) = rest.split_once(' ').unwrap();
        bound.push((kind.to_owned(), addr.to_owned()));
    }
    assert_eq!(bound.len(), inputs, "no readiness lines");
    Running {
        child,
        bound,
        stderr: rx,
        seen: Vec::new(),
    }
}

impl Running {
    fn addr(&self, kind: &str) -> SocketAddr {
        let (_, a) = self.bound.iter().find(|(k, _)| k == kind).unwrap();
        a.parse().unwrap()
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits for a stderr line that `pred` accepts (lines seen before this
    /// call count too) and returns it.
    fn wait_stderr(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        if let Some(l) = self.seen.iter().find(|l| pred(l)) {
            return l.clone();
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(_) => panic!("no stderr line {what}; seen:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Sends SIGTERM and waits for the exit; returns it and all of stderr.
    fn stop(mut self) -> (ExitStatus, String) {
        // SAFETY: a signal to our own child.
        assert_eq!(unsafe { libc::kill(self.pid(), libc::SIGTERM) }, 0);
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "tributary did not exit");
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        // The stderr thread ends at EOF, once the child has exited.
        self.seen.extend(self.stderr.iter());
        (status, self.seen.join("\n"))
    }

    /// Lifts the file size limit from outside, as freeing disk space would.
    fn lift_limit(&self) {
        let lim = libc::rlimit {
            rlim_cur: libc::RLIM_INFINITY,
            rlim_max: libc::RLIM_INFINITY,
        };
        // SAFETY: prlimit reads `lim` and writes nothing (old is null).
        let rc =
            unsafe { libc::prlimit(self.pid(), libc::RLIMIT_FSIZE, &lim, std::ptr::null_mut()) };
        assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Native frames for records `from..to` of `producer`.
fn frames(producer: &str, from: u64, to: u64) -> Vec<u8> {
    let mut wire = Vec::new();
    for n in from..to {
        frame::encode_record(
            &rust_record(producer, n),
            &JsonFormatter::native(),
            &mut wire,
        )
        .unwrap();
    }
    wire
}

/// Sends records `from..to` of `producer` on `stream`; false if the
/// listener closed it first.
fn send(stream: &mut TcpStream, producer: &str, from: u64, to: u64) -> bool {
    frames(producer, from, to)
        .chunks(64 * 1024)
        .all(|chunk| stream.write_all(chunk).is_ok())
}

/// A producer thread: one connection, `count` records.
fn producer(addr: SocketAddr, name: String, count: u64) -> std::thread::JoinHandle<bool> {
    std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        send(&mut s, &name, 0, count)
    })
}

/// The `n`s of each producer's records, in file order.
fn sequences(lines: &[serde_json::Value]) -> BTreeMap<String, Vec<u64>> {
    let mut seqs: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for line in lines {
        if line["logger"] == "tributary" {
            continue;
        }
        let f = &line["fields"];
        seqs.entry(f["producer"].as_str().unwrap().to_owned())
            .or_default()
            .push(f["n"].as_u64().unwrap());
    }
    seqs
}

/// `name=value` from the writer part of a stats or summary line.
fn writer_counter(line: &str, name: &str) -> u64 {
    let (_, writer) = line.rsplit_once("writer:").unwrap();
    writer
        .split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in {line}"))
        .trim_end_matches(';')
        .parse()
        .unwrap()
}

/// `name=value` summed over the inputs of a stats or summary line.
fn inputs_counter(line: &str, name: &str) -> u64 {
    let (inputs, _) = line.rsplit_once("writer:").unwrap();
    inputs
        .split_whitespace()
        .filter_map(|w| w.strip_prefix(&format!("{name}=")))
        .map(|v| v.trim_end_matches(';').parse::<u64>().unwrap())
        .sum()
}

/// Asserts the file holds whole JSON lines only (none cut short).
fn assert_whole_lines(path: &Path) -> Vec<serde_json::Value> {
    let bytes = std::fs::read(path).unwrap_or_default();
    assert!(
        bytes.is_empty() || bytes.ends_with(b"\n"),
        "{} ends inside a line",
        path.display()
    );
    read_json(path)
}

const LIMIT: u64 = 256 * 1024;
const PRODUCERS: u64 = 4;
const PER_PRODUCER: u64 = 5_000;
const QUEUE: u64 = 2_000;
const DATAGRAMS: u64 = 200;

#[test]
fn a_full_file_stalls_the_writer_and_space_returning_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.log");
    let queue = QUEUE.to_string();
    let mut t = start(
        dir.path(),
        &[
            "--tcp",
            "127.0.0.1:0",
            "--udp",
            "127.0.0.1:0",
            "--out",
            "out.log",
            "--queue-capacity",
            &queue,
            "--stats-interval",
            "100ms",
        ],
        Some(LIMIT),
    );
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|i| producer(t.addr("tcp"), format!("tcp{i}"), PER_PRODUCER))
        .collect();

    // 20,000 records of ~300 bytes do not fit in 256 KiB: the writer stalls.
    let report = t.wait_stderr("reporting the outage", |l| l.contains("cannot write to"));
    assert!(
        report.contains("out.log") && report.contains("ulimit -f"),
        "{report}"
    );
    let stats = t.wait_stderr("with stalled=1", |l| {
        l.starts_with("tributary: stats:") && l.contains("stalled=1")
    });
    assert!(writer_counter(&stats, "queue") <= QUEUE, "bounded: {stats}");
    assert!(writer_counter(&stats, "write_errors") >= 1, "{stats}");
    // Stalled at a record boundary, below the limit.
    let before = assert_whole_lines(&out);
    assert!(std::fs::metadata(&out).unwrap().len() <= LIMIT);
    assert!((before.len() as u64) < PRODUCERS * PER_PRODUCER);

    // Datagrams while the writer is stalled: each is written or dropped
    // (counted), never lost silently.
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    for n in 0..DATAGRAMS {
        let mut line = Vec::new();
        JsonFormatter::native().format(&rust_record("udp", n), &mut line);
        udp.send_to(&line, t.addr("udp")).unwrap();
    }

    // Space comes back.
    t.lift_limit();
    let recovered = t.wait_stderr("reporting the recovery", |l| l.contains("again after"));
    assert!(recovered.contains("out.log"), "{recovered}");
    for p in producers {
        assert!(p.join().unwrap(), "a producer's connection was closed");
    }
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");

    let lines = assert_whole_lines(&out);
    let seqs = sequences(&lines);
    for i in 0..PRODUCERS {
        let expected: Vec<u64> = (0..PER_PRODUCER).collect();
        assert_eq!(
            seqs[&format!("tcp{i}")],
            expected,
            "tcp{i}: lost, doubled or reordered"
        );
    }
    let summary = stderr
        .lines()
        .find(|l| l.starts_with("tributary: summary:"))
        .unwrap_or_else(|| panic!("no summary:\n{stderr}"));
    let udp_written = seqs.get("udp").cloned().unwrap_or_default();
    let mut sorted = udp_written.clone();
    sorted.dedup();
    assert_eq!(sorted, udp_written, "datagrams doubled or reordered");
    assert!(udp_written.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        udp_written.len() as u64 + inputs_counter(summary, "dropped"),
        DATAGRAMS,
        "{summary}"
    );
    // Reported once for the one outage; the counters agree.
    let reports = stderr
        .lines()
        .filter(|l| l.contains("cannot write to"))
        .count();
    assert_eq!(reports, 1, "{stderr}");
    assert_eq!(writer_counter(summary, "stalls"), 1, "{summary}");
    assert_eq!(writer_counter(summary, "stalled"), 0, "{summary}");
    assert_eq!(writer_counter(summary, "unwritten"), 0, "{summary}");
    // Every record taken in was written, plus the in-band notices of
    // dropped datagrams.
    let notices = lines.iter().filter(|l| l["logger"] == "tributary").count() as u64;
    assert_eq!(
        writer_counter(summary, "records"),
        inputs_counter(summary, "records") + notices,
        "{summary}"
    );
}

#[test]
fn an_output_directory_replaced_by_a_file_stalls_until_it_can_be_recreated() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let out = logs.join("out.log");
    let mut t = start(
        dir.path(),
        &[
            "--tcp",
            "127.0.0.1:0",
            "--out",
            "logs/out.log",
            "--queue-capacity",
            "500",
        ],
        None,
    );
    let mut first = TcpStream::connect(t.addr("tcp")).unwrap();
    assert!(send(&mut first, "p0", 0, 1000));
    assert_eq!(common::wait_for_lines(&out, 1000).len(), 1000);

    // The writer is idle: move the directory away and put a regular file
    // at its path, so the file cannot be reopened nor the directory
    // recreated (ENOTDIR), whoever runs the test.
    let moved = dir.path().join("moved");
    std::fs::rename(&logs, &moved).unwrap();
    std::fs::write(&logs, b"in the way\n").unwrap();

    // The same connection goes on, and two more join.
    let addr = t.addr("tcp");
    let more = [
        std::thread::spawn(move || send(&mut first, "p0", 1000, 2000)),
        std::thread::spawn(move || send(&mut TcpStream::connect(addr).unwrap(), "p1", 0, 1000)),
        std::thread::spawn(move || send(&mut TcpStream::connect(addr).unwrap(), "p2", 0, 1000)),
    ];
    let report = t.wait_stderr("reporting the outage", |l| l.contains("cannot write to"));
    assert!(
        report.contains("logs/out.log") && report.contains("directory"),
        "{report}"
    );
    // Nothing went astray into the moved file meanwhile.
    assert_eq!(read_json(&moved.join("out.log")).len(), 1000);

    std::fs::remove_file(&logs).unwrap();
    t.wait_stderr("reporting the recovery", |l| l.contains("again after"));
    for m in more {
        assert!(m.join().unwrap());
    }
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");

    let mut lines = assert_whole_lines(&moved.join("out.log"));
    lines.extend(assert_whole_lines(&out));
    let seqs = sequences(&lines);
    assert_eq!(seqs["p0"], (0..2000).collect::<Vec<u64>>());
    assert_eq!(seqs["p1"], (0..1000).collect::<Vec<u64>>());
    assert_eq!(seqs["p2"], (0..1000).collect::<Vec<u64>>());
    assert_eq!(seqs.len(), 3);
    let summary = stderr
        .lines()
        .find(|l| l.starts_with("tributary: summary:"))
        .unwrap();
    assert_eq!(writer_counter(summary, "stalls"), 1, "{summary}");
    assert_eq!(writer_counter(summary, "unwritten"), 0, "{summary}");
}

#[test]
fn sigterm_during_an_outage_gives_up_after_the_drain_timeout_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.log");
    let mut t = start(
        dir.path(),
        &[
            "--tcp",
            "127.0.0.1:0",
            "--out",
            "out.log",
            "--queue-capacity",
            "1000",
            "--drain-timeout",
            "1s",
        ],
        Some(64 * 1024),
    );
    let producers: Vec<_> = (0..2)
        .map(|i| producer(t.addr("tcp"), format!("tcp{i}"), 2_000))
        .collect();
    t.wait_stderr("reporting the outage", |l| l.contains("cannot write to"));

    let (status, stderr) = t.stop();
    for p in producers {
        // Their connections may be closed under them: either is fine.
        let _ = p.join().unwrap();
    }
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("giving up on out.log"), "{stderr}");
    let error = stderr
        .lines()
        .find(|l| l.contains("records could not be written:"))
        .unwrap_or_else(|| panic!("no final error:\n{stderr}"));
    let lost: u64 = error
        .strip_prefix("tributary: error: ")
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(lost > 0, "{error}");
    assert_eq!(writer_counter(error, "unwritten"), lost, "{error}");

    // What was written is whole and in order, a prefix of each connection;
    // with what was counted lost, it is everything the inputs took in.
    let lines = assert_whole_lines(&out);
    for (p, ns) in sequences(&lines) {
        assert_eq!(ns, (0..ns.len() as u64).collect::<Vec<_>>(), "{p}");
    }
    assert!(tally(&lines).values().all(|&c| c == 1));
    assert_eq!(
        lines.len() as u64 + lost,
        inputs_counter(error, "records"),
        "{error}"
    );
}
