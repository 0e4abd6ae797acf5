//! Shared helpers for the end-to-end tests: run the real `tributary`
//! binary, read its readiness lines, send records, read the output.

#![allow(dead_code)] // each test binary uses a different subset
#![allow(clippy::unwrap_used)] // test helpers: a failure should fail the test

pub mod ack_producer;
pub mod child;
pub mod file_limit;
pub mod lcg;
pub mod raw_client;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
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
    /// What stderr said so far (for [`Tributary::wait_stderr`]).
    stderr_so_far: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Tributary {
    /// Starts `tributary listen ARGS` in `cwd` and waits for one readiness
    /// line per input.
    pub fn start(cwd: &Path, args: &[&str]) -> Tributary {
        let inputs = args
            .iter()
            .filter(|a| {
                matches!(
                    **a,
                    "--tcp"
                        | "--udp"
                        | "--unix"
                        | "--unix-dgram"
                        | "--syslog-tcp"
                        | "--syslog-udp"
                        | "--syslog-unix"
                        | "--syslog-unix-stream"
                )
            })
            .count();
        let expected = if inputs == 0 { 2 } else { inputs };
        Tributary::start_expecting(cwd, args, expected)
    }

    pub fn start_expecting(cwd: &Path, args: &[&str], expected: usize) -> Tributary {
        Tributary::start_with_env(cwd, args, expected, &[])
    }

    /// [`start_expecting`](Self::start_expecting) with extra environment
    /// variables (the test hooks' settings).
    pub fn start_with_env(
        cwd: &Path,
        args: &[&str],
        expected: usize,
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Tributary {
        Tributary::try_start(cwd, args, expected, env)
            .unwrap_or_else(|err| panic!("no readiness lines; {err}"))
    }

    /// Starts the listener; `Err` with its exit status and stderr when it
    /// exits (or stays silent) before printing its readiness lines.
    pub fn try_start(
        cwd: &Path,
        args: &[&str],
        expected: usize,
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Result<Tributary, String> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tributary"))
            .arg("listen")
            .args(args)
            .envs(env.iter().copied())
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tributary");
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let stderr_so_far = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let so_far = stderr_so_far.clone();
        let stderr = std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                so_far.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
            String::from_utf8_lossy(&so_far.lock().unwrap()).into_owned()
        });
        let rx = child::lines_in_background(stdout);
        let mut bound = Vec::new();
        let mut t = Tributary {
            child: Some(child),
            bound: Vec::new(),
            stderr: Some(stderr),
            stderr_so_far,
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
                    return Err(format!("exit {status:?}; stderr:\n{err}"));
                }
            }
        }
        t.bound = bound;
        Ok(t)
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

    /// Waits until stderr contains `needle` (while it runs), failing with
    /// `what` and what stderr said at the deadline.
    pub fn wait_stderr(&self, needle: &str, what: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let so_far = String::from_utf8_lossy(&self.stderr_so_far.lock().unwrap()).into_owned();
            if so_far.contains(needle) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: no {needle:?} on stderr within {PATIENCE:?}; it said:\n{so_far}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
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
        let Some(status) = child::exit_by(&mut child, Instant::now() + PATIENCE) else {
            let _ = child.kill();
            panic!("tributary did not exit");
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
        .trim_end_matches(';')
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

/// A free loopback port now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Lines in `path` (0 if it does not exist).
pub fn count_lines(path: &Path) -> usize {
    std::fs::read(path)
        .unwrap_or_default()
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// Waits until `path` holds at least `n` lines; returns them parsed.
/// Panics at the deadline, naming the count it saw: a test whose records
/// never arrive fails here rather than later on a confusing count.
pub fn wait_for_lines(path: &Path, n: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let count = count_lines(path);
        if count >= n {
            return read_json(path);
        }
        assert!(
            Instant::now() < deadline,
            "{} holds {count} lines after {PATIENCE:?}, expected at least {n}",
            path.display()
        );
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

/// Starts a listener on a free loopback TCP port writing `app.log` in `dir`
/// as text lines of `pattern`, with `extra` arguments.
pub fn start_text(dir: &Path, pattern: &str, extra: &[&str]) -> Tributary {
    let mut args = vec![
        "--tcp",
        "127.0.0.1:0",
        "--out",
        "app.log",
        "--pattern",
        pattern,
    ];
    args.extend_from_slice(extra);
    Tributary::start(dir, &args)
}

/// Runs `body` in python3 with `log`, the `app` logger at INFO, sending
/// through the stdlib's `logging.handlers.SocketHandler` to `port` on
/// loopback; the handler is closed (everything sent) before it returns.
pub fn python_socket_handler(port: u16, body: &str) {
    python_socket_handler_to("127.0.0.1", port, body);
}

/// [`python_socket_handler`] to `host`.
pub fn python_socket_handler_to(host: &str, port: u16, body: &str) {
    let script = format!(
        "import logging, logging.handlers\n\
         log = logging.getLogger(\"app\")\n\
         log.setLevel(logging.INFO)\n\
         handler = logging.handlers.SocketHandler(\"{host}\", {port})\n\
         log.addHandler(handler)\n\
         {body}\n\
         handler.close()\n"
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("python3 is needed for this test (apt-get install python3): {e}")
        });
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn wait_ok(child: Child, what: &str) {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A `Vm*` line of /proc/PID/status in KiB: `VmHWM` is the peak resident
/// set, `VmRSS` the current one.
pub fn proc_status_kib(pid: i32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
}

/// Raises this process's soft limit on open files to at least `want` (up
/// to the hard limit), so a test can hold hundreds of sockets; children
/// started afterwards (the listener) inherit it. Returns the soft limit.
pub fn raise_open_files(want: u64) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit through a valid pointer.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut lim) },
        0
    );
    if lim.rlim_cur >= want {
        return lim.rlim_cur;
    }
    lim.rlim_cur = want.min(lim.rlim_max);
    // SAFETY: setrlimit reads one rlimit through a valid pointer.
    assert_eq!(
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const lim) },
        0
    );
    lim.rlim_cur
}

