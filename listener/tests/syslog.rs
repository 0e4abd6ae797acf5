//! Syslog inputs with the real clients, started by the tests: Python's
//! `logging.handlers.SysLogHandler` (UDP, TCP, Unix socket), util-linux
//! `logger` (RFC 5424, RFC 3164, octet counting, TCP, UDP, Unix sockets)
//! and `rsyslogd` forwarding with RFC 5424 and octet framing. Every
//! message must land exactly once with the right level, logger, host and
//! text. Then the bad input: each gets a clear error or a counted lenient
//! record, memory stays bounded, and another producer's records all land.

#![allow(clippy::unwrap_used)]

mod common;
// One throwaway PKI for the TLS tests of both crates.
#[cfg(feature = "tls")]
#[path = "../../handlers/tests/pki/mod.rs"]
mod pki;

use common::{
    PATIENCE, Tributary, by_msg, free_port, proc_status_kib, summary_counter, wait_for_lines,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

/// This machine's host name, as `logger` puts it in its headers.
fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    assert_eq!(
        unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) },
        0
    );
    let end = buf.iter().position(|&b| b == 0).unwrap();
    String::from_utf8(buf[..end].to_vec()).unwrap()
}

fn run_ok(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts the record with text `msg` was written exactly once, with this
/// level number, logger and host.
fn assert_once(
    seen: &BTreeMap<String, Vec<Value>>,
    msg: &str,
    levelno: i64,
    logger: &str,
    host: &str,
) {
    let got = seen.get(msg).map(Vec::as_slice).unwrap_or_default();
    assert_eq!(
        got.len(),
        1,
        "{msg:?} written {} times; all: {seen:#?}",
        got.len()
    );
    let r = &got[0];
    assert_eq!(r["levelno"].as_i64(), Some(levelno), "level of {r}");
    assert_eq!(r["logger"].as_str(), Some(logger), "logger of {r}");
    assert_eq!(r["host"].as_str(), Some(host), "host of {r}");
}

fn python_syslog(dest: &str, socktype: &str, tag: &str, n: usize) -> Child {
    let script = r#"
import logging, logging.handlers, socket, sys
dest, socktype, tag, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
if socktype == "unix":
    h = logging.handlers.SysLogHandler(address=dest)
else:
    host, port = dest.rsplit(":", 1)
    kind = socket.SOCK_STREAM if socktype == "tcp" else socket.SOCK_DGRAM
    h = logging.handlers.SysLogHandler(address=(host, int(port)), socktype=kind)
h.setFormatter(logging.Formatter("%(name)s: %(message)s"))
log = logging.getLogger("app." + tag)
log.propagate = False
log.addHandler(h)
log.setLevel(logging.DEBUG)
levels = [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL]
for i in range(n):
    log.log(levels[i % 5], "%s message %d caf\u00e9", tag, i)
h.close()
"#;
    Command::new("python3")
        .args(["-c", script, dest, socktype, tag, &n.to_string()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("python3 is needed for this test (Debian: apt-get install python3): {e}")
        })
}

#[test]
fn python_sysloghandler_over_udp_tcp_and_a_unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("log.sock");
    let t = Tributary::start(
        dir.path(),
        &[
            "--syslog-udp",
            "127.0.0.1:0",
            "--syslog-tcp",
            "127.0.0.1:0",
            "--syslog-unix",
            sock.to_str().unwrap(),
            "--out",
            "out.log",
        ],
    );
    assert_eq!(t.addr("syslog-unix", 0), sock.to_str().unwrap());
    let n = 50;
    let clients = [
        python_syslog(&t.addr("syslog-udp", 0), "udp", "udp", n),
        python_syslog(&t.addr("syslog-tcp", 0), "tcp", "tcp", n),
        python_syslog(sock.to_str().unwrap(), "unix", "unix", n),
    ];
    for c in clients {
        common::wait_ok(c, "python SysLogHandler");
    }
    wait_for_lines(&dir.path().join("out.log"), 3 * n);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let seen = by_msg(&common::read_json(&dir.path().join("out.log")));
    let local = host_name();
    // Python's level → syslog severity → our level.
    let levels = [10, 20, 30, 40, 50];
    for (tag, host) in [
        ("udp", "127.0.0.1"),
        ("tcp", "127.0.0.1"),
        ("unix", local.as_str()),
    ] {
        for i in 0..n {
            let msg = format!("{tag} message {i} caf\u{e9}");
            assert_once(&seen, &msg, levels[i % 5], &format!("app.{tag}"), host);
        }
    }
    assert_eq!(seen.len(), 3 * n, "unexpected records: {seen:#?}");
    assert_eq!(summary_counter(&stderr, "malformed"), 0, "{stderr}");
}

