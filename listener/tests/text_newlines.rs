//! `--text-escape-newlines`: line breaks a producer puts in a message, a
//! field or a traceback are written as `\n` and `\r` in text output, so
//! every record is one line and no producer can write a line that looks
//! like another's record. Without it the listener writes them as they are,
//! as Python's own `Formatter` does. Producers are real Python
//! `logging.handlers.SocketHandler`s.

#![allow(clippy::unwrap_used)] // helpers of tests: a failure should fail the test

mod common;

use common::*;
use std::path::Path;

use std::time::Instant;

/// Sends four records through Python's stdlib SocketHandler: a plain one,
/// one whose message forges a line, one with a `\r` in a field and a
/// traceback, and a last plain one.
fn log_forged_lines(port: u16) {
    python_socket_handler(
        port,
        r#"log.info("first")
log.info("evil\nFAKE LINE", extra={"user": "ann"})
try:
    raise ValueError("bad")
except ValueError:
    log.exception("failed", extra={"user": "a\rb"})
log.info("last")"#,
    );
}

/// Waits until `path` holds a line ending in `last`; returns the file's
/// lines once the listener has stopped.
fn run(extra_args: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let pattern = "%(name)s %(levelname)s %(user)s %(message)s";
    let t = start_text(dir.path(), pattern, extra_args);
    log_forged_lines(t.tcp(0).port());
    let path = dir.path().join("app.log");
    wait_for_last(&path, "app INFO - last");
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn wait_for_last(path: &Path, last: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().any(|l| l == last) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} never held the line {last:?}; it holds:\n{text}",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn escaped_newlines_keep_each_python_record_on_one_line() {
    let lines = run(&["--text-escape-newlines"]);
    assert_eq!(lines.len(), 4, "one line per record: {lines:#?}");
    assert_eq!(lines[0], "app INFO - first");
    assert_eq!(lines[1], r"app INFO ann evil\nFAKE LINE");
    assert!(
        lines[2].starts_with(r"app ERROR a\rb failed\nTraceback (most recent call last):\n"),
        "{:?}",
        lines[2]
    );
    assert!(
        lines[2].ends_with(r"in <module>\nValueError: bad"),
        "{:?}",
        lines[2]
    );
    assert_eq!(lines[3], "app INFO - last");
    assert!(
        !lines.iter().any(|l| l.starts_with("FAKE LINE")),
        "{lines:#?}"
    );
}

#[test]
fn without_the_switch_line_breaks_are_written_as_python_writes_them() {
    let lines = run(&[]);
    // Python's Formatter writes the message's `\n` as is: the forged line
    // stands on its own, as do the traceback's lines.
    assert_eq!(lines[0], "app INFO - first");
    assert_eq!(lines[1], "app INFO ann evil");
    assert_eq!(lines[2], "FAKE LINE");
    assert!(
        lines[3].starts_with("app ERROR a\rb failed"),
        "{:?}",
        lines[3]
    );
    assert_eq!(lines[4], "Traceback (most recent call last):");
    assert_eq!(lines.last().map(String::as_str), Some("app INFO - last"));
}
