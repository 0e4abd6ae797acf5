//! The fault suite: acknowledged delivery across `kill -9`.
//!
//! Four producer processes log through tributary-handlers'
//! `SocketHandler::acknowledged()` while the listener is killed with
//! SIGKILL at random moments and restarted on the same port, several
//! times. Every record must be in the output exactly once: records written
//! but not journaled are cut at restart and sent again; records resent but
//! already written are dropped as duplicates.
//!
//! CI runs a quick form. The full run (200,000 records per producer, 5
//! kills) is the same test with the environment set:
//!
//! ```text
//! TRIBUTARY_FAULT_RECORDS=200000 TRIBUTARY_FAULT_KILLS=5 \
//!   cargo test --release -p tributary-listener --test faults -- --nocapture
//! ```

#![allow(clippy::unwrap_used)] // a failure should fail the test

mod common;

use common::ack_producer::{producer_process, spawn_ack_producer, wait_producer};
use common::lcg::Lcg;
use common::raw_client::RawClient;
use common::*;
use std::process::Child;
use std::time::{Duration, Instant};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A producer process ([`spawn_ack_producer`]) runs this test binary again
/// for this test only.
#[test]
#[ignore = "run as a child process by the fault tests"]
fn ack_producer_process() {
    producer_process();
}

/// Starts the listener on `args`, whose TCP address is the one an earlier
/// incarnation bound: another process may have taken the port since it
/// died, so binding it is retried until the port is free again.
fn restart(dir: &std::path::Path, args: &[&str]) -> Tributary {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match Tributary::try_start(dir, args, 1, &[]) {
            Ok(t) => return t,
            Err(err) if err.contains("in use") && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(err) => panic!("the listener did not restart: {err}"),
        }
    }
}

/// The length of `out.log` in the journal's last whole line, if any.
fn journaled_len(dir: &std::path::Path) -> Option<u64> {
    let text = std::fs::read_to_string(dir.join(".out.log.acks")).ok()?;
    let last = text.split_inclusive('\n').rfind(|l| l.ends_with('\n'))?;
    let line: serde_json::Value = serde_json::from_str(last).ok()?;
    line["outputs"]
        .as_array()?
        .iter()
        .find(|o| o["path"].as_str().is_some_and(|p| p.ends_with("out.log")))?["len"]
        .as_u64()
}

/// Waits until the listener has written something it has not journaled
/// yet (a tail the next start must cut) and leaves it stopped (SIGSTOP)
/// there, so the writer cannot journal the tail between the look and the
/// kill; after a while it gives up and stops it anyway. Kills timed by
/// this land mid-stream and leave a repair to make.
fn stop_with_unjournaled_tail(dir: &std::path::Path, listener: &Tributary) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let tail = || {
        let len = std::fs::metadata(dir.join("out.log")).map_or(0, |m| m.len());
        journaled_len(dir).is_some_and(|j| len > j)
    };
    while Instant::now() < deadline {
        if tail() {
            listener.signal(libc::SIGSTOP);
            // SIGSTOP is asynchronous: look again once it has landed.
            wait_stopped(listener.pid());
            if tail() {
                return;
            }
            listener.signal(libc::SIGCONT);
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    listener.signal(libc::SIGSTOP);
}

/// Waits until process `pid` is stopped (state `T` in /proc).
fn wait_stopped(pid: i32) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The state follows the command name's closing parenthesis.
        let state = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next());
        if state == Some('T') {
            return;
        }
        assert!(Instant::now() < deadline, "process {pid} did not stop");
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Every line of `out.log` and its rotated archives (`out.log.1`, ...).
fn read_all_outputs(dir: &std::path::Path) -> Vec<serde_json::Value> {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "out.log" || name.starts_with("out.log.") {
            lines.extend(read_json(&path));
        }
    }
    lines
}

fn kill_loop_delivers_exactly_once(durable: bool) {
    kill_loop(durable, false);
}

