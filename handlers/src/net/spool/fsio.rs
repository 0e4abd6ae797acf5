//! File-system steps the spool needs beyond reads and writes: one owner at
//! a time, and crash-safe replacement of the file.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// How long a held lock is waited for before the spool is reported as
/// owned by another process. A child forked by any thread of this process
/// holds a copy of the previous owner's descriptor (and its lock) until it
/// calls exec, which takes microseconds to milliseconds: a reopen right
/// after a close must not fail because of that.
const LOCK_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// Takes an exclusive `flock` on `file`, waiting up to [`LOCK_GRACE`];
/// `Ok(false)` when another process holds it. Released when the file is
/// closed.
pub(super) fn try_lock(file: &File) -> io::Result<bool> {
    let deadline = std::time::Instant::now() + LOCK_GRACE;
    loop {
        // SAFETY: a valid open descriptor; flock has no memory effects.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::Interrupted => {}
            io::ErrorKind::WouldBlock if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            io::ErrorKind::WouldBlock => return Ok(false),
            _ => return Err(e),
        }
    }
}

/// Whether `file` is still the file at `path` (a compaction in another
/// process may have renamed a new file over it between open and lock).
pub(super) fn is_current(file: &File, path: &Path) -> io::Result<bool> {
    let a = file.metadata()?;
    match std::fs::metadata(path) {
        Ok(b) => Ok(a.dev() == b.dev() && a.ino() == b.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Where a compacted copy is built before it is renamed over the spool.
pub(super) fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".compact.tmp");
    path.with_file_name(name)
}

/// Makes a rename in `path`'s directory durable.
pub(super) fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}
