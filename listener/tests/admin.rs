//! The admin endpoint (`--admin`) of the real binary, read by real
//! clients: `/metrics` through Prometheus' own text parser
//! (`prometheus_client`, Python), `/status` in headless Chromium, bad
//! requests on raw sockets while a producer's records land, `/health`
//! turning 503 while an output cannot be written and back, and `tributary
//! reload --admin`.

#![allow(clippy::unwrap_used)] // tests: a failure should fail the test

mod common;

use common::{PATIENCE, Tributary, send_native, tally, wait_for_lines};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One HTTP/1.1 exchange on a fresh connection (`Connection: close`):
/// the status code and the body.
fn http(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    parse_answer(&answer)
}

fn parse_answer(answer: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(answer).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {text:?}"));
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, body)
}

/// The body of a chunked answer.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").expect("chunk size line");
        let size = usize::from_str_radix(size.trim(), 16).expect("hex chunk size");
        if size == 0 {
            return out;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
}

/// `tributary listen ARGS --admin 127.0.0.1:0`, waiting for one readiness
/// line per input and the admin's; returns it and the admin address.
fn start(cwd: &Path, args: &[&str], inputs: usize) -> (Tributary, SocketAddr) {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--admin", "127.0.0.1:0"]);
    let t = Tributary::start_expecting(cwd, &all, inputs + 1);
    let admin = t.addr("admin", 0).parse().unwrap();
    (t, admin)
}

