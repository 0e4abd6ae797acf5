//! The HTTP input with real clients started by the tests: Python's
//! `logging.handlers.HTTPHandler` (GET and POST, with and without
//! credentials, and `secure=True` over TLS), Python's `urllib` posting
//! gzipped NDJSON, and `curl` (a JSON array, NDJSON, a bad body, 413,
//! 401). Every record lands exactly once with the right fields. Then the
//! bad input: a 100 MiB body, a gzip bomb, malformed gzip, `args` that is
//! code, a chunked body that stalls, huge headers; each gets its answer,
//! memory stays bounded, and another producer's records all land.

#![allow(clippy::unwrap_used)]

mod common;
// One throwaway PKI for the TLS tests of both crates.
#[cfg(feature = "tls")]
#[path = "../../handlers/tests/pki/mod.rs"]
mod pki;

use common::file_limit::start_with_file_limit;
use common::{
    PATIENCE, Tributary, by_msg, proc_status_kib, read_json, summary_counter, wait_for_lines,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Starts a listener with one HTTP input (and `extra` arguments) writing
/// `out.log` in `dir`; `inputs` is how many readiness lines to expect.
fn start(dir: &Path, extra: &[&str], inputs: usize) -> Tributary {
    let mut args = vec!["--http", "127.0.0.1:0", "--out", "out.log"];
    args.extend_from_slice(extra);
    Tributary::start_expecting(dir, &args, inputs)
}

/// Runs a Python script with `args`; fails the test with its stderr.
fn python(script: &str, args: &[&str]) -> String {
    common::need("python3", "python3");
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs curl, returning (status code, body); `-w` appends the code.
fn curl(args: &[&str]) -> (u16, String) {
    common::need("curl", "curl");
    let out: Output = Command::new("curl")
        .args(["-sS", "-m", "120", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    let code = code.trim().parse().unwrap_or_else(|_| {
        panic!(
            "curl gave no status: {text:?} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, body.to_owned())
}

fn once<'a>(seen: &'a BTreeMap<String, Vec<Value>>, msg: &str) -> &'a Value {
    let found = seen.get(msg).map_or(0, Vec::len);
    assert_eq!(found, 1, "{msg:?} written {found} times; all: {seen:#?}");
    &seen[msg][0]
}

/// An `HTTPHandler` on the `app` logger; `{handler_args}` follow host and
/// URL. Sends `n` records with formatting arguments and an `extra` field,
/// and one with an exception.
fn http_handler_script(handler_args: &str) -> String {
    format!(
        r#"
import logging, logging.handlers, os, sys, ssl
host, method, n, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
cafile = sys.argv[5] if len(sys.argv) > 5 else None
log = logging.getLogger("app." + tag)
log.setLevel(logging.DEBUG)
log.propagate = False
# A console handler formats first, as in most programs: that sets
# exc_text, which HTTPHandler sends (it formats nothing itself).
log.addHandler(logging.StreamHandler(open(os.devnull, "w")))
h = logging.handlers.HTTPHandler(host, "/log", method=method{handler_args})
log.addHandler(h)
for i in range(n):
    log.warning("%s record %d of %.1f%%", tag, i, 100.0, extra={{"user": "ann", "i": i}})
try:
    {{}}["missing"]
except KeyError:
    log.exception("%s failed with %r", tag, {{"k": [1, None]}})
"#
    )
}

#[test]
fn python_http_handler_get_and_post() {
    let dir = tempfile::tempdir().unwrap();
    let t = start(dir.path(), &[], 1);
    let addr = t.addr("http", 0);
    let script = http_handler_script("");
    python(&script, &[&addr, "GET", "20", "get"]);
    python(&script, &[&addr, "POST", "20", "post"]);
    let out = dir.path().join("out.log");
    wait_for_lines(&out, 42);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let seen = by_msg(&read_json(&out));
    assert_eq!(seen.len(), 42, "{seen:#?}");
    for tag in ["get", "post"] {
        for i in 0..20 {
            let r = once(&seen, &format!("{tag} record {i} of 100.0%"));
            assert_eq!(r["logger"], format!("app.{tag}"));
            assert_eq!(r["level"], "WARNING");
            assert_eq!(r["levelno"], 30);
            assert_eq!(r["fields"]["user"], "ann");
            assert_eq!(r["fields"]["i"], i.to_string(), "form values are text");
            assert_eq!(r["func"], "<module>");
            assert!(r["pid"].as_u64().unwrap() > 0, "{r}");
            assert!(r["host"].is_null(), "loopback peers get no host: {r}");
            assert!(r["ts"].as_str().unwrap().starts_with("20"), "{r}");
        }
        let e = once(&seen, &format!("{tag} failed with {{'k': [1, None]}}"));
        assert_eq!(e["level"], "ERROR");
        let exc = e["exc"].as_str().unwrap();
        assert!(
            exc.starts_with("Traceback (most recent call last):"),
            "{exc}"
        );
        assert!(exc.ends_with("KeyError: 'missing'"), "{exc}");
    }
    assert_eq!(summary_counter(&stderr, "malformed"), 0, "{stderr}");
}

#[test]
fn python_http_handler_with_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("http.credentials");
    std::fs::write(&creds, "ann:s3cret\n").unwrap();
    let t = start(
        dir.path(),
        &["--http-credentials", creds.to_str().unwrap()],
        1,
    );
    let addr = t.addr("http", 0);
    let with = http_handler_script(r#", credentials=("ann", "s3cret")"#);
    python(&with, &[&addr, "POST", "5", "authed"]);
    // HTTPHandler ignores the answer: these are refused, and must not land.
    python(&http_handler_script(""), &[&addr, "POST", "3", "anonymous"]);
    let wrong = http_handler_script(r#", credentials=("ann", "guess")"#);
    python(&wrong, &[&addr, "GET", "3", "wrong"]);
    let url = format!("http://{addr}/log");
    let (code, body) = curl(&["-i", "--data-binary", "{\"msg\":\"curl no creds\"}", &url]);
    assert_eq!(code, 401, "{body}");
    assert!(
        body.to_ascii_lowercase()
            .contains("www-authenticate: basic realm=\"tributary\""),
        "{body}"
    );
    let (code, body) = curl(&[
        "-u",
        "ann:s3cret",
        "-H",
        "content-type: application/x-ndjson",
        "--data-binary",
        "{\"msg\":\"curl with creds\"}",
        &url,
    ]);
    assert_eq!((code, body.as_str()), (200, "{\"accepted\":1}\n"));
    let out = dir.path().join("out.log");
    wait_for_lines(&out, 7);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let seen = by_msg(&read_json(&out));
    for i in 0..5 {
        once(&seen, &format!("authed record {i} of 100.0%"));
    }
    once(&seen, "authed failed with {'k': [1, None]}");
    once(&seen, "curl with creds");
    assert_eq!(seen.len(), 7, "only the authenticated records: {seen:#?}");
    // 4 + 4 refused HTTPHandler requests and curl's.
    assert_eq!(summary_counter(&stderr, "rejected"), 9, "{stderr}");
}

#[cfg(feature = "tls")]
#[test]
fn python_http_handler_secure_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let ca = pki::Ca::new(dir.path(), "main");
    let server = ca.server();
    let t = start(
        dir.path(),
        &[
            "--tls-cert",
            server.cert.to_str().unwrap(),
            "--tls-key",
            server.key.to_str().unwrap(),
        ],
        1,
    );
    let port = t.addr("http", 0).rsplit_once(':').unwrap().1.to_owned();
    let script =
        http_handler_script(r#", secure=True, context=ssl.create_default_context(cafile=cafile)"#);
    let host = format!("localhost:{port}");
    python(
        &script,
        &[&host, "POST", "10", "tls", ca.cert.to_str().unwrap()],
    );
    let out = dir.path().join("out.log");
    wait_for_lines(&out, 11);
    // Plain HTTP on the TLS port is refused, and writes nothing.
    let (code, _) = curl(&[
        "--data-binary",
        "{\"msg\":\"plain\"}",
        &format!("http://127.0.0.1:{port}/log"),
    ]);
    assert_eq!(code, 0, "no HTTP answer without TLS");
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let seen = by_msg(&read_json(&out));
    for i in 0..10 {
        once(&seen, &format!("tls record {i} of 100.0%"));
    }
    assert_eq!(seen.len(), 11, "{seen:#?}");
}

/// Python's `urllib` posting gzipped NDJSON batches with `?ack=written`:
/// once a batch is answered, its records are in the file.
#[test]
fn urllib_posts_gzipped_ndjson_and_written_means_written() {
    let dir = tempfile::tempdir().unwrap();
    let t = start(dir.path(), &[], 1);
    let out = dir.path().join("out.log");
    let script = r#"
import gzip, json, sys, urllib.request
addr, out = sys.argv[1], sys.argv[2]
for batch in range(5):
    lines = "".join(json.dumps({"msg": "batch %d line %d" % (batch, i), "logger": "urllib", "level": "INFO", "fields": {"batch": batch, "n": i}}) + "\n" for i in range(200))
    req = urllib.request.Request("http://%s/log?ack=written" % addr, data=gzip.compress(lines.encode()), method="POST")
    req.add_header("Content-Type", "application/x-ndjson; charset=utf-8")
    req.add_header("Content-Encoding", "gzip")
    with urllib.request.urlopen(req) as resp:
        assert resp.status == 200, resp.status
        assert json.loads(resp.read()) == {"accepted": 200}
    # Answered only once written: every record of this batch is in the file.
    with open(out) as f:
        written = [json.loads(l) for l in f]
    mine = [r for r in written if r.get("logger") == "urllib"]
    assert len(mine) == 200 * (batch + 1), (batch, len(mine))
print("ok")
"#;
    assert_eq!(
        python(script, &[&t.addr("http", 0), out.to_str().unwrap()]),
        "ok\n"
    );
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let seen = by_msg(&read_json(&out));
    assert_eq!(seen.len(), 1000);
    for batch in 0..5 {
        for i in 0..200 {
            let r = once(&seen, &format!("batch {batch} line {i}"));
            assert_eq!(r["fields"]["n"], i);
        }
    }
    assert_eq!(summary_counter(&stderr, "records"), 1000, "{stderr}");
}

#[test]
fn curl_json_array_ndjson_bad_body_and_413() {
    let dir = tempfile::tempdir().unwrap();
    let t = start(dir.path(), &["--http-max-body", "64KiB"], 1);
    let url = format!("http://{}/log", t.addr("http", 0));
    let array = r#"[{"msg":"array 0","logger":"curl","level":"ERROR"}, {"msg":"array 1","logger":"curl","fields":{"k":"v"}}]"#;
    let json = ["-H", "Content-Type: application/json; charset=utf-8"];
    let (code, body) = curl(&[json[0], json[1], "--data-binary", array, &url]);
    assert_eq!((code, body.as_str()), (200, "{\"accepted\":2}\n"));
    let ndjson = "{\"msg\":\"nd 0\"}\n\n{\"msg\":\"nd 1\"}\r\n{\"msg\":\"nd 2\"}";
    let (code, body) = curl(&[
        "-H",
        "Content-Type: Application/X-NDJSON",
        "--data-binary",
        ndjson,
        &url,
    ]);
    assert_eq!((code, body.as_str()), (200, "{\"accepted\":3}\n"));
    // A bad line refuses the whole body: its good lines are not written.
    let bad = "{\"msg\":\"good before bad\"}\n{\"msg\": nope}\n{\"msg\":\"good after bad\"}\n";
    let (code, body) = curl(&[
        "-H",
        "Content-Type: application/x-ndjson",
        "--data-binary",
        bad,
        &url,
    ]);
    assert_eq!(code, 400, "{body}");
    assert!(body.starts_with("line 2: "), "{body}");
    assert!(body.contains("nothing of this body was written"), "{body}");
    // ... unless partial=true: the good ones are, the bad one is reported.
    let (code, body) = curl(&[
        "-H",
        "Content-Type: application/x-ndjson",
        "--data-binary",
        &bad.replace("bad\"", "bad, partial\""),
        &format!("{url}?partial=true"),
    ]);
    assert_eq!(code, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["accepted"], 2, "{body}");
    assert_eq!(answer["skipped"], 1, "{body}");
    assert!(
        answer["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("line 2: "),
        "{body}"
    );
    // 413 past the bound, declared (Content-Length) or not (chunked).
    let big = "x".repeat(100 * 1024);
    let big_line = format!("{{\"msg\":\"{big}\"}}");
    let (code, body) = curl(&["--data-binary", &big_line, &url]);
    assert_eq!(code, 413, "{body}");
    assert!(body.contains("http-max-body"), "{body}");
    let (code, body) = curl(&[
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        &big_line,
        &url,
    ]);
    assert_eq!(code, 413, "{body}");
    let (code, body) = curl(&["-H", "Content-Type: image/png", "--data-binary", "{}", &url]);
    assert_eq!(code, 415, "{body}");
    let (code, _) = curl(&["--data-binary", "{}", &format!("{url}?ack=sometimes")]);
    assert_eq!(code, 400);
    // ack=durable needs --durable.
    let (code, body) = curl(&[
        "--data-binary",
        "{\"msg\":\"d\"}",
        &format!("{url}?ack=durable"),
    ]);
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("--durable"), "{body}");
    let out = dir.path().join("out.log");
    wait_for_lines(&out, 7);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let seen = by_msg(&read_json(&out));
    let e = once(&seen, "array 0");
    assert_eq!(
        (&e["logger"], &e["level"]),
        (&Value::from("curl"), &Value::from("ERROR"))
    );
    assert_eq!(once(&seen, "array 1")["fields"]["k"], "v");
    for m in [
        "nd 0",
        "nd 1",
        "nd 2",
        "good before bad, partial",
        "good after bad, partial",
    ] {
        once(&seen, m);
    }
    assert_eq!(seen.len(), 7, "{seen:#?}");
    assert_eq!(summary_counter(&stderr, "records"), 7, "{stderr}");
}

/// `--http-ack durable` answers once the record is in the file. That the
/// answer also waits for the fsync is the writer's group commit, shared
/// with acknowledged producers; a test cannot tell a written page from a
/// synced one without cutting the power.
#[test]
fn durable_answers_once_the_record_is_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let t = start(dir.path(), &["--durable", "--http-ack", "durable"], 1);
    let url = format!("http://{}/log", t.addr("http", 0));
    for i in 0..3 {
        let (code, body) = curl(&[
            "--data-binary",
            &format!("{{\"msg\":\"durable {i}\"}}"),
            &url,
        ]);
        assert_eq!((code, body.as_str()), (200, "{\"accepted\":1}\n"));
        let seen = by_msg(&read_json(&dir.path().join("out.log")));
        once(&seen, &format!("durable {i}"));
    }
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
}

/// A record without `host` from another host gets the peer's address; one
/// with a host keeps it.
#[test]
fn a_remote_peer_address_becomes_the_host() {
    remote_peer_address_becomes_the_host("0.0.0.0:0");
}

/// On a dual-stack socket an IPv4 client arrives as `::ffff:a.b.c.d`: its
/// records get `a.b.c.d`, as the stream inputs write it.
#[test]
fn an_ipv4_peer_of_a_dual_stack_socket_is_named_by_its_ipv4_address() {
    remote_peer_address_becomes_the_host("[::]:0");
}

fn remote_peer_address_becomes_the_host(bind: &str) {
    let local = common::non_loopback_ipv4();
    let dir = tempfile::tempdir().unwrap();
    let t = Tributary::start_expecting(
        dir.path(),
        &[
            "--http",
            bind,
            "--allow-insecure-remote",
            "--out",
            "out.log",
        ],
        1,
    );
    let port = t.addr("http", 0).rsplit_once(':').unwrap().1.to_owned();
    let url = format!("http://{local}:{port}/log");
    // Decoded, then the fast paths: a native line and a foreign key order,
    // each without a host.
    let body = concat!(
        "{\"msg\":\"from afar\"}\n{\"msg\":\"named\",\"host\":\"web-1\"}\n",
        r#"{"ts":"2026-12-06T10:00:00.000000Z","level":"INFO","levelno":20,"logger":"app","msg":"native"}"#,
        "\n",
        r#"{"fields":{"n":1},"level":"INFO","levelno":20,"logger":"app","msg":"foreign","ts":"2026-12-06T10:00:00.000000Z"}"#,
        "\n",
    );
    let (code, answer) = curl(&["--data-binary", body, &url]);
    assert_eq!(code, 200, "{answer}");
    let out = dir.path().join("out.log");
    wait_for_lines(&out, 4);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let seen = by_msg(&read_json(&out));
    assert_eq!(once(&seen, "from afar")["host"], local.to_string());
    assert_eq!(once(&seen, "named")["host"], "web-1");
    assert_eq!(once(&seen, "native")["host"], local.to_string());
    assert_eq!(once(&seen, "foreign")["host"], local.to_string());
}

/// Sends `head` and then `body` on a raw connection; returns what the
/// server answered before closing. The answer is read while sending: a
/// server that answers early and closes resets the connection, and what
/// was not read by then would be lost.
fn raw_exchange(addr: SocketAddr, head: &[u8], body: impl Fn(&mut TcpStream)) -> String {
    // The server may answer and close with the rest unread, which can
    // reset the connection before the answer is read: such an attempt,
    // with no answer at all, is made again; any answer is returned.
    for _ in 0..10 {
        let mut s = TcpStream::connect(addr).unwrap();
        let mut reader = s.try_clone().unwrap();
        reader.set_read_timeout(Some(PATIENCE)).unwrap();
        let answer = std::thread::spawn(move || {
            let mut answer = Vec::new();
            let mut chunk = [0u8; 4096];
            while let Ok(n) = reader.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                answer.extend_from_slice(&chunk[..n]);
            }
            String::from_utf8_lossy(&answer).into_owned()
        });
        let _ = s.write_all(head);
        body(&mut s);
        let answer = answer.join().unwrap();
        if !answer.is_empty() {
            return answer;
        }
    }
    panic!("no answer in 10 attempts");
}

#[test]
fn bad_input_gets_its_answer_and_others_still_land() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("evaluated");
    let t = start(
        dir.path(),
        &["--tcp", "127.0.0.1:0", "--frame-timeout", "2s"],
        2,
    );
    let http: SocketAddr = t.addr("http", 0).parse().unwrap();
    let tcp = t.tcp(0);
    let url = format!("http://{http}/log");
    // Another producer, over TCP, while the bad input arrives.
    let producer = std::thread::spawn(move || common::send_lines(tcp, "steady", 2000));

    // A 100 MiB body, streamed without a declared length: 413 once past
    // 16 MiB, and the listener never holds the rest.
    let answer = raw_exchange(
        http,
        b"POST /log HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-ndjson\r\ntransfer-encoding: chunked\r\n\r\n",
        |s| {
            let chunk = vec![b'x'; 1 << 20];
            let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
            framed.extend_from_slice(&chunk);
            framed.extend_from_slice(b"\r\n");
            for _ in 0..100 {
                if s.write_all(&framed).is_err() {
                    break; // answered and closed
                }
            }
        },
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("larger than 16777216 bytes"), "{answer}");

    // A gzip bomb: 64 MiB of zeros in about 64 KiB; 413 once inflated
    // past the bound.
    let bomb = dir.path().join("bomb.gz");
    python(
        "import gzip, sys\nopen(sys.argv[1], 'wb').write(gzip.compress(b'0' * (64 << 20)))",
        &[bomb.to_str().unwrap()],
    );
    let (code, body) = curl(&[
        "-H",
        "Content-Encoding: gzip",
        "--data-binary",
        &format!("@{}", bomb.display()),
        &url,
    ]);
    assert_eq!(code, 413, "{body}");
    assert!(body.contains("once inflated"), "{body}");

    // Malformed gzip.
    let (code, body) = curl(&[
        "-H",
        "Content-Encoding: gzip",
        "--data-binary",
        "this is not gzip",
        &url,
    ]);
    assert_eq!(code, 400, "{body}");
    assert!(body.starts_with("malformed gzip body"), "{body}");

    // `args` that is code: refused, never evaluated.
    let code_args = format!("__import__('os').system('touch {}')", marker.display());
    let form = format!(
        "name=evil&msg=%25s&levelname=INFO&levelno=20&args={}",
        urlencode(&code_args)
    );
    let (code, body) = curl(&[
        "-H",
        "Content-Type: application/x-www-form-urlencoded",
        "--data-binary",
        &form,
        &url,
    ]);
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("nothing is evaluated"), "{body}");
    let (code, _) = curl(&[&format!("{url}?{form}")]);
    assert_eq!(code, 400, "GET too");
    assert!(!marker.exists(), "args was evaluated");

    // A chunked body that stalls: cut off after the frame timeout.
    let answer = raw_exchange(
        http,
        b"POST /log HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n10\r\n{\"msg\":\"stall",
        |_| {},
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("frame-timeout"), "{answer}");

    // Huge headers: 431.
    let mut head = b"GET /log?msg=x HTTP/1.1\r\nhost: x\r\n".to_vec();
    for i in 0..200 {
        head.extend_from_slice(format!("x-filler-{i}: {}\r\n", "y".repeat(1000)).as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    let answer = raw_exchange(http, &head, |_| {});
    assert!(
        answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large"),
        "{answer}"
    );

    producer.join().unwrap();
    let out = dir.path().join("out.log");
    wait_for_lines(&out, 2000);
    let hwm = proc_status_kib(t.pid(), "VmHWM");
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    // 16 MiB is the most one body holds; the 100 MiB one and the 64 MiB
    // bomb must not have been held whole.
    assert!(hwm < 96 * 1024, "peak resident {hwm} KiB");
    let lines = read_json(&out);
    let seen = common::tally(&lines);
    common::assert_exactly_once(&seen, &[("steady".to_owned(), 2000)]);
    assert!(
        !lines
            .iter()
            .any(|l| l["logger"] != "tributary" && l["fields"]["producer"].is_null()),
        "nothing of the bad requests was written"
    );
    assert!(summary_counter(&stderr, "malformed") >= 5, "{stderr}");
}

/// `application/x-www-form-urlencoded` escaping, as Python's `quote_plus`.
fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char);
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn ndjson(producer: &str, count: u64) -> String {
    (0..count)
        .map(|n| format!("{{\"msg\":\"{producer} {n}\",\"fields\":{{\"producer\":\"{producer}\",\"n\":{n}}}}}\n"))
        .collect()
}

/// The writer stalls (its file cannot grow), the queue stays full: a
/// request gets 503 with `Retry-After`, and nothing of it is queued; once
/// the file can grow, the request sent again lands, every record once.
#[test]
fn a_full_queue_is_answered_503_with_retry_after() {
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
    let url = format!("http://{addr}/log");
    let nd = ["-H", "Content-Type: application/x-ndjson"];
    // More than the file may hold: the writer stalls on it (in a write or
    // the flush after it) and the queue fills behind it; requests are
    // accepted until there is no room, then refused.
    let mut accepted = Vec::new();
    let refused = loop {
        let producer = format!("batch{}", accepted.len());
        let (code, answer) = curl(&[
            "-i",
            nd[0],
            nd[1],
            "--data-binary",
            &ndjson(&producer, 60),
            &url,
        ]);
        if code == 200 {
            assert!(answer.ends_with("{\"accepted\":60}\n"), "{answer}");
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
        assert!(answer.contains("queue is full"), "{answer}");
        break producer;
    };
    listener.lift_file_limit();
    // Sent again, as the client is told to.
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let (code, body) = curl(&[nd[0], nd[1], "--data-binary", &ndjson(&refused, 60), &url]);
        if code == 200 {
            assert_eq!(body, "{\"accepted\":60}\n");
            break;
        }
        assert_eq!(code, 503, "{body}");
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
    let seen = common::tally(&read_json(&out));
    let batches: Vec<(String, u64)> = accepted
        .into_iter()
        .chain([refused])
        .map(|p| (p, 60))
        .collect();
    common::assert_exactly_once(&seen, &batches);
}

/// Bodies being received at once share one budget (`--frame-budget`,
/// never less than `--http-max-body`): a body that would pass it is
/// answered 503 with `Retry-After`, and the body holding it is unharmed.
#[test]
fn bodies_received_at_once_share_one_budget() {
    let dir = tempfile::tempdir().unwrap();
    let t = start(dir.path(), &[], 1);
    let http: SocketAddr = t.addr("http", 0).parse().unwrap();
    // 12 MiB of records, sent but for the final chunk: held by the listener.
    let pad = "p".repeat(1000);
    let lines: String = (0..12 * 1024)
        .map(|n| format!("{{\"msg\":\"held {n}\",\"fields\":{{\"pad\":\"{pad}\"}}}}\n"))
        .collect();
    let mut held = TcpStream::connect(http).unwrap();
    held.write_all(
        b"POST /log HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-ndjson\r\ntransfer-encoding: chunked\r\n\r\n",
    )
    .unwrap();
    held.write_all(format!("{:x}\r\n", lines.len()).as_bytes())
        .unwrap();
    held.write_all(lines.as_bytes()).unwrap();
    held.write_all(b"\r\n").unwrap();
    // 8 MiB more cannot fit beside it once it is all in: 503. Until then
    // it may fit, and is refused as the bad body it is (nothing written).
    let url = format!("http://{http}/log");
    let other = dir.path().join("other");
    std::fs::write(&other, "x".repeat(8 << 20)).unwrap();
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let (code, answer) = curl(&[
            "-i",
            "-H",
            "Content-Type: application/x-ndjson",
            "--data-binary",
            &format!("@{}", other.display()),
            &url,
        ]);
        if code == 503 {
            assert!(
                answer
                    .to_ascii_lowercase()
                    .contains("\r\nretry-after: 1\r\n"),
                "{answer}"
            );
            assert!(answer.contains("frame-budget"), "{answer}");
            break;
        }
        assert_eq!(code, 400, "{answer}");
        assert!(
            std::time::Instant::now() < deadline,
            "never refused for the budget"
        );
    }
    // The held body completes and lands whole.
    held.write_all(b"0\r\n\r\n").unwrap();
    held.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut answer = Vec::new();
    let mut chunk = [0u8; 512];
    while !answer.ends_with(b"}\n") {
        let n = held.read(&mut chunk).unwrap();
        assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&chunk[..n]);
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.ends_with("{\"accepted\":12288}\n"), "{answer}");
    let out = dir.path().join("out.log");
    wait_for_lines(&out, 12 * 1024);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let seen = by_msg(&read_json(&out));
    assert_eq!(seen.len(), 12 * 1024);
    for n in [0, 6000, 12 * 1024 - 1] {
        once(&seen, &format!("held {n}"));
    }
}

/// JSON records posted over HTTP take the stream inputs' paths (a native
/// line as it came, a foreign key order moved into native order, the
/// rest decoded) and come out as the same lines as over TCP; a record the
/// output filters out is counted as filtered either way.
#[test]
fn json_records_over_http_are_written_as_over_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let t = start(dir.path(), &["--tcp", "127.0.0.1:0", "--level", "INFO"], 2);
    let out = dir.path().join("out.log");
    let foreign = |n: u64| {
        format!(
            r#"{{"fields":{{"a":{n},"b":"x\"y"}},"level":"WARNING","levelno":30,"logger":"app.db","msg":"foreign {n}","pid":42,"seq":{n},"ts":"2026-12-06T10:00:00.{n:06}Z"}}"#
        )
    };
    let mut records: Vec<String> = (1..=3).map(foreign).collect();
    // Decoded: keys of another vocabulary.
    records.push(
        r#"{"ts":"2026-12-06T10:00:01Z","message":"plain","levelname":"ERROR","name":"app"}"#
            .to_owned(),
    );
    // Filtered out by --level INFO.
    records.push(
        r#"{"ts":"2026-12-06T10:00:00Z","level":"DEBUG","levelno":10,"logger":"app","msg":"quiet"}"#
            .to_owned(),
    );
    let body = records.join("\n") + "\n";
    let mut tcp = TcpStream::connect(t.tcp(0)).unwrap();
    tcp.write_all(body.as_bytes()).unwrap();
    drop(tcp);
    let first = wait_for_lines(&out, 4);
    assert_eq!(first.len(), 4);
    // A line as the listener wrote it is native already: posted back, it
    // must be written as it is.
    let written = std::fs::read_to_string(&out).unwrap();
    let native = written.lines().next().unwrap().to_owned();
    let url = format!("http://{}/log", t.addr("http", 0));
    let (code, answer) = curl(&["--data-binary", &body, &url]);
    assert_eq!(code, 200, "{answer}");
    let (code, answer) = curl(&["--data-binary", &format!("{native}\n"), &url]);
    assert_eq!(code, 200, "{answer}");
    wait_for_lines(&out, 9);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let text = std::fs::read_to_string(&out).unwrap();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for line in text.lines() {
        *counts.entry(line).or_default() += 1;
    }
    // Every line TCP wrote, HTTP wrote identically; the native one a
    // third time.
    assert_eq!(counts.len(), 4, "{text}");
    for (line, n) in &counts {
        let want = if *line == native { 3 } else { 2 };
        assert_eq!(*n, want, "{line}");
    }
    assert_eq!(summary_counter(&stderr, "filtered"), 2, "{stderr}");
}