fn kill_loop(durable: bool, rotate: bool) {
    let records = env_or("TRIBUTARY_FAULT_RECORDS", 20_000);
    let kills = env_or("TRIBUTARY_FAULT_KILLS", 3);
    let dir = tempfile::tempdir().unwrap();
    let mut extra = Vec::new();
    if durable {
        extra.push("--durable");
    }
    if rotate {
        extra.extend(["--max-bytes", "256KiB", "--backup-count", "1000"]);
    }
    let mut args = vec!["--tcp", "127.0.0.1:0", "--out", "out.log"];
    args.extend(&extra);
    let mut listener = Tributary::start(dir.path(), &args);
    // Every incarnation binds the port the first one got.
    let addr = listener.tcp(0).to_string();
    let mut args = vec!["--tcp", addr.as_str(), "--out", "out.log"];
    args.extend(&extra);
    let names: Vec<String> = (0..4).map(|i| format!("p{i}")).collect();
    // Paced to span about 3 s, so the kills land while records flow; each
    // producer's last record waits for the release after the last kill, so
    // none can be done before it, however fast the machine.
    let release = dir.path().join("release");
    let extra = format!(
        "pace={} hold={}",
        (records / 3_000).max(1),
        release.display()
    );
    let mut producers: Vec<Child> = names
        .iter()
        .map(|n| spawn_ack_producer(&addr, n, records, &extra))
        .collect();
    let mut rng = Lcg(0x5eed ^ records ^ u64::from(durable));
    let mut stderrs = Vec::new();
    for kill in 0..kills {
        std::thread::sleep(Duration::from_millis(50 + rng.below(200)));
        stop_with_unjournaled_tail(dir.path(), &listener);
        // Mid-stream: a producer exits only once all its records are
        // acknowledged (and is held before its last until released).
        for (p, name) in producers.iter_mut().zip(&names) {
            assert!(
                p.try_wait().unwrap().is_none(),
                "producer {name} finished before kill {kill}: the kill would not land mid-stream"
            );
        }
        listener.signal(libc::SIGKILL);
        let (_, err) = listener.wait();
        stderrs.push(err);
        std::thread::sleep(Duration::from_millis(rng.below(300)));
        listener = restart(dir.path(), &args);
    }
    std::fs::write(&release, b"").unwrap();
    for (p, name) in producers.iter_mut().zip(&names) {
        wait_producer(p, name);
    }
    let (status, err) = listener.stop();
    assert!(status.success(), "{err}");
    stderrs.push(err);
    let lines = read_all_outputs(dir.path());
    let seen = tally(&lines);
    let lost = names
        .iter()
        .flat_map(|p| (0..records).map(move |n| (p.clone(), n)))
        .filter(|k| !seen.contains_key(k))
        .count();
    let duplicated: usize = seen.values().map(|c| c - 1).sum();
    eprintln!(
        "kill -9 x{kills}, 4 x {records} acknowledged records{}{}: lost {lost}, duplicated {duplicated}",
        if durable { ", --durable" } else { "" },
        if rotate {
            ", rotating every 256 KiB"
        } else {
            ""
        }
    );
    let expected: Vec<(String, u64)> = names.iter().map(|n| (n.clone(), records)).collect();
    assert_exactly_once(&seen, &expected);
    // A restart only repairs when it must: the stderr of the incarnation
    // after each kill says so (the first start has nothing to repair).
    let recovered = stderrs[1..]
        .iter()
        .filter(|e| e.contains("recovery:") && e.contains(" cut "))
        .count();
    eprintln!("restarts that had to repair an output: {recovered} of {kills}");
    assert!(
        recovered >= 1,
        "no restart had to cut an unacknowledged tail: the kills did not test recovery"
    );
}

#[test]
fn kill_9_loses_and_duplicates_nothing() {
    kill_loop_delivers_exactly_once(false);
}

