//! Background gzip: naming, the crash-safe protocol and its repair on start,
//! failures that keep the plain archive.
#![allow(clippy::unwrap_used)]
#![cfg(feature = "gzip")]

mod common;

use std::fs;

use common::*;
use tributary_rotation::{Compression, Error, Naming, RotatingFile};

fn lines(from: usize, to: usize) -> String {
    (from..to).map(|i| format!("line {i}\n")).collect()
}

#[test]
fn gzip_python_names_shift_compressed_archives() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("app.log");
    let mut f = RotatingFile::builder(&p)
        .max_bytes(10)
        .backup_count(3)
        .compression(Compression::gzip())
        .open()
        .unwrap();
    for i in 0..6 {
        f.write_record(format!("line {i}\n").as_bytes()).unwrap();
        // Let compression run between some rotations and lag behind others.
        if i % 2 == 0 {
            f.wait_background();
        }
    }
    let errors = f.close().unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        names(dir.path()),
        ["app.log", "app.log.1.gz", "app.log.2.gz", "app.log.3.gz"]
    );
    assert_eq!(read_str(&dir.path().join("app.log.3.gz")), lines(2, 3));
    assert_eq!(read_str(&dir.path().join("app.log.1.gz")), lines(4, 5));
    assert_eq!(read_str(&p), lines(5, 6));
}

#[test]
fn gzip_the_python_cookbook_way_with_a_rotator_is_refused_alongside_builtin() {
    let dir = tempfile::tempdir().unwrap();
    let err = RotatingFile::builder(dir.path().join("a.log"))
        .compression(Compression::gzip())
        .rotator(|_, _| Ok(()))
        .open()
        .unwrap_err();
    assert!(matches!(err, Error::RotatorWithCompression));
    let err = RotatingFile::builder(dir.path().join("a.log"))
        .compression(Compression::Gzip { level: 10 })
        .open()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidLevel(10)));
}

#[test]
fn level_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let mut sizes = Vec::new();
    for level in [0, 9] {
        let p = dir.path().join(format!("l{level}.log"));
        let mut f = RotatingFile::builder(&p)
            .compression(Compression::Gzip { level })
            .open()
            .unwrap();
        f.write_record(lines(0, 1000).as_bytes()).unwrap();
        f.rotate_now().unwrap();
        f.close().unwrap();
        let gz = dir.path().join(format!("l{level}.log.1.gz"));
        assert_eq!(read_str(&gz), lines(0, 1000));
        sizes.push(fs::metadata(gz).unwrap().len());
    }
    assert!(sizes[1] * 4 < sizes[0], "{sizes:?}");
}

#[test]
fn start_repairs_an_interrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("app.log");
    // Killed while compressing .3: a partial tmp next to the plain file.
    fs::write(dir.path().join("app.log.3"), lines(0, 10)).unwrap();
    fs::write(dir.path().join("app.log.3.gz.tmp"), b"\x1f\x8b partial").unwrap();
    // Killed after the rename, before removing the source.
    fs::write(dir.path().join("app.log.2"), lines(10, 20)).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, lines(10, 20).as_bytes()).unwrap();
    fs::write(dir.path().join("app.log.2.gz"), enc.finish().unwrap()).unwrap();
    // Never compressed (compression was off, or the run died first).
    fs::write(dir.path().join("app.log.1"), lines(20, 30)).unwrap();
    // Not ours.
    fs::write(dir.path().join("app.log.x.gz.tmp"), b"keep").unwrap();

    let f = RotatingFile::builder(&p)
        .compression(Compression::gzip())
        .open()
        .unwrap();
    assert!(f.close().unwrap().is_empty());
    assert_eq!(
        names(dir.path()),
        [
            "app.log",
            "app.log.1.gz",
            "app.log.2.gz",
            "app.log.3.gz",
            "app.log.x.gz.tmp"
        ]
    );
    assert_eq!(read_str(&dir.path().join("app.log.3.gz")), lines(0, 10));
    assert_eq!(read_str(&dir.path().join("app.log.2.gz")), lines(10, 20));
    assert_eq!(read_str(&dir.path().join("app.log.1.gz")), lines(20, 30));
}

#[test]
fn repair_without_compression_only_removes_leftovers() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("app.log.1"), b"a\n").unwrap();
    fs::write(dir.path().join("app.log.2"), b"b\n").unwrap();
    fs::write(dir.path().join("app.log.2.gz.tmp"), b"partial").unwrap();
    drop(
        RotatingFile::builder(dir.path().join("app.log"))
            .open()
            .unwrap(),
    );
    assert_eq!(names(dir.path()), ["app.log", "app.log.1", "app.log.2"]);
}

#[test]
fn failed_compression_keeps_the_archive_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("app.log");
    // A directory where the temporary file must go makes compression fail.
    fs::create_dir(dir.path().join("app.log.1.gz.tmp")).unwrap();
    let mut f = RotatingFile::builder(&p)
        .naming(Naming::Index)
        .compression(Compression::gzip())
        .open()
        .unwrap();
    // Let the start-up sweep finish first: had it run after the rotation it
    // would have tried (and failed on) the new archive too, a second report.
    f.wait_background();
    f.write_record(b"precious\n").unwrap();
    f.rotate_now().unwrap();
    f.wait_background();
    let errors = f.take_errors();
    assert_eq!(errors.len(), 1, "{errors:?} {:?}", names(dir.path()));
    assert!(errors[0].to_string().contains("app.log.1"), "{}", errors[0]);
    f.write_record(b"more\n").unwrap();
    drop(f);
    assert_eq!(read_str(&dir.path().join("app.log.1")), "precious\n");
    assert_eq!(read_str(&p), "more\n");
}

#[test]
fn index_naming_with_gzip_counts_compressed_archives() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("app.log");
    let open = || {
        RotatingFile::builder(&p)
            .naming(Naming::Index)
            .max_bytes(1)
            .compression(Compression::gzip())
            .open()
            .unwrap()
    };
    let mut f = open();
    f.write_record(b"0\n").unwrap();
    f.write_record(b"1\n").unwrap();
    f.close().unwrap();
    let mut f = open();
    f.write_record(b"2\n").unwrap();
    f.close().unwrap();
    assert_eq!(
        names(dir.path()),
        ["app.log", "app.log.1.gz", "app.log.2.gz"]
    );
    assert_eq!(read_str(&dir.path().join("app.log.2.gz")), "1\n");
}
