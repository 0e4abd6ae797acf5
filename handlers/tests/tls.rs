//! `SocketHandler::tls` against a real TLS server on loopback (rustls over
//! a std `TcpListener`, decoding frames as the listener does): records
//! arrive in order, an untrusted or misnamed listener is refused with the
//! records kept, client certificates are presented, and a listener that
//! closes the session is noticed before anything is written into it.

#![cfg(feature = "tls")]
#![allow(clippy::unwrap_used)] // a test: a failure should fail it

mod pki;

use pki::{Ca, Identity};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;
use tributary_core::frame::FrameDecoder;
use tributary_core::{Level, Record};
use tributary_handlers::Handler;
use tributary_handlers::net::{SocketHandler, TlsClientConfig};

/// What one connection to the test server delivered.
#[derive(Debug, Default)]
struct Delivered {
    /// `msg` of every record, in order.
    msgs: Vec<String>,
    /// The handshake or read error that ended it, if any.
    error: Option<String>,
    /// Whether the client ended with `close_notify`.
    clean_close: bool,
    /// Whether the client presented a certificate.
    client_cert: bool,
}

fn server_config(id: &Identity, client_ca: Option<&Ca>) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = CertificateDer::pem_file_iter(&id.cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&id.key).unwrap();
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(&ca.cert).unwrap() {
                roots.add(c.unwrap()).unwrap();
            }
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
    };
    Arc::new(builder.with_single_cert(chain, key).unwrap())
}

/// Serves `connections` connections one after another. After `close_after`
/// records on the first one, the server ends that session with
/// `close_notify` and reports on `closed`.
fn serve(
    config: Arc<rustls::ServerConfig>,
    connections: usize,
    close_after: Option<usize>,
) -> (String, JoinHandle<Vec<Delivered>>, mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (closed_tx, closed) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let mut all = Vec::new();
        for i in 0..connections {
            // A connection that never comes ends the test, not hangs it.
            let Some(sock) = accept_within(&listener, PATIENCE) else {
                break;
            };
            sock.set_read_timeout(Some(PATIENCE)).unwrap();
            let close = if i == 0 { close_after } else { None };
            all.push(serve_one(&config, sock, close, &closed_tx));
        }
        all
    });
    (addr, thread, closed)
}

/// Bounds the waits for events that must happen; not what is measured.
const PATIENCE: Duration = Duration::from_secs(30);

fn accept_within(listener: &TcpListener, wait: Duration) -> Option<TcpStream> {
    listener.set_nonblocking(true).unwrap();
    let deadline = std::time::Instant::now() + wait;
    loop {
        match listener.accept() {
            Ok((sock, _)) => {
                sock.set_nonblocking(false).unwrap();
                return Some(sock);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if std::time::Instant::now() > deadline {
                    return None;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

fn serve_one(
    config: &Arc<rustls::ServerConfig>,
    mut sock: TcpStream,
    close_after: Option<usize>,
    closed: &mpsc::Sender<()>,
) -> Delivered {
    let mut out = Delivered::default();
    let mut conn = rustls::ServerConnection::new(config.clone()).unwrap();
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut sock) {
            out.error = Some(e.to_string());
            return out;
        }
    }
    out.client_cert = conn.peer_certificates().is_some();
    let mut decoder = FrameDecoder::new(1 << 20);
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let mut buf = [0u8; 8192];
    loop {
        if close_after.is_some_and(|n| out.msgs.len() >= n) {
            tls.conn.send_close_notify();
            let _ = tls.conn.complete_io(&mut tls.sock);
            let _ = tls.sock.shutdown(std::net::Shutdown::Both);
            closed.send(()).unwrap();
            return out;
        }
        match tls.read(&mut buf) {
            Ok(0) => {
                out.clean_close = true;
                return out;
            }
            Ok(n) => decoder.push(&buf[..n]),
            Err(e) => {
                out.error = Some(e.to_string());
                return out;
            }
        }
        while let Some(payload) = decoder.next_frame().unwrap() {
            let record = tributary_core::decode_payload(payload, Default::default()).unwrap();
            out.msgs.push(record.msg.to_string());
        }
    }
}

fn record(n: usize) -> Record {
    Record::builder(Level::INFO, format!("record {n}"))
        .logger("tls.test")
        .field("n", n as u64)
        .build()
}

fn msgs(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|n| format!("record {n}")).collect()
}

fn trusting(ca: &Ca) -> TlsClientConfig {
    TlsClientConfig::from_ca_file(&ca.cert).unwrap()
}

#[test]
fn records_arrive_in_order_and_the_session_ends_with_close_notify() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "main");
    let (addr, server, _) = serve(server_config(&ca.server(), None), 1, None);
    let mut h = SocketHandler::tls(&addr, trusting(&ca)).unwrap();
    assert_eq!(h.name(), format!("tls {addr}"));
    for n in 0..2000 {
        h.handle(&record(n)).unwrap();
    }
    h.close().unwrap();
    drop(h);
    let got = server.join().unwrap();
    assert_eq!(got[0].error, None);
    assert_eq!(got[0].msgs, msgs(0..2000));
    assert!(got[0].clean_close, "no close_notify");
}

