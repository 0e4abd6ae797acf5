//! Child processes of a bench run: started with their stdout captured and
//! their stderr in a file, reaped with `wait4` so their CPU and memory are
//! known, and killed by a watchdog if a run hangs.

use crate::procstat::{self, Usage};
use anyhow::{Context, bail};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A running child.
pub struct Child {
    /// Its process id.
    pub pid: u32,
    name: String,
    stderr_path: PathBuf,
    stdout: Option<JoinHandle<String>>,
}

/// How a child ended.
pub struct Exit {
    /// CPU and peak memory, from `wait4`.
    pub usage: Usage,
    /// Everything it printed on stdout.
    pub stdout: String,
}

impl Child {
    /// Starts `cmd` with stdout captured and stderr going to `dir/NAME.err`.
    pub fn spawn(cmd: &mut Command, name: &str, dir: &Path) -> anyhow::Result<Child> {
        let (child, mut stdout, stderr_path) = start(cmd, name, dir)?;
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stdout.read_to_string(&mut s);
            s
        });
        Ok(Child {
            pid: child,
            name: name.into(),
            stderr_path,
            stdout: Some(reader),
        })
    }

    /// Starts `cmd` and reads its stdout until a line starting with
    /// `listening ` (a readiness line); returns the child and that line.
    pub fn spawn_ready(
        cmd: &mut Command,
        name: &str,
        dir: &Path,
    ) -> anyhow::Result<(Child, String)> {
        Child::spawn_ready_with(cmd, name, dir, "listening ")
    }

    /// Starts `cmd` and reads its stdout until a line starting with
    /// `ready` (`collecting ` for `tributary collect`).
    pub fn spawn_ready_with(
        cmd: &mut Command,
        name: &str,
        dir: &Path,
        ready: &str,
    ) -> anyhow::Result<(Child, String)> {
        let (pid, stdout, stderr_path) = start(cmd, name, dir)?;
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let mut child = Child {
            pid,
            name: name.into(),
            stderr_path,
            stdout: None,
        };
        loop {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .context("cannot read the receiver's stdout")?;
            if n == 0 {
                let err = child.stderr_tail();
                let _ = procstat::wait_child(pid);
                bail!("{name} exited before it was ready: {err}");
            }
            if line.starts_with(ready) {
                break;
            }
        }
        child.stdout = Some(std::thread::spawn(move || {
            let mut s = String::new();
            let _ = reader.read_to_string(&mut s);
            s
        }));
        Ok((child, line.trim().to_string()))
    }

    /// Waits for the child; an exit code other than 0 is an error showing
    /// the end of its stderr.
    pub fn wait(mut self) -> anyhow::Result<Exit> {
        let (code, usage) = procstat::wait_child(self.pid)?;
        let stdout = self
            .stdout
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        if code != 0 {
            bail!(
                "{} exited with code {code}: {}",
                self.name,
                self.stderr_tail()
            );
        }
        Ok(Exit { usage, stdout })
    }

    /// The last lines the child wrote on stderr.
    pub fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(8)..].join("\n");
        if tail.is_empty() {
            "(nothing on stderr)".into()
        } else {
            tail
        }
    }
}

fn start(cmd: &mut Command, name: &str, dir: &Path) -> anyhow::Result<(u32, ChildStdout, PathBuf)> {
    let stderr_path = dir.join(format!("{}.err", name.replace(' ', "-")));
    let stderr = std::fs::File::create(&stderr_path)
        .with_context(|| format!("cannot create {}", stderr_path.display()))?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .with_context(|| format!("cannot start {name} ({:?})", cmd.get_program()))?;
    let stdout = child.stdout.take().context("no stdout pipe")?;
    // The std handle is dropped without waiting: `wait_child` reaps it.
    Ok((child.id(), stdout, stderr_path))
}

/// Kills every watched process if the run outlives its deadline, so a hung
/// system fails the run instead of hanging the bench.
pub struct Watchdog {
    pids: Arc<Mutex<Vec<u32>>>,
    done: Arc<AtomicBool>,
    fired: Arc<AtomicBool>,
}

impl Watchdog {
    /// Arms a watchdog for `limit` from now.
    pub fn new(limit: Duration) -> Watchdog {
        let pids = Arc::new(Mutex::new(Vec::<u32>::new()));
        let done = Arc::new(AtomicBool::new(false));
        let fired = Arc::new(AtomicBool::new(false));
        let (p, d, f) = (pids.clone(), done.clone(), fired.clone());
        let deadline = Instant::now() + limit;
        std::thread::spawn(move || {
            while !d.load(Ordering::Relaxed) {
                if Instant::now() >= deadline {
                    f.store(true, Ordering::Relaxed);
                    if let Ok(pids) = p.lock() {
                        for &pid in pids.iter() {
                            procstat::kill(pid, libc::SIGKILL);
                        }
                    }
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Watchdog { pids, done, fired }
    }

    /// Adds a process to kill on timeout.
    pub fn watch(&self, pid: u32) {
        if let Ok(mut pids) = self.pids.lock() {
            pids.push(pid);
        }
    }

    /// Stops watching a process (once reaped, its pid may be reused).
    pub fn unwatch(&self, pid: u32) {
        if let Ok(mut pids) = self.pids.lock() {
            pids.retain(|&p| p != pid);
        }
    }

    /// Whether the deadline passed and the processes were killed.
    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::Relaxed)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
    }
}

/// Polls `done` every 10 ms until it holds, or fails after `limit`
/// naming `what`.
pub fn wait_for(limit: Duration, what: &str, mut done: impl FnMut() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() > deadline {
            bail!("waited {limit:?} for {what}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}
