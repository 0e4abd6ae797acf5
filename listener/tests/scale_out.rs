//! Past one host: listeners forward to NATS JetStream, `tributary collect`
//! writes one log. Everything real: `nats-server -js` on a free loopback
//! port with a temporary store, the `tributary` binary, producer processes
//! (Rust acknowledged `SocketHandler`s, Python's stdlib `SocketHandler`),
//! and a NATS client in Python's standard library that reads the stream
//! without our code. A missing `nats-server` fails with how to install it.

#![cfg(feature = "nats")]
#![allow(clippy::unwrap_used)]

mod common;
mod jetstream;

use common::ack_producer::{producer_process, spawn_ack_producer, wait_producer};
use common::{PATIENCE, Tributary, count_lines, free_port, python, send_native, wait_ok};
use jetstream::{Collector, NatsServer, wait_lines};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tributary_core::{JsonFormatter, Level, Record, frame};

/// A producer process ([`spawn_ack_producer`]) runs this test binary again
/// for this test only.
#[test]
#[ignore = "run as a child process by the scale-out tests"]
fn ack_producer_process() {
    producer_process();
}

/// A producer process: `count` records through an acknowledged
/// `SocketHandler`, `pace` records per millisecond at most (0: no pacing).
fn ack_producer(addr: &str, name: &str, count: u64, pace: u64) -> Child {
    let extra = if pace > 0 {
        format!("pace={pace}")
    } else {
        String::new()
    };
    spawn_ack_producer(addr, name, count, &extra)
}

/// A forwarding listener's arguments: TCP on `port`, `out.log` in its
/// directory, forwarding as `host`.
fn forwarding_args(port: u16, url: &str, host: &str) -> Vec<String> {
    [
        "--tcp",
        &format!("127.0.0.1:{port}"),
        "--out",
        "out.log",
        "--forward-nats",
        url,
        "--host-id",
        host,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

fn start_listener(dir: &Path, args: &[String]) -> Tributary {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Tributary::start(dir, &args)
}

/// What a producer must have delivered: its name, record count, and the
/// host id of the listener it logged to.
struct Expect {
    producer: String,
    count: u64,
    /// The host id of the listener, which records without a host of
    /// their own get; Rust producers send their machine's host name.
    host: String,
    /// Whether the producer's records carry their own host.
    own_host: bool,
}

fn expect(producer: &str, count: u64, host: &str) -> Expect {
    Expect {
        producer: producer.to_owned(),
        count,
        host: host.to_owned(),
        own_host: false,
    }
}

/// A producer whose records name their host (a Rust `SocketHandler`):
/// the collector keeps it.
fn expect_own_host(producer: &str, count: u64) -> Expect {
    Expect {
        own_host: true,
        ..expect(producer, count, "")
    }
}

/// Checks the collector's output: every record of every producer exactly
/// once, each producer's records in their order, each with its
/// listener's host id; nothing else.
fn assert_collected(path: &Path, expected: &[Expect]) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut next: BTreeMap<&str, u64> = BTreeMap::new();
    let mut seen: BTreeMap<(String, u64), usize> = BTreeMap::new();
    let mut total = 0u64;
    for line in text.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("bad line {line:?}: {e}"));
        let producer = v["fields"]["producer"]
            .as_str()
            .unwrap_or_else(|| panic!("{line}"));
        let n = v["fields"]["n"].as_u64().unwrap();
        let e = expected
            .iter()
            .find(|e| e.producer == producer)
            .unwrap_or_else(|| panic!("a record of an unknown producer: {line}"));
        if e.own_host {
            assert!(
                v["host"].as_str().is_some_and(|h| !h.is_empty()),
                "host of {line}"
            );
        } else {
            assert_eq!(v["host"], e.host.as_str(), "host of {line}");
        }
        let times = seen.entry((producer.to_owned(), n)).or_insert(0);
        *times += 1;
        assert!(
            *times == 1,
            "record {n} of {producer} collected twice (the second time after {} records)",
            total
        );
        let want = next.entry(&e.producer).or_insert(0);
        assert!(
            n >= *want,
            "{producer}: record {n} after {} (order lost)",
            *want - 1
        );
        *want = n + 1;
        total += 1;
    }
    for e in expected {
        for n in 0..e.count {
            let c = seen.get(&(e.producer.clone(), n)).copied().unwrap_or(0);
            assert_eq!(c, 1, "record {n} of {} collected {c} times", e.producer);
        }
    }
    let want: u64 = expected.iter().map(|e| e.count).sum();
    assert_eq!(total, want, "records collected");
}

