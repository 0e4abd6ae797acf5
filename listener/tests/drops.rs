//! Datagram inputs cannot be slowed down: when the queue is full they drop,
//! count, and say so in-band. With the writer stalled on a full pipe, a UDP
//! flood is dropped; once the writer moves again, "N records dropped"
//! records account for every datagram that was not written. Stream inputs
//! meanwhile lose nothing.

#![allow(clippy::unwrap_used)] // a test: a failure should fail it

mod common;

use common::*;
use std::io::Read;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};
use tributary_core::{Formatter, JsonFormatter};

/// Bytes waiting in a pipe or socket.
fn waiting(fd: i32) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int; fd is open for the whole call.
    assert_eq!(unsafe { libc::ioctl(fd, libc::FIONREAD, &raw mut n) }, 0);
    n as usize
}

/// The kernel's (receive queue, drops) of the UDP socket bound to `port`
/// on 127.0.0.1, from /proc/net/udp: datagrams the kernel itself dropped
/// never reach the listener, so they are counted here.
fn kernel_udp(port: u16) -> (u64, u64) {
    let local = format!("0100007F:{port:04X}");
    let table = std::fs::read_to_string("/proc/net/udp").unwrap();
    let line = table
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(local.as_str()))
        .unwrap_or_else(|| panic!("no {local} in /proc/net/udp:\n{table}"));
    let cols: Vec<_> = line.split_whitespace().collect();
    let rx_queue = u64::from_str_radix(cols[4].split(':').nth(1).unwrap(), 16).unwrap();
    (rx_queue, cols.last().unwrap().parse().unwrap())
}

#[test]
fn a_udp_flood_against_a_stalled_writer_is_dropped_counted_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("out.fifo");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    // Our read end, opened first so the listener's open for writing does
    // not wait; nothing is read from it until the flood is over.
    let mut reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let t = Tributary::start(
        dir.path(),
        &[
            "--tcp",
            "127.0.0.1:0",
            "--udp",
            "127.0.0.1:0",
            "--out",
            "out.fifo",
            "--queue-capacity",
            "1",
        ],
    );
    let fd = reader.as_raw_fd();
    // SAFETY: clearing O_NONBLOCK on our own open descriptor.
    assert_eq!(unsafe { libc::fcntl(fd, libc::F_SETFL, 0) }, 0);

    // Before the stall, datagrams go through (one at a time: with room for
    // one record, a burst is dropped even by a writer that keeps up).
    let udp = t.udp(0);
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut datagram = Vec::new();
    let mut send = |n| {
        datagram.clear();
        JsonFormatter::native().format(&rust_record("udp", n), &mut datagram);
        sender.send_to(&datagram, udp).unwrap();
    };
    let before = 20;
    for n in 0..before {
        let written = waiting(fd);
        send(n);
        let deadline = Instant::now() + PATIENCE;
        while waiting(fd) == written {
            assert!(Instant::now() < deadline, "datagram {n} was not written");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    // A stream producer fills the pipe: the writer blocks on it, holding
    // the queue's only place. The stream is only slowed, never dropped.
    let tcp_count = 20_000;
    let addr = t.tcp(0);
    let stream = std::thread::spawn(move || send_native(addr, "tcp", tcp_count));
    // Full: tens of KiB that stop growing (a pipe holds up to 64 KiB, less
    // when writes do not fill its pages).
    let deadline = Instant::now() + PATIENCE;
    let mut last = (0, 0);
    while last.1 < 5 {
        assert!(Instant::now() < deadline, "the pipe never filled");
        std::thread::sleep(Duration::from_millis(20));
        let now = waiting(fd);
        last = if now == last.0 && now > 32 * 1024 {
            (now, last.1 + 1)
        } else {
            (now, 0)
        };
    }

    let sent = 3000u64;
    for n in before..sent {
        send(n);
    }
    // Once the listener has read everything the kernel kept, the kernel's
    // own drops are final.
    let deadline = Instant::now() + PATIENCE;
    while kernel_udp(udp.port()).0 > 0 {
        assert!(
            Instant::now() < deadline,
            "the listener stopped reading UDP"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let kernel_drops = kernel_udp(udp.port()).1;

    // Unstall the writer and stop: the notices are written at the latest
    // when the UDP input drains at shutdown.
    let drain = std::thread::spawn(move || {
        let mut out = String::new();
        reader.read_to_string(&mut out).unwrap();
        out
    });
    stream.join().unwrap();
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let out = drain.join().unwrap();
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    let notices: Vec<_> = lines
        .iter()
        .filter(|l| l["logger"] == "tributary")
        .collect();
    let reported: u64 = notices
        .iter()
        .map(|n| {
            let dropped = n["fields"]["dropped"].as_u64().unwrap();
            assert_eq!(n["level"], "WARNING");
            assert_eq!(
                n["msg"],
                format!("{dropped} records dropped from udp {udp}"),
                "{n}"
            );
            assert_eq!(n["fields"]["input"], format!("udp {udp}"));
            dropped
        })
        .sum();
    let seen = tally(&lines);
    let delivered = seen.keys().filter(|(p, _)| p == "udp").count() as u64;
    assert!(seen.values().all(|&c| c == 1), "a record written twice");
    assert!(reported > 0, "nothing dropped: the writer was not stalled");
    assert!(delivered >= before, "only {delivered} delivered");
    assert_eq!(
        delivered + reported + kernel_drops,
        sent,
        "delivered {delivered} + reported {reported} + dropped by the kernel {kernel_drops}"
    );
    assert_eq!(summary_counter(&stderr, "dropped"), reported, "{stderr}");
    // The stream input was only slowed down.
    let tcp: Vec<_> = seen.keys().filter(|(p, _)| p == "tcp").collect();
    assert_eq!(tcp.len() as u64, tcp_count);
}
