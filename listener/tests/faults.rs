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

use common::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Names the producer a re-run of this test binary plays.
const PRODUCER_ENV: &str = "TRIBUTARY_TEST_ACK_PRODUCER";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Starts a producer process: this test binary again, running only
/// [`ack_producer_process`].
fn ack_producer(addr: &str, name: &str, count: u64) -> Child {
    ack_producer_with(addr, name, count, "")
}

/// [`ack_producer`] with extra settings: `spool=PATH buffer=N pace=N`
/// (pace: records per millisecond at most, so the run spans an outage).
fn ack_producer_with(addr: &str, name: &str, count: u64, extra: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["ack_producer_process", "--exact", "--ignored", "--quiet"])
        .env(PRODUCER_ENV, format!("{addr} {name} {count} {extra}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The body of a producer process: `count` records through a queue into
/// an acknowledged `SocketHandler`, retrying fast, with a buffer that holds
/// everything (the spool and the drop report are tested elsewhere).
#[test]
#[ignore = "run as a child process by the fault tests"]
fn ack_producer_process() {
    use tributary_handlers::QueueListener;
    use tributary_handlers::net::{Backoff, BufferLimits, SocketHandler};
    let spec = std::env::var(PRODUCER_ENV).expect("started by ack_producer()");
    let words: Vec<&str> = spec.split_whitespace().collect();
    let [addr, name, count, ref extra @ ..] = words[..] else {
        panic!("bad {PRODUCER_ENV}: {spec}");
    };
    let count: u64 = count.parse().unwrap();
    let setting = |key: &str| {
        extra
            .iter()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
    };
    let buffer = setting("buffer").map_or(count as usize + 16, |b| b.parse().unwrap());
    let pace: Option<u64> = setting("pace").map(|p| p.parse().unwrap());
    let mut handler = SocketHandler::tcp(addr)
        .with_producer_id(name)
        .with_backoff(Backoff {
            start: Duration::from_millis(20),
            factor: 2.0,
            max: Duration::from_millis(200),
        })
        .with_buffer(BufferLimits {
            records: buffer,
            bytes: 1 << 30,
        })
        .with_close_timeout(PATIENCE);
    if let Some(path) = setting("spool") {
        handler = handler
            .with_spool(tributary_handlers::net::SpoolConfig::new(path))
            .unwrap();
    }
    let mut queue = QueueListener::builder().handler(handler).start().unwrap();
    let log = queue.queue_handler();
    let started = Instant::now();
    for n in 0..count {
        if let Some(pace) = pace {
            let due = Duration::from_millis(n / pace);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        log.log(rust_record(name, n));
    }
    assert!(queue.stop(), "not every record was acknowledged");
}

/// A port free now, so every incarnation of the listener can bind it.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A small deterministic generator: the kill points vary between runs of
/// the loop without making the test irreproducible.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
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
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut args = vec!["--tcp", addr.as_str(), "--out", "out.log"];
    if durable {
        args.push("--durable");
    }
    if rotate {
        args.extend(["--max-bytes", "256KiB", "--backup-count", "1000"]);
    }
    let mut listener = Tributary::start(dir.path(), &args);
    let names: Vec<String> = (0..4).map(|i| format!("p{i}")).collect();
    let mut producers: Vec<Child> = names
        .iter()
        .map(|n| ack_producer(&addr, n, records))
        .collect();
    let mut rng = Lcg(0x5eed ^ records ^ u64::from(durable));
    let mut stderrs = Vec::new();
    for _ in 0..kills {
        std::thread::sleep(Duration::from_millis(100 + rng.below(400)));
        listener.signal(libc::SIGKILL);
        let (_, err) = listener.wait();
        stderrs.push(err);
        std::thread::sleep(Duration::from_millis(rng.below(300)));
        listener = Tributary::start(dir.path(), &args);
    }
    let deadline = Instant::now() + PATIENCE * 2;
    for (p, name) in producers.iter_mut().zip(&names) {
        loop {
            if let Some(status) = p.try_wait().unwrap() {
                let mut err = String::new();
                std::io::Read::read_to_string(p.stderr.as_mut().unwrap(), &mut err).unwrap();
                assert!(status.success(), "producer {name} failed: {err}");
                break;
            }
            assert!(Instant::now() < deadline, "producer {name} did not finish");
            std::thread::sleep(Duration::from_millis(20));
        }
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
    let recovered = stderrs.iter().filter(|e| e.contains("recovery:")).count();
    eprintln!("restarts that had to repair an output: {recovered} of {kills}");
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
mod raw {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;
    use tributary_core::JsonFormatter;
    use tributary_core::frame::handshake::{Hello, Reply};
    use tributary_core::frame::{FrameDecoder, encode_record};

    pub struct Client {
        stream: TcpStream,
        replies: FrameDecoder,
    }

    impl Client {
        /// Connects and says hello; returns the welcome's `next`.
        pub fn connect(addr: &str, producer: &str, next: u64) -> (Client, u64) {
            let stream = TcpStream::connect(addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(30)))
                .unwrap();
            let mut c = Client {
                stream,
                replies: FrameDecoder::new(1 << 16),
            };
            let mut hello = Vec::new();
            Hello {
                producer: producer.into(),
                epoch: String::new(),
                next,
            }
            .encode(&mut hello);
            c.stream.write_all(&hello).unwrap();
            match c.reply() {
                Reply::Welcome { next, .. } => (c, next),
                other => panic!("expected a welcome, got {other:?}"),
            }
        }

        pub fn reply(&mut self) -> Reply {
            loop {
                if let Some(p) = self.replies.next_frame().unwrap() {
                    return Reply::parse(p).unwrap();
                }
                let mut buf = [0u8; 4096];
                let n = self.stream.read(&mut buf).unwrap();
                assert!(n > 0, "the listener closed the connection");
                self.replies.push(&buf[..n]);
            }
        }

        /// Sends records `from..to` of `producer` as native frames.
        pub fn send(&mut self, producer: &str, from: u64, to: u64) {
            let f = JsonFormatter::native();
            let mut out = Vec::new();
            for n in from..to {
                encode_record(&super::rust_record(producer, n), &f, &mut out).unwrap();
            }
            self.stream.write_all(&out).unwrap();
        }

        /// Waits until everything below `next` is acknowledged.
        pub fn wait_acked(&mut self, next: u64) {
            loop {
                match self.reply() {
                    Reply::Ack { next: n } if n >= next => return,
                    Reply::Ack { .. } => {}
                    other => panic!("expected an ack, got {other:?}"),
                }
            }
        }
    }
}

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
        let (mut c, start) = raw::Client::connect(&addr, "flaky", held);
        assert!(start >= held, "the welcome never goes back");
        held = start;
        let upto = (total * (round + 1) / 10).max(held);
        c.send("flaky", held, upto);
        // Connection dropped without waiting: the next round resends
        // everything from `held`.
    }
    let (mut c, start) = raw::Client::connect(&addr, "flaky", held);
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
    let (mut c, start) = raw::Client::connect(&addr, "good", 0);
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
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let args = ["--tcp", addr.as_str(), "--out", "out.log"];
    let listener = Tributary::start(dir.path(), &args);
    // Each producer spreads its records over about twice the outage.
    let pace = (records / (outage.as_millis() as u64 * 2)).max(1);
    let names: Vec<String> = (0..2).map(|i| format!("s{i}")).collect();
    let mut producers: Vec<Child> = names
        .iter()
        .map(|n| {
            let spool = dir.path().join(format!("{n}.spool"));
            let extra = format!("spool={} buffer=200 pace={pace}", spool.display());
            ack_producer_with(&addr, n, records, &extra)
        })
        .collect();
    std::thread::sleep(outage / 4);
    let (status, err) = listener.stop();
    assert!(status.success(), "{err}");
    std::thread::sleep(outage);
    let spooled: u64 = names
        .iter()
        .map(|n| std::fs::metadata(dir.path().join(format!("{n}.spool"))).map_or(0, |m| m.len()))
        .sum();
    assert!(
        spooled > 4 * 1024,
        "the outage should have filled the 200-record buffers and spilled to disk ({spooled} bytes spooled)"
    );
    let listener = Tributary::start(dir.path(), &args);
    for (p, name) in producers.iter_mut().zip(&names) {
        let status = p.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(p.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert!(status.success(), "producer {name} failed: {err}");
    }
    let (status, err) = listener.stop();
    assert!(status.success(), "{err}");
    let seen = tally(&read_json(&dir.path().join("out.log")));
    let expected: Vec<(String, u64)> = names.iter().map(|n| (n.clone(), records)).collect();
    assert_exactly_once(&seen, &expected);
}
