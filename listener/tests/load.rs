//! Overload (issue #7): many connections are served fairly, slow clients
//! cannot starve fast ones, and a stalled output holds producers back in
//! bounded memory instead of buffering without end.
//!
//! The quick form (CI) runs a few seconds of load. The full run is the same
//! test for 30 s, with its figures (records/s, peak RSS, lag):
//!
//! ```text
//! TRIBUTARY_LOAD_SECS=30 cargo test --release -p tributary-listener --test load -- --nocapture --test-threads=1
//! ```
//!
//! `TRIBUTARY_LOAD_RATE` sets the records per second of each good
//! connection (default 50: 25,600 records/s over 512 connections); a rate
//! the listener cannot keep up with (e.g. 1000) runs it saturated, where
//! fairness shows as every connection's lag growing alike.

#![allow(clippy::unwrap_used)] // a test: a failure should fail it

mod common;

use common::*;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::AsyncWriteExt;
use tributary_core::{JsonFormatter, Level, Record, frame};

/// Good connections: each sends records at a steady pace for the run.
const GOOD: usize = 512;
/// Slow-loris connections, four of each [`Loris`] kind.
const SLOW: usize = 16;
/// Records each slow-loris connection (but the oversize-claim kind) carries.
const SLOW_RECORDS: u64 = 10;
/// Rounds per second of each good connection; a round is one write.
const ROUNDS_PER_SEC: u64 = 10;

/// A bound on how long any good record may take from its creation to the
/// output file while the slow-loris connections are open. Generous (a debug
/// build on two busy cores): a connection starved by the slow ones would
/// wait until they close, which they only do after every good record has
/// landed, so a starved record never lands and the wait below fails.
const LAG_BOUND: Duration = Duration::from_secs(15);

/// The listener's peak resident set under the 528-connection load.
/// Measured (VmHWM) at the default rate: 13-16 MiB in a debug build, 10 MiB
/// in release; saturated (rate 1000, debug), 53 MiB. What grows with load
/// is one read buffer and one waiting batch per connection (64 KiB each at
/// most, touched only as far as reads fill them: 528 x 128 KiB = 66 MiB
/// when all are full) and the queue (16,384 records of ~200 bytes: ~3 MiB).
/// 96 MiB holds that worst case with slack; it fails when a connection
/// costs more than ~170 KiB and, in the 30 s run (~130 MiB of records),
/// on anything kept per record.
const LOAD_RSS_BOUND_KIB: u64 = 96 * 1024;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The ways a slow-loris connection holds a connection open while sending
/// next to nothing.
#[derive(Clone, Copy, Debug)]
enum Loris {
    /// Valid native frames, one byte every 100-500 ms.
    TrickleFrames,
    /// Valid newline-delimited JSON, one byte every 100-500 ms.
    TrickleLines,
    /// A header and half a payload, then silence.
    HalfFrame,
    /// A header claiming the largest frame allowed (1 MiB), then a byte
    /// every 100-500 ms; it never completes, so closing it is one
    /// malformed (truncated) frame.
    BigClaim,
}

impl Loris {
    fn of(i: usize) -> Loris {
        [
            Loris::TrickleFrames,
            Loris::TrickleLines,
            Loris::HalfFrame,
            Loris::BigClaim,
        ][i % 4]
    }

