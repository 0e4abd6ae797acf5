//! `tributary tail -f` across rotation: a real listener rotating every
//! 64 KiB with gzip under four Python producers (renames, several rotations
//! between two polls, archives gzipped under the follower), copy-truncate,
//! and delete + re-create. The follower's output must be every line of the
//! log exactly once, in the order the writer wrote them.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{PATIENCE, Tributary, python, send_lines, wait_ok};

/// A running `tributary tail -f`, its stdout collected line by line.
struct Follower {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Follower {
    fn start(cwd: &Path, args: &[&str]) -> Follower {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tributary"))
            .arg("tail")
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tributary tail");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        let stderr = common::child::text_in_background(child.stderr.take().unwrap());
        Follower {
            child,
            lines,
            stderr: Some(stderr),
        }
    }

    /// Waits until the follower has printed `n` lines; false when it has
    /// not within the patience (the caller then compares what it has, to
    /// say which lines are missing).
    fn wait_for(&self, n: usize) -> bool {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if self.lines.lock().unwrap().len() >= n {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(mut self) -> (Vec<String>, String) {
        self.terminate();
        let stderr = self.stderr.take().unwrap().join().unwrap();
        let lines = self.lines.lock().unwrap().clone();
        (lines, stderr)
    }

    fn terminate(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: kill on a child this test started and has not reaped.
            unsafe {
                libc::kill(self.child.id() as i32, libc::SIGTERM);
            }
            let _ = self.child.wait();
        }
    }
}

impl Drop for Follower {
    /// A failed assertion must not leave the follower running.
    fn drop(&mut self) {
        self.terminate();
    }
}

/// Every line of `live`'s archives (oldest first; Python's `.N` … `.1`,
/// plain or gzip) and then of `live`, read without the reader under test.
fn written_lines(live: &Path, python_naming: bool) -> Vec<String> {
    let dir = live.parent().unwrap();
    let base = live.file_name().unwrap().to_str().unwrap().to_owned();
    let mut archives: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            let rest = name.strip_prefix(&format!("{base}."))?;
            let n: u64 = rest.strip_suffix(".gz").unwrap_or(rest).parse().ok()?;
            Some((n, path))
        })
        .collect();
    archives.sort();
    if python_naming {
        archives.reverse();
    }
    let mut out = Vec::new();
    let mut ends = Vec::new();
    for (_, path) in archives {
        let bytes = std::fs::read(&path).unwrap();
        let text = if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut s = String::new();
            flate2::read::MultiGzDecoder::new(&bytes[..])
                .read_to_string(&mut s)
                .unwrap();
            s
        } else {
            String::from_utf8(bytes).unwrap()
        };
        out.extend(text.lines().map(str::to_owned));
        ends.push(format!(
            "{}:{}",
            path.file_name().unwrap().to_str().unwrap(),
            out.len()
        ));
    }
    // Shown with a failure: which file a missing line was in.
    eprintln!(
        "archives, each with the line count at its end: {}",
        ends.join(" ")
    );
    let live_text = std::fs::read_to_string(live).unwrap_or_default();
    out.extend(live_text.lines().map(str::to_owned));
    out
}

fn assert_same_sequence(got: &[String], want: &[String], stderr: &str) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            g,
            w,
            "line {i} differs ({} lines shown, {} written); follower stderr: {stderr}",
            got.len(),
            want.len()
        );
    }
    assert_eq!(
        got.len(),
        want.len(),
        "line count (the lines shown are the first ones written); follower stderr: {stderr}"
    );
}

fn require_python() {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "python3 is needed for this test: install it (apt-get install python3)"
    );
}

