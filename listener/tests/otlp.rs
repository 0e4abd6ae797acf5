//! OpenTelemetry logs in, with the real clients: the OpenTelemetry Python
//! SDK's OTLP/HTTP log exporter (protobuf, plain and gzip) through Python's
//! `logging`, and `curl` posting OTLP/JSON. Every record lands exactly once
//! with its level, message, logger, attributes, trace and span ids and the
//! resource's `service.name`; bad bodies are refused with 400 and the
//! records of other requests all land; `?partial=` and `?ack=` work as on
//! `/log`; a full queue is answered 503 with `Retry-After` in OTLP's terms.

#![allow(clippy::unwrap_used)]

mod common;

use common::file_limit::start_with_file_limit;
use common::{PATIENCE, Tributary, wait_for_lines};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const PIP: &str = "pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http";

/// Fails, saying what to install, when the OpenTelemetry SDK is missing.
fn need_python_sdk() {
    let out = Command::new("python3")
        .args([
            "-c",
            "import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http",
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!("python3 is needed for this test (apt-get install python3): {e}")
        });
    assert!(
        out.status.success(),
        "the OpenTelemetry Python SDK is needed for this test: {PIP}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn need_curl() {
    let found = Command::new("curl").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "curl is needed for this test: install it (Debian: apt-get install curl)"
    );
}

fn exporter_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/otlp_export.py")
}

/// Starts a listener with only the HTTP input, writing native JSON lines to
/// `out.log` in `dir`.
fn start(dir: &Path) -> (Tributary, String) {
    let t = Tributary::start_expecting(dir, &["--http", "127.0.0.1:0", "--out", "out.log"], 1);
    let addr = t.addr("http", 0);
    (t, addr)
}

