//! Acknowledged means kept: a second listener started on the same output
//! touches nothing, and a producer id is not a capability (epochs,
//! docs/protocol.md): a forged hello, a restarted producer and two live
//! producers sharing an id each get exactly their own records written.

#![allow(clippy::unwrap_used)] // a failure should fail the test

mod common;

use common::ack_producer::{acked_handler, log_through};
use common::child::{exit_by, text_in_background};
use common::lcg::Lcg;
use common::raw_client::RawClient;
use common::*;
use std::io::Write;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Runs `tributary listen ARGS` in `cwd` that is expected to stop by
/// itself: its exit status and stderr.
fn listen_to_exit(cwd: &Path, args: &[&str]) -> (ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .arg("listen")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tributary");
    let reader = text_in_background(child.stderr.take().unwrap());
    let Some(status) = exit_by(&mut child, Instant::now() + PATIENCE) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "the second listener did not stop by itself: {}",
            reader.join().unwrap()
        );
    };
    (status, reader.join().unwrap())
}

/// An acknowledged producer on its own thread: `count` records through a
/// queue into `SocketHandler::acknowledged()` under producer id `id`; the
/// records say `name` (so two producers sharing an id are told apart).
/// Returns whether every record was acknowledged.
fn produce(
    addr: &str,
    id: &str,
    name: &str,
    range: std::ops::Range<u64>,
) -> std::thread::JoinHandle<bool> {
    produce_paced(addr, id, name, range, None)
}

/// [`produce`], at most `pace` records per millisecond when given (so the
/// stream lasts while the test does things to the listener).
fn produce_paced(
    addr: &str,
    id: &str,
    name: &str,
    range: std::ops::Range<u64>,
    pace: Option<u64>,
) -> std::thread::JoinHandle<bool> {
    let (addr, id, name) = (addr.to_owned(), id.to_owned(), name.to_owned());
    std::thread::spawn(move || {
        let handler = acked_handler(&addr, &id, (range.end - range.start) as usize + 16);
        log_through(handler, &name, range, pace, || {})
    })
}

/// A second `tributary listen` on the output of a running one, started
/// again and again during an acknowledged stream, on the same port (a
/// script run twice) and on another (a typo in a unit file): each stops
/// with a message naming the running listener's pid and the output, and
/// nothing acknowledged is lost or doubled.
fn second_instances_touch_nothing(durable: bool) {
    let records = 20_000u64;
    let dir = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut args = vec!["--tcp", addr.as_str(), "--out", "out.log"];
    if durable {
        args.push("--durable");
    }
    let listener = Tributary::start(dir.path(), &args);
    let producers: Vec<_> = (0..2)
        .map(|i| {
            let name = format!("p{i}");
            produce_paced(&addr, &name, &name, 0..records, Some(5))
        })
        .collect();
    let other = format!("127.0.0.1:{}", free_port());
    for round in 0..6 {
        // Wait for the stream to be under way (and further each round).
        let want = (round + 1) * 1_000;
        let seen = wait_for_lines(&dir.path().join("out.log"), want);
        assert!(seen.len() >= want, "the stream stalled at {}", seen.len());
        let mut second = args.clone();
        if round % 2 == 1 {
            second[1] = other.as_str();
        }
        let (status, err) = listen_to_exit(dir.path(), &second);
        assert!(!status.success(), "a second listener must fail: {err}");
        assert!(
            err.contains(&format!("pid {}", listener.pid())) && err.contains("out.log"),
            "the message names the running listener and the output: {err}"
        );
        assert!(
            !err.contains("recovery:"),
            "the second listener recovered (cut) nothing: {err}"
        );
    }
    for p in producers {
        assert!(p.join().unwrap(), "not every record was acknowledged");
    }
    let (status, err) = listener.stop();
    assert!(status.success(), "{err}");
    let seen = tally(&read_json(&dir.path().join("out.log")));
    assert_exactly_once(
        &seen,
        &[("p0".to_owned(), records), ("p1".to_owned(), records)],
    );
}

#[test]
fn a_second_listener_on_the_same_output_touches_nothing() {
    second_instances_touch_nothing(false);
}

#[test]
fn a_second_listener_on_the_same_output_touches_nothing_durable() {
    second_instances_touch_nothing(true);
}

