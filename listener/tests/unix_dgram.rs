//! `--unix-dgram` end to end: Python's stdlib `DatagramHandler` on a Unix
//! socket path (`port=None`) and a Rust sender using every datagram shape
//! the input takes (one frame, frames back to back, one JSON object,
//! newline-delimited JSON). Unix datagram senders wait when the socket's
//! queue is full instead of losing datagrams, so every record must land
//! exactly once.

#![allow(clippy::unwrap_used)] // helpers of tests: a failure should fail the test

mod common;

use common::*;
use std::os::unix::net::UnixDatagram;
use tributary_core::{Formatter, JsonFormatter, frame};

#[test]
fn unix_datagrams_from_python_and_rust_land_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("log.dgram");
    let t = Tributary::start(
        dir.path(),
        &["--unix-dgram", sock.to_str().unwrap(), "--out", "out.log"],
    );
    assert_eq!(t.addr("unix-dgram", 0), sock.display().to_string());

    let py = python(&[
        "--unix-dgram",
        sock.to_str().unwrap(),
        "--name",
        "py",
        "--count",
        "300",
    ]);

    let json = JsonFormatter::native();
    let u = UnixDatagram::unbound().unwrap();
    let send = |bytes: &[u8]| {
        assert_eq!(u.send_to(bytes, &sock).unwrap(), bytes.len());
    };
    // One length-prefixed frame per datagram (what DatagramHandler does).
    for n in 0..200 {
        let mut d = Vec::new();
        frame::encode_record(&rust_record("single", n), &json, &mut d).unwrap();
        send(&d);
    }
    // Four frames back to back in each datagram.
    for batch in 0..50 {
        let mut d = Vec::new();
        for n in batch * 4..batch * 4 + 4 {
            frame::encode_record(&rust_record("batched", n), &json, &mut d).unwrap();
        }
        send(&d);
    }
    // One JSON object per datagram, no prefix.
    for n in 0..50 {
        let mut d = Vec::new();
        json.format(&rust_record("object", n), &mut d);
        send(&d);
    }
    // Newline-delimited JSON, three lines per datagram.
    for batch in 0..50 {
        let mut d = Vec::new();
        for n in batch * 3..batch * 3 + 3 {
            json.format(&rust_record("ndjson", n), &mut d);
            d.push(b'\n');
        }
        send(&d);
    }
    wait_ok(py, "python DatagramHandler producer");

    let producers: Vec<(String, u64)> = vec![
        ("py".into(), 300),
        ("single".into(), 200),
        ("batched".into(), 200),
        ("object".into(), 50),
        ("ndjson".into(), 150),
    ];
    let total: u64 = producers.iter().map(|(_, c)| c).sum();
    wait_for_lines(&dir.path().join("out.log"), total as usize);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    assert_exactly_once(&tally(&read_json(&dir.path().join("out.log"))), &producers);
    assert_eq!(summary_counter(&stderr, "records"), total, "{stderr}");
    assert_eq!(summary_counter(&stderr, "malformed"), 0, "{stderr}");
    assert_eq!(summary_counter(&stderr, "dropped"), 0, "{stderr}");
    assert!(!sock.exists(), "the socket file is removed on exit");
}
