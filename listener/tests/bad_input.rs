//! Bad input costs only itself: garbage, a 4 GiB length, a truncated frame,
//! invalid UTF-8, a code-executing pickle and a one-byte-at-a-time client,
//! all while good producers keep sending. Every good record lands, every
//! bad one is counted, and the listener keeps serving.

#![allow(clippy::unwrap_used)] // helpers of tests: a failure should fail the test

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::time::Duration;
use tributary_core::{JsonFormatter, frame};

fn framed(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    frame::encode(payload, &mut out).unwrap();
    out
}

fn native(producer: &str, n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    frame::encode_record(
        &rust_record(producer, n),
        &JsonFormatter::native(),
        &mut out,
    )
    .unwrap();
    out
}

fn line(producer: &str, n: u64) -> Vec<u8> {
    format!("{{\"msg\":\"ok\",\"producer\":\"{producer}\",\"n\":{n}}}\n").into_bytes()
}

#[test]
fn bad_input_affects_only_itself() {
    let dir = tempfile::tempdir().unwrap();
    let t = Tributary::start(
        dir.path(),
        &[
            "--tcp",
            "127.0.0.1:0",
            "--udp",
            "127.0.0.1:0",
            "--out",
            "all.log",
        ],
    );
    let addr = t.tcp(0);
    let udp = t.udp(0);

    let mut producers: Vec<(String, u64)> = Vec::new();
    let mut good = Vec::new();
    for i in 0..4 {
        let name = format!("frames{i}");
        producers.push((name.clone(), 2000));
        good.push(std::thread::spawn(move || send_native(addr, &name, 2000)));
    }
    for i in 0..2 {
        let name = format!("lines{i}");
        producers.push((name.clone(), 1000));
        good.push(std::thread::spawn(move || send_lines(addr, &name, 1000)));
    }

    // A client sending a valid frame one byte at a time: it gets its record
    // written, and nobody waits for it.
    producers.push(("slow".into(), 1));
    let slow = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        for b in native("slow", 0) {
            s.write_all(&[b]).unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
    });

    let send = |bytes: &[u8]| {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(bytes).unwrap();
        s
    };
    // Garbage (an HTTP request): its first 4 bytes read as a huge length.
    drop(send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    // A 4 GiB length: refused before any allocation; the connection closes.
    let mut huge = send(b"\xff\xff\xff\xffxxxxxxxx");
    let mut rest = Vec::new();
    let _ = huge.read_to_end(&mut rest); // returns once the listener closed it
    // A truncated frame: the peer vanishes mid-frame.
    let mut truncated = native("truncated", 0);
    truncated.truncate(truncated.len() - 5);
    drop(send(&truncated));
    // A pickle that would run os.system('id'), then a good frame on the same
    // connection: only the bad record is skipped.
    let evil = b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.";
    let mut wire = framed(evil);
    wire.extend(native("after-pickle", 0));
    drop(send(&wire));
    producers.push(("after-pickle".into(), 1));
    // Newline-delimited JSON with a garbage line and invalid UTF-8: the
    // garbage is skipped, the invalid UTF-8 repaired.
    let mut wire = line("lines-mixed", 0);
    wire.extend(b"this is not json\n");
    wire.extend(b"{\"msg\":\"caf\xe9\",\"producer\":\"lines-mixed\",\"n\":1}\n");
    wire.extend(line("lines-mixed", 2));
    drop(send(&wire));
    producers.push(("lines-mixed".into(), 3));
    // A garbage datagram and a good one.
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    u.send_to(b"hello there", udp).unwrap();
    u.send_to(&native("udp", 0), udp).unwrap();
    producers.push(("udp".into(), 1));

    for g in good {
        g.join().unwrap();
    }
    slow.join().unwrap();
    // Still serving after all that.
    send_native(addr, "late", 1);
    producers.push(("late".into(), 1));

    let total: u64 = producers.iter().map(|(_, c)| c).sum();
    wait_for_lines(&dir.path().join("all.log"), total as usize);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let lines = read_json(&dir.path().join("all.log"));
    assert_exactly_once(&tally(&lines), &producers);
    let repaired = lines
        .iter()
        .find(|l| l["fields"]["producer"] == "lines-mixed" && l["fields"]["n"] == 1)
        .unwrap();
    assert_eq!(repaired["msg"], "caf\u{fffd}");

    // garbage, 4 GiB, truncated, pickle, garbage line, garbage datagram
    assert_eq!(summary_counter(&stderr, "malformed"), 6, "{stderr}");
    assert!(stderr.contains("exceeds the maximum"), "{stderr}");
    assert!(stderr.contains("input ended inside a frame"), "{stderr}");
    assert!(stderr.contains("pickle"), "{stderr}");
    // Diagnostics name the peer.
    assert!(stderr.contains("from 127.0.0.1:"), "{stderr}");
}