fn logger(args: &[&str], msg: &str) {
    let mut cmd = Command::new("logger");
    cmd.args(args).arg(msg);
    run_ok(&mut cmd, &format!("logger {args:?}"));
}

#[test]
fn util_linux_logger_in_every_form() {
    common::need("logger", "bsdutils");
    let dir = tempfile::tempdir().unwrap();
    let dgram = dir.path().join("dev-log");
    let stream = dir.path().join("dev-log-stream");
    let t = Tributary::start(
        dir.path(),
        &[
            "--syslog-udp",
            "127.0.0.1:0",
            "--syslog-tcp",
            "127.0.0.1:0",
            "--syslog-unix",
            dgram.to_str().unwrap(),
            "--syslog-unix-stream",
            stream.to_str().unwrap(),
            "--out",
            "out.log",
        ],
    );
    let udp = t.addr("syslog-udp", 0);
    let tcp = t.addr("syslog-tcp", 0);
    let (uh, up) = udp.rsplit_once(':').unwrap();
    let (th, tp) = tcp.rsplit_once(':').unwrap();
    // (flags, message, expected level number)
    let cases: Vec<(Vec<&str>, &str, i64)> = vec![
        (
            vec![
                "--udp",
                "-n",
                uh,
                "-P",
                up,
                "--rfc5424",
                "-p",
                "user.notice",
            ],
            "udp 5424 notice",
            25,
        ),
        (
            vec!["--udp", "-n", uh, "-P", up, "--rfc3164", "-p", "user.err"],
            "udp 3164 err",
            40,
        ),
        (
            vec![
                "--tcp",
                "-n",
                th,
                "-P",
                tp,
                "--rfc5424",
                "-p",
                "daemon.info",
            ],
            "tcp 5424 info",
            20,
        ),
        (
            vec![
                "--tcp",
                "-n",
                th,
                "-P",
                tp,
                "--rfc3164",
                "-p",
                "local0.warning",
            ],
            "tcp 3164 warning",
            30,
        ),
        (
            vec![
                "--tcp",
                "-n",
                th,
                "-P",
                tp,
                "--rfc5424",
                "--octet-count",
                "-p",
                "user.debug",
            ],
            "tcp octet debug",
            10,
        ),
        (
            vec![
                "--tcp",
                "-n",
                th,
                "-P",
                tp,
                "--rfc3164",
                "--octet-count",
                "-p",
                "user.crit",
            ],
            "tcp 3164 octet crit",
            50,
        ),
        (
            vec!["-u", dgram.to_str().unwrap(), "-p", "user.alert"],
            "unix dgram alert",
            50,
        ),
        (
            vec!["-u", stream.to_str().unwrap(), "--tcp", "-p", "user.emerg"],
            "unix stream emerg",
            50,
        ),
        (
            vec![
                "-u",
                dgram.to_str().unwrap(),
                "--rfc5424",
                "-p",
                "user.info",
            ],
            "unix dgram 5424",
            20,
        ),
    ];
    for (flags, msg, _) in &cases {
        let mut args = flags.clone();
        args.extend(["-t", "myapp"]);
        logger(&args, msg);
    }
    wait_for_lines(&dir.path().join("out.log"), cases.len());
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let lines = common::read_json(&dir.path().join("out.log"));
    let seen = by_msg(&lines);
    let local = host_name();
    let short = local.split('.').next().unwrap().to_owned();
    for (flags, msg, levelno) in &cases {
        // RFC 3164 carries the short name; to a Unix socket logger sends
        // no host at all (the listener's own name is used).
        let host = if flags.contains(&"--rfc3164") {
            &short
        } else {
            &local
        };
        assert_once(&seen, msg, *levelno, "myapp", host);
    }
    assert_eq!(seen.len(), cases.len(), "{seen:#?}");
    let facility = |msg: &str| {
        seen[msg][0]["fields"]["facility"]
            .as_str()
            .map(str::to_owned)
    };
    assert_eq!(facility("tcp 5424 info").as_deref(), Some("daemon"));
    assert_eq!(facility("tcp 3164 warning").as_deref(), Some("local0"));
    assert_eq!(summary_counter(&stderr, "malformed"), 0, "{stderr}");
}

