//! TLS on TCP inputs, end to end with the real `tributary` binary: the
//! crate's `SocketHandler` over TLS (plain and acknowledged), mutual TLS
//! with good and bad clients, plaintext on a TLS port, a silent client and
//! the handshake timeout, Python's stdlib over `ssl`, bad PEM files at
//! start, and the refusal of plaintext inputs other hosts can reach.

#![cfg(feature = "tls")]
#![allow(clippy::unwrap_used)] // a test: a failure should fail it

mod common;
// One throwaway PKI for the TLS tests of both crates.
#[path = "../../handlers/tests/pki/mod.rs"]
mod pki;

use common::*;
use pki::{Ca, Identity};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use tributary_handlers::Handler;
use tributary_handlers::net::{SocketHandler, TlsClientConfig};

fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `tributary listen` on `tcp` with TLS from `server`, `extra` flags, and
/// output `out.log`.
fn start_tls(dir: &Path, server: &Identity, tcp: &str, extra: &[&str]) -> Tributary {
    let mut args = vec![
        "--tcp",
        tcp,
        "--tls-cert",
        arg(&server.cert),
        "--tls-key",
        arg(&server.key),
        "--out",
        "out.log",
    ];
    args.extend_from_slice(extra);
    Tributary::start(dir, &args)
}

/// Sends `count` records of `producer` through a TLS `SocketHandler`;
/// returns what `close` said.
fn send_tls(
    addr: &str,
    config: TlsClientConfig,
    producer: &str,
    count: u64,
) -> std::io::Result<()> {
    let mut h = SocketHandler::tls(addr, config).unwrap();
    for n in 0..count {
        h.handle(&rust_record(producer, n)).unwrap();
    }
    h.close()
}

/// Sends native frames in clear text and waits for the listener to close
/// the connection (it may reset it while the frames are still going out).
fn send_plaintext(addr: std::net::SocketAddr, producer: &str, count: u64) {
    let mut wire = Vec::new();
    for n in 0..count {
        let record = rust_record(producer, n);
        let formatter = tributary_core::JsonFormatter::native();
        tributary_core::frame::encode_record(&record, &formatter, &mut wire).unwrap();
    }
    let mut s = TcpStream::connect(addr).unwrap();
    let _ = s.write_all(&wire);
    wait_closed_by_listener(&mut s, "a plaintext connection");
}

/// Waits for the listener to close (or reset) a connection; fails after
/// PATIENCE.
fn wait_closed_by_listener(s: &mut TcpStream, what: &str) {
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut buf = [0u8; 64];
    let end = s.read(&mut buf);
    assert!(
        matches!(end, Ok(0)) || end.is_err_and(|e| e.kind() != std::io::ErrorKind::WouldBlock),
        "the listener kept {what} open"
    );
}

/// Waits until `out.log` holds as many lines as `producers` sent, stops the
/// listener, checks it exited cleanly and that every record landed exactly
/// once; returns its stderr.
fn stop_when_all_landed(t: Tributary, dir: &Path, producers: &[(String, u64)]) -> String {
    let total: u64 = producers.iter().map(|(_, n)| n).sum();
    let lines = wait_for_lines(&dir.join("out.log"), total as usize);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    assert_exactly_once(&tally(&lines), producers);
    stderr
}

#[test]
fn records_over_tls_land_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "main");
    let server = ca.server();
    let t = start_tls(dir.path(), &server, "127.0.0.1:0", &[]);
    let addr = t.tcp(0).to_string();
    let producers: Vec<_> = (0..3)
        .map(|i| {
            let (addr, cfg) = (
                addr.clone(),
                TlsClientConfig::from_ca_file(&ca.cert).unwrap(),
            );
            std::thread::spawn(move || send_tls(&addr, cfg, &format!("p{i}"), 3000))
        })
        .collect();
    for p in producers {
        p.join().unwrap().unwrap();
    }
    let all: Vec<_> = (0..3).map(|i| (format!("p{i}"), 3000)).collect();
    let stderr = stop_when_all_landed(t, dir.path(), &all);
    assert_eq!(summary_counter(&stderr, "rejected"), 0, "{stderr}");
    assert_eq!(summary_counter(&stderr, "connections"), 3, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
}

#[test]
fn acknowledged_delivery_runs_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "main");
    let server = ca.server();
    let t = start_tls(dir.path(), &server, "127.0.0.1:0", &[]);
    let cfg = TlsClientConfig::from_ca_file(&ca.cert).unwrap();
    let mut h = SocketHandler::tls(t.tcp(0).to_string(), cfg)
        .unwrap()
        .acknowledged();
    for n in 0..5000 {
        h.handle(&rust_record("acked", n)).unwrap();
    }
    h.close().unwrap();
    assert_eq!(h.unacknowledged(), 0);
    drop(h);
    let stderr = stop_when_all_landed(t, dir.path(), &[("acked".to_owned(), 5000)]);
    assert_eq!(summary_counter(&stderr, "acknowledged"), 1, "{stderr}");
}