/// The connection limit, with no idle timeout: no timer can free a slot
/// behind the test's back, however slow the machine.
#[test]
fn connection_limit_rejects_the_connection_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let t = Tributary::start(
        dir.path(),
        &[
            "--tcp",
            "127.0.0.1:0",
            "--out",
            "all.log",
            "--max-connections",
            "2",
        ],
    );
    let addr = t.tcp(0);
    let mut a = TcpStream::connect(addr).unwrap();
    a.write_all(&native("a", 0)).unwrap();
    let mut b = TcpStream::connect(addr).unwrap();
    b.write_all(&native("b", 0)).unwrap();
    wait_for_lines(&dir.path().join("all.log"), 2);
    // A third connection is accepted and closed at once.
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut buf = [0u8; 1];
    match c.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("the connection over the limit was not closed: {other:?}"),
    }
    // Closing one frees its slot.
    drop(a);
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let mut d = TcpStream::connect(addr).unwrap();
        d.write_all(&native("d", 0)).unwrap();
        d.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        // Served: the listener keeps it open (the read times out); a
        // rejected one reads end of stream or a reset.
        if d.read(&mut buf).is_err_and(|e| {
            matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            )
        }) {
            break;
        }
        // Rejected: the slot was not freed yet.
        assert!(
            std::time::Instant::now() < deadline,
            "the slot of a closed connection was never freed"
        );
    }
    wait_for_lines(&dir.path().join("all.log"), 3);
    drop(b);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let rejected = summary_counter(&stderr, "rejected");
    assert!(rejected >= 1, "{stderr}");
    assert_eq!(summary_counter(&stderr, "connections"), 3, "{stderr}");
    assert!(stderr.contains("max-connections reached"), "{stderr}");
    let seen = tally(&read_json(&dir.path().join("all.log")));
    assert_exactly_once(&seen, &[("a".into(), 1), ("b".into(), 1), ("d".into(), 1)]);
}

/// Silent connections are closed by the idle timeout, freeing their slots.
#[test]
fn idle_timeout_closes_silent_connections_and_frees_their_slots() {
    let dir = tempfile::tempdir().unwrap();
    let t = Tributary::start(
        dir.path(),
        &[
            "--tcp",
            "127.0.0.1:0",
            "--out",
            "all.log",
            "--max-connections",
            "2",
            "--idle-timeout",
            "1s",
        ],
    );
    let addr = t.tcp(0);
    let mut a = TcpStream::connect(addr).unwrap();
    a.write_all(&native("a", 0)).unwrap();
    let mut b = TcpStream::connect(addr).unwrap();
    b.write_all(&native("b", 0)).unwrap();
    let mut buf = [0u8; 1];
    for s in [&mut a, &mut b] {
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        assert_eq!(s.read(&mut buf).unwrap(), 0, "closed by the idle timeout");
    }
    send_native(addr, "d", 1);
    wait_for_lines(&dir.path().join("all.log"), 3);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    assert_eq!(summary_counter(&stderr, "connections"), 3, "{stderr}");
    assert!(stderr.contains("idle"), "{stderr}");
    let seen = tally(&read_json(&dir.path().join("all.log")));
    assert_exactly_once(&seen, &[("a".into(), 1), ("b".into(), 1), ("d".into(), 1)]);
}

/// A slow-loris client that starts a frame and never finishes it is closed
/// after the frame timeout, freeing its slot; a client that is merely slow
/// (whole frames, far apart) is served, however long it takes.
#[test]
fn an_unfinished_frame_is_closed_after_the_frame_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let t = Tributary::start(
        dir.path(),
        &[
            "--tcp",
            "127.0.0.1:0",
            "--out",
            "out.log",
            "--frame-timeout",
            "1s",
        ],
    );
    let addr = t.tcp(0);
    let mut loris = TcpStream::connect(addr).unwrap();
    let half = native("loris", 0);
    loris.write_all(&half[..half.len() / 2]).unwrap();
    let mut slow = TcpStream::connect(addr).unwrap();
    // Whole frames 400 ms apart, for longer than the frame timeout.
    for n in 0..6 {
        slow.write_all(&native("slow", n)).unwrap();
        std::thread::sleep(Duration::from_millis(400));
    }
    loris.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut byte = [0u8; 1];
    assert_eq!(
        loris.read(&mut byte).unwrap(),
        0,
        "the listener closes the loris"
    );
    drop(slow);
    let (status, err) = t.stop();
    assert!(status.success(), "{err}");
    assert!(err.contains("unfinished frame"), "{err}");
    assert_eq!(summary_counter(&err, "malformed"), 1, "{err}");
    let seen = tally(&read_json(&dir.path().join("out.log")));
    assert_exactly_once(&seen, &[("slow".to_owned(), 6)]);
}

/// A frame still unfinished when the listener shuts down is counted and
/// reported, not dropped silently; the whole frames before it are written.
#[test]
fn an_unfinished_frame_at_shutdown_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let t = Tributary::start(dir.path(), &["--tcp", "127.0.0.1:0", "--out", "out.log"]);
    let mut s = TcpStream::connect(t.tcp(0)).unwrap();
    let mut wire = native("cut", 0);
    wire.extend_from_slice(&native("cut", 1));
    let half = native("cut", 2);
    wire.extend_from_slice(&half[..half.len() / 2]);
    s.write_all(&wire).unwrap();
    // Both whole frames are in before shutdown, so the drain is what sees
    // the half frame.
    wait_for_lines(&dir.path().join("out.log"), 2);
    let (status, err) = t.stop();
    assert!(status.success(), "{err}");
    assert!(err.contains("at shutdown with"), "{err}");
    assert_eq!(summary_counter(&err, "malformed"), 1, "{err}");
    let seen = tally(&read_json(&dir.path().join("out.log")));
    assert_exactly_once(&seen, &[("cut".to_owned(), 2)]);
    drop(s);
}