/// Runs the SDK exporter script: `count` records of service `service`.
/// Returns what it says it sent, one JSON object per record.
fn export_with_python_sdk(addr: &str, count: usize, service: &str, gzip: bool) -> Vec<Value> {
    let mut cmd = Command::new("python3");
    cmd.arg(exporter_script())
        .arg(format!("http://{addr}/v1/logs"))
        .arg(count.to_string())
        .arg(service);
    if gzip {
        cmd.arg("gzip");
    }
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the OTLP exporter failed ({}): {stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines: Vec<&str> = stdout.lines().collect();
    let last = lines.pop().unwrap();
    assert!(
        last.starts_with(&format!("exported {count} records in ")),
        "{last}"
    );
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Posts `body` to `url` with curl; returns (status, response body).
fn curl(url: &str, content_type: &str, body: &[u8], extra: &[&str]) -> (u16, Vec<u8>) {
    let mut child = Command::new("curl")
        .args(["-sS", "-o", "-", "-w", "\n%{http_code}", "-X", "POST"])
        .args(["-H", &format!("Content-Type: {content_type}")])
        .args(extra)
        .args(["--data-binary", "@-", url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(body).unwrap();
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    assert!(
        status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&stderr)
    );
    let split = stdout.iter().rposition(|&b| b == b'\n').unwrap();
    let code = std::str::from_utf8(&stdout[split + 1..])
        .unwrap()
        .parse()
        .unwrap();
    (code, stdout[..split].to_vec())
}

/// The records of the output with this `service.name`, by message.
fn by_msg<'a>(lines: &'a [Value], service: &str) -> BTreeMap<&'a str, Vec<&'a Value>> {
    let mut out: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for line in lines {
        if line["fields"]["service.name"] == service {
            out.entry(line["msg"].as_str().unwrap())
                .or_default()
                .push(line);
        }
    }
    out
}

fn check_python_records(lines: &[Value], sent: &[Value], service: &str) {
    let seen = by_msg(lines, service);
    assert_eq!(seen.len(), sent.len(), "records of {service}: {seen:#?}");
    for s in sent {
        let msg = s["msg"].as_str().unwrap();
        let copies = seen.get(msg).map_or(0, Vec::len);
        assert_eq!(copies, 1, "{msg:?} written {copies} times");
        let r = seen[msg][0];
        let n = s["n"].as_u64().unwrap();
        assert_eq!(r["level"], s["level"], "{r}");
        assert_eq!(r["logger"], "otlp.test", "{r}");
        assert_eq!(r["func"], "emit", "{r}");
        assert!(
            r["file"].as_str().unwrap().ends_with("otlp_export.py"),
            "{r}"
        );
        assert!(r["line"].as_u64().unwrap() > 0, "{r}");
        let f = &r["fields"];
        assert_eq!(f["n"], n, "{r}");
        assert_eq!(f["half"].as_f64(), Some(n as f64 / 2.0), "{r}");
        assert_eq!(f["tag"], format!("t{n}"), "{r}");
        assert_eq!(f["odd"], n % 2 == 1, "{r}");
        assert_eq!(f["telemetry.sdk.language"], "python", "{r}");
        // The ids of the span the record was made in; none outside a span.
        assert_eq!(f["trace_id"], s["trace_id"], "{r}");
        assert_eq!(f["span_id"], s["span_id"], "{r}");
        if n % 10 == 0 {
            let exc = r["exc"].as_str().unwrap();
            assert!(
                exc.starts_with("Traceback (most recent call last):")
                    && exc.contains(&format!("ValueError: boom {n}")),
                "{r}"
            );
            assert_eq!(f["exception.type"], "ValueError", "{r}");
        } else {
            assert!(r.get("exc").is_none(), "{r}");
        }
    }
}

#[test]
fn python_sdk_exporter_every_record_once() {
    need_python_sdk();
    let dir = tempfile::tempdir().unwrap();
    let (t, addr) = start(dir.path());
    // Batches of 25: several requests each, plain protobuf and gzip.
    let plain = export_with_python_sdk(&addr, 60, "shop", false);
    let gzipped = export_with_python_sdk(&addr, 40, "cart", true);
    let lines = wait_for_lines(&dir.path().join("out.log"), 100);
    check_python_records(&lines, &plain, "shop");
    check_python_records(&lines, &gzipped, "cart");
    let levels: Vec<_> = plain
        .iter()
        .take(5)
        .map(|s| s["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels, ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]);
    assert_eq!(lines.len(), 100, "only the exported records: {lines:#?}");
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
}

/// An OTLP/JSON request as the specification's example writes one.
fn json_request(msg: &str, trace_id: &str) -> String {
    format!(
        r#"{{"resourceLogs":[{{"resource":{{"attributes":[
            {{"key":"service.name","value":{{"stringValue":"curl-svc"}}}},
            {{"key":"host.name","value":{{"stringValue":"build-7"}}}},
            {{"key":"process.pid","value":{{"intValue":"4242"}}}}]}},
          "scopeLogs":[{{"scope":{{"name":"curl.scope","version":"1.0.0"}},"logRecords":[
            {{"timeUnixNano":"1765000000123456789","observedTimeUnixNano":"1765000000200000000",
              "severityNumber":13,"severityText":"WARN","body":{{"stringValue":"{msg}"}},
              "attributes":[{{"key":"attempt","value":{{"intValue":"3"}}}},
                            {{"key":"ratio","value":{{"doubleValue":0.25}}}},
                            {{"key":"tags","value":{{"arrayValue":{{"values":[{{"stringValue":"a"}},{{"boolValue":true}}]}}}}}},
                            {{"key":"ctx","value":{{"kvlistValue":{{"values":[{{"key":"user","value":{{"stringValue":"ann"}}}}]}}}}}}],
              "flags":1,"traceId":"{trace_id}","spanId":"eee19b7ec3c1b174"}}]}}]}}]}}"#
    )
}

