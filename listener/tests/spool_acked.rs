//! The disk spool behind an acknowledged `SocketHandler`, across two runs
//! of a producer: the first never reaches a listener and overflows its
//! spool; the second, with the listener up, must send the recovery report,
//! every record the spool kept (in order, once), a report of every record
//! the first run dropped, and its own records after all of them, dropping
//! nothing while the listener acknowledges.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::time::Duration;
use tributary_handlers::Handler;
use tributary_handlers::net::{Backoff, BufferLimits, SocketHandler, SpoolConfig};

const RUN1: u64 = 400;
const RUN2: u64 = 5;
/// Room for about a hundred records: run 1 overflows it.
const BOUND: u64 = 16 * 1024;

fn handler(addr: &str, spool: &std::path::Path, close_timeout: Duration) -> SocketHandler {
    SocketHandler::tcp(addr)
        .with_producer_id("spooled-producer")
        .with_backoff(Backoff {
            start: Duration::from_millis(20),
            factor: 2.0,
            max: Duration::from_millis(200),
        })
        .with_buffer(BufferLimits {
            records: 8,
            bytes: 1 << 20,
        })
        .with_close_timeout(close_timeout)
        .with_spool(SpoolConfig::new(spool).with_max_bytes(BOUND))
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
    let lost_at_close: u64 = err
        .split_once(" records could not be delivered")
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected close error: {err}"));
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
    assert!(run1.windows(2).all(|w| w[0] < w[1]), "{run1:?}");
    assert!(dropped > 0, "the 16 KiB spool should have overflowed");
    assert_eq!(
        run1.len() as u64 + dropped + lost_at_close,
        RUN1,
        "{} of run 1 arrived, {dropped} reported dropped, {lost_at_close} undelivered at close",
        run1.len()
    );
    assert_eq!(reports, 1, "{out}");
    assert_eq!(run2, (0..RUN2).collect::<Vec<_>>());
    assert!(last_run1 < first_run2, "run 2 overtook the spool");
}