/// A client that says hello as `web-1` without the live producer's epoch
/// (or with another), with `next` far ahead, gets a numbering of its own:
/// the real producer's next records are written, not skipped.
#[test]
fn a_forged_hello_does_not_make_the_real_producer_skip() {
    let dir = tempfile::tempdir().unwrap();
    let listener = Tributary::start(dir.path(), &["--tcp", "127.0.0.1:0", "--out", "out.log"]);
    let addr = listener.tcp(0).to_string();
    let (mut real, start) = RawClient::connect_in_epoch(&addr, "web-1", "9f2c51d0a3b84e17", 0);
    assert_eq!(start, 0);
    real.send("real", 0, 100);
    real.wait_acked(100);
    for epoch in ["", "0000"] {
        let (mut forged, start) = RawClient::connect_in_epoch(&addr, "web-1", epoch, 1_000_000_000);
        forged.send(&format!("forged{epoch}"), 0, 1);
        forged.wait_acked(start + 1);
    }
    // The real producer reconnects (a network blip) and goes on.
    drop(real);
    let (mut real, start) = RawClient::connect_in_epoch(&addr, "web-1", "9f2c51d0a3b84e17", 100);
    assert_eq!(
        start, 100,
        "the real producer's welcome is its own: a forged one must not make it skip records"
    );
    real.send("real", 100, 150);
    real.wait_acked(150);
    let (mut real, start) = RawClient::connect_in_epoch(&addr, "web-1", "9f2c51d0a3b84e17", 150);
    assert_eq!(start, 150);
    real.send("real", 150, 200);
    real.wait_acked(200);
    drop(real);
    let (status, err) = listener.stop();
    assert!(status.success(), "{err}");
    let seen = tally(&read_json(&dir.path().join("out.log")));
    assert_exactly_once(
        &seen,
        &[
            ("real".to_owned(), 200),
            ("forged".to_owned(), 1),
            ("forged0000".to_owned(), 1),
        ],
    );
}

/// A producer with a fixed id and no spool restarts: its new process
/// numbers from 0 again, in a new epoch, and its records are written
/// (before epochs they were taken for the old process's, already written).
#[test]
fn a_restarted_producer_without_spool_has_its_new_records_written() {
    let dir = tempfile::tempdir().unwrap();
    let listener = Tributary::start(dir.path(), &["--tcp", "127.0.0.1:0", "--out", "out.log"]);
    let addr = listener.tcp(0).to_string();
    assert!(produce(&addr, "fixed", "first", 0..300).join().unwrap());
    assert!(produce(&addr, "fixed", "second", 0..300).join().unwrap());
    let (status, err) = listener.stop();
    assert!(status.success(), "{err}");
    let seen = tally(&read_json(&dir.path().join("out.log")));
    assert_exactly_once(
        &seen,
        &[("first".to_owned(), 300), ("second".to_owned(), 300)],
    );
}

/// Two live processes given one id (a copied unit file): each keeps its
/// own numbering, neither supersedes the other, both get everything
/// written exactly once.
#[test]
fn two_live_producers_with_one_id_both_get_everything_written() {
    let dir = tempfile::tempdir().unwrap();
    let listener = Tributary::start(dir.path(), &["--tcp", "127.0.0.1:0", "--out", "out.log"]);
    let addr = listener.tcp(0).to_string();
    let a = produce(&addr, "shared", "a", 0..5_000);
    let b = produce(&addr, "shared", "b", 0..5_000);
    assert!(a.join().unwrap(), "a: not every record was acknowledged");
    assert!(b.join().unwrap(), "b: not every record was acknowledged");
    let (status, err) = listener.stop();
    assert!(status.success(), "{err}");
    let seen = tally(&read_json(&dir.path().join("out.log")));
    assert_exactly_once(&seen, &[("a".to_owned(), 5_000), ("b".to_owned(), 5_000)]);
}

