//! Socket and datagram handlers against real listeners on loopback and
//! Unix sockets.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tributary_core::{Level, Record, Value, decode_json};
use tributary_handlers::QueueListener;
use tributary_handlers::net::{Backoff, BufferLimits, DatagramHandler, SocketHandler};

/// A minimal frame receiver: accepts connections, reads length-prefixed
/// JSON frames, keeps the records in arrival order. `stop` closes every
/// socket, like a listener process going away.
struct Receiver {
    records: Arc<Mutex<Vec<Record>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn read_frames(mut s: TcpStream, records: Arc<Mutex<Vec<Record>>>, stop: Arc<AtomicBool>) {
    s.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    while !stop.load(Ordering::Relaxed) {
        match s.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => continue,
        }
        while buf.len() >= 4 {
            let len = u32::from_be_bytes(buf[..4].try_into().unwrap()) as usize;
            if buf.len() < 4 + len {
                break;
            }
            let record = decode_json(&buf[4..4 + len]).unwrap();
            records.lock().unwrap().push(record);
            buf.drain(..4 + len);
        }
    }
}

impl Receiver {
    fn start(listener: TcpListener, records: Arc<Mutex<Vec<Record>>>) -> Receiver {
        let stop = Arc::new(AtomicBool::new(false));
        listener.set_nonblocking(true).unwrap();
        let (r, st) = (records.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut conns = Vec::new();
            while !st.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => {
                        s.set_nonblocking(false).unwrap();
                        let (r, st) = (r.clone(), st.clone());
                        conns.push(std::thread::spawn(move || read_frames(s, r, st)));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            for c in conns {
                c.join().unwrap();
            }
        });
        Receiver {
            records,
            stop,
            thread: Some(thread),
        }
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }

