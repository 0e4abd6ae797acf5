//! Ports of CPython's `RotatingFileHandlerTest` (Lib/test/test_logging.py,
//! v3.13.0): <https://github.com/python/cpython/blob/v3.13.0/Lib/test/test_logging.py>.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use common::*;
use tributary_rotation::RotatingFile;

fn rec(i: usize) -> Vec<u8> {
    format!("message {i}\n").into_bytes()
}

#[test]
fn should_not_rollover_empty_file_or_zero_max_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.log");
    // An empty file with max_bytes=1: the record goes into it.
    let mut f = RotatingFile::builder(&p).max_bytes(1).open().unwrap();
    f.write_record(&rec(0)).unwrap();
    f.flush().unwrap();
    assert_eq!(names(dir.path()), ["t.log"]);
    drop(f);
    // max_bytes=0 never rotates, even a non-empty file.
    let mut f = RotatingFile::builder(&p).open().unwrap();
    for i in 0..100 {
        f.write_record(&rec(i)).unwrap();
    }
    drop(f);
    assert_eq!(names(dir.path()), ["t.log"]);
}

#[test]
fn should_not_rollover_non_file() {
    let mut f = RotatingFile::builder("/dev/null")
        .max_bytes(1)
        .buffer_size(0)
        .open()
        .unwrap();
    for i in 0..10 {
        f.write_record(&rec(i)).unwrap();
    }
    assert!(Path::new("/dev/null").exists());
    assert!(!Path::new("/dev/null.1").exists());
}

#[test]
fn should_rollover() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.log");
    fs::write(&p, b"\n").unwrap();
    let mut f = RotatingFile::builder(&p).max_bytes(2).open().unwrap();
    f.write_record(&rec(0)).unwrap();
    drop(f);
    assert_eq!(fs::read(dir.path().join("t.log.1")).unwrap(), b"\n");
    assert_eq!(fs::read(&p).unwrap(), rec(0));
}

#[test]
fn file_created() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("sub/dir/t.log");
    let mut f = RotatingFile::builder(&p).open().unwrap();
    f.write_record(&rec(0)).unwrap();
    f.flush().unwrap();
    assert!(p.exists());
}

fn max_bytes(delay: bool) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.log");
    let mut f = RotatingFile::builder(&p)
        .backup_count(2)
        .max_bytes(100)
        .delay(delay)
        .open()
        .unwrap();
    assert_eq!(p.exists(), !delay);
    let small = b"a\n".to_vec();
    let mut large = vec![b'b'; 100];
    large.push(b'\n');
    f.write_record(&small).unwrap();
    f.flush().unwrap();
    assert!(p.exists());
    assert!(!dir.path().join("t.log.1").exists());
    // The large record does not fit behind the small one.
    f.write_record(&large).unwrap();
    f.flush().unwrap();
    assert!(p.exists());
    assert_eq!(fs::read(dir.path().join("t.log.1")).unwrap(), small);
    assert!(!dir.path().join("t.log.2").exists());
    // Oversized, but written whole into the fresh file.
    assert_eq!(fs::read(&p).unwrap(), large);
}

#[test]
fn max_bytes_no_delay() {
    max_bytes(false);
}

#[test]
fn max_bytes_delay() {
    max_bytes(true);
}

#[test]
fn rollover_filenames() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.log");
    let namer = |p: &Path| {
        let mut s = p.as_os_str().to_os_string();
        s.push(".test");
        PathBuf::from(s)
    };
    let mut f = RotatingFile::builder(&p)
        .backup_count(2)
        .max_bytes(1)
        .namer(namer)
        .buffer_size(0)
        .open()
        .unwrap();
    let n = |i: u32| namer(&dir.path().join(format!("t.log.{i}")));
    f.write_record(&rec(1)).unwrap();
    assert!(p.exists());
    assert!(!n(1).exists());
    f.write_record(&rec(2)).unwrap();
    assert!(n(1).exists());
    assert!(!n(2).exists());
    f.write_record(&rec(3)).unwrap();
    assert!(n(2).exists());
    assert!(!n(3).exists());
    f.write_record(&rec(4)).unwrap();
    assert!(!n(3).exists());
    assert_eq!(fs::read(n(2)).unwrap(), rec(2));
    assert_eq!(fs::read(n(1)).unwrap(), rec(3));
}

#[test]
fn namer_rotator_inheritance() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.log");
    let namer = |p: &Path| {
        let mut s = p.as_os_str().to_os_string();
        s.push(".test");
        PathBuf::from(s)
    };
    let mut f = RotatingFile::builder(&p)
        .backup_count(2)
        .max_bytes(1)
        .namer(namer)
        .rotator(|src: &Path, dest: &Path| {
            let mut d = dest.as_os_str().to_os_string();
            d.push(".rotated");
            if src.exists() {
                fs::rename(src, d)?;
            }
            Ok(())
        })
        .buffer_size(0)
        .open()
        .unwrap();
    f.write_record(&rec(1)).unwrap();
    assert!(p.exists());
    f.write_record(&rec(2)).unwrap();
    let first = namer(&dir.path().join("t.log.1"));
    let mut rotated = first.as_os_str().to_os_string();
    rotated.push(".rotated");
    assert!(Path::new(&rotated).exists());
    assert!(!first.exists());
}

#[test]
fn rotator_zlib() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.log");
    let namer = |p: &Path| {
        let mut s = p.as_os_str().to_os_string();
        s.push(".gz");
        PathBuf::from(s)
    };
    let rotator = |src: &Path, dest: &Path| {
        let data = fs::read(src)?;
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(9));
        enc.write_all(&data)?;
        fs::write(dest, enc.finish()?)?;
        fs::remove_file(src)
    };
    let mut f = RotatingFile::builder(&p)
        .backup_count(2)
        .max_bytes(1)
        .namer(namer)
        .rotator(rotator)
        .buffer_size(0)
        .open()
        .unwrap();
    let unzlib = |p: PathBuf| {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(&fs::read(p).unwrap()[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    };
    let gz = |i: u32| namer(&dir.path().join(format!("t.log.{i}")));
    let (m1, m2) = (rec(1), rec(2));
    f.write_record(&m1).unwrap();
    assert!(p.exists());
    f.write_record(&m2).unwrap();
    assert_eq!(unzlib(gz(1)), m1);
    f.write_record(&rec(3)).unwrap();
    assert_eq!(unzlib(gz(2)), m1);
    f.write_record(&rec(4)).unwrap();
    assert_eq!(unzlib(gz(2)), m2);
    assert!(!gz(3).exists());
}