/// Rotation is held to batch boundaries and journaled on both sides, so
/// a kill between a rotation and the next write loses and duplicates
/// nothing either.
#[test]
fn kill_9_while_rotating_loses_and_duplicates_nothing() {
    kill_loop(false, true);
}

#[test]
fn kill_9_with_durable_acknowledgements_loses_and_duplicates_nothing() {
    kill_loop_delivers_exactly_once(true);
}

/// A raw acknowledged client, speaking docs/protocol.md directly.
/// A producer whose connection breaks again and again (not the listener:
/// the network, or the producer's own timeout) resends everything it holds
/// each time; records still queued in the listener from the previous
/// connection are recognised as duplicates. Whatever the timing, each
/// record is written once, and the welcome tells the producer what it may
/// forget.
#[test]
fn resends_over_broken_connections_are_written_once() {
    let dir = tempfile::tempdir().unwrap();
    let listener = Tributary::start(dir.path(), &["--tcp", "127.0.0.1:0", "--out", "out.log"]);
    let addr = listener.tcp(0).to_string();
    let total = 3_000u64;
    // The oldest record the producer still holds (nothing acknowledged yet).
    let mut held = 0u64;
    for round in 0..10u64 {
        let (mut c, start) = RawClient::connect(&addr, "flaky", held);
        assert!(start >= held, "the welcome never goes back");
        held = start;
        let upto = (total * (round + 1) / 10).max(held);
        c.send("flaky", held, upto);
        // Connection dropped without waiting: the next round resends
        // everything from `held`.
    }
    let (mut c, start) = RawClient::connect(&addr, "flaky", held);
    if start < total {
        // (The welcome itself may already say everything is written.)
        c.send("flaky", start, total);
        c.wait_acked(total);
    }
    drop(c);
    let (status, err) = listener.stop();
    assert!(status.success(), "{err}");
    let seen = tally(&read_json(&dir.path().join("out.log")));
    assert_exactly_once(&seen, &[("flaky".to_owned(), total)]);
}

/// A bad hello gets a `refused` frame naming the problem, and costs only
/// its own connection.
#[test]
fn a_bad_hello_is_refused_with_the_reason() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let listener = Tributary::start(dir.path(), &["--tcp", "127.0.0.1:0", "--out", "out.log"]);
    let addr = listener.tcp(0).to_string();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    let payload = br#"{"tributary":"hello","version":9,"producer":"p","next":0}"#;
    let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(payload);
    s.write_all(&frame).unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    let reply = tributary_core::frame::handshake::Reply::parse(&answer[4..]).unwrap();
    assert!(
        matches!(&reply, tributary_core::frame::handshake::Reply::Refused { reason } if reason.contains("version 9")),
        "{reply:?}"
    );
    // Others are unaffected.
    let (mut c, start) = RawClient::connect(&addr, "good", 0);
    c.send("good", start, 100);
    c.wait_acked(100);
    let (status, err) = listener.stop();
    assert!(status.success(), "{err}");
    assert!(err.contains("refused the hello"), "{err}");
    let seen = tally(&read_json(&dir.path().join("out.log")));
    assert_exactly_once(&seen, &[("good".to_owned(), 100)]);
}

