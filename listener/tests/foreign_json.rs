//! JSON records from producers that are not Tributary's — keys in another
//! order (`serde_json::json!`'s alphabetical one, a Go struct's, Python's
//! `json.dumps` with its spaces), keys of their own, floats, big integers,
//! escapes — are written byte for byte as decoding them and formatting the
//! record as native JSON writes them, whether the listener's reorder path
//! took them or its decoder: as frames and as NDJSON lines, from this host
//! and from another (which gives records without `host` its address).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use tributary_core::{Formatter, JsonFormatter, decode_json};

/// Records as foreign producers send them; `TAG` in each message makes it
/// unique per connection. The last few need the decoder's rules (an
/// alias, a duplicate key, an unknown key that is also a field, an
/// escaped key) and take its way.
const PAYLOADS: &[&str] = &[
    r#"{"fields":{"bytes":7,"method":"GET","ok":true,"user":"ann"},"level":"INFO","levelno":20,"logger":"bench.p0","msg":"TAG serde","pid":4242,"seq":7,"ts":"2026-11-22T01:24:42.444123Z"}"#,
    r#"{"ts": "2026-11-22T01:24:42.444124Z", "level": "warning", "logger": "py.app", "msg": "TAG python \"quoted\"\n\tcafé ✓", "elapsed_ms": 12.5, "ratio": 1e-3, "tags": ["a", "b"], "big": 123456789012345678901234567890, "ctx": {"k": [1, {"n": null}]}}"#,
    r#"{"msg":"TAG go","level":"ERROR","levelno":40,"request_id":"r-1","ts":"2026-11-22T01:24:42.444125678+00:00","logger":"svc.http","fields":{"status":500},"pid":1,"tid":18446744073709551615,"host":null,"status_text":"boom"}"#,
    r#"{"levelno":25,"logger":"custom","msg":"TAG notice","ts":"2026-11-22T01:24:42.444126Z","host":"named.example","line":7,"file":"a.go","exc":"Traceback\n  ..."}"#,
    r#"{"ts":"2026-11-22T01:24:42.444127Z","level":"INFO","levelno":20,"logger":"app","msg":"TAG native","pid":3,"seq":1,"fields":{"user":"ann"}}"#,
    r#"{"message":"TAG alias","ts":"2026-11-22T01:24:42.444128Z","logger":"app"}"#,
    r#"{"msg":"TAG duplicate","ts":"2026-11-22T01:24:42.444129Z","x":1,"x":2}"#,
    r#"{"msg":"TAG shadow","ts":"2026-11-22T01:24:42.444130Z","a":9,"fields":{"a":1,"b":2}}"#,
    r#"{"m\u0073g":"TAG escaped key","ts":"2026-11-22T01:24:42.444131Z"}"#,
];

fn payloads(tag: &str) -> Vec<String> {
    PAYLOADS.iter().map(|p| p.replace("TAG", tag)).collect()
}

fn send_frames(addr: SocketAddr, payloads: &[String]) {
    let mut wire = Vec::new();
    for p in payloads {
        wire.extend_from_slice(&u32::try_from(p.len()).unwrap().to_be_bytes());
        wire.extend_from_slice(p.as_bytes());
    }
    TcpStream::connect(addr).unwrap().write_all(&wire).unwrap();
}

fn send_lines(addr: SocketAddr, payloads: &[String]) {
    let wire: String = payloads.iter().map(|p| format!("{p}\n")).collect();
    TcpStream::connect(addr)
        .unwrap()
        .write_all(wire.as_bytes())
        .unwrap();
}

/// What the decoder and the native formatter make of `payload`, with
/// `host` for a record that names none.
fn expected(payload: &str, host: Option<&str>) -> (String, String) {
    let mut record = decode_json(payload.as_bytes()).unwrap();
    if record.host.is_none() {
        record.host = host.map(Into::into);
    }
    let mut line = Vec::new();
    JsonFormatter::native().format(&record, &mut line);
    (record.msg.to_string(), String::from_utf8(line).unwrap())
}

#[test]
fn foreign_records_are_written_as_the_decoder_and_formatter_write_them() {
    let ip = non_loopback_ipv4();
    let dir = tempfile::tempdir().unwrap();
    let t = Tributary::start(
        dir.path(),
        &[
            "--tcp",
            "0.0.0.0:0",
            "--allow-insecure-remote",
            "--out",
            "out.log",
        ],
    );
    let port = t.tcp(0).port();
    let local = SocketAddr::from(([127, 0, 0, 1], port));
    let remote = SocketAddr::new(ip.into(), port);
    let ip = ip.to_string();
    let mut want = BTreeMap::new();
    for (tag, addr, host, framed) in [
        ("local-frames", local, None, true),
        ("local-lines", local, None, false),
        ("remote-frames", remote, Some(ip.as_str()), true),
        ("remote-lines", remote, Some(ip.as_str()), false),
    ] {
        let payloads = payloads(tag);
        if framed {
            send_frames(addr, &payloads);
        } else {
            send_lines(addr, &payloads);
        }
        want.extend(payloads.iter().map(|p| expected(p, host)));
    }
    let path = dir.path().join("out.log");
    wait_for_lines(&path, want.len());
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut got = BTreeMap::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["logger"] != "tributary" {
            let msg = v["msg"].as_str().unwrap().to_owned();
            assert!(got.insert(msg, line.to_owned()).is_none(), "twice: {line}");
        }
    }
    assert_eq!(got.len(), want.len(), "{text}");
    for (msg, line) in &want {
        assert_eq!(got.get(msg), Some(line), "the record {msg:?}");
    }
}
