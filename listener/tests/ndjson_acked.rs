//! Acknowledged delivery over an NDJSON stream: the last line, sent
//! without its `\n` before the producer closes, is numbered like every
//! other, so its resend after a reconnect is recognised as a duplicate.

#![allow(clippy::unwrap_used)] // a test: a failure should fail it

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;

const RECORDS: u64 = 20;

fn hello(next: u64) -> String {
    format!(
        r#"{{"tributary":"hello","version":1,"producer":"nd","epoch":"0123456789abcdef","next":{next}}}"#
    )
}

fn record(n: u64) -> String {
    format!(
        r#"{{"ts":"2026-12-06T10:00:00.000000Z","level":"INFO","levelno":20,"logger":"nd","msg":"nd #{n}","fields":{{"producer":"nd","n":{n}}}}}"#
    )
}

/// Reads one length-prefixed control frame and returns its `next`.
fn welcome_next(stream: &mut TcpStream) -> u64 {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).expect("a welcome");
    let mut payload = vec![0u8; u32::from_be_bytes(len) as usize];
    stream
        .read_exact(&mut payload)
        .expect("the welcome's payload");
    let reply: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(reply["tributary"], "welcome", "{reply}");
    reply["next"].as_u64().unwrap()
}

/// Sends the hello and records `next..RECORDS` as lines, the last one
/// without its `\n`, then closes; returns the welcome's `next`.
fn send_all(addr: std::net::SocketAddr, next: u64) -> u64 {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(format!("{}\n", hello(next)).as_bytes())
        .unwrap();
    let start = welcome_next(&mut stream);
    let lines: Vec<String> = (start..RECORDS).map(record).collect();
    stream.write_all(lines.join("\n").as_bytes()).unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    // The listener closes once it has read everything.
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    start
}

#[test]
fn the_last_unterminated_line_of_an_acknowledged_stream_is_numbered() {
    let dir = tempfile::tempdir().unwrap();
    let t = Tributary::start(dir.path(), &["--tcp", "127.0.0.1:0", "--out", "out.log"]);
    let addr = t.tcp(0);
    assert_eq!(send_all(addr, 0), 0);
    let out = dir.path().join("out.log");
    wait_for_lines(&out, RECORDS as usize);
    // The producer never saw an acknowledgement, so it resends everything:
    // the welcome must say all of it is written, the last line included.
    let mut start = 0;
    let deadline = std::time::Instant::now() + PATIENCE;
    while start < RECORDS {
        assert!(
            std::time::Instant::now() < deadline,
            "the welcome still asks for record {start} of {RECORDS}"
        );
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .write_all(format!("{}\n", hello(0)).as_bytes())
            .unwrap();
        start = welcome_next(&mut stream);
        // The commit follows the write as soon as the queue runs dry.
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        start, RECORDS,
        "every record, the last line included, is written"
    );
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let seen = tally(&read_json(&out));
    assert_eq!(seen.len(), RECORDS as usize, "{seen:?}");
    assert!(seen.values().all(|&c| c == 1), "each record once: {seen:?}");
}
