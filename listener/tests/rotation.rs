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

    let mut lines = read_json(&dir.path().join("logs/all.log"));
    let mut archives = 0;
    for entry in std::fs::read_dir(dir.path().join("logs")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name == "all.log" || name == ".all.log.lock" {
            continue; // the live file; the lock that keeps a second listener off it
        }
        assert!(
            name.starts_with("all.log.") && name.ends_with(".gz"),
            "unexpected file {name}"
        );
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        for line in text.lines() {
            lines.push(serde_json::from_str(line).unwrap());
        }
        archives += 1;
    }
    assert!(archives >= 10, "only {archives} archives");
    assert_exactly_once(&tally(&lines), &producers);
    assert_eq!(summary_writer(&stderr, "records"), 16_000, "{stderr}");
}