/// The listener is away for a while (10 s in the full run) while producers
/// keep logging, with a memory buffer far smaller than the outage: the
/// overflow goes to each producer's disk spool and comes back, in order,
/// once the listener returns. Nothing is lost or duplicated.
#[test]
fn a_long_outage_spills_to_the_spool_and_loses_nothing() {
    let outage = Duration::from_secs(env_or("TRIBUTARY_FAULT_OUTAGE_SECS", 2));
    let records = 6_000u64;
    let dir = tempfile::tempdir().unwrap();
    let listener = Tributary::start(dir.path(), &["--tcp", "127.0.0.1:0", "--out", "out.log"]);
    // The listener comes back on the same port.
    let addr = listener.tcp(0).to_string();
    let args = ["--tcp", addr.as_str(), "--out", "out.log"];
    // Each producer spreads its records over about twice the outage.
    let pace = (records / (outage.as_millis() as u64 * 2)).max(1);
    let names: Vec<String> = (0..2).map(|i| format!("s{i}")).collect();
    let mut producers: Vec<Child> = names
        .iter()
        .map(|n| {
            let spool = dir.path().join(format!("{n}.spool"));
            let extra = format!("spool={} buffer=200 pace={pace}", spool.display());
            spawn_ack_producer(&addr, n, records, &extra)
        })
        .collect();
    std::thread::sleep(outage / 4);
    let (status, err) = listener.stop();
    assert!(status.success(), "{err}");
    // The outage lasts at least `outage`, and until the producers' 200-record
    // buffers have filled and spilled to disk (on a slow machine, longer).
    let down = Instant::now();
    loop {
        let spooled: u64 = names
            .iter()
            .map(|n| {
                std::fs::metadata(dir.path().join(format!("{n}.spool"))).map_or(0, |m| m.len())
            })
            .sum();
        if spooled > 4 * 1024 && down.elapsed() >= outage {
            break;
        }
        assert!(
            down.elapsed() < PATIENCE,
            "the outage should have filled the 200-record buffers and spilled to disk ({spooled} bytes spooled)"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let listener = restart(dir.path(), &args);
    for (p, name) in producers.iter_mut().zip(&names) {
        wait_producer(p, name);
    }
    let (status, err) = listener.stop();
    assert!(status.success(), "{err}");
    let seen = tally(&read_json(&dir.path().join("out.log")));
    let expected: Vec<(String, u64)> = names.iter().map(|n| (n.clone(), records)).collect();
    assert_exactly_once(&seen, &expected);
}

/// The last fsynced length of each file the listener synced, by file name,
/// and how many times each was synced, from the test hooks' sync log
/// (`sync<TAB>path<TAB>length` lines; feature `test-hooks`).
fn synced(log: &std::path::Path) -> std::collections::BTreeMap<String, (u64, usize)> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut files = std::collections::BTreeMap::new();
    // Only whole lines: the listener may be appending one right now.
    for line in text.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
        let mut parts = line.trim_end().split('\t');
        let (Some("sync"), Some(path), Some(len), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            panic!("bad sync log line {line:?}");
        };
        let name = std::path::Path::new(path)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let entry = files.entry(name).or_insert((0, 0));
        *entry = (len.parse().unwrap(), entry.1 + 1);
    }
    files
}

