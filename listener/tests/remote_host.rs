//! A record without `host` from a peer on another host gets the peer's
//! address, on every input: native frames (those in the pass-through's
//! canonical form too), NDJSON and Python's pickles over TCP, and UDP
//! datagrams. A record that names its host keeps it, and a loopback
//! producer's records are written as sent.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use tributary_core::{JsonFormatter, Record, frame};

fn framed(record: &Record) -> Vec<u8> {
    let mut wire = Vec::new();
    frame::encode_record(record, &JsonFormatter::native(), &mut wire).unwrap();
    wire
}

#[test]
fn records_from_another_host_without_a_host_get_the_peer_address_on_every_input() {
    let ip = non_loopback_ipv4();
    let dir = tempfile::tempdir().unwrap();
    let t = Tributary::start(
        dir.path(),
        &[
            "--tcp",
            "0.0.0.0:0",
            "--udp",
            "0.0.0.0:0",
            "--allow-insecure-remote",
            "--out",
            "out.log",
        ],
    );
    let (tcp_port, udp_port) = (t.tcp(0).port(), t.udp(0).port());
    let remote_tcp = SocketAddr::new(ip.into(), tcp_port);
    let remote_udp = SocketAddr::new(ip.into(), udp_port);
    let local_tcp = SocketAddr::from(([127, 0, 0, 1], tcp_port));
    let local_udp = SocketAddr::from(([127, 0, 0, 1], udp_port));

    // Connecting to this machine's own address makes it the source: to
    // the listener, a peer on another host.
    send_native(remote_tcp, "remote-frames", 3);
    send_lines(remote_tcp, "remote-lines", 3);
    let mut named = rust_record("remote-named", 0);
    named.host = Some("named.example".into());
    TcpStream::connect(remote_tcp)
        .unwrap()
        .write_all(&framed(&named))
        .unwrap();
    python_socket_handler_to(&ip.to_string(), tcp_port, "log.info('pickled')");
    UdpSocket::bind(SocketAddr::new(ip.into(), 0))
        .unwrap()
        .send_to(&framed(&rust_record("remote-udp", 0)), remote_udp)
        .unwrap();
    send_native(local_tcp, "local-frames", 3);
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .send_to(&framed(&rust_record("local-udp", 0)), local_udp)
        .unwrap();

    let lines = wait_for_lines(&dir.path().join("out.log"), 13);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let mut hosts: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
    for line in &lines {
        let who = match line["fields"]["producer"].as_str() {
            Some(p) => p.to_owned(),
            None => format!("{} {}", line["logger"], line["msg"]),
        };
        let host = line["host"].as_str().map(str::to_owned);
        hosts.entry(who).or_default().push(host);
    }
    let ip = Some(ip.to_string());
    let expected: BTreeMap<String, Vec<Option<String>>> = [
        ("remote-frames", vec![ip.clone(); 3]),
        ("remote-lines", vec![ip.clone(); 3]),
        ("remote-named", vec![Some("named.example".to_owned())]),
        ("\"app\" \"pickled\"", vec![ip.clone()]),
        ("remote-udp", vec![ip.clone()]),
        ("local-frames", vec![None; 3]),
        ("local-udp", vec![None]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(hosts, expected, "{lines:#?}");
}
