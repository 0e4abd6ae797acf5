//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tributary_rotation::ManualClock;
use tributary_rotation::jiff::Timestamp;

pub fn clock_at(secs: i64) -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Timestamp::from_second(secs).unwrap()))
}

/// Names in `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The contents of a file, gunzipped if its name ends in `.gz`.
pub fn read_any(p: &Path) -> Vec<u8> {
    let raw = fs::read(p).unwrap();
    if p.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        raw
    }
}

pub fn read_str(p: &Path) -> String {
    String::from_utf8(read_any(p)).unwrap()
}

pub fn join(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// Sets a file's mtime to `secs` since the epoch.
pub fn set_mtime(p: &Path, secs: i64) {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs as u64);
    fs::File::options()
        .append(true)
        .open(p)
        .unwrap()
        .set_modified(t)
        .unwrap();
}
