//! Many processes, one rotating file: real child processes (this test
//! binary re-run with an environment variable) appending through
//! `SharedFileHandler`.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use tributary_core::{Level, Record};
use tributary_handlers::{Handler, SharedFileHandler};

const CHILDREN: usize = 6;
const EACH: u64 = 50_000;
const MAX_BYTES: u64 = 256 * 1024;
const BACKUPS: u32 = 10_000;
const ENV: &str = "TRIBUTARY_SHARED_FILE_CHILD";

/// The child's body: runs only when re-executed by the parent test
/// (ignored otherwise, so it never counts as a pass on its own).
#[test]
#[ignore = "child helper: run by six_processes_share_one_rotating_file_without_losing_or_splitting_lines"]
fn shared_file_child() {
    let spec = std::env::var(ENV)
        .unwrap_or_else(|_| panic!("a child helper: run by the parent test, which sets {ENV}"));
    let (path, child) = spec.rsplit_once('|').unwrap();
    let child: u64 = child.parse().unwrap();
    let mut handler = SharedFileHandler::shared(path, MAX_BYTES, BACKUPS).unwrap();
    for i in 0..EACH {
        let record = Record::builder(Level::INFO, "shared")
            .logger("child")
            .field("c", child)
            .field("i", i)
            .build();
        handler.handle(&record).unwrap();
    }
    handler.close().unwrap();
}

fn all_files(path: &Path) -> Vec<std::path::PathBuf> {
    let mut files = vec![path.to_path_buf()];
    for n in 1.. {
        let p = path.with_file_name(format!(
            "{}.{n}",
            path.file_name().unwrap().to_string_lossy()
        ));
        if !p.exists() {
            break;
        }
        files.push(p);
    }
    files
}

#[test]
fn six_processes_share_one_rotating_file_without_losing_or_splitting_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.log");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..CHILDREN)
        .map(|c| {
            Command::new(&exe)
                .args([
                    "--ignored",
                    "--exact",
                    "shared_file_child",
                    "--test-threads=1",
                ])
                .env(ENV, format!("{}|{c}", path.display()))
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let files = all_files(&path);
    assert!(
        files.len() > 20,
        "expected many rotations, got {} files",
        files.len()
    );
    let mut seen = vec![vec![false; EACH as usize]; CHILDREN];
    let mut total = 0;
    let mut over_limit = 0;
    let mut over_limit_bytes = 0;
    let mut longest = 0;
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        if bytes.len() as u64 > MAX_BYTES {
            over_limit += 1;
            over_limit_bytes = over_limit_bytes.max(bytes.len() as u64 - MAX_BYTES);
        }
        assert!(
            bytes.is_empty() || bytes.ends_with(b"\n"),
            "{} ends mid-line",
            f.display()
        );
        for line in std::str::from_utf8(&bytes).unwrap().lines() {
            // A whole record: one object, starting and ending where it should,
            // with exactly one `"c":` (an interleaved line would have two).
            assert!(
                line.starts_with("{\"ts\":") && line.ends_with("}}"),
                "split or interleaved line: {line}"
            );
            assert_eq!(line.matches("\"c\":").count(), 1, "{line}");
            let tail = &line[line.rfind("\"c\":").unwrap()..];
            let mut nums = tail
                .split(|ch: char| !ch.is_ascii_digit())
                .filter(|s| !s.is_empty());
            let c: usize = nums.next().unwrap().parse().unwrap();
            let i: usize = nums.next().unwrap().parse().unwrap();
            assert!(!seen[c][i], "record {c}/{i} twice");
            seen[c][i] = true;
            total += 1;
            longest = longest.max(line.len() as u64 + 1);
        }
    }
    assert_eq!(total, CHILDREN as u64 * EACH);
    assert!(seen.iter().flatten().all(|&s| s));
    // A process preempted between its `stat` and its `write` while another
    // rotates appends its one record to the file just rotated: each process
    // can push a file past the limit by at most one record.
    assert!(
        over_limit_bytes <= CHILDREN as u64 * longest,
        "{over_limit} files over the limit, by up to {over_limit_bytes} bytes"
    );
}