#[test]
fn curl_json_and_bad_bodies() {
    need_curl();
    let dir = tempfile::tempdir().unwrap();
    let (t, addr) = start(dir.path());
    let url = format!("http://{addr}/v1/logs");

    let (code, body) = curl(
        &url,
        "application/json",
        json_request("first over json", "5B8EFFF798038103D269B633813FC60C").as_bytes(),
        &[],
    );
    assert_eq!((code, body.as_slice()), (200, b"{}".as_slice()));

    // Garbage protobuf: refused whole, with the reason.
    let (code, body) = curl(
        &url,
        "application/x-protobuf",
        b"\x0a\xff\xff\xff\x0f garbage",
        &[],
    );
    assert_eq!(code, 400, "{}", String::from_utf8_lossy(&body));
    assert!(
        String::from_utf8_lossy(&body).contains("protobuf"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    // Nesting far past any bound, in protobuf (AnyValue in ArrayValue, 300 deep)...
    let mut value = vec![0x0a, 0x01, b'x']; // AnyValue { string_value: "x" }
    for _ in 0..300 {
        let mut array = vec![0x0a]; // ArrayValue.values
        array.extend(varint(value.len()));
        array.extend(&value);
        value = vec![0x2a]; // AnyValue.array_value
        value.extend(varint(array.len()));
        value.extend(array);
    }
    let deep = nest(&[0x0a, 0x12, 0x12, 0x2a], value); // request → resource_logs → scope_logs → log_records → body
    let (code, body) = curl(&url, "application/x-protobuf", &deep, &[]);
    let reason = String::from_utf8_lossy(&body);
    assert_eq!(code, 400, "{reason}");
    assert!(reason.contains("nested deeper"), "{reason}");
    // ... and in JSON.
    let deep_json = format!(
        r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{"body":{}"x"{}}}]}}]}}]}}"#,
        r#"{"arrayValue":{"values":["#.repeat(200),
        "]}}".repeat(200)
    );
    let (code, body) = curl(&url, "application/json", deep_json.as_bytes(), &[]);
    assert_eq!(code, 400, "{}", String::from_utf8_lossy(&body));
    // Not an OTLP content type.
    let (code, _) = curl(&url, "text/plain", b"hello", &[]);
    assert_eq!(code, 415);

    // The listener took none of that and still takes the next request.
    let (code, _) = curl(
        &url,
        "application/json; charset=utf-8",
        json_request("second over json", "0102030405060708090a0b0c0d0e0f10").as_bytes(),
        &[],
    );
    assert_eq!(code, 200);
    let lines = wait_for_lines(&dir.path().join("out.log"), 2);
    let msgs: Vec<_> = lines.iter().map(|l| l["msg"].as_str().unwrap()).collect();
    assert_eq!(msgs, ["first over json", "second over json"], "{lines:#?}");
    let r = &lines[0];
    assert_eq!(r["ts"], "2025-12-06T05:46:40.123456Z");
    assert_eq!(
        (r["level"].as_str(), r["levelno"].as_u64()),
        (Some("WARNING"), Some(30))
    );
    assert_eq!(r["logger"], "curl.scope");
    assert_eq!(r["host"], "build-7");
    assert_eq!(r["pid"], 4242);
    let f = &r["fields"];
    assert_eq!(f["service.name"], "curl-svc");
    assert_eq!(f["otel.scope.version"], "1.0.0");
    assert_eq!(f["attempt"], 3);
    assert_eq!(f["ratio"], 0.25);
    assert_eq!(f["tags"], serde_json::json!(["a", true]));
    assert_eq!(f["ctx"], serde_json::json!({"user": "ann"}));
    assert_eq!(f["trace_id"], "5b8efff798038103d269b633813fc60c");
    assert_eq!(f["span_id"], "eee19b7ec3c1b174");
    assert_eq!(f["trace_flags"], 1);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
}

/// Two records, the second with an attribute nested 20 levels deep (past
/// the per-record bound of 16, well within what a body may hold).
fn one_good_one_deep(good: &str) -> String {
    let deep = format!(
        "{}{{\"stringValue\":\"x\"}}{}",
        r#"{"arrayValue":{"values":["#.repeat(19),
        "]}}".repeat(19)
    );
    format!(
        r#"{{"resourceLogs":[{{"scopeLogs":[{{"scope":{{"name":"partial"}},"logRecords":[
            {{"severityNumber":9,"body":{{"stringValue":"{good}"}}}},
            {{"severityNumber":9,"body":{{"stringValue":"too deep"}},"attributes":[{{"key":"deep","value":{deep}}}]}}]}}]}}]}}"#
    )
}

#[test]
fn partial_and_ack_written() {
    need_curl();
    let dir = tempfile::tempdir().unwrap();
    let (t, addr) = start(dir.path());
    let out = dir.path().join("out.log");

    // By default one bad record refuses the request: nothing of it is written.
    let (code, body) = curl(
        &format!("http://{addr}/v1/logs?ack=written"),
        "application/json",
        one_good_one_deep("refused with its request").as_bytes(),
        &[],
    );
    let status: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(code, 400, "{status}");
    assert_eq!(status["code"], 3, "{status}");
    let message = status["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "1 of 2 log records rejected, the first because: values nested deeper than 16"
        ) && message.contains("?partial=true"),
        "{message}"
    );

    // With partial=true the good one is written, and the answer, which
    // waits for the write (ack=written), counts the one left out.
    let (code, body) = curl(
        &format!("http://{addr}/v1/logs?partial=true&ack=written"),
        "application/json",
        one_good_one_deep("kept by partial").as_bytes(),
        &[],
    );
    let response: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(code, 200, "{response}");
    assert_eq!(
        response["partialSuccess"]["rejectedLogRecords"], "1",
        "{response}"
    );
    // Answered after the write: the line is there now, without waiting.
    let lines = common::read_json(&out);
    let msgs: Vec<_> = lines.iter().map(|l| l["msg"].as_str().unwrap()).collect();
    assert_eq!(msgs, ["kept by partial"], "{lines:#?}");

    // ack=durable needs --durable: refused in OTLP's terms.
    let (code, body) = curl(
        &format!("http://{addr}/v1/logs?ack=durable"),
        "application/json",
        json_request("never", "0102030405060708090a0b0c0d0e0f10").as_bytes(),
        &[],
    );
    let status: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((code, status["code"].as_i64()), (400, Some(3)), "{status}");
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    assert_eq!(common::read_json(&out).len(), 1);
}