/// Polls `check` until it gives something, failing with `what` after
/// [`PATIENCE`].
fn wait_until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {PATIENCE:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Python with `prometheus_client`, or a failure saying how to get it.
fn require_prometheus_client() {
    let ok = Command::new("python3")
        .args(["-c", "import prometheus_client.parser"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "this test parses /metrics with Prometheus' own parser: install it with `python3 -m pip install prometheus_client` (and python3 itself with `apt-get install python3`)"
    );
}

/// Samples as Prometheus' parser gives them: (name, labels, value).
type Samples = Vec<(String, serde_json::Map<String, serde_json::Value>, f64)>;

/// Every sample of a metrics text, as Prometheus' parser reads it:
/// (sample name, labels, value).
fn parse_with_prometheus(text: &str) -> Samples {
    let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append([s.name, s.labels, s.value])
print(json.dumps(out))
"#;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "Prometheus' parser refused /metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let samples: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    samples
        .into_iter()
        .map(|s| {
            let name = s[0].as_str().unwrap().to_owned();
            let labels = s[1].as_object().unwrap().clone();
            (name, labels, s[2].as_f64().unwrap())
        })
        .collect()
}

/// The value of the one sample named `name` whose labels include `with`.
fn value(samples: &Samples, name: &str, with: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = samples
        .iter()
        .filter(|(n, labels, _)| {
            n == name
                && with
                    .iter()
                    .all(|(k, v)| labels.get(*k).and_then(|l| l.as_str()) == Some(*v))
        })
        .map(|(_, _, v)| *v)
        .collect();
    assert_eq!(found.len(), 1, "{name} {with:?}: {found:?}");
    found[0]
}

/// Sends `count` native JSON lines, then one that is not JSON, on a Unix
/// socket; returns the bytes sent.
fn send_unix_lines(path: &Path, producer: &str, count: u64) -> u64 {
    let mut wire = Vec::new();
    for n in 0..count {
        tributary_core::Formatter::format(
            &tributary_core::JsonFormatter::native(),
            &common::rust_record(producer, n),
            &mut wire,
        );
        wire.push(b'\n');
    }
    wire.extend_from_slice(b"{this is not json\n");
    UnixStream::connect(path).unwrap().write_all(&wire).unwrap();
    wire.len() as u64
}

fn native_bytes(producer: &str, count: u64) -> u64 {
    let mut wire = Vec::new();
    for n in 0..count {
        tributary_core::frame::encode_record(
            &common::rust_record(producer, n),
            &tributary_core::JsonFormatter::native(),
            &mut wire,
        )
        .unwrap();
    }
    wire.len() as u64
}

/// (a) Records over two inputs, then `/metrics` through Prometheus' own
/// parser: the counters are what was sent, per input.
#[test]
fn metrics_parse_with_prometheus_and_count_what_each_input_received() {
    require_prometheus_client();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("in.sock");
    let (t, admin) = start(
        dir.path(),
        &[
            "--tcp",
            "127.0.0.1:0",
            "--unix",
            sock.to_str().unwrap(),
            "--out",
            "out.log",
        ],
        2,
    );
    let tcp = t.tcp(0);
    send_native(tcp, "tcp-producer", 300);
    let unix_bytes = send_unix_lines(&sock, "unix-producer", 200);
    let lines = wait_for_lines(&dir.path().join("out.log"), 500);
    assert_eq!(lines.len(), 500);

    let tcp_label = format!("tcp {tcp}");
    let unix_label = format!("unix {}", sock.display());
    // Counted when decoded, written a moment later: wait for the
    // malformed line's count, which comes after every record of its input.
    let samples = wait_until("the unix input's malformed line counted", || {
        let (status, text) = http(admin, "GET", "/metrics");
        assert_eq!(status, 200, "{text}");
        let samples = parse_with_prometheus(&text);
        let malformed = value(
            &samples,
            "tributary_malformed_total",
            &[("input", &unix_label), ("reason", "undecodable")],
        );
        (malformed == 1.0).then_some(samples)
    });
    let received = |input: &str, protocol: &str| {
        value(
            &samples,
            "tributary_received_records_total",
            &[("input", input), ("protocol", protocol)],
        )
    };
    assert_eq!(received(&tcp_label, "tcp"), 300.0);
    assert_eq!(received(&unix_label, "unix"), 200.0);
    assert_eq!(
        value(
            &samples,
            "tributary_received_bytes_total",
            &[("input", &tcp_label)]
        ),
        native_bytes("tcp-producer", 300) as f64
    );
    assert_eq!(
        value(
            &samples,
            "tributary_received_bytes_total",
            &[("input", &unix_label)]
        ),
        unix_bytes as f64
    );
    assert_eq!(
        value(
            &samples,
            "tributary_malformed_total",
            &[("input", &tcp_label), ("reason", "undecodable")]
        ),
        0.0
    );
    assert_eq!(
        value(&samples, "tributary_writer_records_total", &[]),
        500.0
    );
    assert_eq!(
        value(
            &samples,
            "tributary_written_records_total",
            &[("output", "out.log")]
        ),
        500.0
    );
    let out_bytes = std::fs::metadata(dir.path().join("out.log")).unwrap().len();
    assert_eq!(
        value(
            &samples,
            "tributary_written_bytes_total",
            &[("output", "out.log")]
        ),
        out_bytes as f64
    );
    assert_eq!(
        value(
            &samples,
            "tributary_output_stalled",
            &[("output", "out.log")]
        ),
        0.0
    );
    for reason in ["queue_full", "filtered", "duplicate"] {
        assert_eq!(
            value(
                &samples,
                "tributary_dropped_records_total",
                &[("input", &tcp_label), ("reason", reason)]
            ),
            0.0,
            "{reason}"
        );
    }
    assert_eq!(
        value(&samples, "tributary_reloads_total", &[("result", "ok")]),
        0.0
    );
    assert_eq!(
        value(
            &samples,
            "tributary_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    assert_eq!(
        value(&samples, "tributary_ack_commit_seconds_count", &[]),
        0.0
    );

    // The exit summary counts the same.
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    assert_eq!(common::summary_counter(&stderr, "records"), 500, "{stderr}");
    assert_eq!(common::summary_counter(&stderr, "malformed"), 1, "{stderr}");
}

/// Chromium, or a failure saying how to get it.
fn chromium() -> &'static str {
    let found = Command::new("sh")
        .args(["-c", "command -v chromium"])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "this test loads the status page in a real browser: install it with `apt-get install chromium`"
    );
    "chromium"
}

/// Runs headless Chromium on `url` with `extra` arguments; its stdout.
fn run_chromium(profile: &Path, url: &str, extra: &[&str]) -> String {
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
            "--window-size=1000,1400",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// (b) The status page in a real browser: after its script has run, the
/// DOM lists each input with its record count and draws its rate line.
#[test]
fn the_status_page_renders_inputs_counts_and_the_chart_in_chromium() {
    chromium();
    let dir = tempfile::tempdir().unwrap();
    let (t, admin) = start(
        dir.path(),
        &[
            "--tcp",
            "127.0.0.1:0",
            "--tcp",
            "127.0.0.1:0",
            "--out",
            "out.log",
        ],
        2,
    );
    send_native(t.tcp(0), "first", 120);
    send_native(t.tcp(1), "second", 80);
    wait_for_lines(&dir.path().join("out.log"), 200);
    // The sampler has seen the records: the chart has a line to draw.
    wait_until("two rate samples after the records", || {
        let (_, body) = http(admin, "GET", "/status.json");
        let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
        let inputs = doc["inputs"].as_array().unwrap();
        let sampled = inputs.iter().all(|i| {
            let rates = i["records_per_second"].as_array().unwrap();
            rates.len() >= 2
                && rates.iter().map(|r| r.as_u64().unwrap()).sum::<u64>()
                    == i["records"].as_u64().unwrap()
        });
        sampled.then_some(())
    });

    let url = format!("http://{admin}/status");
    let profile = dir.path().join("chromium-profile");
    let dom = run_chromium(&profile, &url, &["--dump-dom"]);
    assert!(
        dom.contains("data-loaded=\"1\""),
        "the script did not render:\n{dom}"
    );
    for (n, (input, records)) in [(0, 120), (1, 80)]
        .iter()
        .map(|(i, r)| (*i, (format!("tcp {}", t.tcp(*i)), *r)))
    {
        let row = format!("<tr data-input=\"{input}\" data-records=\"{records}\">");
        assert!(dom.contains(&row), "input {n}: no {row} in:\n{dom}");
        assert!(
            dom.contains(&format!("<td class=\"num records\">{records}</td>")),
            "input {n}: its count is not shown:\n{dom}"
        );
        let line = format!("class=\"rate\" data-input=\"{input}\"");
        assert!(
            dom.contains(&line),
            "input {n}: no chart line ({line}) in:\n{dom}"
        );
    }
    assert!(dom.contains("<svg id=\"rate-chart\""), "{dom}");
    assert!(
        dom.contains("<strong id=\"health\" class=\"ok\">ok</strong>"),
        "{dom}"
    );

    let png = dir.path().join("status.png");
    run_chromium(
        &profile,
        &url,
        &[&format!("--screenshot={}", png.display())],
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
}

/// (c) Unknown paths, huge heads and a slow client get 404, 431 and a
/// cut-off, while a producer's records all land, once each.
#[test]
fn bad_requests_are_refused_and_ingestion_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.log");
    let (t, admin) = start(dir.path(), &["--tcp", "127.0.0.1:0", "--out", "out.log"], 1);
    let tcp = t.tcp(0);
    let producer = std::thread::spawn(move || send_native(tcp, "steady", 20_000));

    // A slow client: half a request head, then nothing.
    let mut slow = TcpStream::connect(admin).unwrap();
    slow.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\n")
        .unwrap();

    let (status, body) = http(admin, "GET", "/nope");
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("/metrics"), "{body}");
    let (status, _) = http(admin, "GET", "/reload");
    assert_eq!(status, 405, "reload is POST only");

    // The server answers 431 as soon as the head passes its bound and
    // closes with the rest unread, which may reset the connection before
    // the answer is read (or while the head is still being written): such
    // an attempt, with no answer at all, is made again; any answer must
    // be 431.
    let filler = "a".repeat(64 * 1024);
    let mut attempts = 0;
    let answer = loop {
        attempts += 1;
        let mut huge = TcpStream::connect(admin).unwrap();
        huge.set_read_timeout(Some(PATIENCE)).unwrap();
        let _ = write!(
            huge,
            "GET /metrics HTTP/1.1\r\nhost: x\r\nx-filler: {filler}\r\n\r\n"
        );
        let mut answer = Vec::new();
        let _ = huge.read_to_end(&mut answer);
        if !answer.is_empty() {
            break answer;
        }
        assert!(attempts < 10, "no answer to a huge head in 10 attempts");
    };
    let (status, _) = parse_answer(&answer);
    assert_eq!(status, 431);

    // The slow client is cut off (the admin endpoint gives a head 5 s).
    slow.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut rest = Vec::new();
    let read = slow.read_to_end(&mut rest);
    assert!(
        read.is_ok()
            || read
                .as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "the slow client was not cut off: {read:?}"
    );
    assert!(
        !String::from_utf8_lossy(&rest).contains(" 200 OK"),
        "a half head was answered: {}",
        String::from_utf8_lossy(&rest)
    );

    producer.join().unwrap();
    let lines = wait_for_lines(&out, 20_000);
    let seen = tally(&lines);
    common::assert_exactly_once(&seen, &[("steady".to_owned(), 20_000)]);
    let (status, body) = http(admin, "GET", "/health");
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
}

/// Moves the output's directory away and puts a file at its path: the
/// output cannot be written (ENOTDIR) until the file is removed.
fn block_output_dir(logs: &Path, moved: &Path) {
    std::fs::rename(logs, moved).unwrap();
    std::fs::write(logs, b"in the way\n").unwrap();
}

/// (d) `/health` is 503, naming the output, while it cannot be written,
/// and 200 again once it can; no record is lost.
#[test]
fn health_turns_503_while_an_output_stalls_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let out = logs.join("out.log");
    let (t, admin) = start(
        dir.path(),
        &["--tcp", "127.0.0.1:0", "--out", "logs/out.log"],
        1,
    );
    assert_eq!(http(admin, "GET", "/health"), (200, "ok\n".to_owned()));
    send_native(t.tcp(0), "before", 100);
    wait_for_lines(&out, 100);

    let moved = dir.path().join("moved");
    block_output_dir(&logs, &moved);
    send_native(t.tcp(0), "during", 100);
    let reasons = wait_until("/health 503", || {
        let (status, body) = http(admin, "GET", "/health");
        (status == 503).then_some(body)
    });
    assert!(
        reasons.starts_with("output stalled: logs/out.log cannot be written"),
        "{reasons}"
    );
    let (_, metrics) = http(admin, "GET", "/metrics");
    assert!(
        metrics.contains("tributary_output_stalled{output=\"logs/out.log\"} 1"),
        "{metrics}"
    );

    std::fs::remove_file(&logs).unwrap();
    wait_until("/health 200 again", || {
        (http(admin, "GET", "/health") == (200, "ok\n".to_owned())).then_some(())
    });
    let lines = wait_for_lines(&out, 100);
    let mut all = common::read_json(&moved.join("out.log"));
    all.extend(lines);
    let seen = tally(&all);
    common::assert_exactly_once(
        &seen,
        &[("before".to_owned(), 100), ("during".to_owned(), 100)],
    );
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
}

