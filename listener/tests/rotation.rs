//! Rotation under load, with gzip: every record exactly once across the
//! active file and the decompressed archives.

#![allow(clippy::unwrap_used)] // helpers of tests: a failure should fail the test

mod common;

use common::*;
use std::io::Read;

#[test]
fn rotation_under_load_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let t = Tributary::start(
        dir.path(),
        &[
            "--tcp",
            "127.0.0.1:0",
            "--out",
            "logs/all.log",
            "--max-bytes",
            "64KiB",
            "--compress",
            "gzip",
            // Shutdown reads until the producers' data stops coming.
            "--drain-timeout",
            "60s",
        ],
    );
    let addr = t.tcp(0);
    let producers: Vec<(String, u64)> = (0..4).map(|i| (format!("p{i}"), 4000)).collect();
    let threads: Vec<_> = producers
        .iter()
        .cloned()
        .map(|(name, count)| std::thread::spawn(move || send_native(addr, &name, count)))
        .collect();
    for th in threads {
        th.join().unwrap();
    }
    // The records were sent; SIGTERM reads them all (the producers have
    // closed their connections), writes them and finishes compressing.
    let (status, stderr) = {
        let deadline = std::time::Instant::now() + PATIENCE;
        while !std::fs::read_to_string(dir.path().join("logs/all.log")).is_ok_and(|s| !s.is_empty())
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        t.stop()
    };
    assert!(status.success(), "{stderr}");

    // The archives, oldest (highest number) first, then the active file.
    let mut files: Vec<(u64, String)> = Vec::new();
    for entry in std::fs::read_dir(dir.path().join("logs")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name == "all.log" || name == ".all.log.lock" {
            continue; // the live file; the lock that keeps a second listener off it
        }
        let number = name
            .strip_prefix("all.log.")
            .and_then(|n| n.strip_suffix(".gz"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected file {name}"));
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        files.push((number, text));
    }
    files.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
    let numbers: Vec<u64> = files.iter().map(|(n, _)| *n).collect();
    let expected: Vec<u64> = (1..=files.len() as u64).rev().collect();
    assert_eq!(numbers, expected, "archive numbers");
    files.push((
        0,
        std::fs::read_to_string(dir.path().join("logs/all.log")).unwrap(),
    ));
    // Exactly as many rotations as the size policy calls for: each file
    // holds at most 64 KiB, and rotated only when the next record would
    // not have fit.
    for pair in files.windows(2) {
        let (this, next) = (&pair[0].1, &pair[1].1);
        let first_next = next.split_inclusive('\n').next().unwrap().len();
        assert!(this.len() <= 64 * 1024, "a file of {} bytes", this.len());
        assert!(
            this.len() + first_next > 64 * 1024,
            "rotated at {} bytes, before a record of {first_next} that fit",
            this.len()
        );
    }
    let total_bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
    assert!(
        files.len() > total_bytes / (64 * 1024),
        "{} files",
        files.len()
    );
    let lines: Vec<serde_json::Value> = files
        .iter()
        .flat_map(|(_, t)| t.lines())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_exactly_once(&tally(&lines), &producers);
    assert_eq!(summary_writer(&stderr, "records"), 16_000, "{stderr}");
}