    fn wait_for(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.records.lock().unwrap().len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn fast_backoff() -> Backoff {
    Backoff {
        start: Duration::from_millis(10),
        factor: 2.0,
        max: Duration::from_millis(80),
    }
}

fn rec(phase: &str, i: i64) -> Record {
    Record::builder(Level::INFO, format!("{phase}-{i}"))
        .logger("net")
        .field("i", i)
        .build()
}

/// Logs phase 1, stops the receiver, logs `down` records, restarts it on the
/// same port, waits for the backlog, logs phase 3; returns the messages
/// received in order.
fn outage(limits: BufferLimits, down: i64, expect_after_restart: usize) -> Vec<Record> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let records = Arc::new(Mutex::new(Vec::new()));
    let mut receiver = Receiver::start(listener, records.clone());
    let queue = QueueListener::builder()
        .retry_interval(Duration::from_millis(10))
        .handler(
            SocketHandler::tcp(addr.to_string())
                .with_backoff(fast_backoff())
                .with_buffer(limits),
        )
        .start()
        .unwrap();
    let q = queue.queue_handler();
    for i in 0..100 {
        q.log(rec("up", i));
    }
    assert!(queue.flush());
    receiver.wait_for(100);
    receiver.stop();

    for i in 0..down {
        q.log(rec("down", i));
    }
    assert!(queue.flush());

    let mut receiver = Receiver::start(TcpListener::bind(addr).unwrap(), records.clone());
    receiver.wait_for(100 + expect_after_restart);
    for i in 0..100 {
        q.log(rec("again", i));
    }
    drop(queue);
    receiver.wait_for(200 + expect_after_restart);
    receiver.stop();
    records.lock().unwrap().clone()
}

fn messages(records: &[Record]) -> Vec<String> {
    records.iter().map(|r| r.msg.to_string()).collect()
}

#[test]
fn records_logged_while_the_listener_is_down_arrive_in_order() {
    let got = outage(BufferLimits::default(), 500, 500);
    let want: Vec<String> = (0..100)
        .map(|i| format!("up-{i}"))
        .chain((0..500).map(|i| format!("down-{i}")))
        .chain((0..100).map(|i| format!("again-{i}")))
        .collect();
    assert_eq!(messages(&got), want);
    let seqs: Vec<u64> = got.iter().map(|r| r.seq.unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn buffer_overflow_is_reported_exactly_before_the_kept_records() {
    let got = outage(
        BufferLimits {
            records: 100,
            bytes: 1 << 20,
        },
        500,
        101,
    );
    let report = &got[100];
    assert_eq!(report.logger, "tributary.network");
    assert_eq!(
        report.fields.get("dropped"),
        Some(&Value::Int(400)),
        "{report:?}"
    );
    let want: Vec<String> = (0..100)
        .map(|i| format!("up-{i}"))
        .chain((400..500).map(|i| format!("down-{i}")))
        .chain((0..100).map(|i| format!("again-{i}")))
        .collect();
    let rest: Vec<Record> = got
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != 100)
        .map(|(_, r)| r.clone())
        .collect();
    assert_eq!(messages(&rest), want);
}

#[test]
fn unix_stream_socket_delivers_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.sock");
    let server = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let reader = std::thread::spawn(move || {
        let (mut s, _) = server.accept().unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        let mut out = Vec::new();
        let mut at = 0;
        while at < all.len() {
            let len = u32::from_be_bytes(all[at..at + 4].try_into().unwrap()) as usize;
            out.push(decode_json(&all[at + 4..at + 4 + len]).unwrap());
            at += 4 + len;
        }
        out
    });
    let queue = QueueListener::builder()
        .handler(SocketHandler::unix(&path))
        .start()
        .unwrap();
    let q = queue.queue_handler();
    for i in 0..2000 {
        q.log(rec("u", i));
    }
    drop(queue);
    let got = reader.join().unwrap();
    assert_eq!(
        messages(&got),
        (0..2000).map(|i| format!("u-{i}")).collect::<Vec<_>>()
    );
}

#[test]
fn udp_datagrams_carry_frames_and_oversized_records_are_truncated_not_lost() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let addr = server.local_addr().unwrap();
    let queue = QueueListener::builder()
        .handler(DatagramHandler::udp(addr.to_string()).with_max_datagram(4096))
        .start()
        .unwrap();
    let q = queue.queue_handler();
    for i in 0..50 {
        q.log(rec("d", i));
        if i % 10 == 0 {
            // A receiver on loopback can drop datagrams when its buffer is
            // full: pace the sender so this test checks content, not luck.
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    q.log(
        Record::builder(Level::ERROR, "x".repeat(100_000))
            .logger("net")
            .build(),
    );
    drop(queue);
    let mut got = Vec::new();
    let mut buf = vec![0u8; 70_000];
    while got.len() < 51 {
        let n = server.recv(&mut buf).unwrap();
        assert!(n <= 4096);
        let len = u32::from_be_bytes(buf[..4].try_into().unwrap()) as usize;
        assert_eq!(len + 4, n, "one frame per datagram, length prefix included");
        got.push(decode_json(&buf[4..n]).unwrap());
    }
    assert_eq!(
        messages(&got[..50]),
        (0..50).map(|i| format!("d-{i}")).collect::<Vec<_>>()
    );
    let big = &got[50];
    assert_eq!(big.fields.get("truncated"), Some(&Value::Bool(true)));
    assert!(
        big.fields
            .get("original_size")
            .and_then(Value::as_i64)
            .unwrap()
            > 100_000
    );
    assert!(big.msg.len() > 3000 && big.msg.bytes().all(|b| b == b'x'));
}

#[test]
fn unix_datagrams_wait_for_the_receiver_to_appear() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dgram.sock");
    let queue = QueueListener::builder()
        .retry_interval(Duration::from_millis(10))
        .handler(DatagramHandler::unix(&path).with_backoff(fast_backoff()))
        .start()
        .unwrap();
    let q = queue.queue_handler();
    for i in 0..20 {
        q.log(rec("early", i));
    }
    assert!(queue.flush());
    let server = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 70_000];
    while got.len() < 20 {
        let n = server.recv(&mut buf).unwrap();
        got.push(decode_json(&buf[4..n]).unwrap());
    }
    drop(queue);
    assert_eq!(
        messages(&got),
        (0..20).map(|i| format!("early-{i}")).collect::<Vec<_>>()
    );
}