/// Whether the peer of a connected socket has closed or reset it, asked
/// without reading or waiting (a listener never writes to its producers, so
/// anything readable is an end of stream or an error).
pub fn closed_by_peer(fd: std::os::fd::RawFd) -> bool {
    let mut byte = 0u8;
    // SAFETY: recv writes at most one byte into `byte`; fd is an open socket.
    let n = unsafe {
        libc::recv(
            fd,
            (&raw mut byte).cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    !(n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::WouldBlock)
}

/// An IPv4 address of this machine that is not loopback (from its
/// interfaces), for tests of what peers on other hosts get; fails, saying
/// why, on a machine that has none.
pub fn non_loopback_ipv4() -> std::net::Ipv4Addr {
    let mut found = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list that we free below.
    assert_eq!(
        unsafe { libc::getifaddrs(&raw mut list) },
        0,
        "getifaddrs: {}",
        std::io::Error::last_os_error()
    );
    let mut at = list;
    while !at.is_null() {
        // SAFETY: `at` is a node of the list getifaddrs returned.
        let ifa = unsafe { &*at };
        // SAFETY: a non-null ifa_addr points to a sockaddr.
        let family = (!ifa.ifa_addr.is_null()).then(|| unsafe { (*ifa.ifa_addr).sa_family });
        if family.map(i32::from) == Some(libc::AF_INET) {
            // SAFETY: an AF_INET address is a sockaddr_in.
            let sin = unsafe { &*ifa.ifa_addr.cast::<libc::sockaddr_in>() };
            let ip = std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            if !ip.is_loopback() && !ip.is_unspecified() {
                found.push(ip);
            }
        }
        at = ifa.ifa_next;
    }
    // SAFETY: the list getifaddrs returned, freed once.
    unsafe { libc::freeifaddrs(list) };
    *found.first().unwrap_or_else(|| {
        panic!(
            "this test needs an IPv4 address that is not loopback on one of this machine's \
             interfaces (a peer on another host, as the listener sees it); found none: \
             bring up a network interface (e.g. `ip addr add 192.0.2.2/24 dev eth0`)"
        )
    })
}

/// Creates a FIFO (named pipe) at `path`, mode 0600.
pub fn mkfifo(path: &Path) {
    let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
}

/// `producer` and `n` of a line the listener wrote for a [`rust_record`],
/// read without a JSON parser (the native profile's key order puts
/// `fields` last, and a `rust_record` holds `producer` then `n`); `None`
/// for any other line.
pub fn producer_and_n(line: &[u8]) -> Option<(&str, u64)> {
    let tail_at = line
        .windows(21)
        .rposition(|w| w == b"\"fields\":{\"producer\":")?;
    let rest = line.get(tail_at + 22..)?;
    let end = rest.iter().position(|&b| b == b'"')?;
    let producer = std::str::from_utf8(&rest[..end]).ok()?;
    let n = rest[end..].strip_prefix(b"\",\"n\":")?;
    let digits = n.iter().take_while(|b| b.is_ascii_digit()).count();
    let n = std::str::from_utf8(&n[..digits]).ok()?.parse().ok()?;
    Some((producer, n))
}

/// The `ts` of a native JSON line (its first key), in seconds since the epoch.
pub fn line_ts(line: &[u8]) -> Option<f64> {
    let rest = line.strip_prefix(b"{\"ts\":\"")?;
    let end = rest.iter().position(|&b| b == b'"')?;
    let ts = std::str::from_utf8(&rest[..end]).ok()?;
    Some(tributary_core::Timestamp::parse_rfc3339(ts)?.as_secs_f64())
}

/// Datagrams the kernel dropped at the UDP socket bound to `addr` (its
/// receive buffer was full), from /proc/net/udp: a loss no listener can
/// see, so tests account for it instead of assuming it never happens.
pub fn udp_kernel_drops(addr: SocketAddr) -> u64 {
    let SocketAddr::V4(v4) = addr else {
        panic!("udp_kernel_drops reads /proc/net/udp (IPv4): {addr}")
    };
    let local = format!(
        "{:08X}:{:04X}",
        u32::from_le_bytes(v4.ip().octets()),
        v4.port()
    );
    let table = std::fs::read_to_string("/proc/net/udp").unwrap();
    table
        .lines()
        .skip(1)
        .find(|l| l.split_whitespace().nth(1) == Some(local.as_str()))
        .unwrap_or_else(|| panic!("no UDP socket {addr} ({local}) in /proc/net/udp:\n{table}"))
        .split_whitespace()
        .last()
        .unwrap()
        .parse()
        .unwrap()
}

impl Tributary {
    /// What stderr said so far (while it runs).
    pub fn stderr_now(&self) -> String {
        String::from_utf8_lossy(&self.stderr_so_far.lock().unwrap()).into_owned()
    }
}

/// Records of an output by message text, skipping the listener's own
/// (logger `tributary`).
pub fn by_msg(
    lines: &[serde_json::Value],
) -> std::collections::BTreeMap<String, Vec<serde_json::Value>> {
    let mut out: std::collections::BTreeMap<String, Vec<serde_json::Value>> =
        std::collections::BTreeMap::new();
    for l in lines {
        if l["logger"] == "tributary" {
            continue;
        }
        out.entry(l["msg"].as_str().unwrap().to_owned())
            .or_default()
            .push(l.clone());
    }
    out
}

/// Fails the test, saying how to install it, when `program` (a real
/// client or server the test runs) is not on the PATH.
pub fn need(program: &str, package: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(
        found,
        "{program} is needed for this test: install it (Debian: apt-get install {package})"
    );
}
