//! 1,000,000 numbered records through 64 KiB rotation with gzip and no limit
//! on archives: every line exactly once, in order, and no `.tmp` left.
//! `ROTATION_MILLION_LINES` lowers the count for quick local runs.
#![allow(clippy::unwrap_used)]
#![cfg(feature = "gzip")]

mod common;

use std::path::PathBuf;

use common::*;
use tributary_rotation::{Compression, Naming, RotatingFile};

fn line(i: u64, out: &mut [u8; 16]) -> &[u8] {
    // "line 0000000042\n" without going through fmt, to keep debug builds fast.
    out[..5].copy_from_slice(b"line ");
    let mut n = i;
    for d in (5..15).rev() {
        out[d] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out[15] = b'\n';
    &out[..]
}

fn run(naming: Naming, count: u64) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("app.log");
    let mut f = RotatingFile::builder(&p)
        .max_bytes(64 * 1024)
        .naming(naming)
        .compression(Compression::gzip())
        .open()
        .unwrap();
    let mut buf = [0u8; 16];
    for i in 0..count {
        f.write_record(line(i, &mut buf)).unwrap();
    }
    let errors = f.close().unwrap();
    assert!(errors.is_empty(), "{errors:?}");

    let mut archives: Vec<(u64, PathBuf)> = Vec::new();
    for name in names(dir.path()) {
        assert!(!name.ends_with(".tmp"), "{name} left behind");
        if name == "app.log" {
            continue;
        }
        let n: u64 = name
            .strip_prefix("app.log.")
            .and_then(|s| s.strip_suffix(".gz"))
            .unwrap_or_else(|| panic!("unexpected {name}"))
            .parse()
            .unwrap();
        archives.push((n, dir.path().join(name)));
    }
    // Oldest first: Python's .1 is the newest, Index's highest is.
    match naming {
        Naming::Python => archives.sort_by_key(|(n, _)| std::cmp::Reverse(*n)),
        _ => archives.sort_by_key(|(n, _)| *n),
    }
    // A file rotates before the record that would take it past 64 KiB, so
    // every archive holds exactly 4,096 lines of 16 bytes and the active
    // file the rest.
    const PER_FILE: u64 = 64 * 1024 / 16;
    assert_eq!(archives.len() as u64, count.saturating_sub(1) / PER_FILE);
    let mut expected = 0u64;
    let mut check = |data: Vec<u8>, lines: u64| {
        assert_eq!(
            data.len() as u64,
            lines * 16,
            "a file after line {expected}"
        );
        for chunk in data.chunks(16) {
            assert_eq!(chunk, line(expected, &mut buf), "line {expected}");
            expected += 1;
        }
    };
    for (_, path) in &archives {
        check(read_any(path), PER_FILE);
    }
    check(read_any(&p), count - archives.len() as u64 * PER_FILE);
    assert_eq!(expected, count);
}

fn count() -> u64 {
    std::env::var("ROTATION_MILLION_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

#[test]
fn million_lines_python_naming() {
    run(Naming::Python, count());
}

#[test]
fn million_lines_index_naming() {
    run(Naming::Index, count());
}
