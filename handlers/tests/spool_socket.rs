//! The disk spool behind `SocketHandler`, beyond the happy path, across
//! two runs of a producer: the first never reaches its listener and leaves
//! its records in the spool; the second sends them, in order, after an
//! in-band recovery report and before its own records. A damaged spool is
//! reported in-band and the frames after the damage still arrive. A spool
//! that overflows accounts for every record it dropped, in-band, even when
//! the run that dropped them never reached its listener.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::Duration;
use tributary_core::frame::FrameDecoder;
use tributary_core::{DecodeOptions, Level, Record, Value, decode_payload};
use tributary_handlers::Handler;
use tributary_handlers::net::{BufferLimits, SocketHandler, SpoolConfig};

const RUN1: u64 = 400;
const RUN2: u64 = 5;

fn record(run: u64, n: u64) -> Record {
    Record::builder(Level::INFO, format!("run {run} record {n}"))
        .logger("spooltest")
        .field("run", run)
        .field("n", n)
        .build()
}

fn handler(sock: &Path, spool: &Path, bound: u64, close_timeout: Duration) -> SocketHandler {
    SocketHandler::unix(sock)
        .with_buffer(BufferLimits {
            records: 8,
            bytes: 1 << 20,
        })
        .with_close_timeout(close_timeout)
        .with_spool(SpoolConfig::new(spool).with_max_bytes(bound))
        .unwrap()
}

fn int(r: &Record, key: &str) -> u64 {
    match r.fields.get(key) {
        Some(Value::Int(v)) => u64::try_from(*v).unwrap(),
        other => panic!("{key} = {other:?} in {r:?}"),
    }
}

/// Run 1: no listener at all; logs [`RUN1`] records into a spool of
/// `bound` bytes behind an 8-record memory buffer, and closes. Every
/// record is either in the spool (those in memory too: they went in first
/// when the spool began) or counted there as dropped: the close loses none
/// of them. Returns what the close said.
fn run_without_listener(sock: &Path, spool: &Path, bound: u64) -> String {
    let mut h = handler(sock, spool, bound, Duration::from_millis(100));
    for n in 0..RUN1 {
        h.handle(&record(1, n)).unwrap();
    }
    let dropped = h.dropped();
    let said = match h.close() {
        Ok(()) => String::new(),
        Err(e) => e.to_string(),
    };
    assert!(!said.contains("could not be delivered"), "{said}");
    if dropped > 0 {
        assert!(
            said.contains("wait in the spool for the next run")
                && said.contains(&format!(
                    "{dropped} dropped records are counted in the spool and the next run reports them"
                )),
            "{said}"
        );
    } else {
        assert_eq!(said, "", "nothing was dropped, everything is in the spool");
    }
    said
}

/// Run 2: a listener that records everything it receives; the handler
/// reopens the spool, logs [`RUN2`] records and closes. Returns the
/// records in the order they arrived.
fn run_with_listener(sock: &Path, spool: &Path, bound: u64) -> Vec<Record> {
    let listener = UnixListener::bind(sock).unwrap();
    let receiver = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut bytes = Vec::new();
        s.read_to_end(&mut bytes).unwrap();
        let mut frames = FrameDecoder::new(1 << 20);
        frames.push(&bytes);
        let mut out = Vec::new();
        while let Some(p) = frames.next_frame().unwrap() {
            out.push(decode_payload(p, DecodeOptions::default()).unwrap());
        }
        out
    });
    let mut h = handler(sock, spool, bound, Duration::from_secs(30));
    for n in 0..RUN2 {
        h.handle(&record(2, n)).unwrap();
    }
    h.close().unwrap();
    drop(h);
    receiver.join().unwrap()
}

/// Splits what arrived: run 1's numbers, run 2's numbers, the drop
/// reports' total, the recovery reports.
fn sort(got: &[Record]) -> (Vec<u64>, Vec<u64>, u64, Vec<&Record>) {
    let (mut run1, mut run2, mut dropped, mut reports) = (vec![], vec![], 0, vec![]);
    for r in got {
        if r.logger == "tributary.network" {
            if r.fields.get("dropped").is_some() {
                dropped += int(r, "dropped");
            } else {
                assert!(r.msg.contains("recovered"), "{r:?}");
                reports.push(r);
            }
            continue;
        }
        match int(r, "run") {
            1 => run1.push(int(r, "n")),
            2 => run2.push(int(r, "n")),
            other => panic!("run {other}"),
        }
    }
    (run1, run2, dropped, reports)
}

