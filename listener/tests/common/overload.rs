//! Sustained overload from many connections: each sends native frames as
//! fast as the socket takes them, so the listener runs on backpressure the
//! whole time. Shared by the memory test and the `overload` bench.

#![allow(clippy::unwrap_used)] // test and bench support: a failure should abort

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;
use tributary_core::{JsonFormatter, Level, Record, frame};

/// What one overload run measured.
#[derive(Debug)]
pub struct Overload {
    /// Records sent (and, checked, written: each (connection, seq) pair
    /// exactly once).
    pub records: u64,
    /// Bytes of frames sent, all connections together.
    pub offered_bytes: u64,
    /// From the first byte sent to the last record written.
    pub seconds: f64,
    /// The listener's peak resident set (`VmHWM`), in KiB.
    pub peak_rss_kib: u64,
}

/// Checks that `log` holds each (connection, seq) pair exactly once and
/// nothing else: newline counts alone would let a loss and a duplicate
/// cancel out.
fn assert_every_record_once(log: &Path, connections: usize, per_connection: u64) {
    let text = std::fs::read(log).unwrap();
    let mut seen = vec![vec![false; per_connection as usize]; connections];
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let c = number_after(line, b"\"logger\":\"overload.c");
        let n = number_after(line, b",\"seq\":");
        let (Some(c), Some(n)) = (c, n) else {
            panic!("a line not sent: {}", String::from_utf8_lossy(line));
        };
        let slot = seen
            .get_mut(c as usize)
            .and_then(|s| s.get_mut(n as usize))
            .unwrap_or_else(|| panic!("connection {c} record {n} was never sent"));
        assert!(!*slot, "connection {c} record {n} written twice");
        *slot = true;
    }
    for (c, records) in seen.iter().enumerate() {
        if let Some(n) = records.iter().position(|&s| !s) {
            panic!("connection {c} record {n} was not written");
        }
    }
}

/// The decimal number right after `key` in `line`.
fn number_after(line: &[u8], key: &[u8]) -> Option<u64> {
    let at = line.windows(key.len()).position(|w| w == key)? + key.len();
    let digits = line[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&line[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

/// The `VmHWM` line of /proc/PID/status, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Runs `tributary listen` (the binary at `bin`) in `dir`, with
/// `connections` connections each sending `per_connection` records as fast
/// as they can; waits until every record is written, then stops it.
pub fn run(bin: &Path, dir: &Path, connections: usize, per_connection: u64) -> Overload {
    run_with(bin, dir, connections, per_connection, &[])
}

/// [`run`] with extra `listen` arguments (smaller queues, say).
pub fn run_with(
    bin: &Path,
    dir: &Path,
    connections: usize,
    per_connection: u64,
    extra: &[&str],
) -> Overload {
    let mut child = Command::new(bin)
        .args(["listen", "--tcp", "127.0.0.1:0", "--out", "overload.log"])
        .args(extra)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    let addr = ready
        .trim()
        .strip_prefix("listening tcp ")
        .unwrap()
        .to_owned();
    let started = Instant::now();
    let senders: Vec<_> = (0..connections)
        .map(|c| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let json = JsonFormatter::native();
                let mut wire = Vec::with_capacity(256 * 1024);
                let mut socket = TcpStream::connect(&addr).unwrap();
                let mut sent = 0u64;
                for n in 0..per_connection {
                    let record =
                        Record::builder(Level::INFO, "GET /api/v1/items?page=3 status=200")
                            .logger(format!("overload.c{c}"))
                            .seq(n)
                            .field("user", "ann")
                            .field("bytes", 5120)
                            .build();
                    frame::encode_record(&record, &json, &mut wire).unwrap();
                    if wire.len() >= 192 * 1024 {
                        socket.write_all(&wire).unwrap();
                        sent += wire.len() as u64;
                        wire.clear();
                    }
                }
                socket.write_all(&wire).unwrap();
                sent + wire.len() as u64
            })
        })
        .collect();
    let offered_bytes = senders.into_iter().map(|s| s.join().unwrap()).sum();
    let records = connections as u64 * per_connection;
    let log = dir.join("overload.log");
    let deadline = Instant::now() + std::time::Duration::from_secs(300);
    // Newlines counted as the file grows: the records are all written.
    let (mut seen, mut offset) = (0u64, 0u64);
    while seen < records {
        assert!(Instant::now() < deadline, "{seen} of {records} written");
        let mut file = std::fs::File::open(&log).unwrap();
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(offset)).unwrap();
        let mut chunk = Vec::new();
        file.read_to_end(&mut chunk).unwrap();
        offset += chunk.len() as u64;
        seen += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        if seen < records {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let peak_rss_kib = peak_rss_kib(child.id());
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(child.wait().unwrap().success(), "{stderr}");
    assert_every_record_once(&log, connections, per_connection);
    Overload {
        records,
        offered_bytes,
        seconds,
        peak_rss_kib,
    }
}