/// `POST /reload` and `tributary reload --admin`: each is the listener's
/// reload (flags read again: no change, every output reopened — the file
/// renamed away is left, a new one takes the records), answers what it did
/// and is counted; an address nothing listens on fails with a non-zero
/// exit.
#[test]
fn reload_through_the_admin_endpoint_and_the_reload_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.log");
    let (t, admin) = start(dir.path(), &["--tcp", "127.0.0.1:0", "--out", "out.log"], 1);
    send_native(t.tcp(0), "one", 10);
    wait_for_lines(&out, 10);
    std::fs::rename(&out, dir.path().join("out.log.1")).unwrap();

    let (status, body) = http(admin, "POST", "/reload");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.starts_with("reloaded: no change; every output reopened; writer paused "),
        "{body}"
    );
    send_native(t.tcp(0), "two", 10);
    assert_eq!(wait_for_lines(&out, 10).len(), 10, "the reopened file");

    let cli = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args(["reload", "--admin", &admin.to_string()])
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let printed = String::from_utf8_lossy(&cli.stdout);
    assert!(
        printed.starts_with("reloaded: no change; every output reopened; "),
        "{printed}"
    );

    let (_, metrics) = http(admin, "GET", "/metrics");
    assert!(
        metrics.contains("tributary_reloads_total{result=\"ok\"} 2"),
        "{metrics}"
    );
    let (_, status_json) = http(admin, "GET", "/status.json");
    let doc: serde_json::Value = serde_json::from_str(&status_json).unwrap();
    assert_eq!(doc["reloads"]["last"]["ok"], true);
    let message = doc["reloads"]["last"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.starts_with("no change; every output reopened"),
        "{message}"
    );

    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    // Nothing listens there now.
    let gone = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args(["reload", "--admin", &admin.to_string()])
        .output()
        .unwrap();
    assert!(!gone.status.success());
    let said = String::from_utf8_lossy(&gone.stderr);
    assert!(said.contains("cannot reach the admin endpoint"), "{said}");
}

