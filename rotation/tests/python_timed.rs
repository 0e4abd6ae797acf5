//! Ports of CPython's `TimedRotatingFileHandlerTest` (Lib/test/test_logging.py,
//! v3.13.0) that need files; the `computeRollover` cases are unit tests in
//! `src/policy/time.rs`. Time comes from a `ManualClock`: nothing sleeps.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use tributary_rotation::jiff::civil::Time;
use tributary_rotation::jiff::tz::TimeZone;
use tributary_rotation::{Naming, RotatingFile, When};

/// 2026-11-22 10:00:00 UTC, a Sunday.
const NOW: i64 = 1_795_341_600;

#[test]
fn should_not_rollover_non_file() {
    let clock = clock_at(NOW);
    let mut f = RotatingFile::builder("/dev/null")
        .when(When::Seconds)
        .utc(true)
        .clock(clock.clone())
        .buffer_size(0)
        .open()
        .unwrap();
    f.write_record(b"x\n").unwrap();
    clock.advance(Duration::from_millis(1100));
    f.write_record(b"y\n").unwrap();
    assert!(Path::new("/dev/null").exists());
}

#[test]
fn rollover_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.log");
    let clock = clock_at(NOW);
    let mut f = RotatingFile::builder(&p)
        .when(When::Seconds)
        .backup_count(1)
        .utc(true)
        .clock(clock.clone())
        .open()
        .unwrap();
    f.write_record(b"testing - initial\n").unwrap();
    clock.advance(Duration::from_millis(1100));
    f.write_record(b"testing - after delay\n").unwrap();
    drop(f);
    // Named for the start of the period: the moment the file was opened.
    let archive = dir.path().join("t.log.2026-11-22_10-00-00");
    assert_eq!(read_str(&archive), "testing - initial\n");
    assert_eq!(read_str(&p), "testing - after delay\n");
}

fn rollover_at(weekly: bool) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.log");
    let clock = clock_at(NOW);
    let at = Time::constant(10, 0, 0, 0);
    let when = if weekly {
        "W6".parse().unwrap()
    } else {
        When::Midnight
    };
    let open = || {
        RotatingFile::builder(&p)
            .when(when)
            .at_time(at)
            .utc(true)
            .clock(clock.clone())
            .open()
            .unwrap()
    };
    // Three runs append to the same file: the schedule continues from its
    // mtime, which is "now", so nothing rotates.
    for i in 0..3 {
        let mut f = open();
        f.write_record(format!("testing1 {i}\n").as_bytes())
            .unwrap();
        drop(f);
        set_mtime(&p, NOW);
    }
    assert_eq!(read_str(&p), "testing1 0\ntesting1 1\ntesting1 2\n");
    // Last written a second before at_time: the next run rotates it.
    set_mtime(&p, NOW - 1);
    for i in 0..2 {
        let mut f = open();
        f.write_record(format!("testing2 {i}\n").as_bytes())
            .unwrap();
        drop(f);
        set_mtime(&p, NOW);
    }
    let other = if weekly {
        "t.log.2026-11-15"
    } else {
        "t.log.2026-11-21"
    };
    assert_eq!(names(dir.path()), ["t.log", other]);
    assert_eq!(
        read_str(&dir.path().join(other)),
        "testing1 0\ntesting1 1\ntesting1 2\n"
    );
    assert_eq!(read_str(&p), "testing2 0\ntesting2 1\n");
}

#[test]
fn rollover_at_midnight() {
    rollover_at(false);
}

#[test]
fn rollover_at_weekday() {
    rollover_at(true);
}

fn touch_all(dir: &Path, files: &[String]) {
    for f in files {
        fs::write(dir.join(f), b"").unwrap();
    }
}

fn stamps() -> Vec<String> {
    (0..10)
        .map(|i| {
            tributary_rotation::jiff::Timestamp::from_second(NOW + 5 * i)
                .unwrap()
                .to_zoned(TimeZone::UTC)
                .strftime("%Y-%m-%d_%H-%M-%S")
                .to_string()
        })
        .collect()
}

