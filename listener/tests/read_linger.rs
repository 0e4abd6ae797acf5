//! `--read-linger`: bytes of a producer that waits for no acknowledgement
//! gather before the next read; a producer that waits for each
//! acknowledgement is read at once.

#![allow(clippy::unwrap_used)] // a test: a failure should fail it

mod common;

use common::raw_client::RawClient;
use common::*;
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// Records the acknowledged producer sends, one at a time.
const RECORDS: u64 = 20;

fn record(n: u64) -> String {
    format!(
        r#"{{"ts":"2026-12-06T10:00:00.000000Z","level":"INFO","levelno":20,"logger":"linger","msg":"linger #{n}"}}"#
    )
}

/// A listener on TCP writing `out.log` in `dir`, lingering `linger`.
fn start(dir: &Path, linger: &str) -> Tributary {
    Tributary::start(
        dir,
        &[
            "--tcp",
            "127.0.0.1:0",
            "--out",
            "out.log",
            "--read-linger",
            linger,
        ],
    )
}

#[test]
fn a_producer_waiting_for_each_acknowledgement_is_not_held_back_by_the_linger() {
    let dir = tempfile::tempdir().unwrap();
    // The longest linger accepted: a read held back by it would cost a
    // second per record.
    let t = start(dir.path(), "1s");
    let (mut producer, next) = RawClient::connect(&t.tcp(0).to_string(), "linger", 0);
    assert_eq!(next, 0);
    // Each record is one small frame sent as soon as the last is
    // acknowledged: were this producer lingered over, the 20 round trips
    // would take 20 s instead of milliseconds.
    let began = Instant::now();
    for n in 0..RECORDS {
        producer.send("linger", n, n + 1);
        producer.wait_acked(n + 1);
    }
    let took = began.elapsed();
    assert!(
        took < Duration::from_secs(RECORDS / 2),
        "{RECORDS} acknowledged round trips took {took:?}: the linger held the reads back"
    );
    let lines = wait_for_lines(&dir.path().join("out.log"), RECORDS as usize);
    assert_eq!(lines.len(), RECORDS as usize);
}

#[test]
fn records_of_a_steady_unacknowledged_producer_all_arrive_in_order_with_a_linger() {
    let dir = tempfile::tempdir().unwrap();
    let t = start(dir.path(), "50ms");
    let mut stream = TcpStream::connect(t.tcp(0)).unwrap();
    stream.set_nodelay(true).unwrap();
    // One small write per record, as Python's SocketHandler sends them.
    for n in 0..2_000u64 {
        stream
            .write_all(format!("{}\n", record(n)).as_bytes())
            .unwrap();
    }
    drop(stream);
    let lines = wait_for_lines(&dir.path().join("out.log"), 2_000);
    let numbers: Vec<u64> = lines
        .iter()
        .map(|v| {
            v["msg"].as_str().unwrap()["linger #".len()..]
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(numbers, (0..2_000).collect::<Vec<_>>());
}

#[test]
fn a_linger_past_one_second_is_refused_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tributary"))
        .current_dir(dir.path())
        .args(["listen", "--tcp", "127.0.0.1:0", "--read-linger", "2s"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("read-linger"), "{err}");
    assert!(err.contains("at most 1s"), "{err}");
}