#[test]
fn mutual_tls_refuses_clients_without_a_good_certificate_and_serves_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "main");
    let rogue = Ca::new(dir.path(), "rogue");
    let server = ca.server();
    let t = start_tls(
        dir.path(),
        &server,
        "127.0.0.1:0",
        &["--tls-client-ca", arg(&ca.cert)],
    );
    let addr = t.tcp(0).to_string();
    let trust = || TlsClientConfig::from_ca_file(&ca.cert).unwrap();

    // A plaintext producer on the TLS port: refused, nothing decoded.
    send_plaintext(t.tcp(0), "plain", 10);
    // No client certificate, and one from another CA: the handshake fails
    // on the listener's side. (In TLS 1.3 the client learns it only from
    // the listener's alert, after its first write; nothing of it lands.)
    let _ = send_tls(&addr, trust(), "anonymous", 10);
    let rogue_id = rogue.client("intruder");
    let rogue_cfg = trust()
        .with_client_cert_files(&rogue_id.cert, &rogue_id.key)
        .unwrap();
    let _ = send_tls(&addr, rogue_cfg, "intruder", 10);
    // A good client, before and after the bad ones.
    let good = ca.client("producer");
    let good_cfg = trust()
        .with_client_cert_files(&good.cert, &good.key)
        .unwrap();
    send_tls(&addr, good_cfg, "good", 2000).unwrap();

    let stderr = stop_when_all_landed(t, dir.path(), &[("good".to_owned(), 2000)]);
    assert!(summary_counter(&stderr, "rejected") >= 3, "{stderr}");
    assert_eq!(summary_counter(&stderr, "connections"), 1, "{stderr}");
    for why in [
        "not a TLS client",
        "peer sent no certificates",
        "invalid peer certificate",
    ] {
        assert!(
            stderr
                .lines()
                .any(|l| l.contains("refusing connection from 127.0.0.1:") && l.contains(why)),
            "no report of {why:?} with the peer's address:\n{stderr}"
        );
    }
}

#[test]
fn a_silent_client_is_disconnected_after_the_handshake_timeout_and_frees_its_slot() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "main");
    let server = ca.server();
    let t = start_tls(
        dir.path(),
        &server,
        "127.0.0.1:0",
        &["--tls-handshake-timeout", "1s", "--max-connections", "1"],
    );
    // Holds the only connection slot and says nothing.
    let mut silent = TcpStream::connect(t.tcp(0)).unwrap();
    wait_closed_by_listener(&mut silent, "a silent client");
    let cfg = TlsClientConfig::from_ca_file(&ca.cert).unwrap();
    send_tls(&t.tcp(0).to_string(), cfg, "after", 100).unwrap();
    let stderr = stop_when_all_landed(t, dir.path(), &[("after".to_owned(), 100)]);
    assert!(stderr.contains("tls-handshake-timeout"), "{stderr}");
    assert_eq!(summary_counter(&stderr, "rejected"), 1, "{stderr}");
}

#[test]
fn python_logging_speaks_mutual_tls_through_a_socket_handler_subclass() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "main");
    let server = ca.server();
    let client = ca.client("python");
    let t = start_tls(
        dir.path(),
        &server,
        "127.0.0.1:0",
        &["--tls-client-ca", arg(&ca.cert)],
    );
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/python/tls_producer.py");
    let out = Command::new("python3")
        .arg(&example)
        .arg(t.tcp(0).to_string())
        .arg(&ca.cert)
        .arg(&client.cert)
        .arg(&client.key)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = wait_for_lines(&dir.path().join("out.log"), 100);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    assert_eq!(lines.len(), 100, "{lines:?}");
    for (n, l) in lines.iter().enumerate() {
        assert_eq!(l["logger"], "app.remote");
        assert_eq!(l["msg"], format!("event {n} over TLS"));
        assert_eq!(l["fields"]["n"], n as u64);
    }
    assert_eq!(summary_counter(&stderr, "rejected"), 0, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
}

/// Runs `tributary listen ARGS` expecting it to refuse to start; its stderr.
fn refused(cwd: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .arg("listen")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "started with {args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "readiness lines printed: {args:?}");
    stderr
}