    /// The bytes this connection would send in full, and how many records
    /// they hold.
    fn wire(self, producer: &str) -> (Vec<u8>, u64) {
        let json = JsonFormatter::native();
        let mut wire = Vec::new();
        match self {
            Loris::TrickleFrames | Loris::HalfFrame => {
                for n in 0..SLOW_RECORDS {
                    frame::encode_record(&rust_record(producer, n), &json, &mut wire).unwrap();
                }
                (wire, SLOW_RECORDS)
            }
            Loris::TrickleLines => {
                for n in 0..SLOW_RECORDS {
                    tributary_core::Formatter::format(&json, &rust_record(producer, n), &mut wire);
                    wire.push(b'\n');
                }
                (wire, SLOW_RECORDS)
            }
            Loris::BigClaim => {
                let len = frame::DEFAULT_MAX_FRAME as u32;
                wire.extend_from_slice(&len.to_be_bytes());
                wire.extend_from_slice(br#"{"msg":""#);
                wire.resize(wire.len() + 4096, b'x');
                (wire, 0)
            }
        }
    }
}

/// What a slow-loris connection saw.
#[derive(Debug)]
struct LorisEnd {
    /// Bytes sent before it was released.
    trickled: usize,
    /// Bytes sent in all.
    sent: usize,
    /// The listener had closed or reset it before it was released.
    closed_early: bool,
}

/// One slow-loris connection: trickles until `release`, checks the
/// listener still holds it open, then sends the rest (or, for a
/// [`Loris::BigClaim`], closes mid-frame).
async fn slow_loris(
    addr: std::net::SocketAddr,
    i: usize,
    mut release: tokio::sync::watch::Receiver<bool>,
    connected: tokio::sync::mpsc::Sender<()>,
) -> LorisEnd {
    let kind = Loris::of(i);
    let (wire, _) = kind.wire(&format!("slow{i}"));
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut sent = match kind {
        Loris::HalfFrame => {
            let len = u32::from_be_bytes(wire[..4].try_into().unwrap()) as usize;
            4 + len / 2
        }
        _ => 1,
    };
    s.write_all(&wire[..sent]).await.unwrap();
    connected.send(()).await.unwrap();
    let mut k = 0;
    loop {
        let pause = match kind {
            Loris::HalfFrame => Duration::from_secs(3600),
            _ => Duration::from_millis(100 + ((i * 131 + k * 37) % 400) as u64),
        };
        k += 1;
        tokio::select! {
            () = tokio::time::sleep(pause) => {
                // Leave the last byte: the connection must stay incomplete.
                if sent + 1 < wire.len() {
                    s.write_all(&wire[sent..=sent]).await.unwrap();
                    sent += 1;
                }
            }
            _ = release.changed() => break,
        }
    }
    let closed_early = closed_by_peer(s.as_raw_fd());
    let trickled = sent;
    if !matches!(kind, Loris::BigClaim) {
        s.write_all(&wire[sent..]).await.unwrap();
        sent = wire.len();
    }
    s.shutdown().await.unwrap();
    LorisEnd {
        trickled,
        sent,
        closed_early,
    }
}

/// One good connection: `rounds` writes of `per_round` records, paced
/// `1 / ROUNDS_PER_SEC` apart from a start staggered by its number.
/// Returns the bytes sent and how long connecting took.
async fn good(
    addr: std::net::SocketAddr,
    c: usize,
    rounds: u64,
    per_round: u64,
) -> (u64, Duration) {
    let producer = format!("c{c}");
    let json = JsonFormatter::native();
    let connecting = Instant::now();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let connect = connecting.elapsed();
    let period = Duration::from_micros(1_000_000 / ROUNDS_PER_SEC);
    let start = tokio::time::Instant::now() + period * c as u32 / GOOD as u32;
    let mut wire = Vec::new();
    let (mut n, mut bytes) = (0, 0);
    for r in 0..rounds {
        tokio::time::sleep_until(start + period * r as u32).await;
        wire.clear();
        for _ in 0..per_round {
            frame::encode_record(&rust_record(&producer, n), &json, &mut wire).unwrap();
            n += 1;
        }
        s.write_all(&wire).await.unwrap();
        bytes += wire.len() as u64;
    }
    s.shutdown().await.unwrap();
    (bytes, connect)
}

/// What the output file showed, read as it grew.
#[derive(Debug, Default)]
struct Tail {
    /// The next `n` expected from each producer: records land exactly once
    /// and in order when each arrives as the expected one.
    next: BTreeMap<String, u64>,
    /// Records out of order, missing or repeated (the first few).
    disorder: Vec<String>,
    /// Other lines (the listener's own records would be here).
    other: Vec<String>,
    /// The largest time from a good record's creation to its sighting,
    /// per good connection, in seconds.
    lag: Vec<f64>,
    good_seen: u64,
    slow_seen: u64,
    last_good_seen: Option<Instant>,
}

impl Tail {
    fn line(&mut self, line: &[u8], now: f64, at: Instant) {
        let Some((producer, n)) = producer_and_n(line) else {
            self.other.push(String::from_utf8_lossy(line).into_owned());
            return;
        };
        let next = self.next.entry(producer.to_owned()).or_insert(0);
        if *next != n && self.disorder.len() < 10 {
            self.disorder
                .push(format!("{producer}: {n} where {next} was expected"));
        }
        *next = n + 1;
        if let Some(c) = producer.strip_prefix('c') {
            let c: usize = c.parse().unwrap();
            let lag = now - line_ts(line).unwrap();
            self.lag[c] = self.lag[c].max(lag);
            self.good_seen += 1;
            self.last_good_seen = Some(at);
        } else {
            self.slow_seen += 1;
        }
    }
}

/// Reads `path` as it grows until `stop`, feeding every complete line to
/// `tail`.
fn follow(path: PathBuf, tail: Arc<std::sync::Mutex<Tail>>, stop: Arc<AtomicBool>) {
    let mut file = loop {
        match std::fs::File::open(&path) {
            Ok(f) => break f,
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    let mut buf = Vec::new();
    let mut chunk = vec![0; 1 << 20];
    loop {
        let stopping = stop.load(Relaxed);
        let n = file.read(&mut chunk).unwrap();
        if n == 0 {
            if stopping {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        buf.extend_from_slice(&chunk[..n]);
        let (now, at) = (
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64(),
            Instant::now(),
        );
        let mut t = tail.lock().unwrap();
        let mut start = 0;
        while let Some(len) = buf[start..].iter().position(|&b| b == b'\n') {
            t.line(&buf[start..start + len], now, at);
            start += len + 1;
        }
        drop(t);
        buf.drain(..start);
    }
    assert!(buf.is_empty(), "a partial last line");
}

/// Waits until `done` holds of the tail, failing after `bound`.
fn wait_tail(
    tail: &std::sync::Mutex<Tail>,
    bound: Duration,
    what: &str,
    done: impl Fn(&Tail) -> bool,
) {
    let deadline = Instant::now() + bound;
    loop {
        {
            let t = tail.lock().unwrap();
            if done(&t) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what} after {bound:?}: {} good and {} slow records seen; {:?}",
                t.good_seen,
                t.slow_seen,
                t.disorder
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn five_hundred_twelve_connections_and_sixteen_slow_loris_are_served_fairly_in_bounded_memory() {
    let secs = env_u64("TRIBUTARY_LOAD_SECS", 3);
    let rate = env_u64("TRIBUTARY_LOAD_RATE", 50);
    let per_round = rate.div_ceil(ROUNDS_PER_SEC).max(1);
    let rounds = secs * ROUNDS_PER_SEC;
    let per_conn = rounds * per_round;
    let good_total = GOOD as u64 * per_conn;
    // 528 sockets here, as many in the listener (which inherits the limit).
    let nofile = raise_open_files(4096);
    assert!(
        nofile >= 1200,
        "open-file limit {nofile}: cannot hold 528 sockets"
    );

    let dir = tempfile::tempdir().unwrap();
    // The default max-connections (1024) and idle timeout (none) are what
    // is tested: neither is given.
    // The slow-loris connections must outlive the run to show they starve
    // no one; closing them (the frame timeout, 30 s by default) is tested
    // in bad_input.rs.
    let frame_timeout = format!("{}s", secs * 4 + 60);
    let t = Tributary::start(
        dir.path(),
        &[
            "--tcp",
            "127.0.0.1:0",
            "--out",
            "load.log",
            "--frame-timeout",
            &frame_timeout,
        ],
    );
    let addr = t.tcp(0);
    let rss_idle = proc_status_kib(t.pid(), "VmHWM");
    let tail = Arc::new(std::sync::Mutex::new(Tail {
        lag: vec![0.0; GOOD],
        ..Tail::default()
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let follower = {
        let (path, tail, stop) = (dir.path().join("load.log"), tail.clone(), stop.clone());
        std::thread::spawn(move || follow(path, tail, stop))
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // The slow-loris connections first: they hold their places throughout.
    let (release, released) = tokio::sync::watch::channel(false);
    let (connected_tx, mut connected) = tokio::sync::mpsc::channel(SLOW);
    let lorises: Vec<_> = (0..SLOW)
        .map(|i| rt.spawn(slow_loris(addr, i, released.clone(), connected_tx.clone())))
        .collect();
    rt.block_on(async {
        for _ in 0..SLOW {
            connected.recv().await.unwrap();
        }
    });

    let started = Instant::now();
    let goods: Vec<_> = (0..GOOD)
        .map(|c| rt.spawn(good(addr, c, rounds, per_round)))
        .collect();
    let (mut good_bytes, mut connects) = (0, Vec::new());
    rt.block_on(async {
        for g in goods {
            let (bytes, connect) = g.await.unwrap();
            good_bytes += bytes;
            connects.push(connect);
        }
    });
    connects.sort();
    let sent = started.elapsed();
    // Every good record lands while every slow-loris connection is still
    // open and incomplete.
    wait_tail(&tail, LAG_BOUND, "good records missing", |t| {
        t.good_seen >= good_total
    });
    let landed = tail.lock().unwrap().last_good_seen.unwrap() - started;
    let rss_loaded = proc_status_kib(t.pid(), "VmHWM");

    release.send(true).unwrap();
    let ends: Vec<LorisEnd> = rt.block_on(async {
        let mut ends = Vec::new();
        for l in lorises {
            ends.push(l.await.unwrap());
        }
        ends
    });
    for (i, end) in ends.iter().enumerate() {
        assert!(
            !end.closed_early,
            "slow-loris {i} ({:?}) closed by the listener: {end:?}",
            Loris::of(i)
        );
    }
    let slow_total: u64 = (0..SLOW).map(|i| Loris::of(i).wire("").1).sum();
    wait_tail(&tail, PATIENCE, "slow-loris records missing", |t| {
        t.slow_seen >= slow_total
    });
    let rss_peak = proc_status_kib(t.pid(), "VmHWM");
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    stop.store(true, Relaxed);
    follower.join().unwrap();
    let tail = Arc::try_unwrap(tail).unwrap().into_inner().unwrap();

    // Exactly once and in order, for every connection.
    assert!(tail.disorder.is_empty(), "{:?}", tail.disorder);
    assert!(
        tail.other.is_empty(),
        "unexpected lines: {:?}",
        &tail.other[..tail.other.len().min(3)]
    );
    for c in 0..GOOD {
        assert_eq!(
            tail.next.get(&format!("c{c}")),
            Some(&per_conn),
            "connection c{c}"
        );
    }
    for i in 0..SLOW {
        let expected = Loris::of(i).wire("").1;
        let got = tail.next.get(&format!("slow{i}")).copied().unwrap_or(0);
        assert_eq!(got, expected, "slow-loris {i} ({:?})", Loris::of(i));
    }
    assert_eq!(tail.good_seen, good_total);
    assert_eq!(tail.slow_seen, slow_total);
    // The summary agrees: every connection was taken (none refused at the
    // default limit), only the oversize claims cut short are malformed.
    let total = good_total + slow_total;
    assert_eq!(summary_counter(&stderr, "records"), total, "{stderr}");
    assert_eq!(summary_writer(&stderr, "records"), total, "{stderr}");
    assert_eq!(
        summary_counter(&stderr, "connections"),
        (GOOD + SLOW) as u64,
        "{stderr}"
    );
    assert_eq!(summary_counter(&stderr, "rejected"), 0, "{stderr}");
    assert_eq!(summary_counter(&stderr, "dropped"), 0, "{stderr}");
    assert_eq!(summary_counter(&stderr, "active"), 0, "{stderr}");
    let slow_bytes: u64 = ends.iter().map(|e| e.sent as u64).sum();
    assert_eq!(
        summary_counter(&stderr, "bytes"),
        good_bytes + slow_bytes,
        "{stderr}"
    );
    let big_claims = (0..SLOW)
        .filter(|&i| matches!(Loris::of(i), Loris::BigClaim))
        .count();
    assert_eq!(
        summary_counter(&stderr, "malformed"),
        big_claims as u64,
        "{stderr}"
    );

    let mut lags = tail.lag.clone();
    lags.sort_by(f64::total_cmp);
    let max_lag = lags[GOOD - 1];
    println!(
        "\nload: {GOOD} good + {SLOW} slow-loris connections, {secs} s at {rate} records/s each"
    );
    println!(
        "  {good_total} good records sent in {:.2} s, all written {:.2} s after the first \
         connect: {:.0} records/s",
        sent.as_secs_f64(),
        landed.as_secs_f64(),
        good_total as f64 / landed.as_secs_f64(),
    );
    println!(
        "  lag (creation to output) per connection, its worst record: median {:.1} ms, \
         worst connection {:.1} ms",
        lags[GOOD / 2] * 1e3,
        max_lag * 1e3,
    );
    println!(
        "  connect: median {:.1} ms, slowest {:.1} ms, {} of {GOOD} took over 500 ms \
         (a SYN dropped at a full accept queue is resent after 1 s)",
        connects[GOOD / 2].as_secs_f64() * 1e3,
        connects[GOOD - 1].as_secs_f64() * 1e3,
        connects
            .iter()
            .filter(|c| **c > Duration::from_millis(500))
            .count(),
    );
    println!(
        "  listener peak RSS {:.1} MiB idle, {:.1} MiB with the good records written \
         ({:.1} MiB offered), {:.1} MiB at the end",
        rss_idle as f64 / 1024.0,
        rss_loaded as f64 / 1024.0,
        good_bytes as f64 / (1 << 20) as f64,
        rss_peak as f64 / 1024.0,
    );
    println!(
        "  slow-loris bytes sent before release: {:?}",
        ends.iter().map(|e| e.trickled).collect::<Vec<_>>()
    );
    assert!(
        max_lag < LAG_BOUND.as_secs_f64(),
        "a good record took {max_lag:.1} s to land"
    );
    assert!(
        rss_peak < LOAD_RSS_BOUND_KIB,
        "listener peak RSS {rss_peak} KiB (bound {LOAD_RSS_BOUND_KIB} KiB)"
    );
    // The quick run offers ~12 MiB, less than the per-connection worst
    // case above: a bound below the bytes offered is asserted where the
    // offer exceeds it (memory.rs: 67 MiB offered, the peak under half;
    // the stalled-output tests below). Growth beyond the idle process is
    // only reported here: on a loaded machine the listener falls behind
    // and its 528 read buffers fill, as they may.
}

/// Records of the stalled-output test: about 1 KiB each, so a few
/// connections carry more than the listener and the kernel can hold.
fn padded_record(producer: &str, n: u64) -> Record {
    Record::builder(
        Level::INFO,
        format!("record {n} from {producer} {}", "x".repeat(900)),
    )
    .logger(format!("rust.{producer}"))
    .seq(n)
    .field("producer", producer)
    .field("n", n)
    .build()
}

/// Connections of the stalled-output test.
const STALLED: usize = 64;
/// Records per connection: 1.5 MiB each, far more than a connection's
/// share of the queue and of the kernel's socket buffers.
const STALLED_RECORDS: u64 = 1_500;

/// The listener's peak resident set while its output is stalled and while
/// it catches up. What it holds is bounded by the queue (16,384 records of
/// ~1 KiB: 16 MiB) plus one read buffer and one waiting batch per
/// connection (64 x 128 KiB: 8 MiB); measured (VmHWM) at 43-44 MiB in a
/// debug build, 35 MiB stalled and 43 MiB in all in release. 64 MiB fails
/// long before the 97 MiB sent would fit. (The queue counts records, not
/// bytes: with larger records it holds proportionally more.)
const STALLED_RSS_BOUND_KIB: u64 = 64 * 1024;

/// Asks the kernel for a small send buffer, so what a producer has
/// written is close to what the listener has taken.
fn small_send_buffer(s: &TcpStream) {
    let size: libc::c_int = 16 * 1024;
    // SAFETY: fd is an open socket; the option value is a c_int that
    // outlives the call.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&raw const size).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
}

/// Reads lines from `reader` until EOF, checking each producer's records
/// arrive exactly once and in order; counts them in `seen` as it goes.
fn check_lines(reader: impl Read, seen: &AtomicU64) -> Tail {
    use std::io::BufRead;
    let mut tail = Tail::default();
    let mut reader = std::io::BufReader::with_capacity(1 << 20, reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).unwrap() == 0 {
            return tail;
        }
        let Some(body) = line.strip_suffix(b"\n") else {
            panic!("a partial last line: {}", String::from_utf8_lossy(&line));
        };
        let Some((producer, n)) = producer_and_n(body) else {
            tail.other.push(String::from_utf8_lossy(body).into_owned());
            continue;
        };
        let next = tail.next.entry(producer.to_owned()).or_insert(0);
        if *next != n && tail.disorder.len() < 10 {
            tail.disorder
                .push(format!("{producer}: {n} where {next} was expected"));
        }
        *next = n + 1;
        seen.fetch_add(1, Relaxed);
    }
}

/// Waits until what the producers have written stops growing for a second,
/// well short of `total_bytes`: the listener holds them back. Returns where.
fn wait_held(written: &AtomicU64, total_bytes: u64) -> u64 {
    let deadline = Instant::now() + PATIENCE;
    let (mut last, mut since) = (u64::MAX, Instant::now());
    loop {
        let now = written.load(Relaxed);
        assert!(
            now < total_bytes,
            "all {total_bytes} bytes taken by a listener whose output is stalled"
        );
        if now != last {
            (last, since) = (now, Instant::now());
        } else if since.elapsed() > Duration::from_secs(1) {
            return now;
        }
        assert!(Instant::now() < deadline, "producers never held back");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `total` records were read from the output.
fn wait_seen(seen: &AtomicU64, total: u64) {
    let deadline = Instant::now() + PATIENCE;
    while seen.load(Relaxed) < total {
        assert!(
            Instant::now() < deadline,
            "{} of {total} records written",
            seen.load(Relaxed)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_stalled_output_holds_back_sixty_four_connections_in_bounded_memory_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("out.fifo");
    mkfifo(&fifo);
    // Our read end, opened first so the listener's open for writing does
    // not wait; nothing is read from it until the stall has been checked.
    let reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let t = Tributary::start(dir.path(), &["--tcp", "127.0.0.1:0", "--out", "out.fifo"]);
    // SAFETY: clearing O_NONBLOCK on our own open descriptor.
    assert_eq!(
        unsafe { libc::fcntl(reader.as_raw_fd(), libc::F_SETFL, 0) },
        0
    );
    let addr = t.tcp(0);

    let json = JsonFormatter::native();
    let mut total_bytes = 0;
    let wires: Vec<Vec<u8>> = (0..STALLED)
        .map(|c| {
            let mut wire = Vec::new();
            for n in 0..STALLED_RECORDS {
                frame::encode_record(&padded_record(&format!("c{c}"), n), &json, &mut wire)
                    .unwrap();
            }
            total_bytes += wire.len() as u64;
            wire
        })
        .collect();
    let written = Arc::new(AtomicU64::new(0));
    let mut watched = Vec::new();
    let producers: Vec<_> = wires
        .into_iter()
        .map(|wire| {
            let mut s = TcpStream::connect(addr).unwrap();
            small_send_buffer(&s);
            watched.push(s.try_clone().unwrap());
            let written = written.clone();
            std::thread::spawn(move || {
                for chunk in wire.chunks(4096) {
                    s.write_all(chunk).unwrap();
                    written.fetch_add(chunk.len() as u64, Relaxed);
                }
            })
        })
        .collect();

    // Held back: what the producers have written stops growing, well short
    // of what they have to send.
    let held = wait_held(&written, total_bytes);
    // ... with every connection open, and the listener small.
    for (c, s) in watched.iter().enumerate() {
        assert!(!closed_by_peer(s.as_raw_fd()), "connection {c} closed");
    }
    let rss_stalled = proc_status_kib(t.pid(), "VmHWM");

    // Unstalled: every record lands, exactly once and in order.
    let seen = Arc::new(AtomicU64::new(0));
    let checker = {
        let seen = seen.clone();
        std::thread::spawn(move || check_lines(reader, &seen))
    };
    for p in producers {
        p.join().unwrap();
    }
    let total = STALLED as u64 * STALLED_RECORDS;
    wait_seen(&seen, total);
    let rss_peak = proc_status_kib(t.pid(), "VmHWM");
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let tail = checker.join().unwrap();
    assert!(tail.disorder.is_empty(), "{:?}", tail.disorder);
    assert!(
        tail.other.is_empty(),
        "unexpected lines: {:?}",
        &tail.other[..tail.other.len().min(3)]
    );
    for c in 0..STALLED {
        assert_eq!(
            tail.next.get(&format!("c{c}")),
            Some(&STALLED_RECORDS),
            "connection c{c}"
        );
    }
    assert_eq!(summary_counter(&stderr, "records"), total, "{stderr}");
    assert_eq!(summary_writer(&stderr, "records"), total, "{stderr}");
    assert_eq!(
        summary_counter(&stderr, "connections"),
        STALLED as u64,
        "{stderr}"
    );
    assert_eq!(summary_counter(&stderr, "dropped"), 0, "{stderr}");
    assert_eq!(summary_counter(&stderr, "malformed"), 0, "{stderr}");
    assert_eq!(summary_counter(&stderr, "bytes"), total_bytes, "{stderr}");

    println!(
        "\nstalled output: {STALLED} connections held back after {:.1} of {:.1} MiB; \
         listener peak RSS {:.1} MiB while stalled, {:.1} MiB in all",
        held as f64 / (1 << 20) as f64,
        total_bytes as f64 / (1 << 20) as f64,
        rss_stalled as f64 / 1024.0,
        rss_peak as f64 / 1024.0
    );
    assert!(
        rss_stalled < STALLED_RSS_BOUND_KIB,
        "listener peak RSS {rss_stalled} KiB while stalled (bound {STALLED_RSS_BOUND_KIB} KiB)"
    );
    assert!(
        rss_peak < STALLED_RSS_BOUND_KIB,
        "listener peak RSS {rss_peak} KiB (bound {STALLED_RSS_BOUND_KIB} KiB)"
    );
}

/// Large records do not multiply the queue's memory: the queue is bounded
/// in bytes (`--queue-bytes`) as well as records, so 16 connections
/// pushing 64 KiB records at a stalled output are held back at a few MiB
/// instead of the 100 MiB they offer. Then every record lands, in order.
#[test]
fn large_records_are_held_back_by_the_queue_byte_bound() {
    const CONNECTIONS: usize = 16;
    const RECORDS: u64 = 100;
    // Measured 19 MiB (debug build): the process, the 4 MiB queue, a read
    // buffer and a batch per connection. With `--queue-bytes 1GiB` the
    // same run holds all 1,600 records: 121 MiB.
    const RSS_BOUND_KIB: u64 = 56 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("out.fifo");
    mkfifo(&fifo);
    let reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let t = Tributary::start(
        dir.path(),
        &[
            "--tcp",
            "127.0.0.1:0",
            "--out",
            "out.fifo",
            "--queue-bytes",
            "4MiB",
        ],
    );
    // SAFETY: clearing O_NONBLOCK on our own open descriptor.
    assert_eq!(
        unsafe { libc::fcntl(reader.as_raw_fd(), libc::F_SETFL, 0) },
        0
    );
    let addr = t.tcp(0);
    let json = JsonFormatter::native();
    let big = "y".repeat(64 * 1024);
    let mut total_bytes = 0;
    let wires: Vec<Vec<u8>> = (0..CONNECTIONS)
        .map(|c| {
            let mut wire = Vec::new();
            for n in 0..RECORDS {
                let producer = format!("big{c}");
                let record = Record::builder(Level::INFO, format!("record {n} {big}"))
                    .logger(format!("rust.{producer}"))
                    .field("producer", producer.as_str())
                    .field("n", n)
                    .build();
                frame::encode_record(&record, &json, &mut wire).unwrap();
            }
            total_bytes += wire.len() as u64;
            wire
        })
        .collect();
    let written = Arc::new(AtomicU64::new(0));
    let producers: Vec<_> = wires
        .into_iter()
        .map(|wire| {
            let mut s = TcpStream::connect(addr).unwrap();
            small_send_buffer(&s);
            let written = written.clone();
            std::thread::spawn(move || {
                for chunk in wire.chunks(16 * 1024) {
                    s.write_all(chunk).unwrap();
                    written.fetch_add(chunk.len() as u64, Relaxed);
                }
            })
        })
        .collect();
    wait_held(&written, total_bytes);
    let rss_stalled = proc_status_kib(t.pid(), "VmHWM");
    let seen = Arc::new(AtomicU64::new(0));
    let checker = {
        let seen = seen.clone();
        std::thread::spawn(move || check_lines(reader, &seen))
    };
    for p in producers {
        p.join().unwrap();
    }
    let total = CONNECTIONS as u64 * RECORDS;
    wait_seen(&seen, total);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let tail = checker.join().unwrap();
    assert!(tail.disorder.is_empty(), "{:?}", tail.disorder);
    for c in 0..CONNECTIONS {
        assert_eq!(
            tail.next.get(&format!("big{c}")),
            Some(&RECORDS),
            "connection big{c}"
        );
    }
    println!(
        "\nlarge records, stalled output: peak RSS {:.1} MiB while {:.0} MiB were offered",
        rss_stalled as f64 / 1024.0,
        total_bytes as f64 / 1048576.0
    );
    assert!(
        rss_stalled < RSS_BOUND_KIB,
        "listener RSS {rss_stalled} KiB while stalled (bound {RSS_BOUND_KIB} KiB)"
    );
}

/// Fairness where it matters, with the listener saturated: 64 connections
/// send as fast as their sockets take records for a short while (2 s;
/// `TRIBUTARY_SATURATED_SECS` for longer), so the listener is the
/// bottleneck throughout and every connection waits on it. Served fairly,
/// their lags (creation to output) grow alike: the worst connection's lag
/// stays within a small multiple of the median's. A listener that drained
/// one connection while others waited would leave those far behind. Every
/// record lands exactly once and in order.
#[test]
fn saturated_connections_share_the_listener_fairly() {
    const CONNECTIONS: usize = 64;
    /// Worst lag over median lag, at most.
    const K: f64 = 4.0;
    let secs = env_u64("TRIBUTARY_SATURATED_SECS", 2);
    let dir = tempfile::tempdir().unwrap();
    let t = Tributary::start(dir.path(), &["--tcp", "127.0.0.1:0", "--out", "sat.log"]);
    let addr = t.tcp(0);
    let tail = Arc::new(std::sync::Mutex::new(Tail {
        lag: vec![0.0; CONNECTIONS],
        ..Tail::default()
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let follower = {
        let (path, tail, stop) = (dir.path().join("sat.log"), tail.clone(), stop.clone());
        std::thread::spawn(move || follow(path, tail, stop))
    };
    let until = Instant::now() + Duration::from_secs(secs);
    let senders: Vec<_> = (0..CONNECTIONS)
        .map(|c| {
            std::thread::spawn(move || {
                let producer = format!("c{c}");
                let json = JsonFormatter::native();
                let mut s = TcpStream::connect(addr).unwrap();
                // Kernel buffers that hold little: the backlog waits here,
                // in the sender, not in hundreds of MiB of socket memory.
                small_send_buffer(&s);
                let (mut n, mut blocked) = (0u64, Duration::ZERO);
                let mut wire = Vec::new();
                while Instant::now() < until {
                    // Small writes: a record's creation stays close to the
                    // moment its socket takes it.
                    wire.clear();
                    for _ in 0..20 {
                        frame::encode_record(&rust_record(&producer, n), &json, &mut wire).unwrap();
                        n += 1;
                    }
                    let writing = Instant::now();
                    s.write_all(&wire).unwrap();
                    blocked += writing.elapsed();
                }
                (n, blocked)
            })
        })
        .collect();
    let sent: Vec<(u64, Duration)> = senders.into_iter().map(|s| s.join().unwrap()).collect();
    let total: u64 = sent.iter().map(|(n, _)| n).sum();
    wait_tail(&tail, PATIENCE, "records missing", |t| t.good_seen >= total);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    stop.store(true, Relaxed);
    follower.join().unwrap();
    let tail = Arc::try_unwrap(tail).unwrap().into_inner().unwrap();

    assert!(tail.disorder.is_empty(), "{:?}", tail.disorder);
    assert!(
        tail.other.is_empty(),
        "unexpected lines: {:?}",
        &tail.other[..1]
    );
    for (c, (n, _)) in sent.iter().enumerate() {
        assert_eq!(tail.next.get(&format!("c{c}")), Some(n), "connection c{c}");
    }
    assert_eq!(tail.good_seen, total);
    assert_eq!(summary_writer(&stderr, "records"), total, "{stderr}");

    let mut lags = tail.lag.clone();
    lags.sort_by(f64::total_cmp);
    let (median, worst) = (lags[CONNECTIONS / 2], lags[CONNECTIONS - 1]);
    let mut blocked: Vec<f64> = sent.iter().map(|(_, b)| b.as_secs_f64()).collect();
    blocked.sort_by(f64::total_cmp);
    // Not asserted (reported): how many records each connection got in;
    // it also depends on how the OS schedules 64 sender threads.
    let mut shares: Vec<u64> = sent.iter().map(|(n, _)| *n).collect();
    shares.sort_unstable();
    println!(
        "records per connection: fewest {}, median {}, most {}",
        shares[0],
        shares[CONNECTIONS / 2],
        shares[CONNECTIONS - 1]
    );
    println!(
        "\nsaturated: {CONNECTIONS} connections, {total} records in {secs} s; lag per connection \
         (its worst record): median {:.1} ms, worst {:.1} ms; time blocked in write: median {:.2} s",
        median * 1e3,
        worst * 1e3,
        blocked[CONNECTIONS / 2]
    );
    // Saturated: the senders spent much of the run waiting for the listener.
    assert!(
        blocked[CONNECTIONS / 2] > secs as f64 / 4.0,
        "not saturated: the median sender was blocked {:.2} s of {secs} s",
        blocked[CONNECTIONS / 2]
    );
    assert!(
        worst <= K * median,
        "unfair: the worst connection's lag {:.1} ms is over {K} x the median {:.1} ms ({lags:?})",
        worst * 1e3,
        median * 1e3
    );
}