/// Runs tests/py/nats_stream.py, a NATS client in Python's standard
/// library, on stream `TRIBUTARY` of the server at `port` with `args`;
/// its standard output.
fn nats_stream(port: u16, args: &[&str]) -> Vec<u8> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/nats_stream.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(format!("127.0.0.1:{port}"))
        .arg("TRIBUTARY")
        .args(args)
        .output()
        .expect("python3 (apt-get install python3)");
    assert!(
        out.status.success(),
        "nats_stream.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The stream read by that client: a JSON summary.
fn read_stream(port: u16) -> serde_json::Value {
    serde_json::from_slice(&nats_stream(port, &[])).unwrap()
}

/// The stream holds exactly `records` records, in messages that follow
/// the documented format, with no message id twice.
fn assert_stream(port: u16, records: u64) -> serde_json::Value {
    let s = read_stream(port);
    assert_eq!(s["records"], records, "records in the stream: {s}");
    assert_eq!(s["duplicate_ids"], 0, "{s}");
    assert_eq!(s["subjects_ok"], true, "{s}");
    assert_eq!(s["counts_ok"], true, "{s}");
    assert_eq!(s["lines_ok"], true, "{s}");
    s
}

/// Collects until `out` holds `total` lines, then stops the collector
/// (which acknowledges what it wrote) and returns its stderr.
fn collect_all(dir: &Path, url: &str, total: u64) -> String {
    let c = Collector::start(dir, url, &["--out", "all.log"]);
    wait_lines(&dir.join("all.log"), total as usize, "collector");
    let (status, err) = c.stop();
    assert!(status.success(), "{err}");
    err
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn three_hosts_into_one_collector_every_record_once_in_order() {
    let dir = tempdir();
    let nats = NatsServer::start(dir.path());
    let mut listeners = Vec::new();
    let mut producers = Vec::new();
    let mut expected = Vec::new();
    for h in 0..3 {
        let host = format!("host-{h}");
        let ldir = dir.path().join(&host);
        std::fs::create_dir_all(&ldir).unwrap();
        let port = free_port();
        let l = start_listener(&ldir, &forwarding_args(port, &nats.url(), &host));
        let addr = format!("127.0.0.1:{port}");
        let rust = format!("rust-{h}");
        producers.push((rust.clone(), ack_producer(&addr, &rust, 3000, 0), false));
        let py = format!("py-{h}");
        producers.push((
            py.clone(),
            python(&["--tcp", &addr, "--name", &py, "--count", "500"]),
            true,
        ));
        expected.push(expect_own_host(&rust, 3000));
        expected.push(expect(&py, 500, &host));
        listeners.push(l);
    }
    for (name, mut p, is_python) in producers {
        if is_python {
            wait_ok(p, &name);
        } else {
            wait_producer(&mut p, &name);
        }
    }
    // Python's SocketHandler gets no acknowledgement: wait for its
    // records in the local file before stopping the listener.
    for h in 0..3 {
        wait_lines(
            &dir.path().join(format!("host-{h}/out.log")),
            3500,
            "local file",
        );
    }
    for l in listeners {
        let (status, err) = l.stop();
        assert!(status.success(), "{err}");
    }
    let total = 3 * 3500;
    let summary = assert_stream(nats.port, total);
    for h in 0..3 {
        assert_eq!(summary["hosts"][format!("host-{h}")], 3500, "{summary}");
    }
    collect_all(dir.path(), &nats.url(), total);
    assert_collected(&dir.path().join("all.log"), &expected);
}

#[test]
fn kill_9_of_a_forwarding_listener_mid_stream_loses_and_doubles_nothing() {
    let dir = tempdir();
    let nats = NatsServer::start(dir.path());
    let ldir = dir.path().join("web");
    std::fs::create_dir_all(&ldir).unwrap();
    let port = free_port();
    let args = forwarding_args(port, &nats.url(), "web");
    let addr = format!("127.0.0.1:{port}");
    let mut listener = start_listener(&ldir, &args);
    let (names, records) = ((0..4).map(|i| format!("p{i}")).collect::<Vec<_>>(), 20_000);
    let mut producers: Vec<Child> = names
        .iter()
        .map(|n| ack_producer(&addr, n, records, 10))
        .collect();
    let mut recoveries = 0;
    for pause in [200, 300, 400, 500, 300] {
        std::thread::sleep(Duration::from_millis(pause));
        listener.signal(libc::SIGKILL);
        let (_, err) = listener.wait();
        listener = start_listener(&ldir, &args);
        recoveries += usize::from(err.contains("recovery:"));
    }
    for (p, n) in producers.iter_mut().zip(&names) {
        wait_producer(p, n);
    }
    let (status, err) = listener.stop();
    assert!(status.success(), "{err}");
    assert_stream(nats.port, 4 * records);
    collect_all(dir.path(), &nats.url(), 4 * records);
    let expected: Vec<Expect> = names.iter().map(|n| expect_own_host(n, records)).collect();
    assert_collected(&dir.path().join("all.log"), &expected);
    eprintln!("forwarding listener killed 5 times; {recoveries} restarts cut back a tail");
}

/// One forwarding listener (host `host`, its own directory) that got
/// `records` records from each of two plain producers, `<host>-a` and
/// `<host>-b`, stopped once everything is in JetStream.
fn forwarded(dir: &Path, nats: &NatsServer, host: &str, records: u64) -> Vec<Expect> {
    let ldir = dir.join(host);
    std::fs::create_dir_all(&ldir).unwrap();
    let port = free_port();
    let l = start_listener(&ldir, &forwarding_args(port, &nats.url(), host));
    let (a, b) = (format!("{host}-a"), format!("{host}-b"));
    send_native(l.tcp(0), &a, records);
    send_native(l.tcp(0), &b, records);
    wait_lines(&ldir.join("out.log"), 2 * records as usize, "local file");
    let (status, err) = l.stop();
    assert!(status.success(), "{err}");
    vec![expect(&a, records, host), expect(&b, records, host)]
}

#[test]
fn kill_9_of_the_collector_five_times_loses_and_repeats_nothing() {
    let dir = tempdir();
    let nats = NatsServer::start(dir.path());
    let records = 20_000;
    let expected = forwarded(dir.path(), &nats, "web", records);
    let out = dir.path().join("all.log");
    let mut recoveries = 0;
    for kill in 0..5u64 {
        let mut c = Collector::start(dir.path(), &nats.url(), &["--out", "all.log"]);
        // Kill at different points: after some records arrived.
        let at = (count_lines(&out) + 1500 + kill as usize * 700).min(2 * records as usize - 1);
        wait_lines(&out, at, "collector before kill");
        let (_, err) = c.kill9();
        recoveries += usize::from(err.contains("recovery:"));
    }
    let err = collect_all(dir.path(), &nats.url(), 2 * records);
    recoveries += usize::from(err.contains("recovery:"));
    assert_collected(&out, &expected);
    eprintln!("collector restarts that cut back an unacknowledged tail: {recoveries} of 5");
}

#[test]
fn kill_9_of_nats_server_and_restart_on_the_same_store() {
    let dir = tempdir();
    let mut nats = NatsServer::start(dir.path());
    let nats_port = nats.port;
    let url = nats.url();
    let ldir = dir.path().join("web");
    std::fs::create_dir_all(&ldir).unwrap();
    let port = free_port();
    let listener = start_listener(&ldir, &forwarding_args(port, &url, "web"));
    let addr = format!("127.0.0.1:{port}");
    let names: Vec<String> = (0..2).map(|i| format!("p{i}")).collect();
    let mut producers: Vec<Child> = names
        .iter()
        .map(|n| ack_producer(&addr, n, 6000, 4))
        .collect();
    wait_lines(
        &ldir.join("out.log"),
        2000,
        "local file before the NATS kill",
    );
    nats.kill9();
    // The listener goes on writing locally while NATS is away.
    wait_lines(&ldir.join("out.log"), 5000, "local file while NATS is away");
    let nats = NatsServer::start_on(dir.path(), nats_port);
    for (p, n) in producers.iter_mut().zip(&names) {
        wait_producer(p, n);
    }
    let (status, err) = listener.stop();
    assert!(status.success(), "{err}");
    assert!(err.contains("forward:"), "the outage is reported: {err}");
    assert_stream(nats.port, 2 * 6000);
    collect_all(dir.path(), &url, 2 * 6000);
    let expected: Vec<Expect> = names.iter().map(|n| expect_own_host(n, 6000)).collect();
    assert_collected(&dir.path().join("all.log"), &expected);
}

#[test]
fn nats_unreachable_at_start_then_back_forwards_everything() {
    let dir = tempdir();
    let nats_port = free_port();
    let url = format!("nats://127.0.0.1:{nats_port}");
    let ldir = dir.path().join("web");
    std::fs::create_dir_all(&ldir).unwrap();
    let port = free_port();
    let listener = start_listener(&ldir, &forwarding_args(port, &url, "web"));
    send_native(listener.tcp(0), "a", 5000);
    // The local file is complete while NATS is away.
    wait_lines(&ldir.join("out.log"), 5000, "local file without NATS");
    // NATS starts only once the forwarder has found it away (its first
    // attempt comes after a reconnect delay, which a fast start beats).
    listener.wait_stderr("NATS unreachable", "the forwarder's first attempt");
    let nats = NatsServer::start_on(dir.path(), nats_port);
    send_native(listener.tcp(0), "b", 5000);
    wait_lines(&ldir.join("out.log"), 10_000, "local file");
    collect_all(dir.path(), &url, 10_000);
    let (status, err) = listener.stop();
    assert!(status.success(), "{err}");
    assert!(
        err.contains("forward:") && err.contains("NATS unreachable") && err.contains("retrying"),
        "the outage is reported as a warning with retries: {err}"
    );
    assert_stream(nats.port, 10_000);
    assert_collected(
        &dir.path().join("all.log"),
        &[expect("a", 5000, "web"), expect("b", 5000, "web")],
    );
}

/// An acknowledged Python producer (tributary_logging's
/// `AcknowledgedSocketHandler`, tests/py/ack_watch.py) driven command by
/// command, telling how many of its records are not yet acknowledged.
struct AckWatch {
    child: Child,
    stdin: std::process::ChildStdin,
    lines: std::sync::mpsc::Receiver<String>,
}

impl AckWatch {
    fn start(addr: std::net::SocketAddr, name: &str) -> AckWatch {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/ack_watch.py");
        let client = Path::new(env!("CARGO_MANIFEST_DIR")).join("../clients/python");
        let mut child = Command::new("python3")
            .arg(script)
            .args([&addr.ip().to_string(), &addr.port().to_string(), name])
            .env("PYTHONPATH", client)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 (apt-get install python3)");
        let lines = common::child::lines_in_background(child.stdout.take().unwrap());
        let stdin = child.stdin.take().unwrap();
        AckWatch {
            child,
            stdin,
            lines,
        }
    }

    fn ask(&mut self, command: &str) -> String {
        writeln!(self.stdin, "{command}").unwrap();
        self.stdin.flush().unwrap();
        self.lines
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|e| panic!("ack_watch.py did not answer {command:?}: {e}"))
    }

    /// Logs `n` more records.
    fn log(&mut self, n: u64) {
        self.ask(&format!("log {n}"));
    }

    /// Records logged and not yet acknowledged.
    fn pending(&mut self) -> u64 {
        let answer = self.ask("pending");
        answer
            .rsplit(' ')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("ack_watch.py said {answer:?}"))
    }

    /// Waits until `pending()` is `want`; fails with `what` otherwise.
    fn wait_pending(&mut self, want: u64, what: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let have = self.pending();
            if have == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: {have} records unacknowledged, not {want}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for every acknowledgement, closes the handler, exits.
    fn close(mut self) {
        let answer = self.ask("close");
        assert_eq!(answer, "left 0", "acknowledgements missing at close");
        let status = self.child.wait().unwrap();
        assert!(status.success(), "ack_watch.py: {status}");
    }
}

/// Whether the acknowledgement journal's last line covers all of `out`:
/// what the writer wrote is committed, and with `forward-acknowledge =
/// "local"` acknowledged.
fn committed(out: &Path) -> bool {
    let name = out.file_name().unwrap().to_string_lossy();
    let journal = out.with_file_name(format!(".{name}.acks"));
    let len = std::fs::metadata(out).map_or(0, |m| m.len());
    let text = std::fs::read_to_string(journal).unwrap_or_default();
    text.lines()
        .last()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .and_then(|v| v["outputs"][0]["len"].as_u64())
        == Some(len)
}

/// `forward-acknowledge` end to end: 1000 records acknowledged with NATS
/// up; NATS stopped (SIGSTOP), 1000 more written to the local file and
/// committed; then NATS continues and every record is collected once.
/// Returns how many of the second 1000 were still unacknowledged while
/// NATS was stopped and everything was committed locally.
fn acknowledge_through_an_outage(mode: &str) -> u64 {
    let dir = tempdir();
    let nats = NatsServer::start(dir.path());
    let ldir = dir.path().join("web");
    std::fs::create_dir_all(&ldir).unwrap();
    let port = free_port();
    let mut args = forwarding_args(port, &nats.url(), "web");
    args.extend(["--forward-acknowledge".to_owned(), mode.to_owned()]);
    let listener = start_listener(&ldir, &args);
    let out = ldir.join("out.log");
    let mut producer = AckWatch::start(listener.tcp(0), "py-ack");
    producer.log(1000);
    producer.wait_pending(0, "acknowledged with NATS up");
    nats.signal(libc::SIGSTOP);
    producer.log(1000);
    wait_lines(&out, 2000, "local file while NATS is stopped");
    let deadline = Instant::now() + PATIENCE;
    while !committed(&out) {
        assert!(Instant::now() < deadline, "the writer never committed");
        std::thread::sleep(Duration::from_millis(20));
    }
    if mode == "local" {
        producer.wait_pending(0, "local acknowledgements while NATS is stopped");
    }
    let during = producer.pending();
    // More records: in `forwarded` mode the count only grows.
    producer.log(500);
    wait_lines(&out, 2500, "local file while NATS is stopped");
    let later = producer.pending();
    nats.signal(libc::SIGCONT);
    producer.close();
    let (status, err) = listener.stop();
    assert!(status.success(), "{err}");
    assert_stream(nats.port, 2500);
    collect_all(dir.path(), &nats.url(), 2500);
    assert_collected(
        &dir.path().join("all.log"),
        &[expect_own_host("py-ack", 2500)],
    );
    if mode == "forwarded" {
        assert_eq!(
            later,
            during + 500,
            "unacknowledged records grow while NATS is stopped"
        );
    }
    during
}

#[test]
fn forward_acknowledge_forwarded_holds_acks_while_nats_is_stopped() {
    let unacknowledged = acknowledge_through_an_outage("forwarded");
    assert_eq!(
        unacknowledged, 1000,
        "records written and committed locally but not in JetStream are not acknowledged"
    );
}

#[test]
fn forward_acknowledge_local_acks_during_the_outage() {
    assert_eq!(acknowledge_through_an_outage("local"), 0);
}

#[test]
fn forward_acknowledge_forwarded_needs_forwarding() {
    let dir = tempdir();
    let out = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args(["listen", "--tcp", "127.0.0.1:0", "--out", "x.log"])
        .args(["--forward-acknowledge", "forwarded"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("forward-acknowledge") && err.contains("--forward-nats"),
        "{err}"
    );
}

/// A server with a small `max_payload` (4096): batches are cut to fit it
/// with their headers, so records around that size all land; the one
/// record larger than it is reported with a count and skipped, and the
/// records after it are forwarded.
#[test]
fn batches_fit_a_small_max_payload_and_only_the_oversize_record_is_skipped() {
    let dir = tempdir();
    let nats = NatsServer::start_with_config(dir.path(), "max_payload: 4096\n");
    let ldir = dir.path().join("web");
    std::fs::create_dir_all(&ldir).unwrap();
    let port = free_port();
    let listener = start_listener(&ldir, &forwarding_args(port, &nats.url(), "web"));
    let sized = |n: u64| {
        // Lines from about 400 to 3,700 bytes: a batch holds 1 to 9.
        let pad = [200, 1500, 2800, 3300, 3500][(n % 5) as usize];
        Record::builder(Level::INFO, format!("record {n} {}", "y".repeat(pad)))
            .logger("rust.sized")
            .field("producer", "sized")
            .field("n", n)
            .build()
    };
    let big = Record::builder(Level::INFO, "z".repeat(6000))
        .logger("big")
        .field("producer", "big")
        .field("n", 0u64)
        .build();
    let mut wire = Vec::new();
    for n in 0..200 {
        frame::encode_record(&sized(n), &JsonFormatter::native(), &mut wire).unwrap();
    }
    frame::encode_record(&big, &JsonFormatter::native(), &mut wire).unwrap();
    for n in 200..400 {
        frame::encode_record(&sized(n), &JsonFormatter::native(), &mut wire).unwrap();
    }
    TcpStream::connect(listener.tcp(0))
        .unwrap()
        .write_all(&wire)
        .unwrap();
    let out = ldir.join("out.log");
    wait_lines(&out, 401, "local file");
    listener.wait_stderr("max_payload", "the oversize record's report");
    collect_all(dir.path(), &nats.url(), 400);
    let (status, err) = listener.stop();
    assert!(status.success(), "{err}");
    let reports: Vec<&str> = err.lines().filter(|l| l.contains("max_payload")).collect();
    assert_eq!(reports.len(), 1, "one report: {err}");
    assert!(
        reports[0].contains("a batch of 1 record(s), ")
            && reports[0].contains("4096 bytes, of which 3898 for records")
            && reports[0].contains("not forwarded, 1 record(s) so far"),
        "{}",
        reports[0]
    );
    assert_stream(nats.port, 400);
    assert_collected(&dir.path().join("all.log"), &[expect("sized", 400, "web")]);
}

/// A record larger than the NATS server's `max_payload` can never be
/// forwarded: with `--diagnostics log` its loss is written into the log
/// itself, so the notice is forwarded in its place and the collected log
/// says what is missing (forwarding's other diagnostics stay on stderr).
#[test]
fn a_record_over_max_payload_is_reported_in_the_forwarded_log() {
    let dir = tempdir();
    let nats = NatsServer::start_with_config(dir.path(), "max_payload: 98304\n");
    let ldir = dir.path().join("web");
    std::fs::create_dir_all(&ldir).unwrap();
    let port = free_port();
    let mut args = forwarding_args(port, &nats.url(), "web");
    args.extend(["--diagnostics".to_owned(), "log".to_owned()]);
    let listener = start_listener(&ldir, &args);
    let big = Record::builder(Level::INFO, "x".repeat(200_000))
        .logger("big")
        .field("producer", "big")
        .field("n", 0u64)
        .build();
    let mut wire = Vec::new();
    frame::encode_record(&big, &JsonFormatter::native(), &mut wire).unwrap();
    TcpStream::connect(listener.tcp(0))
        .unwrap()
        .write_all(&wire)
        .unwrap();
    // The server takes batches of 64 KiB (the most forwarding makes of
    // small lines), not this line, which is a batch alone: the big record,
    // then the notice of its loss.
    let out = ldir.join("out.log");
    wait_lines(&out, 2, "local file with the notice of the loss");
    send_native(listener.tcp(0), "small", 100);
    wait_lines(&out, 102, "local file");
    collect_all(dir.path(), &nats.url(), 101);
    let (status, err) = listener.stop();
    assert!(status.success(), "{err}");
    assert!(
        !err.contains("max_payload"),
        "the loss is in the log, not on stderr: {err}"
    );
    let local: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(local[0]["logger"], "big", "{:?}", local[0]["logger"]);
    let collected: Vec<serde_json::Value> = std::fs::read_to_string(dir.path().join("all.log"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (own, records): (Vec<_>, Vec<_>) = collected
        .iter()
        .partition(|v| v["logger"] == tributary_listener::LOGGER);
    assert_eq!(own.len(), 1, "one notice: {own:?}");
    assert_eq!(own[0]["level"], "ERROR", "{}", own[0]);
    let notice = own[0]["msg"].as_str().unwrap();
    assert!(
        notice.starts_with("forward: a batch of 1 record(s), ")
            && notice.contains("exceeds the NATS server's max_payload")
            && notice.ends_with(
                "not forwarded, 1 record(s) so far (raise max_payload in nats-server's configuration)"
            ),
        "{notice}"
    );
    let small: Vec<u64> = records
        .iter()
        .map(|v| {
            assert_eq!(
                v["fields"]["producer"], "small",
                "only the big record is missing: {v}"
            );
            v["fields"]["n"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(
        small,
        (0..100).collect::<Vec<u64>>(),
        "every small record once, in order"
    );
}

/// Every (producer, n) in a collector's output, in its order.
fn collected_keys(path: &Path) -> Vec<(String, u64)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            let v: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("bad line {line:?}: {e}"));
            (
                v["fields"]["producer"].as_str().unwrap().to_owned(),
                v["fields"]["n"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Two collectors with one `--consumer` name split the stream: each
/// writes its own file, each gets some, and together they hold every
/// record exactly once (each producer's records in order within each
/// file). Two other collectors with distinct names each get everything.
#[test]
fn collectors_sharing_a_consumer_split_the_stream_distinct_names_each_get_all() {
    let dir = tempdir();
    let nats = NatsServer::start(dir.path());
    let mut collectors = Vec::new();
    for (sub, consumer) in [
        ("shared-1", "shared"),
        ("shared-2", "shared"),
        ("one", "one"),
        ("two", "two"),
    ] {
        let cdir = dir.path().join(sub);
        std::fs::create_dir_all(&cdir).unwrap();
        // Attached before anything is published, so the shared consumer's
        // messages are handed out between two waiting collectors.
        let c = Collector::start(
            &cdir,
            &nats.url(),
            &["--consumer", consumer, "--out", "all.log"],
        );
        collectors.push((cdir.join("all.log"), c));
    }
    let records = 10_000;
    let expected = forwarded(dir.path(), &nats, "web", records);
    let total = 2 * records as usize;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let shared = count_lines(&collectors[0].0) + count_lines(&collectors[1].0);
        if shared >= total {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the shared consumer's collectors wrote {shared} of {total} records"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for (out, _) in &collectors[2..] {
        wait_lines(out, total, "a collector with a consumer of its own");
    }
    let mut outputs = Vec::new();
    for (out, c) in collectors {
        let (status, err) = c.stop();
        assert!(status.success(), "{err}");
        outputs.push(out);
    }
    // Distinct names: each got everything, once, in order.
    assert_collected(&outputs[2], &expected);
    assert_collected(&outputs[3], &expected);
    // One shared name: the union is everything once; each got some.
    let (first, second) = (collected_keys(&outputs[0]), collected_keys(&outputs[1]));
    assert!(
        !first.is_empty() && !second.is_empty(),
        "both collectors of the shared consumer got records: {} and {}",
        first.len(),
        second.len()
    );
    let mut seen: BTreeMap<(String, u64), usize> = BTreeMap::new();
    for part in [&first, &second] {
        let mut last: BTreeMap<&str, u64> = BTreeMap::new();
        for (producer, n) in part.iter() {
            *seen.entry((producer.clone(), *n)).or_insert(0) += 1;
            if let Some(before) = last.insert(producer, *n) {
                assert!(
                    before < *n,
                    "{producer}: record {n} after {before} in one file"
                );
            }
        }
    }
    for e in &expected {
        for n in 0..e.count {
            let c = seen.get(&(e.producer.clone(), n)).copied().unwrap_or(0);
            assert_eq!(
                c, 1,
                "record {n} of {} in the shared consumer's files {c} times",
                e.producer
            );
        }
    }
    assert_eq!(
        seen.len(),
        total,
        "nothing else in the shared consumer's files"
    );
    eprintln!(
        "shared consumer: {} and {} records",
        first.len(),
        second.len()
    );
}

#[test]
fn messages_not_ours_are_reported_and_skipped() {
    let dir = tempdir();
    let nats = NatsServer::start(dir.path());
    let mut expected = forwarded(dir.path(), &nats, "first", 100);
    nats_stream(nats.port, &["--publish-foreign", "tributary.intruder"]);
    // Real records after the foreign ones too.
    expected.extend(forwarded(dir.path(), &nats, "second", 50));
    let err = collect_all(dir.path(), &nats.url(), 300);
    assert!(
        err.contains("not a tributary batch"),
        "the message without headers is reported: {err}"
    );
    assert!(
        err.contains("record skipped"),
        "the garbage line is reported: {err}"
    );
    assert_eq!(common::summary_counter(&err, "malformed"), 2, "{err}");
    assert_collected(&dir.path().join("all.log"), &expected);
}

/// A foreign message of 3 MiB (several of our batches' size, within the
/// server's `max_payload`) is still delivered, reported and skipped: a
/// pull bounded in bytes below it would never get it, and the collector
/// would stop there.
#[test]
fn a_foreign_message_larger_than_a_pull_is_reported_and_skipped() {
    let dir = tempdir();
    let nats = NatsServer::start_with_config(dir.path(), "max_payload: 4194304\n");
    let mut expected = forwarded(dir.path(), &nats, "first", 100);
    let size = (3 << 20).to_string();
    nats_stream(
        nats.port,
        &["--publish-large", "tributary.intruder", size.as_str()],
    );
    expected.extend(forwarded(dir.path(), &nats, "second", 50));
    let err = collect_all(dir.path(), &nats.url(), 300);
    assert!(
        err.contains("not a tributary batch"),
        "the large message is reported: {err}"
    );
    assert_eq!(common::summary_counter(&err, "malformed"), 1, "{err}");
    assert_collected(&dir.path().join("all.log"), &expected);
}

#[test]
fn collect_names_the_flag_when_nats_is_unreachable() {
    let dir = tempdir();
    let port = free_port();
    let out = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args([
            "collect",
            "--nats",
            &format!("nats://127.0.0.1:{port}"),
            "--out",
            "x.log",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--nats") && err.contains(&port.to_string()) && err.contains("nats-server"),
        "{err}"
    );
}

#[test]
fn collect_to_stdout_is_a_live_tail_in_text() {
    let dir = tempdir();
    let nats = NatsServer::start(dir.path());
    forwarded(dir.path(), &nats, "web", 20);
    let mut child = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args([
            "collect",
            "--nats",
            &nats.url(),
            "--consumer",
            "tail",
            "--out",
            "-",
        ])
        .args([
            "--format",
            "text",
            "--pattern",
            "%(host)s %(name)s %(message)s",
        ])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let stdout = child.stdout.take().unwrap();
    let lines: Vec<String> = std::io::BufRead::lines(std::io::BufReader::new(stdout))
        .take(40)
        .map(Result::unwrap)
        .collect();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("collecting nats"),
        "readiness on stderr: {err}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("web rust.web-a "))
            .count(),
        20
    );
    assert!(lines.contains(&"web rust.web-a record 0 from web-a".to_owned()));
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("web rust.web-b "))
            .count(),
        20
    );
    let journal = std::env::temp_dir().join(format!(".tributary-collect-{pid}.acks"));
    assert!(
        !journal.exists(),
        "the scratch journal {} is removed",
        journal.display()
    );
}

/// The unit's `ExecStart` (its wrapper turning huge pages off, then
/// nats-server) with the configuration test flag: the wrapper must exec
/// the server, which must accept the deployed configuration. Run by `sh`,
/// whose quoting agrees with systemd's for this line (no `%`, `$` or
/// backslash in it, which the test checks), not under the unit's sandbox.
#[test]
fn the_deployed_unit_starts_nats_server_through_its_wrapper_on_its_configuration() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let unit = std::fs::read_to_string(dir.join("nats-server.service")).unwrap();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("the unit has an ExecStart");
    assert!(exec.contains("prctl(41, 1"), "{exec}");
    assert!(!exec.contains(['%', '$', '\\']), "{exec}");
    let quoted = |p: &Path| format!("'{}'", p.to_string_lossy().replace('\'', "'\\''"));
    let command =
        exec.replace(
            "/usr/sbin/nats-server",
            &quoted(&jetstream::nats_server_bin()),
        )
        .replace(
            "/etc/nats/tributary.conf",
            &quoted(&dir.join("nats-server.conf")),
        ) + " -t";
    let out = Command::new("sh").arg("-c").arg(&command).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("is valid"),
        "{command}: {text}"
    );
    assert!(!text.contains("keeps transparent huge pages"), "{text}");
}