/// An acknowledged producer: its connection and the commits that
/// acknowledged it are in `/metrics`, and while it is connected it is
/// listed on `/status.json` with its lag.
#[test]
fn acknowledged_commits_are_timed_and_the_producer_is_listed() {
    use tributary_handlers::Handler;
    use tributary_handlers::net::SocketHandler;
    let dir = tempfile::tempdir().unwrap();
    let (t, admin) = start(dir.path(), &["--tcp", "127.0.0.1:0", "--out", "out.log"], 1);
    let mut h = SocketHandler::tcp(t.tcp(0).to_string())
        .with_producer_id("acked-1")
        .acknowledged();
    for n in 0..2000 {
        h.handle(&common::rust_record("acked", n)).unwrap();
    }
    h.flush().unwrap();
    let producers = wait_until("the producer listed, all acknowledged", || {
        let (_, body) = http(admin, "GET", "/status.json");
        let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
        let p = doc["producers"].as_array().unwrap().clone();
        (p.len() == 1 && p[0]["written"] == 2000).then_some(p)
    });
    assert_eq!(producers[0]["id"], "acked-1");
    assert_eq!(producers[0]["lag"], 0);
    h.close().unwrap();
    assert_eq!(h.unacknowledged(), 0);

    let (_, text) = http(admin, "GET", "/metrics");
    let samples = parse_with_prometheus(&text);
    let commits = value(&samples, "tributary_ack_commit_seconds_count", &[]);
    assert!(commits >= 1.0, "no acknowledging commit was timed:\n{text}");
    assert_eq!(
        value(
            &samples,
            "tributary_ack_commit_seconds_bucket",
            &[("le", "+Inf")]
        ),
        commits
    );
    let input = format!("tcp {}", t.tcp(0));
    assert_eq!(
        value(
            &samples,
            "tributary_acknowledged_connections_total",
            &[("input", &input)]
        ),
        1.0
    );
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
}
