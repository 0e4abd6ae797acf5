//! "gzip compression never stalls a writer": with the background gzip
//! worker held mid-archive (the crate's test hook), the writer keeps
//! writing and rotating as if nothing were compressing; once released, every
//! archive is compressed and every line is there exactly once, in order.
//! (Its own test binary: the hold is process-wide.)
#![allow(clippy::unwrap_used)]
#![cfg(feature = "gzip")]

mod common;

use std::time::{Duration, Instant};

use common::*;
use tributary_rotation::test_hooks::{compressions_held, hold_compression};
use tributary_rotation::{Compression, Naming, RotatingFile};

/// 16-byte lines: 4,096 fill a 64 KiB file exactly.
fn line(i: u64) -> Vec<u8> {
    format!("line {i:010}\n").into_bytes()
}

#[test]
fn a_held_compression_does_not_stop_writes_or_rotations() {
    const PER_FILE: u64 = 4_096;
    const FILES: u64 = 12;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("app.log");
    let mut f = RotatingFile::builder(&p)
        .max_bytes(64 * 1024)
        .naming(Naming::Index)
        .compression(Compression::gzip())
        .open()
        .unwrap();
    hold_compression(true);
    // The writer on its own thread: one that waited for the worker would
    // never return, and the test must fail rather than hang.
    let (progress_tx, progress) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for i in 0..FILES * PER_FILE {
            f.write_record(&line(i)).unwrap();
            if i == PER_FILE {
                // Just past the first rotation: its archive is compressing.
                progress_tx.send(None).unwrap();
            }
        }
        f.flush().unwrap();
        progress_tx.send(Some(f)).unwrap();
    });
    let patience = Duration::from_secs(60);
    let first = progress.recv_timeout(patience);
    assert!(
        matches!(first, Ok(None)),
        "the writer stalled at its first rotation"
    );
    let deadline = Instant::now() + patience;
    while compressions_held() == 0 {
        assert!(
            Instant::now() < deadline,
            "the compression never reached the hold"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    // Meanwhile the writer goes on: every write returns and every rotation
    // happens, with the worker stuck in its first archive.
    let Ok(Some(f)) = progress.recv_timeout(patience) else {
        panic!("the writer stalled while a compression was held");
    };
    assert_eq!(f.rotations(), FILES - 1);
    assert_eq!(compressions_held(), 1, "the compression was released early");
    let plain = names(dir.path())
        .iter()
        .filter(|n| n.starts_with("app.log.") && !n.ends_with(".gz") && !n.ends_with(".tmp"))
        .count() as u64;
    assert_eq!(plain, FILES - 1, "{:?}", names(dir.path()));

    hold_compression(false);
    let errors = f.close().unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let mut expected: Vec<String> = (1..FILES).map(|n| format!("app.log.{n}.gz")).collect();
    expected.push("app.log".into());
    expected.sort();
    assert_eq!(names(dir.path()), expected);
    let mut all = Vec::new();
    for n in 1..FILES {
        let data = read_any(&dir.path().join(format!("app.log.{n}.gz")));
        assert_eq!(data.len() as u64, PER_FILE * 16, "archive {n}");
        all.extend(data);
    }
    all.extend(read_any(&p));
    let want: Vec<u8> = (0..FILES * PER_FILE).flat_map(line).collect();
    assert!(all == want, "lines lost, doubled or out of order");
}
