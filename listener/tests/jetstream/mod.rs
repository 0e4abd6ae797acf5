//! Helpers for the scale-out tests: a real `nats-server -js` on a free
//! loopback port with a temporary store, and `tributary collect` as a
//! child process.

#![allow(dead_code)] // each test uses a different subset
#![allow(clippy::unwrap_used)] // test helpers: a failure should fail the test

use crate::common::child::{exit_by, lines_in_background, text_in_background};
use crate::common::{PATIENCE, count_lines, free_port};
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Where `nats-server` is, or a failure saying how to install it.
pub fn nats_server_bin() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/bin")])
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "nats-server is not installed; these tests need a real one: \
                 `apt-get install nats-server` (Debian/Ubuntu; JetStream since 2.2) \
                 or put a nats-server binary on PATH"
            )
        })
}

/// A running `nats-server -js`, killed when dropped.
pub struct NatsServer {
    child: Option<Child>,
    pub port: u16,
    pub store: PathBuf,
}

impl NatsServer {
    /// Starts one on a free port with its store under `dir`.
    pub fn start(dir: &Path) -> NatsServer {
        NatsServer::start_on(dir, free_port())
    }

    /// Starts one on `port` with its store under `dir` (the same store
    /// after a restart).
    pub fn start_on(dir: &Path, port: u16) -> NatsServer {
        NatsServer::spawn(dir, port, None)
    }

    /// Starts one on a free port with its store under `dir` and
    /// `config` (nats-server's configuration syntax, e.g.
    /// `max_payload: 4096`) as its configuration file.
    pub fn start_with_config(dir: &Path, config: &str) -> NatsServer {
        let file = dir.join("nats.conf");
        std::fs::write(&file, config).unwrap();
        NatsServer::spawn(dir, free_port(), Some(&file))
    }

    fn spawn(dir: &Path, port: u16, config: Option<&Path>) -> NatsServer {
        let store = dir.join("nats-store");
        std::fs::create_dir_all(&store).unwrap();
        let mut command = Command::new(nats_server_bin());
        if let Some(config) = config {
            command.arg("-c").arg(config);
        }
        let mut child = command
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(&store)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nats-server");
        // Ready once it logs so (JetStream is up by then).
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            let mut log = String::new();
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                log.push_str(&line);
                log.push('\n');
                if !sent && line.contains("Server is ready") {
                    sent = true;
                    let _ = tx.send(Ok(()));
                }
            }
            if !sent {
                let _ = tx.send(Err(log));
            }
        });
        match rx.recv_timeout(PATIENCE) {
            Ok(Ok(())) => {}
            Ok(Err(log)) => panic!("nats-server did not start:\n{log}"),
            Err(_) => panic!("nats-server not ready in time"),
        }
        NatsServer {
            child: Some(child),
            port,
            store,
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Sends `signal` (SIGSTOP, SIGCONT...) to the server.
    pub fn signal(&self, signal: libc::c_int) {
        let pid = self.child.as_ref().expect("nats-server running").id() as i32;
        // SAFETY: signalling our own child.
        assert_eq!(
            unsafe { libc::kill(pid, signal) },
            0,
            "kill({pid}, {signal})"
        );
    }

    /// `kill -9`, and waits for the process to be gone.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A running `tributary collect`.
pub struct Collector {
    child: Option<Child>,
    /// The readiness line.
    pub line: String,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Collector {
    /// Starts `tributary collect --nats URL ARGS` in `cwd` and waits for
    /// its `collecting ...` line.
    pub fn start(cwd: &Path, url: &str, args: &[&str]) -> Collector {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tributary"))
            .args(["collect", "--nats", url])
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tributary collect");
        let rx = lines_in_background(child.stdout.take().unwrap());
        let stderr = text_in_background(child.stderr.take().unwrap());
        let mut c = Collector {
            child: Some(child),
            line: String::new(),
            stderr: Some(stderr),
        };
        match rx.recv_timeout(PATIENCE) {
            Ok(line) if line.starts_with("collecting ") => c.line = line,
            other => {
                let (status, err) = c.kill9();
                panic!("no `collecting` line ({other:?}); exit {status:?}; stderr:\n{err}");
            }
        }
        c
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    /// SIGTERM, then waits: exit status and stderr.
    pub fn stop(mut self) -> (ExitStatus, String) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.pid(), libc::SIGTERM) };
        let mut child = self.child.take().unwrap();
        let status =
            exit_by(&mut child, Instant::now() + PATIENCE).expect("collector did not exit");
        (status, self.stderr.take().unwrap().join().unwrap())
    }

    /// `kill -9`: exit status and stderr.
    pub fn kill9(&mut self) -> (Option<ExitStatus>, String) {
        let mut child = self.child.take().unwrap();
        let _ = child.kill();
        let status = child.wait().ok();
        (status, self.stderr.take().unwrap().join().unwrap())
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits until `path` has at least `n` lines; fails with `what` and the
/// count reached otherwise.
pub fn wait_lines(path: &Path, n: usize, what: &str) {
    let deadline = Instant::now() + PATIENCE * 2;
    loop {
        let have = count_lines(path);
        if have >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {} has {have} of {n} lines",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether a TCP connection to the port succeeds.
pub fn reachable(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}