/// The spool outlasts the outage: the next run sends every record it kept,
/// in order, after an in-band recovery report and before its own records.
#[test]
fn the_next_run_sends_what_the_spool_kept_before_its_own_records() {
    const BOUND: u64 = 1 << 20;
    let dir = tempfile::tempdir().unwrap();
    let (sock, spool) = (dir.path().join("l.sock"), dir.path().join("p.spool"));
    run_without_listener(&sock, &spool, BOUND);
    let got = run_with_listener(&sock, &spool, BOUND);
    let (run1, run2, dropped, reports) = sort(&got);
    assert_eq!(dropped, 0, "nothing was beyond the bound");
    // Every record of run 1 arrived, in order, those that were in its
    // memory buffer when the spool began included.
    assert_eq!(run1, (0..RUN1).collect::<Vec<_>>());
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].level, Level::INFO);
    assert_eq!(int(reports[0], "corrupt_bytes"), 0);
    assert_eq!(int(reports[0], "spooled"), run1.len() as u64);
    assert_eq!(run2, (0..RUN2).collect::<Vec<_>>());
    let first_run2 = got
        .iter()
        .position(|r| r.logger == "spooltest" && int(r, "run") == 2);
    let last_run1 = got
        .iter()
        .rposition(|r| r.logger == "spooltest" && int(r, "run") == 1);
    assert!(last_run1 < first_run2, "run 2 overtook the spool");
}

/// Beyond the spool's bound records are dropped, "counted and reported
/// in-band"; the next run, with its listener up, sends the recovery report
/// and its own records. Run 1 never reaches its listener, so its drop count
/// has to outlive it (it is kept in the spool's header); the reopened spool
/// is full, so the recovery report cannot wait in it, and run 2 has to try
/// its listener before its records would be spooled (or dropped).
#[test]
fn a_full_spool_reports_its_drops_and_the_next_run_sends_the_rest_first() {
    const BOUND: u64 = 16 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let (sock, spool) = (dir.path().join("l.sock"), dir.path().join("p.spool"));
    run_without_listener(&sock, &spool, BOUND);
    let got = run_with_listener(&sock, &spool, BOUND);
    let (run1, run2, dropped, reports) = sort(&got);
    // Run 1: in order, each once, and every record either arrived or was
    // counted in a drop report: nothing vanished silently. The newest are
    // the ones dropped.
    assert!(dropped > 0, "the 16 KiB spool should have overflowed");
    assert_eq!(
        run1,
        (0..RUN1 - dropped).collect::<Vec<_>>(),
        "{dropped} reported dropped"
    );
    // The recovery report says how many frames the spool gave back.
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].level, Level::INFO);
    assert_eq!(int(reports[0], "corrupt_bytes"), 0);
    assert!(int(reports[0], "spooled") > 0);
    // Run 2's own records come after everything the spool held.
    assert_eq!(run2, (0..RUN2).collect::<Vec<_>>());
    let first_run2 = got
        .iter()
        .position(|r| r.logger == "spooltest" && int(r, "run") == 2);
    let last_run1 = got
        .iter()
        .rposition(|r| r.logger == "spooltest" && int(r, "run") == 1);
    assert!(last_run1 < first_run2, "run 2 overtook the spool");
}

#[test]
fn a_damaged_spool_is_reported_in_band_and_the_frames_after_the_damage_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let (sock, spool) = (dir.path().join("l.sock"), dir.path().join("p.spool"));
    const BOUND: u64 = 1 << 20;
    let _ = run_without_listener(&sock, &spool, BOUND);
    // Damage one byte a quarter of the way into the entries (after the
    // 512-byte header).
    let mut bytes = std::fs::read(&spool).unwrap();
    assert!(bytes.len() > 4096, "the spool holds {} bytes", bytes.len());
    let at = 512 + (bytes.len() - 512) / 4;
    bytes[at] ^= 0xff;
    std::fs::write(&spool, &bytes).unwrap();

    let got = run_with_listener(&sock, &spool, BOUND);
    let (run1, run2, _dropped, reports) = sort(&got);
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].level, Level::WARNING);
    assert!(int(reports[0], "corrupt_bytes") > 0, "{:?}", reports[0]);
    // One entry cut out, the scan resynchronised: a gap in run 1's numbers
    // with frames on both sides of it, all in order.
    assert!(run1.windows(2).all(|w| w[0] < w[1]), "{run1:?}");
    let gaps = run1.windows(2).filter(|w| w[1] != w[0] + 1).count();
    assert!(gaps >= 1, "no frame was lost to the damage: {run1:?}");
    assert_eq!(run2, (0..RUN2).collect::<Vec<_>>());
}
