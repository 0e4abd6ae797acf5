//! Shared helpers for the end-to-end tests: run the real `tributary`
//! binary, read its readiness lines, send records, read the output.

#![allow(dead_code)] // each test binary uses a different subset
#![allow(clippy::unwrap_used)] // test helpers: a failure should fail the test

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tributary_core::{JsonFormatter, Level, Record, frame};

/// Generous: these bound waits for events that must happen; they are not
/// what the tests measure.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A running `tributary listen`.
pub struct Tributary {
    child: Option<Child>,
    /// `(kind, address)` from each readiness line, in order.
    pub bound: Vec<(String, String)>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Tributary {
    /// Starts `tributary listen ARGS` in `cwd` and waits for one readiness
    /// line per input.
    pub fn start(cwd: &Path, args: &[&str]) -> Tributary {
        let inputs = args
            .iter()
            .filter(|a| matches!(**a, "--tcp" | "--udp" | "--unix" | "--unix-dgram"))
            .count();
        let expected = if inputs == 0 { 2 } else { inputs };
        Tributary::start_expecting(cwd, args, expected)
    }

    pub fn start_expecting(cwd: &Path, args: &[&str], expected: usize) -> Tributary {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tributary"))
            .arg("listen")
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tributary");
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut bound = Vec::new();
        let mut t = Tributary {
            child: Some(child),
            bound: Vec::new(),
            stderr: Some(stderr),
        };
        while bound.len() < expected {
            match rx.recv_timeout(PATIENCE) {
                Ok(line) => {
                    let rest = line.strip_prefix("listening ").expect("readiness line");
                    let (kind, addr) = rest.split_once(' ').expect("kind and address");
                    bound.push((kind.to_owned(), addr.to_owned()));
                }
                Err(_) => {
                    let (status, err) = t.finish_now();
                    panic!("no readiness lines; exit {status:?}; stderr:\n{err}");
                }
            }
        }
        t.bound = bound;
        t
    }

    /// The address of the `n`th input of `kind`.
    pub fn addr(&self, kind: &str, n: usize) -> String {
        self.bound
            .iter()
            .filter(|(k, _)| k == kind)
            .nth(n)
            .map(|(_, a)| a.clone())
            .unwrap_or_else(|| panic!("no {kind} input #{n} in {:?}", self.bound))
    }

    pub fn tcp(&self, n: usize) -> SocketAddr {
        self.addr("tcp", n).parse().unwrap()
    }

    pub fn udp(&self, n: usize) -> SocketAddr {
        self.addr("udp", n).parse().unwrap()
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    pub fn signal(&self, sig: libc::c_int) {
        // SAFETY: sending a signal to our own child process.
        assert_eq!(unsafe { libc::kill(self.pid(), sig) }, 0);
    }

    /// Sends SIGTERM and waits: the exit status and everything on stderr.
    pub fn stop(mut self) -> (ExitStatus, String) {
        self.signal(libc::SIGTERM);
        self.wait()
    }

    pub fn wait(&mut self) -> (ExitStatus, String) {
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("tributary did not exit");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let err = self.stderr.take().unwrap().join().unwrap();
        (status, err)
    }

    fn finish_now(&mut self) -> (Option<ExitStatus>, String) {
        let mut child = self.child.take().unwrap();
        let _ = child.kill();
        let status = child.wait().ok();
        (status, self.stderr.take().unwrap().join().unwrap())
    }
}

impl Drop for Tributary {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A counter from the summary line on stderr, summed over inputs:
/// `counter(stderr, "malformed")`.
pub fn summary_counter(stderr: &str, name: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("tributary: summary:"))
        .unwrap_or_else(|| panic!("no summary in stderr:\n{stderr}"));
    let (inputs, _writer) = line.split_once("writer:").unwrap();
    inputs
        .split_whitespace()
        .filter_map(|w| w.strip_prefix(&format!("{name}=")))
        .map(|v| v.trim_end_matches(';').parse::<u64>().unwrap())
        .sum()
}

/// The writer's counter from the summary line.
pub fn summary_writer(stderr: &str, name: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("tributary: summary:"))
        .unwrap();
    let (_, writer) = line.split_once("writer:").unwrap();
    writer
        .split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{name}=")))
        .unwrap()
        .parse()
        .unwrap()
}

/// A record from a Rust producer: logger `rust.<producer>`, fields
/// `producer` and `n`, `seq` = n.
pub fn rust_record(producer: &str, n: u64) -> Record {
    Record::builder(Level::INFO, format!("record {n} from {producer}"))
        .logger(format!("rust.{producer}"))
        .seq(n)
        .field("producer", producer)
        .field("n", n)
        .build()
}

/// Sends `count` native frames from one connection, in chunks of odd sizes.
pub fn send_native(addr: SocketAddr, producer: &str, count: u64) {
    let mut wire = Vec::new();
    for n in 0..count {
        frame::encode_record(
            &rust_record(producer, n),
            &JsonFormatter::native(),
            &mut wire,
        )
        .unwrap();
    }
    let mut s = TcpStream::connect(addr).unwrap();
    for chunk in wire.chunks(997) {
        s.write_all(chunk).unwrap();
    }
}

/// Sends `count` newline-delimited JSON records from one connection.
pub fn send_lines(addr: SocketAddr, producer: &str, count: u64) {
    let mut wire = Vec::new();
    for n in 0..count {
        tributary_core::Formatter::format(
            &JsonFormatter::native(),
            &rust_record(producer, n),
            &mut wire,
        );
        wire.push(b'\n');
    }
    TcpStream::connect(addr).unwrap().write_all(&wire).unwrap();
}

/// Every JSON line of a file.
pub fn read_json(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}")))
        .collect()
}

/// Waits until `path` holds at least `n` lines; returns them parsed.
pub fn wait_for_lines(path: &Path, n: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let text = std::fs::read(path).unwrap_or_default();
        let count = text.iter().filter(|&&b| b == b'\n').count();
        if count >= n || Instant::now() > deadline {
            return read_json(path);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Counts records per (producer, n) from the `fields` of JSON lines,
/// skipping the listener's own records.
pub fn tally(lines: &[serde_json::Value]) -> BTreeMap<(String, u64), usize> {
    let mut seen = BTreeMap::new();
    for line in lines {
        if line["logger"] == "tributary" {
            continue;
        }
        let f = &line["fields"];
        let key = (
            f["producer"]
                .as_str()
                .unwrap_or_else(|| panic!("no producer: {line}"))
                .to_owned(),
            f["n"].as_u64().unwrap(),
        );
        *seen.entry(key).or_insert(0) += 1;
    }
    seen
}

/// Asserts every (producer, 0..count) appears exactly once.
pub fn assert_exactly_once(seen: &BTreeMap<(String, u64), usize>, producers: &[(String, u64)]) {
    for (p, count) in producers {
        for n in 0..*count {
            let c = seen.get(&(p.clone(), n)).copied().unwrap_or(0);
            assert_eq!(c, 1, "record {n} of {p} seen {c} times");
        }
    }
    let expected: u64 = producers.iter().map(|(_, c)| c).sum();
    assert_eq!(
        seen.values().sum::<usize>() as u64,
        expected,
        "unexpected extra records"
    );
}

pub fn py_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/producer.py")
}

/// Starts a Python producer (see tests/py/producer.py).
pub fn python(args: &[&str]) -> Child {
    Command::new("python3")
        .arg(py_script())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3")
}

pub fn wait_ok(child: Child, what: &str) {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
