//! Signals: SIGTERM drains (every record read from a socket is written,
//! exit 0); SIGHUP reopens the output after an external rename.

#![allow(clippy::unwrap_used)] // helpers of tests: a failure should fail the test

mod common;

use common::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use tributary_core::{JsonFormatter, frame};

/// Frames `n..n + count` of `producer`.
fn frames(producer: &str, n: u64, count: u64) -> Vec<u8> {
    let mut wire = Vec::new();
    for i in n..n + count {
        frame::encode_record(
            &rust_record(producer, i),
            &JsonFormatter::native(),
            &mut wire,
        )
        .unwrap();
    }
    wire
}

/// Sends small batches until the listener closes the connection (paced,
/// so the file stays small enough to check quickly); returns how many
/// records the kernel accepted, an upper bound of what the listener can
/// have read.
fn stream_until_closed(mut s: impl Write, producer: &str) -> u64 {
    let mut n = 0;
    while n < 1_000_000 {
        if s.write_all(&frames(producer, n, 20)).is_err() {
            return n;
        }
        n += 20;
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    panic!("{producer}: the listener never closed the connection");
}

#[test]
fn sigterm_mid_stream_writes_everything_read() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("in.sock");
    let t = Tributary::start(
        dir.path(),
        &[
            "--tcp",
            "127.0.0.1:0",
            "--unix",
            sock.to_str().unwrap(),
            "--out",
            "all.log",
        ],
    );
    let addr = t.tcp(0);
    let mut producers = Vec::new();
    for i in 0..3 {
        producers.push(std::thread::spawn(move || {
            stream_until_closed(TcpStream::connect(addr).unwrap(), &format!("tcp{i}"))
        }));
    }
    let s = UnixStream::connect(&sock).unwrap();
    producers.push(std::thread::spawn(move || stream_until_closed(s, "unix0")));
    let names = ["tcp0", "tcp1", "tcp2", "unix0"];

    // Mid-stream: records are flowing on every connection.
    wait_for_lines(&dir.path().join("all.log"), 5000);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let sent: BTreeMap<String, u64> = names
        .iter()
        .zip(producers)
        .map(|(name, p)| ((*name).to_owned(), p.join().unwrap()))
        .collect();

    let lines = read_json(&dir.path().join("all.log"));
    let mut per_producer: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for ((p, n), count) in tally(&lines) {
        assert_eq!(count, 1, "{p} {n} written {count} times");
        per_producer.entry(p).or_default().push(n);
    }
    assert_eq!(per_producer.len(), 4, "{per_producer:?}");
    // Each connection's records are a prefix 0..k of what its producer
    // sent: nothing read was lost, nothing was made up.
    for (p, ns) in &per_producer {
        let expected: Vec<u64> = (0..ns.len() as u64).collect();
        assert_eq!(ns, &expected, "gap in {p}");
        assert!(
            ns.len() as u64 <= sent[p],
            "{p}: {} written, only {} sent",
            ns.len(),
            sent[p]
        );
    }
    // What was sent and not written was never read: it sat in the socket
    // buffers when the listener stopped reading, at most a few MiB each.
    let frame_len = frames("tcp0", 0, 1).len() as u64;
    for (p, sent) in &sent {
        let unwritten = sent - per_producer[p].len() as u64;
        assert!(
            unwritten * frame_len <= 16 << 20,
            "{p}: {unwritten} of {sent} records sent were not written"
        );
    }
    // Everything the inputs read was written.
    assert_eq!(
        summary_counter(&stderr, "records"),
        lines.len() as u64,
        "{stderr}"
    );
    assert_eq!(
        summary_writer(&stderr, "records"),
        lines.len() as u64,
        "{stderr}"
    );
    assert!(!sock.exists(), "the socket file is removed on exit");
}

#[test]
fn sighup_reopens_after_an_external_rename() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("all.log");
    let t = Tributary::start(dir.path(), &["--tcp", "127.0.0.1:0", "--out", "all.log"]);
    let mut s = TcpStream::connect(t.tcp(0)).unwrap();
    s.write_all(&frames("before", 0, 100)).unwrap();
    assert_eq!(wait_for_lines(&log, 100).len(), 100);

    // What logrotate does: rename, then SIGHUP.
    let rotated = dir.path().join("all.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    t.signal(libc::SIGHUP);
    // The reopen itself creates the file, before anything is written: the
    // output also follows a renamed path by itself at its next write, so
    // only a file that appears with nothing sent proves the SIGHUP worked.
    let deadline = std::time::Instant::now() + PATIENCE;
    while !log.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "SIGHUP did not reopen {} within {PATIENCE:?}",
            log.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(std::fs::metadata(&log).unwrap().len(), 0);
    s.write_all(&frames("after", 0, 100)).unwrap();
    assert_eq!(wait_for_lines(&log, 100).len(), 100);
    drop(s);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");

    assert_exactly_once(&tally(&read_json(&rotated)), &[("before".into(), 100)]);
    assert_exactly_once(&tally(&read_json(&log)), &[("after".into(), 100)]);
}