/// SIGHUP after logrotate renamed the output: the reopen is journaled
/// like a rotation, so the new file is on record before anything is
/// written to it, and a kill right after cuts nothing acknowledged.
#[test]
fn sighup_reopen_is_journaled() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let args = ["--tcp", "127.0.0.1:0", "--out", "out.log"];
    let mut listener = Tributary::start(dir.path(), &args);
    let addr = listener.tcp(0).to_string();
    let (mut c, _) = RawClient::connect_in_epoch(&addr, "rotated", "e1", 0);
    c.send("rotated", 0, 100);
    c.wait_acked(100);
    std::fs::rename(dir.path().join("out.log"), dir.path().join("out.log.1")).unwrap();
    listener.signal(libc::SIGHUP);
    let journal = dir.path().join(".out.log.acks");
    let deadline = Instant::now() + PATIENCE;
    let last_ino = || -> Option<u64> {
        let text = std::fs::read_to_string(&journal).ok()?;
        let last: serde_json::Value = serde_json::from_str(text.lines().last()?).ok()?;
        last["outputs"][0]["ino"].as_u64()
    };
    loop {
        let new = std::fs::metadata(dir.path().join("out.log")).map(|m| m.ino());
        if let (Ok(new), Some(journaled)) = (new, last_ino())
            && new == journaled
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the reopened file never reached the journal: {}",
            std::fs::read_to_string(&journal).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    listener.signal(libc::SIGKILL);
    let _ = listener.wait();
    let listener = Tributary::start(dir.path(), &args);
    let addr = listener.tcp(0).to_string();
    let (mut c, start) = RawClient::connect_in_epoch(&addr, "rotated", "e1", 100);
    assert_eq!(start, 100);
    c.send("rotated", 100, 150);
    c.wait_acked(150);
    drop(c);
    let (status, err) = listener.stop();
    assert!(status.success(), "{err}");
    let mut lines = read_json(&dir.path().join("out.log.1"));
    lines.extend(read_json(&dir.path().join("out.log")));
    assert_exactly_once(&tally(&lines), &[("rotated".to_owned(), 150)]);
}

/// The kill -9 loop of `tests/faults.rs`, harder: before each kill a
/// second listener is started on the same output (and refused), and after
/// each kill the journal's last line is torn at a random offset, as a kill
/// in the middle of an append leaves it. Every record of every producer
/// is in the output exactly once.
fn kill_loop_with_torn_journal_and_second_instances(durable: bool) {
    let records: u64 = std::env::var("TRIBUTARY_FAULT_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let kills: u64 = std::env::var("TRIBUTARY_FAULT_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut args = vec!["--tcp", addr.as_str(), "--out", "out.log"];
    if durable {
        args.push("--durable");
    }
    let mut listener = Tributary::start(dir.path(), &args);
    let names: Vec<String> = (0..4).map(|i| format!("t{i}")).collect();
    let producers: Vec<_> = names
        .iter()
        .map(|n| produce_paced(&addr, n, n, 0..records, Some(records / 3_000 + 1)))
        .collect();
    let journal = dir.path().join(".out.log.acks");
    let mut rng = Lcg(0x7ea2 ^ records ^ u64::from(durable));
    let mut stderrs = Vec::new();
    let mut torn = 0;
    for _ in 0..kills {
        std::thread::sleep(Duration::from_millis(100 + rng.below(400)));
        let (status, err) = listen_to_exit(dir.path(), &args);
        assert!(
            !status.success() && err.contains(&format!("pid {}", listener.pid())),
            "a second listener is refused, naming the running one: {err}"
        );
        listener.signal(libc::SIGKILL);
        let (_, err) = listener.wait();
        stderrs.push(err);
        // Torn: a prefix of a line like the last one, as a kill while
        // appending leaves it.
        let text = std::fs::read(&journal).unwrap_or_default();
        if let Some(last) = text
            .strip_suffix(b"\n")
            .and_then(|t| t.split(|&b| b == b'\n').next_back())
            .filter(|l| l.len() > 1)
        {
            let cut = 1 + rng.below(last.len() as u64 - 1) as usize;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&journal)
                .unwrap();
            f.write_all(&last[..cut]).unwrap();
            torn += 1;
        }
        listener = Tributary::start(dir.path(), &args);
    }
    for (p, name) in producers.into_iter().zip(&names) {
        assert!(
            p.join().unwrap(),
            "{name}: not every record was acknowledged"
        );
    }
    let (status, err) = listener.stop();
    assert!(status.success(), "{err}");
    stderrs.push(err);
    let cut = stderrs
        .iter()
        .filter(|e| e.contains("bytes of a torn last line"))
        .count();
    assert_eq!(cut, torn, "each torn line was cut and said: {stderrs:?}");
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("out.log")
        {
            lines.extend(read_json(&path));
        }
    }
    let expected: Vec<(String, u64)> = names.iter().map(|n| (n.clone(), records)).collect();
    assert_exactly_once(&tally(&lines), &expected);
}

#[test]
fn kill_9_with_torn_journal_lines_and_second_instances_loses_and_duplicates_nothing() {
    kill_loop_with_torn_journal_and_second_instances(false);
}

#[test]
fn kill_9_with_torn_journal_lines_and_second_instances_durable() {
    kill_loop_with_torn_journal_and_second_instances(true);
}
