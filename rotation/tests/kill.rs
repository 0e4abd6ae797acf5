//! Kill-safety: a child process killed with SIGKILL in the middle of a
//! compression leaves nothing that the next start does not repair, and no
//! line is lost or doubled.
#![allow(clippy::unwrap_used)]
#![cfg(all(unix, feature = "gzip"))]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use tributary_rotation::{Compression, RotatingFile};

/// Lines before the rotation (the compression is held mid-way by the
/// crate's test hook, so its size does not matter for the timing).
const BEFORE: u64 = 50_000;
const AFTER: u64 = 1_000;

fn line(i: u64) -> [u8; 16] {
    let mut out = *b"line 0000000000\n";
    let mut n = i;
    for d in (5..15).rev() {
        out[d] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out
}

#[test]
fn sigkill_during_compression_is_repaired_on_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "kill_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ROTATION_KILL_DIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut ready = false;
    for l in BufReader::new(stdout).lines() {
        // The harness prints "test kill_child ... " before it on the line.
        if l.unwrap().ends_with("READY") {
            ready = true;
            break;
        }
    }
    if !ready {
        let _ = child.kill();
        panic!("child never got ready");
    }
    // READY comes once the compression is held mid-way: the kill lands
    // inside it whatever the machine's speed.
    assert!(dir.path().join("app.log.1.gz.tmp").exists());
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let left = names(dir.path());
    assert!(
        left.contains(&"app.log.1.gz.tmp".to_string()) && left.contains(&"app.log.1".to_string()),
        "not killed mid-compression: {left:?}"
    );

    let f = RotatingFile::builder(dir.path().join("app.log"))
        .compression(Compression::Gzip { level: 1 })
        .open()
        .unwrap();
    let errors = f.close().unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(names(dir.path()), ["app.log", "app.log.1.gz"]);
    let mut all = read_any(&dir.path().join("app.log.1.gz"));
    all.extend(read_any(&dir.path().join("app.log")));
    assert_eq!(all.len() as u64, (BEFORE + AFTER) * 16);
    for (i, chunk) in all.chunks(16).enumerate() {
        assert_eq!(chunk, line(i as u64), "line {i}");
    }
}

/// The child: writes, rotates (starting a compression it holds mid-way),
/// writes and syncs some more, says READY once the compression is held,
/// and waits to be killed.
#[test]
#[ignore = "child helper: run by sigkill_during_compression_is_repaired_on_next_start"]
fn kill_child() {
    let dir = std::env::var_os("ROTATION_KILL_DIR")
        .expect("a child helper: run by the parent test, which sets ROTATION_KILL_DIR");
    let mut f = RotatingFile::builder(Path::new(&dir).join("app.log"))
        .compression(Compression::Gzip { level: 9 })
        .open()
        .unwrap();
    for i in 0..BEFORE {
        f.write_record(&line(i)).unwrap();
    }
    tributary_rotation::test_hooks::hold_compression(true);
    f.rotate_now().unwrap();
    for i in BEFORE..BEFORE + AFTER {
        f.write_record(&line(i)).unwrap();
    }
    f.sync_all().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while tributary_rotation::test_hooks::compressions_held() == 0 {
        assert!(
            Instant::now() < deadline,
            "the compression never reached the hold"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    println!("READY");
    std::thread::sleep(Duration::from_secs(60));
    unreachable!("should have been killed");
}
