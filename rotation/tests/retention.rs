//! Retention by count, age and total size; files that are not this file's
//! archives are never touched.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::time::Duration;

use common::*;
use tributary_rotation::{Naming, RotatingFile};

const NOW: i64 = 1_795_341_600;

#[test]
fn count_keeps_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("app.log");
    let mut f = RotatingFile::builder(&p)
        .max_bytes(1)
        .backup_count(2)
        .naming(Naming::Index)
        .open()
        .unwrap();
    for i in 0..6 {
        f.write_record(format!("{i}\n").as_bytes()).unwrap();
    }
    drop(f);
    assert_eq!(names(dir.path()), ["app.log", "app.log.4", "app.log.5"]);
    assert_eq!(read_str(&dir.path().join("app.log.5")), "4\n");
}

#[test]
fn age_and_total_bytes_on_start() {
    let dir = tempfile::tempdir().unwrap();
    for i in 1..=5 {
        let p = dir.path().join(format!("app.log.{i}"));
        fs::write(&p, vec![b'x'; 100]).unwrap();
        // Python naming: .1 is the newest.
        set_mtime(&p, NOW - 86_400 * i);
    }
    let clock = clock_at(NOW);
    drop(
        RotatingFile::builder(dir.path().join("app.log"))
            .max_age(Duration::from_secs(86_400 * 4 - 10))
            .clock(clock.clone())
            .open()
            .unwrap(),
    );
    assert_eq!(
        names(dir.path()),
        ["app.log", "app.log.1", "app.log.2", "app.log.3"]
    );
    drop(
        RotatingFile::builder(dir.path().join("app.log"))
            .max_total_bytes(250)
            .clock(clock)
            .open()
            .unwrap(),
    );
    assert_eq!(names(dir.path()), ["app.log", "app.log.1", "app.log.2"]);
}

#[test]
fn never_touches_lookalikes() {
    let dir = tempfile::tempdir().unwrap();
    let strangers = [
        "app.log.old",
        "app.log.1.bak",
        "app.log.01",
        "app.logx.1",
        "other.log.1",
        "app.log.2026-11-22",
    ];
    for s in strangers {
        fs::write(dir.path().join(s), b"mine\n").unwrap();
    }
    let mut f = RotatingFile::builder(dir.path().join("app.log"))
        .max_bytes(1)
        .backup_count(1)
        .open()
        .unwrap();
    for i in 0..5 {
        f.write_record(format!("{i}\n").as_bytes()).unwrap();
    }
    drop(f);
    let left = names(dir.path());
    for s in strangers {
        assert!(left.contains(&s.to_string()), "{s} deleted");
    }
    assert_eq!(left.len(), strangers.len() + 2);
}