/// An OTLP/JSON request of `count` records of `producer`.
fn json_batch(producer: &str, count: u64) -> String {
    let records: Vec<String> = (0..count)
        .map(|n| {
            format!(
                r#"{{"severityNumber":9,"body":{{"stringValue":"{producer} {n}"}},"attributes":[{{"key":"producer","value":{{"stringValue":"{producer}"}}}},{{"key":"n","value":{{"intValue":"{n}"}}}}]}}"#
            )
        })
        .collect();
    format!(
        r#"{{"resourceLogs":[{{"scopeLogs":[{{"scope":{{"name":"batch"}},"logRecords":[{}]}}]}}]}}"#,
        records.join(",")
    )
}

/// The writer stalls (its file cannot grow) and the queue stays full: an
/// export is answered 503 with `Retry-After` and a `google.rpc.Status`
/// (UNAVAILABLE), and nothing of it is queued; once the file can grow,
/// the export sent again lands, every record once.
#[test]
fn a_full_queue_is_answered_503_with_retry_after() {
    need_curl();
    let dir = tempfile::tempdir().unwrap();
    let (mut listener, addr) = start_with_file_limit(
        dir.path(),
        &[
            "--http",
            "127.0.0.1:0",
            "--out",
            "out.log",
            "--queue-capacity",
            "4",
        ],
        2000,
    );
    let url = format!("http://{addr}/v1/logs");
    let mut accepted = Vec::new();
    let refused = loop {
        let producer = format!("batch{}", accepted.len());
        let (code, answer) = curl(
            &url,
            "application/json",
            json_batch(&producer, 60).as_bytes(),
            &["-i"],
        );
        let answer = String::from_utf8_lossy(&answer).into_owned();
        if code == 200 {
            assert!(answer.ends_with("\r\n\r\n{}"), "{answer}");
            accepted.push(producer);
            assert!(accepted.len() < 10, "the queue of 4 records never filled");
            continue;
        }
        assert_eq!(code, 503, "{answer}");
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("\r\nretry-after: 1\r\n"),
            "{answer}"
        );
        let (_, body) = answer.split_once("\r\n\r\n").unwrap();
        let status: Value = serde_json::from_str(body).unwrap();
        assert_eq!(status["code"], 14, "{status}");
        assert!(
            status["message"]
                .as_str()
                .unwrap()
                .contains("queue is full"),
            "{status}"
        );
        break producer;
    };
    listener.lift_file_limit();
    // Sent again, as an OTLP exporter does after Retry-After.
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let (code, body) = curl(
            &url,
            "application/json",
            json_batch(&refused, 60).as_bytes(),
            &[],
        );
        if code == 200 {
            assert_eq!(body, b"{}");
            break;
        }
        assert_eq!(code, 503, "{}", String::from_utf8_lossy(&body));
        assert!(
            std::time::Instant::now() < deadline,
            "still 503 after {PATIENCE:?}"
        );
    }
    let out = dir.path().join("out.log");
    wait_for_lines(&out, 60 * (accepted.len() + 1));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(listener.0.id() as i32, libc::SIGTERM) };
    assert!(listener.0.wait().unwrap().success());
    let seen = common::tally(&common::read_json(&out));
    let batches: Vec<(String, u64)> = accepted
        .into_iter()
        .chain([refused])
        .map(|p| (p, 60))
        .collect();
    common::assert_exactly_once(&seen, &batches);
}

fn varint(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out
}

/// Wraps `inner` in one length-delimited field per tag, innermost last.
fn nest(tags: &[u8], inner: Vec<u8>) -> Vec<u8> {
    tags.iter().rev().fold(inner, |inner, &tag| {
        let mut out = vec![tag];
        out.extend(varint(inner.len()));
        out.extend(inner);
        out
    })
}
