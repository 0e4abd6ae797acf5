//! Connections cannot be used to take the listener's memory or its slots:
//! a budget for bytes held in unfinished frames, room for a producer when
//! idle sockets hold every slot, a per-peer cap, and a timeout for
//! connections that never complete a frame.

#![allow(clippy::unwrap_used)] // a test: a failure should fail it

mod common;

use common::{
    PATIENCE, Tributary, closed_by_peer, proc_status_kib, raise_open_files, send_native,
    summary_counter, tally, wait_for_lines,
};
use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// Polls `f` until it holds, failing with `what` at the deadline.
fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A listener on a free loopback TCP port writing `out.log`, with `extra`
/// flags.
fn start_tcp(dir: &std::path::Path, extra: &[&str]) -> Tributary {
    let mut args = vec!["--tcp", "127.0.0.1:0", "--out", "out.log"];
    args.extend_from_slice(extra);
    Tributary::start(dir, &args)
}

fn closed<T: AsRawFd>(sockets: &[T]) -> usize {
    sockets
        .iter()
        .filter(|s| closed_by_peer(s.as_raw_fd()))
        .count()
}

/// Each of 1,000 connections sends a 1 MB frame but its last byte: past
/// the frame budget the listener closes those holding the most, so its
/// memory stays bounded, and a producer arriving afterwards is served.
#[test]
fn a_thousand_unfinished_large_frames_keep_the_listener_small_and_a_producer_gets_in() {
    const CONNECTIONS: usize = 1_000;
    const FRAME: usize = 1_000_000;
    raise_open_files(8_192);
    let dir = tempfile::tempdir().unwrap();
    // No first-frame timeout: the budget alone must bound the memory.
    let t = start_tcp(dir.path(), &["--first-frame-timeout", "0"]);
    let addr = t.tcp(0);
    let mut wire = (FRAME as u32).to_be_bytes().to_vec();
    wire.push(b'{');
    wire.resize(4 + FRAME - 1, b'x');
    let sockets: Vec<TcpStream> = (0..CONNECTIONS)
        .map(|_| {
            let s = TcpStream::connect(addr).unwrap();
            s.set_nonblocking(true).unwrap();
            s
        })
        .collect();
    // Everything but the last byte of each frame, as fast as the kernel
    // takes it; a connection the listener closed takes no more.
    let mut sent = vec![0usize; CONNECTIONS];
    let mut done = vec![false; CONNECTIONS];
    let deadline = Instant::now() + PATIENCE;
    while done.iter().any(|d| !d) {
        assert!(Instant::now() < deadline, "the frames were not sent");
        let mut progress = false;
        for (i, mut s) in sockets.iter().enumerate() {
            if done[i] {
                continue;
            }
            match s.write(&wire[sent[i]..]) {
                Ok(n) => {
                    sent[i] += n;
                    progress |= n > 0;
                    done[i] = sent[i] == wire.len();
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => done[i] = true, // closed by the listener
            }
        }
        if !progress {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    // At most 16 frames of 1 MB fit in the 16 MiB budget: the others'
    // connections are closed.
    wait_until("the connections past the budget to close", || {
        closed(&sockets) >= CONNECTIONS - 16
    });
    send_native(addr, "legit", 100);
    let lines = wait_for_lines(&dir.path().join("out.log"), 100);
    let seen = tally(&lines);
    assert_eq!(seen.len(), 100, "{seen:?}");
    assert!(seen.iter().all(|((p, _), n)| p == "legit" && *n == 1));
    let peak_kib = proc_status_kib(t.pid(), "VmHWM");
    eprintln!(
        "peak RSS with {CONNECTIONS} unfinished {FRAME}-byte frames: {} KiB",
        peak_kib
    );
    let evicted = closed(&sockets);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    assert!(
        peak_kib <= 64 * 1024,
        "peak RSS {peak_kib} KiB with {CONNECTIONS} unfinished frames (budget 64 MiB)"
    );
    assert_eq!(
        summary_counter(&stderr, "evicted"),
        evicted as u64,
        "{stderr}"
    );
    assert!(
        stderr.contains("passed frame-budget (16777216 bytes)"),
        "{stderr}"
    );
}

/// 1,100 connections that send nothing, from one local client, fill every
/// slot (max-connections 1024); each new connection takes the slot of the
/// oldest one that has completed no frame, so a producer still gets in.
#[test]
fn idle_connections_from_one_client_cannot_keep_a_producer_out() {
    const IDLE: usize = 1_100;
    raise_open_files(8_192);
    let dir = tempfile::tempdir().unwrap();
    // No first-frame timeout, so only room-making closes connections and
    // the count is exact.
    let t = start_tcp(dir.path(), &["--first-frame-timeout", "0"]);
    let addr = t.tcp(0);
    let idle: Vec<TcpStream> = (0..IDLE)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    wait_until("the slots to be taken", || closed(&idle) >= IDLE - 1024);
    send_native(addr, "legit", 10);
    let seen = tally(&wait_for_lines(&dir.path().join("out.log"), 10));
    assert_eq!(seen.len(), 10, "the producer's records: {seen:?}");
    let expected = IDLE + 1 - 1024;
    wait_until("the producer's slot to be made", || {
        closed(&idle) >= expected
    });
    assert_eq!(closed(&idle), expected);
    // The oldest went first.
    assert!(
        idle[..expected]
            .iter()
            .all(|s| closed_by_peer(s.as_raw_fd()))
    );
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    assert_eq!(summary_counter(&stderr, "evicted"), expected as u64);
    assert_eq!(summary_counter(&stderr, "rejected"), 0);
    assert!(
        stderr.contains("had completed no frame or line and max-connections was reached"),
        "{stderr}"
    );
}

/// A connection that sends nothing is closed after the first-frame
/// timeout; one that completed a frame, opened at the same moment, stays.
#[test]
fn a_connection_that_completes_no_frame_is_closed_and_a_producer_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let t = start_tcp(dir.path(), &["--first-frame-timeout", "1s"]);
    let addr = t.tcp(0);
    let silent = TcpStream::connect(addr).unwrap();
    let mut producer = TcpStream::connect(addr).unwrap();
    let mut wire = Vec::new();
    tributary_core::frame::encode_record(
        &common::rust_record("kept", 0),
        &tributary_core::JsonFormatter::native(),
        &mut wire,
    )
    .unwrap();
    producer.write_all(&wire).unwrap();
    wait_for_lines(&dir.path().join("out.log"), 1);
    wait_until("the silent connection to close", || {
        closed_by_peer(silent.as_raw_fd())
    });
    assert!(
        !closed_by_peer(producer.as_raw_fd()),
        "a connection that completed a frame was closed"
    );
    drop(producer);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    assert_eq!(
        stderr
            .matches("no frame or line completed since it opened (first-frame-timeout)")
            .count(),
        1,
        "{stderr}"
    );
}

/// One process may hold `max-connections-per-peer` Unix connections; the
/// next is refused, counted and reported, and another process still gets in.
#[test]
fn a_unix_peer_past_its_cap_is_refused_and_another_process_gets_in() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("in.sock");
    let sock_arg = sock.to_str().unwrap();
    let t = Tributary::start(
        dir.path(),
        &[
            "--unix",
            sock_arg,
            "--out",
            "out.log",
            "--max-connections-per-peer",
            "3",
        ],
    );
    let held: Vec<UnixStream> = (0..3)
        .map(|_| UnixStream::connect(&sock).unwrap())
        .collect();
    let refused = UnixStream::connect(&sock).unwrap();
    wait_until("the fourth connection to be refused", || {
        closed_by_peer(refused.as_raw_fd())
    });
    assert_eq!(closed(&held), 0, "the first three stay open");
    let python = std::process::Command::new("python3")
        .args([
            "-c",
            "import socket, sys\n\
             s = socket.socket(socket.AF_UNIX)\n\
             s.connect(sys.argv[1])\n\
             s.sendall(b'{\"msg\": \"from another process\", \"logger\": \"other\"}\\n')\n\
             s.close()",
            sock_arg,
        ])
        .status()
        .expect("python3 is needed for this test: install it (apt-get install python3)");
    assert!(python.success());
    let lines = wait_for_lines(&dir.path().join("out.log"), 1);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["msg"], "from another process");
    drop(held);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    assert_eq!(summary_counter(&stderr, "rejected"), 1, "{stderr}");
    assert_eq!(
        stderr
            .matches("it has 3 connections open (max-connections-per-peer)")
            .count(),
        1,
        "{stderr}"
    );
}