#[test]
fn an_untrusted_or_misnamed_listener_is_refused_and_the_records_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "main");
    let other = Ca::new(dir.path(), "other");
    let (addr, server, _) = serve(server_config(&ca.server(), None), 4, None);

    let mut untrusting = SocketHandler::tls(&addr, trusting(&other)).unwrap();
    let misnamed_config = trusting(&ca).with_server_name("logs.example.net");
    let mut misnamed = SocketHandler::tls(&addr, misnamed_config).unwrap();
    for h in [&mut untrusting, &mut misnamed] {
        for n in 0..10 {
            h.handle(&record(n)).unwrap();
        }
        h.flush().unwrap();
        assert!(!h.is_connected());
        assert_eq!(h.buffered(), 10, "records must wait for a trusted listener");
        let e = h.close().unwrap_err();
        assert!(e.to_string().contains("could not be delivered"), "{e}");
    }
    drop((untrusting, misnamed));
    let got = server.join().unwrap();
    for conn in &got {
        assert!(conn.msgs.is_empty(), "{conn:?}");
        assert!(conn.error.is_some(), "{conn:?}");
    }
}

#[test]
fn the_client_certificate_is_presented_to_a_listener_that_requires_one() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "main");
    let client = ca.client("producer");
    let (addr, server, _) = serve(server_config(&ca.server(), Some(&ca)), 1, None);
    let config = trusting(&ca)
        .with_client_cert_files(&client.cert, &client.key)
        .unwrap();
    let mut h = SocketHandler::tls(&addr, config).unwrap();
    for n in 0..100 {
        h.handle(&record(n)).unwrap();
    }
    h.close().unwrap();
    drop(h);
    let got = server.join().unwrap();
    assert!(got[0].client_cert);
    assert_eq!(got[0].msgs, msgs(0..100));
}

#[test]
fn a_client_key_that_does_not_match_its_certificate_is_refused_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "main");
    let a = ca.client("a");
    let b = ca.client("b");
    let e = trusting(&ca)
        .with_client_cert_files(&a.cert, &b.key)
        .unwrap_err();
    assert!(e.to_string().contains("is not the private key"), "{e}");
    let e = trusting(&ca)
        .with_client_cert_files(&a.cert, &a.cert)
        .unwrap_err();
    assert!(e.to_string().contains("PRIVATE KEY"), "{e}");
    let Err(e) = SocketHandler::tls("bad name!:9020", trusting(&ca)) else {
        panic!("an invalid server name was taken");
    };
    assert!(e.to_string().contains("with_server_name"), "{e}");
}