#[test]
fn compute_files_to_delete() {
    // bpo-46063: similar prefixes, and namers that move the stamp.
    let dir = tempfile::tempdir().unwrap();
    let times = stamps();
    let mut files = Vec::new();
    for prefix in ["a.b", "a.b.c"] {
        files.extend(times.iter().map(|t| format!("{prefix}.log.{t}")));
    }
    for prefix in ["d.e", "d.e.f"] {
        files.extend(times.iter().map(|t| format!("{prefix}.{t}.log")));
    }
    files.extend(times.iter().map(|t| format!("g{t}.oldlog")));
    touch_all(dir.path(), &files);

    let de_namer = |p: &Path| {
        let name = p.file_name().unwrap().to_str().unwrap();
        p.with_file_name(format!("{}.log", name.replace(".log", "")))
    };
    let g_namer = |p: &Path| {
        let name = p.file_name().unwrap().to_str().unwrap();
        p.with_file_name(format!("g{}.oldlog", &name[6..]))
    };
    for prefix in ["a.b", "a.b.c", "d.e", "d.e.f", "g"] {
        let mut b = RotatingFile::builder(dir.path().join(format!("{prefix}.log")))
            .when(When::Seconds)
            .interval(5)
            .backup_count(7)
            .utc(true)
            .delay(true);
        if prefix.starts_with("d.e") {
            b = b.namer(de_namer);
        } else if prefix == "g" {
            b = b.namer(g_namer);
        }
        drop(b.open().unwrap());
    }
    let left = names(dir.path());
    let expect_kept = |make: &dyn Fn(&str) -> String| {
        for (i, t) in times.iter().enumerate() {
            assert_eq!(left.contains(&make(t)), i >= 3, "{} in {left:?}", make(t));
        }
    };
    expect_kept(&|t| format!("a.b.log.{t}"));
    expect_kept(&|t| format!("a.b.c.log.{t}"));
    expect_kept(&|t| format!("d.e.{t}.log"));
    expect_kept(&|t| format!("d.e.f.{t}.log"));
    expect_kept(&|t| format!("g{t}.oldlog"));
    assert_eq!(left.len(), 5 * 7);
}

#[test]
fn compute_files_to_delete_same_filename_different_extensions() {
    // gh-93205.
    let dir = tempfile::tempdir().unwrap();
    let times = stamps();
    let mut files = Vec::new();
    for prefix in ["a.log", "a.log.b"] {
        files.extend(times.iter().map(|t| format!("{prefix}.{t}")));
    }
    files.extend(times.iter().map(|t| format!("a.log.{t}.c")));
    touch_all(dir.path(), &files);
    for (i, prefix) in ["a.log", "a.log.b"].into_iter().enumerate() {
        drop(
            RotatingFile::builder(dir.path().join(prefix))
                .when(When::Seconds)
                .interval(5)
                .backup_count(i + 1)
                .utc(true)
                .delay(true)
                .open()
                .unwrap(),
        );
    }
    let left = names(dir.path());
    let count = |f: &dyn Fn(&String) -> bool| left.iter().filter(|n| f(n)).count();
    assert_eq!(count(&|n| n.ends_with(".c")), 10);
    assert_eq!(count(&|n| n.starts_with("a.log.b.")), 2);
    assert_eq!(
        count(&|n| n.starts_with("a.log.") && !n.starts_with("a.log.b") && !n.ends_with(".c")),
        1
    );
    assert!(left.contains(&format!("a.log.{}", times[9])));
    assert!(left.contains(&format!("a.log.b.{}", times[8])));
}

#[test]
fn existing_target_is_neither_overwritten_nor_stalls_rotation() {
    // CPython <= 3.12 deleted the existing file (bpo-44186); 3.13 stops
    // rotating for the life of the process.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.log");
    let clock = clock_at(NOW);
    let taken = dir.path().join("t.log.2026-11-22");
    fs::write(&taken, b"someone else's\n").unwrap();
    let mut f = RotatingFile::builder(&p)
        .when(When::Midnight)
        .utc(true)
        .clock(clock.clone())
        .open()
        .unwrap();
    f.write_record(b"day 22\n").unwrap();
    clock.advance(Duration::from_secs(86_400));
    f.write_record(b"day 23\n").unwrap();
    clock.advance(Duration::from_secs(86_400));
    f.write_record(b"day 24\n").unwrap();
    drop(f);
    assert_eq!(read_str(&taken), "someone else's\n");
    assert_eq!(read_str(&dir.path().join("t.log.2026-11-22.1")), "day 22\n");
    assert_eq!(read_str(&dir.path().join("t.log.2026-11-23")), "day 23\n");
    assert_eq!(read_str(&p), "day 24\n");
}

