//! The server's bounds, against raw sockets on loopback.

use super::*;
use axum::routing::get;
use std::sync::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const DEADLINE: Duration = Duration::from_secs(20);

struct Running {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    failures: Arc<Mutex<Vec<String>>>,
}

async fn start(limits: ServerLimits, router: Router) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("bound address");
    let failures = Arc::new(Mutex::new(Vec::new()));
    let seen = failures.clone();
    let (stop, stop_rx) = watch::channel(false);
    let server = Server {
        listener,
        router,
        tls: None,
        limits,
        on_failure: Arc::new(move |f: ConnectionFailed<'_>| {
            seen.lock().expect("failures").push(f.to_string());
        }),
    };
    let task = tokio::spawn(serve(server, stop_rx));
    Running {
        addr,
        stop,
        task,
        failures,
    }
}

fn hello() -> Router {
    Router::new().route("/", get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
        format!("hello {}", peer.ip())
    }))
}

/// Reads until the server closes the connection (or the test's deadline).
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut all = Vec::new();
    tokio::time::timeout(DEADLINE, stream.read_to_end(&mut all))
        .await
        .expect("the server never closed the connection")
        .expect("read");
    String::from_utf8_lossy(&all).into_owned()
}

#[tokio::test]
async fn a_request_is_answered_with_the_peer_address() {
    let server = start(ServerLimits::default(), hello()).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .expect("write");
    let answer = read_to_close(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("hello 127.0.0.1"), "{answer}");
    let _ = server.stop.send(true);
    tokio::time::timeout(DEADLINE, server.task)
        .await
        .expect("the server did not stop")
        .expect("server task");
}

#[tokio::test]
async fn a_head_past_the_bound_is_answered_431() {
    let limits = ServerLimits {
        max_header_bytes: 4096,
        ..ServerLimits::default()
    };
    let server = start(limits, hello()).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    let big = "a".repeat(8000);
    let req = format!("GET / HTTP/1.1\r\nhost: x\r\nx-big: {big}\r\n\r\n");
    // The server may answer and close before reading everything.
    let _ = s.write_all(req.as_bytes()).await;
    let answer = read_to_close(&mut s).await;
    assert!(
        answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_client_that_stalls_in_its_head_is_cut_off() {
    let limits = ServerLimits {
        header_timeout: Duration::from_millis(300),
        ..ServerLimits::default()
    };
    let server = start(limits, hello()).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n")
        .await
        .expect("write");
    // hyper answers 408 or just closes; either way nothing else is served.
    let answer = read_to_close(&mut s).await;
    assert!(!answer.contains("hello"), "{answer}");
    let failures = server.failures.lock().expect("failures").clone();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("timeout"), "{failures:?}");
}

#[tokio::test]
async fn a_connection_silent_between_requests_is_cut_off() {
    let limits = ServerLimits {
        // Longer than the idle timeout, so this is the idle cut-off's doing.
        header_timeout: Duration::from_secs(600),
        idle_timeout: Duration::from_millis(300),
        ..ServerLimits::default()
    };
    let server = start(limits, hello()).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("write");
    let answer = read_to_close(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert_eq!(answer.matches("hello").count(), 1, "{answer}");
}

#[tokio::test]
async fn a_slow_handler_is_not_the_clients_silence() {
    let slow = Router::new().route(
        "/",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(900)).await;
            "done"
        }),
    );
    let limits = ServerLimits {
        idle_timeout: Duration::from_millis(200),
        ..ServerLimits::default()
    };
    let server = start(limits, slow).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("write");
    let answer = read_to_close(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("done"), "{answer}");
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_a_slot_frees() {
    let limits = ServerLimits {
        max_connections: 1,
        ..ServerLimits::default()
    };
    let server = start(limits, hello()).await;
    let mut first = TcpStream::connect(server.addr).await.expect("connect");
    first
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 256];
    let n = first.read(&mut buf).await.expect("read first answer");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK"));
    // The second is accepted by the kernel but not served while the first
    // holds the only slot.
    let mut second = TcpStream::connect(server.addr).await.expect("connect");
    second
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .expect("write");
    let waited = tokio::time::timeout(Duration::from_millis(300), second.read(&mut buf)).await;
    assert!(waited.is_err(), "served past the cap: {waited:?}");
    drop(first);
    let answer = read_to_close(&mut second).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() {
    let (entered_tx, entered_rx) = tokio::sync::oneshot::channel::<()>();
    let entered = Arc::new(Mutex::new(Some(entered_tx)));
    let router = Router::new().route(
        "/",
        get(move || {
            let entered = entered.clone();
            async move {
                if let Some(tx) = entered.lock().expect("entered").take() {
                    let _ = tx.send(());
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
                "finished"
            }
        }),
    );
    let server = start(ServerLimits::default(), router).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("write");
    tokio::time::timeout(DEADLINE, entered_rx)
        .await
        .expect("the request never reached its handler")
        .expect("handler");
    let _ = server.stop.send(true);
    let answer = read_to_close(&mut s).await;
    assert!(answer.ends_with("finished"), "{answer}");
    tokio::time::timeout(DEADLINE, server.task)
        .await
        .expect("the server did not stop after its last connection")
        .expect("server task");
    // New connections are refused once it has stopped.
    assert!(TcpStream::connect(server.addr).await.is_err());
}