#[test]
fn bad_pem_files_stop_the_listener_at_start_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "main");
    let server = ca.server();
    let other = ca.client("other");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let missing = dir.path().join("missing.pem");
    let cases: [(&[&str], &[&str]); 5] = [
        (
            &["--tls-cert", arg(&missing), "--tls-key", arg(&server.key)],
            &["tls-cert", "missing.pem", "cannot read"],
        ),
        (
            &["--tls-cert", arg(&garbage), "--tls-key", arg(&server.key)],
            &["tls-cert", "BEGIN CERTIFICATE"],
        ),
        (
            &[
                "--tls-cert",
                arg(&server.cert),
                "--tls-key",
                arg(&other.key),
            ],
            &["tls-key", "is not the private key"],
        ),
        (&["--tls-cert", arg(&server.cert)], &["tls-key", "missing"]),
        (
            &[
                "--tls-cert",
                arg(&server.cert),
                "--tls-key",
                arg(&server.key),
                "--tls-client-ca",
                arg(&garbage),
            ],
            &["tls-client-ca", "garbage.pem"],
        ),
    ];
    for (flags, expected) in cases {
        let mut args = vec!["--tcp", "127.0.0.1:0", "--out", "out.log"];
        args.extend_from_slice(flags);
        let stderr = refused(dir.path(), &args);
        for e in expected {
            assert!(stderr.contains(e), "{flags:?}: no {e:?} in {stderr}");
        }
    }
}

#[test]
fn plaintext_inputs_other_hosts_can_reach_need_an_explicit_flag_and_get_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    for input in [["--tcp", "0.0.0.0:0"], ["--udp", "0.0.0.0:0"]] {
        let stderr = refused(dir.path(), &[input[0], input[1], "--out", "out.log"]);
        assert!(
            stderr.contains(&format!(
                "refusing to listen on {} 0.0.0.0:",
                &input[0][2..]
            )) && stderr.contains("--allow-insecure-remote")
                && stderr.contains("--tls-cert"),
            "{stderr}"
        );
    }

    let t = Tributary::start(
        dir.path(),
        &[
            "--tcp",
            "0.0.0.0:0",
            "--udp",
            "0.0.0.0:0",
            "--unix",
            "log.sock",
            "--allow-insecure-remote",
            "--out",
            "out.log",
        ],
    );
    let port = t.tcp(0).port();
    send_native(format!("127.0.0.1:{port}").parse().unwrap(), "open", 10);
    let stderr = stop_when_all_landed(t, dir.path(), &[("open".to_owned(), 10)]);
    let warnings: Vec<_> = stderr
        .lines()
        .filter(|l| l.starts_with("tributary: warning:") && l.contains("without TLS"))
        .collect();
    assert_eq!(
        warnings.len(),
        2,
        "one per plaintext remote input:\n{stderr}"
    );
    assert!(warnings[0].contains("tcp 0.0.0.0:") && warnings[1].contains("udp 0.0.0.0:"));
}

#[test]
fn a_tls_input_on_any_address_needs_no_flag() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "main");
    let server = ca.server();
    let t = start_tls(dir.path(), &server, "0.0.0.0:0", &[]);
    let cfg = TlsClientConfig::from_ca_file(&ca.cert).unwrap();
    send_tls(&format!("127.0.0.1:{}", t.tcp(0).port()), cfg, "any", 10).unwrap();
    let stderr = stop_when_all_landed(t, dir.path(), &[("any".to_owned(), 10)]);
    // Served, with a warning: without client certificates anyone who can
    // reach it can write to the log.
    assert_eq!(
        stderr.matches("warning: tcp 0.0.0.0:").count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains("serves TLS to any client: no tls-client-ca is set"),
        "{stderr}"
    );
}

#[test]
fn an_embedded_listener_serves_tls_and_refuses_a_plaintext_remote_udp_input() {
    use tributary_listener::{Listener, ListenerError, OutputSpec, TlsSettings};
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "main");
    let server = ca.server();
    let log = dir.path().join("app.log");
    let listener = Listener::builder()
        .tcp("127.0.0.1:0")
        .tls(TlsSettings::new(&server.cert, &server.key))
        .output(OutputSpec::file(&log))
        .spawn()
        .unwrap();
    let addr = listener.bound()[0].socket_addr().unwrap().to_string();
    let cfg = TlsClientConfig::from_ca_file(&ca.cert).unwrap();
    send_tls(&addr, cfg, "embedded", 500).unwrap();
    let summary = listener.shutdown().unwrap();
    assert_eq!(summary.stats.writer.records, 500);
    assert_exactly_once(&tally(&read_json(&log)), &[("embedded".to_owned(), 500)]);

    // TLS covers TCP only: a UDP input on all interfaces is still refused.
    let refused = Listener::builder()
        .udp("0.0.0.0:0")
        .tls(TlsSettings::new(&server.cert, &server.key))
        .output(OutputSpec::file(&log))
        .spawn();
    assert!(
        matches!(refused, Err(ListenerError::InsecureRemote { ref input }) if input.starts_with("udp 0.0.0.0:")),
        "{refused:?}"
    );
}