#[test]
fn a_listener_that_ends_the_session_is_noticed_before_records_are_written_into_it() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "main");
    let (addr, server, closed) = serve(server_config(&ca.server(), None), 2, Some(50));
    let mut h = SocketHandler::tls(&addr, trusting(&ca))
        .unwrap()
        .with_backoff(tributary_handlers::net::Backoff {
            start: Duration::from_millis(1),
            ..Default::default()
        });
    for n in 0..50 {
        h.handle(&record(n)).unwrap();
    }
    h.flush().unwrap();
    // On loopback, the close_notify and the FIN are in the handler's
    // receive queue once the server's shutdown has returned.
    closed.recv_timeout(PATIENCE).unwrap();
    for n in 50..80 {
        h.handle(&record(n)).unwrap();
    }
    h.close().unwrap();
    drop(h);
    let got = server.join().unwrap();
    assert_eq!(got[0].msgs, msgs(0..50));
    assert_eq!(
        got[1].msgs,
        msgs(50..80),
        "records sent after the close were lost"
    );
}

/// A TLS server speaking acknowledged delivery (docs/protocol.md): a
/// welcome for the hello, then cumulative acks after every read. Returns
/// the `msg` of every record, in order.
fn serve_acked(config: Arc<rustls::ServerConfig>) -> (String, JoinHandle<Vec<String>>) {
    use tributary_core::frame::handshake::{Hello, Reply};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let thread = std::thread::spawn(move || {
        let sock = accept_within(&listener, PATIENCE).unwrap();
        sock.set_read_timeout(Some(PATIENCE)).unwrap();
        let conn = rustls::ServerConnection::new(config).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, sock);
        let mut decoder = FrameDecoder::new(1 << 20);
        let (mut next, mut msgs, mut buf) = (None, Vec::new(), [0u8; 8192]);
        let mut acked = 0;
        loop {
            let n = tls.read(&mut buf).unwrap();
            if n == 0 {
                return msgs;
            }
            decoder.push(&buf[..n]);
            let mut reply = Vec::new();
            while let Some(payload) = decoder.next_frame().unwrap() {
                match next {
                    None => {
                        let hello = Hello::parse(payload).unwrap().unwrap();
                        next = Some(hello.next);
                        Reply::Welcome {
                            next: hello.next,
                            durable: false,
                        }
                        .encode(&mut reply);
                    }
                    Some(ref mut n) => {
                        let record =
                            tributary_core::decode_payload(payload, Default::default()).unwrap();
                        msgs.push(record.msg.to_string());
                        *n += 1;
                    }
                }
            }
            if let Some(next) = next.filter(|_| !msgs.is_empty()) {
                // More acknowledgements than one read of the handler takes
                // (4 KiB), the news last: the rest waits decrypted in
                // rustls, where polling the socket cannot see it.
                for _ in 0..199 {
                    Reply::Ack { next: acked }.encode(&mut reply);
                }
                Reply::Ack { next }.encode(&mut reply);
                acked = next;
            }
            tls.write_all(&reply).unwrap();
            tls.flush().unwrap();
        }
    });
    (addr, thread)
}

#[test]
fn acknowledged_delivery_runs_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "main");
    let (addr, server) = serve_acked(server_config(&ca.server(), None));
    // A small buffer makes the handler wait for acknowledgements while
    // connected, again and again.
    let mut h = SocketHandler::tls(&addr, trusting(&ca))
        .unwrap()
        .with_buffer(tributary_handlers::net::BufferLimits {
            records: 64,
            bytes: 1 << 20,
        })
        .acknowledged();
    h.handle(&record(0)).unwrap();
    h.flush().unwrap(); // connected: a full buffer now waits for acknowledgements
    for n in 1..3000 {
        h.handle(&record(n)).unwrap();
    }
    h.close().unwrap();
    assert_eq!(h.unacknowledged(), 0);
    assert_eq!(h.buffered(), 0);
    drop(h);
    assert_eq!(server.join().unwrap(), msgs(0..3000));
}

#[cfg(feature = "tls-webpki-roots")]
#[test]
fn mozilla_roots_do_not_trust_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "main");
    let (addr, server, _) = serve(server_config(&ca.server(), None), 1, None);
    let mut h = SocketHandler::tls(&addr, TlsClientConfig::with_webpki_roots()).unwrap();
    h.handle(&record(0)).unwrap();
    h.flush().unwrap();
    assert_eq!(h.buffered(), 1);
    drop(h);
    let got = server.join().unwrap();
    assert!(got[0].error.is_some());
}
