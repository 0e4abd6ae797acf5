//! `--pattern` takes any Python template: names that are not `LogRecord`
//! attributes are the record's fields (Python's `extra=`), with no
//! declaration; a record without one is still written, the placeholder
//! showing `-` (or `--pattern-missing`), and counted in the summary.
//! Producers are real Python `logging.handlers.SocketHandler`s.

#![allow(clippy::unwrap_used)] // helpers of tests: a failure should fail the test

mod common;

use common::*;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Logs `with user` with `extra={"user": "ann"}`, then `without user`
/// without it, through Python's stdlib SocketHandler.
fn log_with_and_without_user(port: u16) {
    python_socket_handler(
        port,
        "log.info(\"with user\", extra={\"user\": \"ann\"})\nlog.info(\"without user\")",
    );
}

/// Waits until `path` holds `n` lines of text; returns them.
fn wait_for_text_lines(path: &Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().count() >= n {
            return text.lines().map(str::to_owned).collect();
        }
        assert!(
            Instant::now() < deadline,
            "{} never held {n} lines; it holds:\n{text}",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `text: missing_fields=N` from the summary line.
fn missing_fields(stderr: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("tributary: summary:"))
        .unwrap_or_else(|| panic!("no summary in stderr:\n{stderr}"));
    line.split_once("text: missing_fields=")
        .unwrap_or_else(|| panic!("no missing_fields in the summary: {line}"))
        .1
        .trim()
        .parse()
        .unwrap()
}

fn run(extra_args: &[&str]) -> (Vec<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let t = start_text(dir.path(), "%(asctime)s %(user)s %(message)s", extra_args);
    log_with_and_without_user(t.tcp(0).port());
    let lines = wait_for_text_lines(&dir.path().join("app.log"), 2);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    (lines, stderr)
}

/// The line without its `asctime` (date and time: two words).
fn after_asctime(line: &str) -> &str {
    line.splitn(3, ' ')
        .nth(2)
        .unwrap_or_else(|| panic!("{line:?}"))
}

#[test]
fn pattern_uses_extra_fields_and_writes_records_without_them() {
    let (lines, stderr) = run(&[]);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(after_asctime(&lines[0]), "ann with user");
    assert_eq!(after_asctime(&lines[1]), "- without user");
    assert_eq!(missing_fields(&stderr), 1, "{stderr}");
}

#[test]
fn pattern_missing_text_is_configurable() {
    let (lines, stderr) = run(&["--pattern-missing", "(nobody)"]);
    assert_eq!(after_asctime(&lines[0]), "ann with user");
    assert_eq!(after_asctime(&lines[1]), "(nobody) without user");
    assert_eq!(missing_fields(&stderr), 1, "{stderr}");
}

#[test]
fn declared_pattern_fields_refuse_other_names_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args([
            "listen",
            "--tcp",
            "127.0.0.1:0",
            "--pattern",
            "%(usr)s %(message)s",
            "--pattern-fields",
            "user",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "nothing may be bound");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("`usr`") && stderr.contains("--pattern-fields"),
        "{stderr}"
    );
}