/// Reads every native frame from the first connection on `server` until
/// the peer closes; returns the payloads.
fn frame_payloads(server: std::os::unix::net::UnixListener) -> JoinHandle<Vec<Vec<u8>>> {
    std::thread::spawn(move || {
        let (mut s, _) = server.accept().unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        let mut out = Vec::new();
        let mut at = 0;
        while at < all.len() {
            let len = u32::from_be_bytes(all[at..at + 4].try_into().unwrap()) as usize;
            out.push(all[at + 4..at + 4 + len].to_vec());
            at += 4 + len;
        }
        out
    })
}

#[test]
fn a_socket_and_a_file_sharing_a_queue_get_the_same_bytes_for_each_record() {
    // Both handlers use the default native formatter, so producers format
    // each record once and the socket frames the very line the file writes.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.sock");
    let reader = frame_payloads(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let file = dir.path().join("app.log");
    let queue = QueueListener::builder()
        .handler(SocketHandler::unix(&path))
        .handler(tributary_handlers::FileHandler::append(&file).unwrap())
        .start()
        .unwrap();
    let q = queue.queue_handler();
    for i in 0..3000 {
        q.log(rec("shared", i));
    }
    q.log(
        Record::builder(Level::ERROR, "line\nbreak \"quoted\" é")
            .logger("net")
            .build(),
    );
    drop(queue);
    let frames = reader.join().unwrap();
    let text = std::fs::read(&file).unwrap();
    let lines: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(frames.len(), 3001);
    assert_eq!(lines.len(), 3001);
    for (frame, line) in frames.iter().zip(&lines) {
        assert_eq!(
            frame.as_slice(),
            *line,
            "a frame carries the file's line, without its newline"
        );
    }
    let decoded: Vec<Record> = frames.iter().map(|f| decode_json(f).unwrap()).collect();
    assert_eq!(
        messages(&decoded[..3000]),
        (0..3000).map(|i| format!("shared-{i}")).collect::<Vec<_>>()
    );
    assert_eq!(decoded[3000].msg, "line\nbreak \"quoted\" é");
    assert_eq!(decoded[1].fields.get("i"), Some(&Value::Int(1)));
}

#[test]
fn a_socket_handler_with_a_filter_still_sees_whole_records() {
    // A filter that enriches needs the record, so producers must not
    // format for this queue: the field it adds reaches the socket only.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.sock");
    let reader = frame_payloads(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let file = dir.path().join("app.log");
    let queue = QueueListener::builder()
        .handler(
            SocketHandler::unix(&path)
                .with_filter(tributary_handlers::filter::when(|r| {
                    r.level >= Level::WARNING
                }))
                .with_filter(tributary_handlers::filter::Context::new().field("via", "socket")),
        )
        .handler(tributary_handlers::FileHandler::append(&file).unwrap())
        .start()
        .unwrap();
    let q = queue.queue_handler();
    for i in 0..100 {
        let level = if i % 10 == 0 {
            Level::ERROR
        } else {
            Level::INFO
        };
        q.log(
            Record::builder(level, format!("f-{i}"))
                .logger("net")
                .build(),
        );
    }
    drop(queue);
    let got: Vec<Record> = reader
        .join()
        .unwrap()
        .iter()
        .map(|f| decode_json(f).unwrap())
        .collect();
    assert_eq!(
        messages(&got),
        (0..100)
            .step_by(10)
            .map(|i| format!("f-{i}"))
            .collect::<Vec<_>>()
    );
    assert!(
        got.iter()
            .all(|r| r.fields.get("via") == Some(&Value::from("socket")))
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), 100);
    assert!(!text.contains("\"via\""));
}
