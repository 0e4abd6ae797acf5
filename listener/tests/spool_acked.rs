//! The disk spool behind an acknowledged `SocketHandler`, across two runs
//! of a producer: the first never reaches a listener and overflows its
//! spool; the second, with the listener up, must send the recovery report,
//! every record the spool kept (in order, once), a report of every record
//! the first run dropped, and its own records after all of them, dropping
//! nothing while the listener acknowledges. And producers killed
//! (`kill -9`) during an outage, then restarted on the same spool, lose
//! nothing and duplicate nothing once the listener is back.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::time::Duration;
use tributary_handlers::Handler;
use tributary_handlers::net::{BufferLimits, SocketHandler, SpoolConfig};

const RUN1: u64 = 400;
const RUN2: u64 = 5;
/// Room for about a hundred records: run 1 overflows it.
const BOUND: u64 = 16 * 1024;

fn handler(addr: &str, spool: &std::path::Path, close_timeout: Duration) -> SocketHandler {
    handler_with_bound(addr, spool, close_timeout, BOUND)
}

fn handler_with_bound(
    addr: &str,
    spool: &std::path::Path,
    close_timeout: Duration,
    bound: u64,
) -> SocketHandler {
    SocketHandler::tcp(addr)
        .with_producer_id("spooled-producer")
        .with_backoff(common::ack_producer::fast_backoff())
        .with_buffer(BufferLimits {
            records: 8,
            bytes: 1 << 20,
        })
        .with_close_timeout(close_timeout)
        .with_spool(SpoolConfig::new(spool).with_max_bytes(bound))
        .unwrap()
}

#[test]
fn an_acknowledged_producer_sends_a_full_spool_and_its_drop_count_before_its_own_records() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("p.spool");

    // Run 1: nothing listens at the discard port.
    let mut h = handler("127.0.0.1:9", &spool, Duration::from_millis(200));
    for n in 0..RUN1 {
        h.handle(&rust_record("r1", n)).unwrap();
    }
    let err = h
        .close()
        .expect_err("nothing could be delivered")
        .to_string();
    drop(h);
    // Every record is in the spool (those in memory went in first when it
    // began) or counted there as dropped.
    assert!(!err.contains("could not be delivered"), "{err}");
    assert!(
        err.contains("counted in the spool and the next run reports them"),
        "{err}"
    );

    // Run 2: the listener is up.
    let t = Tributary::start(dir.path(), &["--tcp", "127.0.0.1:0", "--out", "out.log"]);
    let addr = t.tcp(0).to_string();
    let mut h = handler(&addr, &spool, PATIENCE);
    for n in 0..RUN2 {
        h.handle(&rust_record("r2", n)).unwrap();
    }
    h.close().unwrap();
    assert_eq!(h.dropped(), 0, "run 2 dropped records with its listener up");
    drop(h);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");

    let out = std::fs::read_to_string(dir.path().join("out.log")).unwrap();
    let (mut run1, mut run2, mut dropped, mut reports) = (vec![], vec![], 0, 0);
    let (mut last_run1, mut first_run2) = (None, None);
    for (i, line) in out.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["logger"] == "tributary.network" {
            if let Some(n) = v["fields"]["dropped"].as_u64() {
                dropped += n;
            } else {
                assert!(v["msg"].as_str().unwrap().contains("recovered"), "{line}");
                assert!(v["fields"]["spooled"].as_u64().unwrap() > 0, "{line}");
                reports += 1;
            }
            continue;
        }
        match producer_and_n(line.as_bytes()) {
            Some(("r1", n)) => {
                run1.push(n);
                last_run1 = Some(i);
            }
            Some(("r2", n)) => {
                run2.push(n);
                first_run2.get_or_insert(i);
            }
            _ => panic!("unexpected line: {line}"),
        }
    }
    assert!(dropped > 0, "the 16 KiB spool should have overflowed");
    // The newest were dropped; every other record arrived, in order, once.
    assert_eq!(
        run1,
        (0..RUN1 - dropped).collect::<Vec<_>>(),
        "{dropped} reported dropped"
    );
    assert_eq!(reports, 1, "{out}");
    assert_eq!(run2, (0..RUN2).collect::<Vec<_>>());
    assert!(last_run1 < first_run2, "run 2 overtook the spool");
}

/// Tells the child helper what to do: `ADDR|SPOOL|PRODUCER|COUNT`.
const CHILD_ENV: &str = "TRIBUTARY_TEST_KILLED_PRODUCER";
/// Records per killed run: well past the 8-record memory buffer.
const KILLED_RUN: u64 = 40;

/// The child: logs `COUNT` records as `PRODUCER` through a spooled,
/// acknowledged handler whose listener is down, says so, and waits to be
/// killed. Ignored unless the parent runs it, so it never counts as a pass
/// on its own.
#[test]
#[ignore = "child helper: run by producers_killed_during_an_outage_lose_and_duplicate_nothing"]
fn killed_producer_child() {
    use std::io::Write;
    let spec = std::env::var(CHILD_ENV).unwrap_or_else(|_| {
        panic!("a child helper: run by the parent test, which sets {CHILD_ENV}")
    });
    let [addr, spool, producer, count] = spec.split('|').collect::<Vec<_>>()[..] else {
        panic!("{CHILD_ENV}={spec}: expected ADDR|SPOOL|PRODUCER|COUNT");
    };
    let mut h = handler_with_bound(addr, spool.as_ref(), PATIENCE, 1 << 20);
    for n in 0..count.parse().unwrap() {
        h.handle(&rust_record(producer, n)).unwrap();
    }
    // Without flush or close: what a kill -9 leaves is all there is.
    let mut out = std::io::stdout().lock();
    writeln!(out, "\nLOGGED").unwrap();
    out.flush().unwrap();
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// Runs the child helper, waits until it has logged, and kills it (SIGKILL).
fn run_and_kill(addr: &str, spool: &std::path::Path, producer: &str, count: u64) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "killed_producer_child",
            "--ignored",
            "--nocapture",
        ])
        .env(
            CHILD_ENV,
            format!("{addr}|{}|{producer}|{count}", spool.display()),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let logged = stdout
        .lines()
        .map_while(Result::ok)
        .any(|line| line == "LOGGED");
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        logged,
        "the {producer} producer ended before logging: {status}"
    );
}

/// A producer logs while its listener is down and is killed; restarted on
/// the same spool during the same outage, it logs more and is killed
/// again; a third run finds the listener back. Every record of both killed
/// runs arrives exactly once: the records that were in memory when the
/// spool began went into it, and a restarted producer does not take
/// records out of the spool before the listener acknowledges them.
#[test]
fn producers_killed_during_an_outage_lose_and_duplicate_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("p.spool");
    // A port nothing listens on until the listener comes back.
    let addr = format!("127.0.0.1:{}", free_port());
    run_and_kill(&addr, &spool, "k1", KILLED_RUN);
    run_and_kill(&addr, &spool, "k2", KILLED_RUN);

    let t = Tributary::start(dir.path(), &["--tcp", &addr, "--out", "out.log"]);
    let mut h = handler_with_bound(&addr, &spool, PATIENCE, 1 << 20);
    h.close().unwrap();
    assert_eq!(h.dropped(), 0);
    drop(h);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");

    let lines: Vec<_> = read_json(&dir.path().join("out.log"))
        .into_iter()
        .filter(|l| l["logger"].as_str().is_some_and(|l| l.starts_with("rust.")))
        .collect();
    assert_exactly_once(
        &tally(&lines),
        &[("k1".to_owned(), KILLED_RUN), ("k2".to_owned(), KILLED_RUN)],
    );
}