/// Stops the child on drop.
struct Stopped(Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let _ = self.0.wait();
    }
}

#[test]
fn rsyslogd_forwards_rfc5424_with_octet_framing() {
    common::need("rsyslogd", "rsyslog");
    common::need("logger", "bsdutils");
    let dir = tempfile::tempdir().unwrap();
    let t = Tributary::start(
        dir.path(),
        &["--syslog-tcp", "127.0.0.1:0", "--out", "out.log"],
    );
    let ours = t.addr("syslog-tcp", 0);
    let (_, our_port) = ours.rsplit_once(':').unwrap();
    let work = dir.path().join("rsyslog");
    std::fs::create_dir(&work).unwrap();
    let in_port = free_port();
    let conf = work.join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            r#"global(workDirectory="{work}")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="{in_port}")
*.* action(type="omfwd" target="127.0.0.1" port="{our_port}" protocol="tcp"
           template="RSYSLOG_SyslogProtocol23Format" TCP_Framing="octet-counted")
"#,
            work = work.display()
        ),
    )
    .unwrap();
    let rsyslog = Stopped(
        Command::new("rsyslogd")
            .args(["-n", "-f"])
            .arg(&conf)
            .arg("-i")
            .arg(work.join("rsyslogd.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Ready once its input accepts connections.
    let deadline = Instant::now() + PATIENCE;
    while TcpStream::connect(("127.0.0.1", in_port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "rsyslogd never listened on {in_port}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let n = 30;
    let prios = [("user.err", 40), ("user.notice", 25), ("user.debug", 10)];
    for i in 0..n {
        let (p, _) = prios[i % 3];
        logger(
            &[
                "--tcp",
                "-n",
                "127.0.0.1",
                "-P",
                &in_port.to_string(),
                "--rfc5424",
                "-t",
                "fwd",
                "-p",
                p,
            ],
            &format!("forwarded {i}"),
        );
    }
    let path = dir.path().join("out.log");
    wait_for_lines(&path, n);
    drop(rsyslog);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let seen = by_msg(&common::read_json(&path));
    let local = host_name();
    for i in 0..n {
        assert_once(
            &seen,
            &format!("forwarded {i}"),
            prios[i % 3].1,
            "fwd",
            &local,
        );
    }
    assert_eq!(seen.len(), n, "{seen:#?}");
}

#[test]
fn bad_input_is_refused_or_kept_and_others_land() {
    let dir = tempfile::tempdir().unwrap();
    let t = Tributary::start(
        dir.path(),
        &[
            "--syslog-tcp",
            "127.0.0.1:0",
            "--syslog-max-message",
            "1MiB",
            "--out",
            "out.log",
        ],
    );
    let addr = t.addr("syslog-tcp", 0);
    let send = |bytes: &[u8]| {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.write_all(bytes).unwrap();
        s
    };
    // A good producer, before, between and after the bad ones.
    let good = |from: usize| {
        let mut wire = Vec::new();
        for i in from..from + 100 {
            let m = format!("<14>1 - goodhost good - - - good {i}");
            wire.extend_from_slice(format!("{} {m}", m.len()).as_bytes());
        }
        drop(send(&wire));
    };
    good(0);
    // Garbage PRI: kept raw, lenient.
    drop(send(b"<abc>garbage pri\n"));
    // Invalid UTF-8: replaced, counted.
    drop(send(b"<13>t: bad \xff utf8\n"));
    // A length prefix of 4 GiB: refused, never allocated, connection closed.
    drop(send(b"4294967296 <13>1 - - - - - - x"));
    good(100);
    // A half-finished octet count at close.
    drop(send(b"100 <13>1 - - - - - - cut"));
    // 10,000 structured-data elements.
    let mut sd = b"<14>1 - h sd - - ".to_vec();
    for i in 0..10_000 {
        sd.extend_from_slice(format!("[e{i} k=\"v\"]").as_bytes());
    }
    sd.extend_from_slice(b" many sd\n");
    drop(send(&sd));
    // A message that never ends: 64 MiB with no LF or NUL, then a good one
    // on the same connection.
    let mut endless = send(b"<13>");
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..64 {
        endless.write_all(&chunk).unwrap();
    }
    endless
        .write_all(b"\n<13>after: after the endless one\n")
        .unwrap();
    drop(endless);
    good(200);
    let path = dir.path().join("out.log");
    // 300 good + garbage + utf8 + sd + after.
    wait_for_lines(&path, 304);
    let peak_kib = proc_status_kib(t.pid(), "VmHWM");
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let seen = by_msg(&common::read_json(&path));
    for i in 0..300 {
        assert_once(&seen, &format!("good {i}"), 20, "good", "goodhost");
    }
    assert_once(&seen, "<abc>garbage pri", 25, "syslog", "127.0.0.1");
    assert_once(&seen, "bad \u{fffd} utf8", 25, "t", "127.0.0.1");
    assert_once(&seen, "many sd", 20, "sd", "h");
    assert_eq!(
        seen["many sd"][0]["fields"].as_object().unwrap().len(),
        10_001
    );
    assert_once(&seen, "after the endless one", 25, "after", "127.0.0.1");
    assert_eq!(seen.len(), 304, "{:#?}", seen.keys().collect::<Vec<_>>());
    assert!(
        stderr.contains("octet count of 4294967296 bytes exceeds the maximum message size"),
        "{stderr}"
    );
    assert!(
        stderr.contains("closed inside an octet-counted message"),
        "{stderr}"
    );
    assert!(
        stderr.contains("without LF or NUL; skipped up to its end"),
        "{stderr}"
    );
    assert_eq!(summary_counter(&stderr, "lenient"), 1, "{stderr}");
    assert_eq!(summary_counter(&stderr, "replaced_utf8"), 1, "{stderr}");
    // 4 GiB count, cut-short count, the endless message.
    assert_eq!(summary_counter(&stderr, "malformed"), 3, "{stderr}");
    // 64 MiB went by; the buffer holds at most one message (1 MiB) and a read.
    assert!(
        peak_kib < 48 * 1024,
        "peak resident set {peak_kib} KiB after 64 MiB unterminated"
    );
}

#[test]
fn rfc3164_timestamps_read_in_the_configured_zone() {
    let dir = tempfile::tempdir().unwrap();
    let t = Tributary::start(
        dir.path(),
        &[
            "--syslog-udp",
            "127.0.0.1:0",
            "--syslog-timezone",
            "Europe/Paris",
            "--out",
            "out.log",
        ],
    );
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    // Noon in Paris in summer (UTC+2), and a 5424 message with a `-`
    // timestamp, stamped on arrival.
    udp.send_to(b"<13>Jul  1 12:00:00 h t: zoned", t.addr("syslog-udp", 0))
        .unwrap();
    udp.send_to(b"<13>1 - h t - - - nil time", t.addr("syslog-udp", 0))
        .unwrap();
    wait_for_lines(&dir.path().join("out.log"), 2);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let seen = by_msg(&common::read_json(&dir.path().join("out.log")));
    let ts = seen["zoned"][0]["ts"].as_str().unwrap().to_owned();
    assert!(ts.ends_with("-07-01T10:00:00.000000Z"), "{ts}");
    assert_once(&seen, "nil time", 25, "t", "h");

    let out = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args([
            "listen",
            "--syslog-udp",
            "127.0.0.1:0",
            "--syslog-timezone",
            "Mars/Olympus",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("syslog-timezone") && err.contains("not a known time zone"),
        "{err}"
    );
}

/// RFC 5425: syslog over TLS, with the listener's TLS settings; the client
/// is Python's stdlib `ssl`, octet-counted RFC 5424 as rsyslog sends it.
#[cfg(feature = "tls")]
#[test]
fn syslog_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let ca = pki::Ca::new(dir.path(), "main");
    let server = ca.server();
    let t = Tributary::start(
        dir.path(),
        &[
            "--syslog-tcp",
            "127.0.0.1:0",
            "--tls-cert",
            server.cert.to_str().unwrap(),
            "--tls-key",
            server.key.to_str().unwrap(),
            "--out",
            "out.log",
        ],
    );
    let script = r#"
import socket, ssl, sys
host, port = sys.argv[1].rsplit(":", 1)
ctx = ssl.create_default_context(cafile=sys.argv[2])
with socket.create_connection((host, int(port))) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        for i in range(20):
            m = ("<11>1 - tlshost tlsapp 77 - - over tls %d" % i).encode()
            s.sendall(b"%d " % len(m) + m)
"#;
    let out = Command::new("python3")
        .args(["-c", script, &t.addr("syslog-tcp", 0)])
        .arg(&ca.cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for_lines(&dir.path().join("out.log"), 20);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let seen = by_msg(&common::read_json(&dir.path().join("out.log")));
    for i in 0..20 {
        assert_once(&seen, &format!("over tls {i}"), 40, "tlsapp", "tlshost");
        assert_eq!(seen[&format!("over tls {i}")][0]["pid"], 77);
    }
    assert_eq!(seen.len(), 20);
    assert_eq!(summary_counter(&stderr, "rejected"), 0, "{stderr}");
}

/// Polls `f` until it holds, failing with `what` at the deadline.
fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Syslog connections run the same connection loop as the native ones,
/// with its limits: a connection that completes no message is closed at
/// the first-frame timeout, a process past its per-peer cap is refused,
/// and past the frame budget the connection holding the largest
/// unfinished message is closed; a producer still gets in.
#[test]
fn syslog_connections_are_held_to_the_connection_limits() {
    use common::closed_by_peer;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("syslog.sock");
    let t = Tributary::start(
        dir.path(),
        &[
            "--syslog-tcp",
            "127.0.0.1:0",
            "--syslog-unix-stream",
            sock.to_str().unwrap(),
            "--first-frame-timeout",
            "1s",
            "--max-connections-per-peer",
            "2",
            // In effect the largest message and a read: 100 KiB + 64 KiB.
            "--frame-budget",
            "64KiB",
            "--syslog-max-message",
            "100KiB",
            "--out",
            "out.log",
        ],
    );
    let addr = t.addr("syslog-tcp", 0);
    let path = dir.path().join("out.log");

    // First-frame timeout: the silent connection goes, the proven stays.
    let silent = TcpStream::connect(&addr).unwrap();
    let mut proven = TcpStream::connect(&addr).unwrap();
    proven.write_all(b"<13>p: proven\n").unwrap();
    wait_for_lines(&path, 1);
    wait_until("the silent connection to close", || {
        closed_by_peer(silent.as_raw_fd())
    });
    assert!(!closed_by_peer(proven.as_raw_fd()));

    // Per-peer cap: this process holds two Unix connections; a third is
    // refused.
    let held: Vec<UnixStream> = (0..2)
        .map(|i| {
            let mut s = UnixStream::connect(&sock).unwrap();
            s.write_all(format!("<13>h: held {i}\n").as_bytes())
                .unwrap();
            s
        })
        .collect();
    wait_for_lines(&path, 3);
    let refused = UnixStream::connect(&sock).unwrap();
    wait_until("the third connection of the process to be refused", || {
        closed_by_peer(refused.as_raw_fd())
    });
    assert!(held.iter().all(|s| !closed_by_peer(s.as_raw_fd())));

    // Frame budget: two proven connections each hold 90,000 bytes of a
    // 100,000-byte octet-counted message; together past the budget.
    let mut big = Vec::new();
    for i in 0..2 {
        let mut s = TcpStream::connect(&addr).unwrap();
        let mut wire = format!("<13>b: big {i}\n100000 <13>b: ").into_bytes();
        wire.resize(wire.len() + 90_000, b'x');
        s.write_all(&wire).unwrap();
        big.push(s);
    }
    wait_until("one holder of a large message to be closed", || {
        big.iter().any(|s| closed_by_peer(s.as_raw_fd()))
    });
    let mut producer = TcpStream::connect(&addr).unwrap();
    producer
        .write_all(b"<13>after: after the budget\n")
        .unwrap();
    drop(producer);
    let lines = wait_for_lines(&path, 6);
    let evicted = big.iter().filter(|s| closed_by_peer(s.as_raw_fd())).count();
    drop((proven, held, big));
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let seen = by_msg(&lines);
    for msg in [
        "proven",
        "held 0",
        "held 1",
        "big 0",
        "big 1",
        "after the budget",
    ] {
        assert_eq!(seen.get(msg).map(Vec::len), Some(1), "{msg}: {seen:#?}");
    }
    assert_eq!(evicted, 1, "{stderr}");
    assert_eq!(summary_counter(&stderr, "evicted"), 1, "{stderr}");
    assert_eq!(summary_counter(&stderr, "rejected"), 1, "{stderr}");
    for expected in [
        "no message completed since it opened (first-frame-timeout)",
        "it has 2 connections open (max-connections-per-peer)",
        "passed frame-budget (167936 bytes)",
        "its unfinished message (",
    ] {
        assert_eq!(stderr.matches(expected).count(), 1, "{expected}: {stderr}");
    }
    assert!(!stderr.contains("frame or line"), "{stderr}");
}

/// At `max-connections`, a syslog connection that completed no message
/// gives its slot to a new one, and the report names syslog's unit.
#[test]
fn a_syslog_connection_that_completed_nothing_makes_room_and_is_told_so_in_messages() {
    use common::closed_by_peer;
    use std::os::fd::AsRawFd;
    let dir = tempfile::tempdir().unwrap();
    let t = Tributary::start(
        dir.path(),
        &[
            "--syslog-tcp",
            "127.0.0.1:0",
            "--max-connections",
            "1",
            "--first-frame-timeout",
            "0",
            "--out",
            "out.log",
        ],
    );
    let addr = t.addr("syslog-tcp", 0);
    // Connected first, so accepted first: it holds the only slot.
    let silent = TcpStream::connect(&addr).unwrap();
    let mut producer = TcpStream::connect(&addr).unwrap();
    producer.write_all(b"<13>p: got in\n").unwrap();
    let lines = wait_for_lines(&dir.path().join("out.log"), 1);
    assert_eq!(lines[0]["msg"], "got in");
    wait_until("the silent connection to close", || {
        closed_by_peer(silent.as_raw_fd())
    });
    drop(producer);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    assert_eq!(summary_counter(&stderr, "evicted"), 1, "{stderr}");
    let expected = "it had completed no message and max-connections was reached";
    assert_eq!(stderr.matches(expected).count(), 1, "{expected}: {stderr}");
    assert!(!stderr.contains("frame or line"), "{stderr}");
}

/// A datagram larger than `--syslog-max-message` is refused, counted and
/// described; the next one lands.
#[test]
fn a_datagram_over_the_maximum_message_is_refused_and_the_next_lands() {
    let dir = tempfile::tempdir().unwrap();
    let t = Tributary::start(
        dir.path(),
        &[
            "--syslog-udp",
            "127.0.0.1:0",
            "--syslog-max-message",
            "480",
            "--out",
            "out.log",
        ],
    );
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = t.addr("syslog-udp", 0);
    let mut large = b"<13>big: ".to_vec();
    large.resize(1000, b'x');
    socket.send_to(&large, &addr).unwrap();
    socket.send_to(b"<14>small: fits", &addr).unwrap();
    let lines = wait_for_lines(&dir.path().join("out.log"), 1);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let seen = by_msg(&lines);
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_once(&seen, "fits", 20, "small", "127.0.0.1");
    assert_eq!(summary_counter(&stderr, "malformed"), 1, "{stderr}");
    assert!(
        stderr.contains(
            "syslog datagram of 1000 bytes exceeds the maximum message size of 480 bytes (raise --syslog-max-message if legitimate); record skipped"
        ),
        "{stderr}"
    );
}