#[test]
fn size_and_time_combined_whichever_first() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.log");
    let clock = clock_at(NOW);
    let mut f = RotatingFile::builder(&p)
        .when(When::Midnight)
        .max_bytes(20)
        .utc(true)
        .clock(clock.clone())
        .open()
        .unwrap();
    for i in 0..3 {
        f.write_record(format!("22 record {i}\n").as_bytes())
            .unwrap();
    }
    clock.advance(Duration::from_secs(86_400));
    f.write_record(b"23 record 0\n").unwrap();
    drop(f);
    assert_eq!(
        names(dir.path()),
        [
            "t.log",
            "t.log.2026-11-22",
            "t.log.2026-11-22.1",
            "t.log.2026-11-22.2"
        ]
    );
    assert_eq!(
        read_str(&dir.path().join("t.log.2026-11-22")),
        "22 record 0\n"
    );
    assert_eq!(
        read_str(&dir.path().join("t.log.2026-11-22.2")),
        "22 record 2\n"
    );
    assert_eq!(read_str(&p), "23 record 0\n");
}

#[test]
fn local_time_names_follow_the_zone() {
    // Midnight in New York, not in UTC, across the 2012 DST start.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.log");
    let tz = TimeZone::posix("EST+05EDT,M3.2.0,M11.1.0").unwrap();
    // 2012-03-10 23:00 EST.
    let start = 1_331_438_400;
    let clock = clock_at(start);
    let mut f = RotatingFile::builder(&p)
        .when(When::Midnight)
        .time_zone(tz)
        .clock(clock.clone())
        .open()
        .unwrap();
    f.write_record(b"10th\n").unwrap();
    clock.advance(Duration::from_secs(3600)); // 2012-03-11 00:00 EST
    f.write_record(b"11th\n").unwrap();
    clock.advance(Duration::from_secs(23 * 3600)); // 2012-03-12 00:00 EDT
    f.write_record(b"12th\n").unwrap();
    drop(f);
    assert_eq!(read_str(&dir.path().join("t.log.2012-03-10")), "10th\n");
    assert_eq!(read_str(&dir.path().join("t.log.2012-03-11")), "11th\n");
    assert_eq!(read_str(&p), "12th\n");
}

#[test]
fn timestamp_and_index_naming_never_rename() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock_at(NOW);
    let p = dir.path().join("i.log");
    let mut f = RotatingFile::builder(&p)
        .max_bytes(1)
        .naming(Naming::Index)
        .buffer_size(0)
        .open()
        .unwrap();
    for i in 0..4 {
        f.write_record(format!("{i}\n").as_bytes()).unwrap();
    }
    drop(f);
    // Highest is newest; a new run continues the sequence.
    let mut f = RotatingFile::builder(&p)
        .max_bytes(1)
        .naming(Naming::Index)
        .open()
        .unwrap();
    f.write_record(b"4\n").unwrap();
    drop(f);
    for i in 1..=4u32 {
        assert_eq!(
            read_str(&dir.path().join(format!("i.log.{i}"))),
            format!("{}\n", i - 1)
        );
    }
    let p = dir.path().join("s.log");
    let mut f = RotatingFile::builder(&p)
        .max_bytes(1)
        .naming(Naming::Timestamp)
        .utc(true)
        .clock(clock.clone())
        .open()
        .unwrap();
    for i in 0..3 {
        f.write_record(format!("{i}\n").as_bytes()).unwrap();
    }
    drop(f);
    let s: Vec<PathBuf> = ["s.log.2026-11-22_10-00-00", "s.log.2026-11-22_10-00-00.1"]
        .iter()
        .map(|n| dir.path().join(n))
        .collect();
    assert_eq!(read_str(&s[0]), "0\n");
    assert_eq!(read_str(&s[1]), "1\n");
}