#[test]
fn follows_a_listener_rotating_every_64k_with_gzip_under_four_producers() {
    require_python();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("logs/app.log");
    let t = Tributary::start(
        dir.path(),
        &[
            "--tcp",
            "127.0.0.1:0",
            "--out",
            "logs/app.log",
            "--max-bytes",
            "64KiB",
            "--compress",
            "gzip",
            "--drain-timeout",
            "60s",
        ],
    );
    let addr = t.tcp(0);
    // One record first, so the live file exists when the follower starts.
    send_lines(addr, "first", 1);
    let deadline = Instant::now() + PATIENCE;
    while std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0) == 0 {
        assert!(
            Instant::now() < deadline,
            "the listener never wrote {log:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let follower = Follower::start(dir.path(), &["-f", "-n", "5", "-o", "json", "logs/app.log"]);
    assert!(follower.wait_for(1), "the follower showed nothing");
    let addr_s = addr.to_string();
    let producers: Vec<Child> = (0..4)
        .map(|i| {
            python(&[
                "--tcp",
                &addr_s,
                "--name",
                &format!("p{i}"),
                "--count",
                "2500",
                "--pace",
                "0.0002",
            ])
        })
        .collect();
    for (i, p) in producers.into_iter().enumerate() {
        wait_ok(p, &format!("producer p{i}"));
    }
    // Everything sent: the listener writes the rest and finishes
    // compressing on SIGTERM.
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let want = written_lines(&log, true);
    assert_eq!(want.len(), 10_001, "what the listener wrote");
    let archives = std::fs::read_dir(log.parent().unwrap()).unwrap().count() - 1;
    assert!(archives >= 20, "only {archives} rotations");
    let _ = follower.wait_for(want.len());
    let (got, stderr) = follower.stop();
    assert_same_sequence(&got, &want, &stderr);
}

/// A writer that appends lines `prefix-i` to `path` (`O_APPEND`, as
/// logrotate's copytruncate expects) at a steady pace, and every `every`
/// lines rotates the file with `rotate` (between two lines: the writer
/// holds the file meanwhile).
fn write_and_rotate(
    path: &Path,
    total: usize,
    every: usize,
    rotate: impl Fn(&Path, usize),
) -> Vec<String> {
    let open = || {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap()
    };
    let mut file = open();
    let mut written = Vec::new();
    for i in 0..total {
        let line = format!(
            "{{\"ts\":\"2026-12-06T10:00:00.{i:06}Z\",\"level\":\"INFO\",\"levelno\":20,\"logger\":\"t\",\"msg\":\"line {i}\"}}"
        );
        file.write_all(format!("{line}\n").as_bytes()).unwrap();
        written.push(line);
        if (i + 1) % every == 0 {
            drop(file);
            rotate(path, (i + 1) / every);
            file = open();
        }
        // A steady stream, not synchronisation: a file rotated away before
        // any reader could open it is beyond every follower.
        std::thread::sleep(Duration::from_millis(1));
    }
    written
}

#[test]
fn follows_copy_truncate() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let first = r#"{"msg":"first"}"#;
    std::fs::write(&log, format!("{first}\n")).unwrap();
    // The follower is reading once it has shown the first line.
    let follower = Follower::start(dir.path(), &["-f", "-n", "1", "-o", "json", "app.log"]);
    assert!(follower.wait_for(1), "the follower showed nothing");
    let mut written = write_and_rotate(&log, 1500, 300, |path, k| {
        // logrotate copytruncate: copy, then truncate in place (the inode
        // stays). The copies are numbered up, the newest highest.
        let copy = path.with_file_name(format!("app.log.{k}"));
        std::fs::copy(path, &copy).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_len(0)
            .unwrap();
    });
    written.insert(0, first.to_owned());
    let _ = follower.wait_for(written.len());
    let (got, stderr) = follower.stop();
    assert!(!stderr.contains("warning"), "{stderr}");
    assert_same_sequence(&got, &written, &stderr);
}

#[test]
fn follows_delete_and_recreate() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let first = r#"{"msg":"first"}"#;
    std::fs::write(&log, format!("{first}\n")).unwrap();
    let follower = Follower::start(dir.path(), &["-f", "-n", "1", "-o", "json", "app.log"]);
    assert!(follower.wait_for(1), "the follower showed nothing");
    let mut written = write_and_rotate(&log, 1500, 300, |path, _| {
        std::fs::remove_file(path).unwrap();
    });
    written.insert(0, first.to_owned());
    let _ = follower.wait_for(written.len());
    let (got, stderr) = follower.stop();
    assert_same_sequence(&got, &written, &stderr);
}