/// `--durable` means: every acknowledged record is on disk before its
/// acknowledgement, so it survives a power cut. The welcome says so; the
/// listener's test hook logs every fsync with the file's length, and each
/// acknowledgement must follow a new fsync of the output and of the journal
/// whose synced length holds every record it acknowledges. Then a power cut
/// is simulated: `kill -9` with records in flight, and every file cut back
/// to its last fsynced length, as losing the page cache would; the
/// restarted listener and the producer's resends must end with every record
/// exactly once. A `--durable` that skipped its fsyncs loses acknowledged
/// records here.
#[test]
fn durable_acknowledgements_survive_a_simulated_power_cut() {
    let dir = tempfile::tempdir().unwrap();
    let sync_log = dir.path().join("sync-log");
    let env = [("TRIBUTARY_TEST_SYNC_LOG", sync_log.as_os_str())];
    let args = [
        "--tcp",
        "127.0.0.1:0",
        "--out",
        "out.log",
        "--durable",
        "--ack-journal",
        "out.acks",
    ];
    let (batch, batches, total) = (500u64, 6u64, 20_000u64);
    let mut listener = Tributary::start_with_env(dir.path(), &args, 1, &env);
    let addr = listener.tcp(0).to_string();
    let (mut c, welcome) = RawClient::hello(&addr, "cut", "", 0);
    let (start, durable) = (welcome.next, welcome.durable);
    assert!(
        durable,
        "the welcome of a --durable listener says durable: false"
    );
    assert_eq!(start, 0);

    let mut acked = 0;
    let mut syncs_before = (0, 0);
    for b in 0..batches {
        c.send("cut", b * batch, (b + 1) * batch);
        while acked < (b + 1) * batch {
            let tributary_core::frame::handshake::Reply::Ack { next } = c.reply() else {
                panic!("expected an ack");
            };
            if next <= acked {
                continue; // a repeated acknowledgement commits nothing new
            }
            acked = next;
            // The hook appends before the acknowledgement is sent.
            let files = synced(&sync_log);
            let (out_len, out_syncs) = files.get("out.log").copied().unwrap_or_default();
            let (_, journal_syncs) = files.get("out.acks").copied().unwrap_or_default();
            // One commit (one fsync of each) may be acknowledged in
            // several steps, one per batch it covered: an ack needs an
            // fsync of output and journal, and the output's fsynced length
            // must hold everything it acknowledges (checked below).
            assert!(
                out_syncs > 0 && journal_syncs > 0,
                "ack {next} without an fsync of the output ({out_syncs} syncs) \
                 and of the journal ({journal_syncs})"
            );
            assert!(
                out_syncs >= syncs_before.0 && journal_syncs >= syncs_before.1,
                "the sync log went backwards"
            );
            syncs_before = (out_syncs, journal_syncs);
            let file = std::fs::read(dir.path().join("out.log")).unwrap();
            let on_disk: std::collections::BTreeSet<u64> = file[..out_len as usize]
                .split(|&b| b == b'\n')
                .filter_map(producer_and_n)
                .map(|(_, n)| n)
                .collect();
            assert!(
                (0..next).all(|n| on_disk.contains(&n)),
                "ack {next}: the output's fsynced {out_len} bytes hold only {} records",
                on_disk.len()
            );
        }
    }

    // The power cut, with records in flight: the process dies, and so does
    // everything the files held beyond their last fsync. It comes once the
    // output holds bytes not fsynced yet (if the writer syncs them first,
    // the cut merely finds less to cut).
    let out = dir.path().join("out.log");
    let mut sent = batches * batch;
    while sent < total {
        c.send("cut", sent, sent + 100);
        sent += 100;
        let synced_len = synced(&sync_log).get("out.log").map_or(0, |(len, _)| *len);
        if std::fs::metadata(&out).unwrap().len() > synced_len {
            break;
        }
    }
    listener.signal(libc::SIGKILL);
    let _ = listener.wait();
    drop(c);
    let files = synced(&sync_log);
    let mut cut = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path == sync_log || !path.is_file() {
            continue;
        }
        let kept = files.get(&name).map_or(0, |(len, _)| *len);
        let len = std::fs::metadata(&path).unwrap().len();
        assert!(len >= kept, "{name}: {len} bytes, fsynced {kept}");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(kept)
            .unwrap();
        cut += len - kept;
    }
    eprintln!(
        "power cut after {sent} records sent: {cut} bytes written after the last fsyncs were lost"
    );

    listener = Tributary::start_with_env(dir.path(), &args, 1, &env);
    let addr = listener.tcp(0).to_string();
    let (mut c, welcome) = RawClient::hello(&addr, "cut", "", acked);
    let (start, durable) = (welcome.next, welcome.durable);
    assert!(durable);
    assert!(
        start >= acked,
        "the welcome went back from {acked} to {start}"
    );
    c.send("cut", start, total);
    c.wait_acked(total);
    drop(c);
    let (status, err) = listener.stop();
    assert!(status.success(), "{err}");
    let seen = tally(&read_json(&dir.path().join("out.log")));
    assert_exactly_once(&seen, &[("cut".to_owned(), total)]);
}
