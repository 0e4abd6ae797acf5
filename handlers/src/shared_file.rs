//! One file shared by many processes: `O_APPEND` writes and `flock`-coordinated
//! rotation (the cookbook's "use a lock" answer, done so that it works).
//!
//! - Each record is one `write(2)` on an `O_APPEND` descriptor, so the
//!   kernel places it whole at the end of the file: lines from different
//!   processes never interleave or split.
//! - Rotation happens under an exclusive `flock` on `<file>.lock`. The
//!   process holding it re-checks the size and the file's identity before
//!   rotating, so exactly one process rotates for each crossing of the
//!   limit, and a process whose descriptor points at a file that was
//!   rotated away (its inode no longer matches the path) reopens instead.
//! - Before each record a process `stat`s the path (as Python's
//!   `WatchedFileHandler` does): a different inode means another process
//!   (or `logrotate`) moved the file, and it reopens, so records do not
//!   pile into a rotated file; the same `stat` gives the current size,
//!   other processes' appends included, for the rotation check.
//! - Near the limit (the last quarter of `max_bytes`, at most 64 KiB)
//!   records are written while holding the lock, so processes do not race
//!   each other past the limit; far from it, writes take no lock. A process
//!   preempted between its `stat` and its `write` while another rotates
//!   still appends its one record to the file just rotated: a file can
//!   exceed `max_bytes` by at most one record per process. Nothing is lost
//!   or split either way.

use crate::file::open_append;
use crate::handler::{FormatHandler, RecordSink};
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};

/// A log file many processes append to, rotating by size with Python's
/// `.1`..`.N` names (`app.log` → `app.log.1` → `app.log.2` ...).
#[derive(Debug)]
pub struct SharedFile {
    path: PathBuf,
    lock_path: PathBuf,
    file: File,
    lock: File,
    max_bytes: u64,
    backup_count: u32,
    /// The file's size as of our last write or check.
    known_size: u64,
    /// `(dev, ino)` of the open file.
    identity: (u64, u64),
}

impl SharedFile {
    /// Opens `path` for shared appending; rotates when a record would take
    /// it past `max_bytes`, keeping `backup_count` old files. As in Python,
    /// `max_bytes == 0` or `backup_count == 0` never rotates.
    pub fn open(
        path: impl AsRef<Path>,
        max_bytes: u64,
        backup_count: u32,
    ) -> io::Result<SharedFile> {
        let path = path.as_ref().to_path_buf();
        let file = open_append(&path)?;
        let mut lock_name = path.clone().into_os_string();
        lock_name.push(".lock");
        let lock_path = PathBuf::from(lock_name);
        let lock = open_append(&lock_path)?;
        let meta = file.metadata()?;
        let known_size = meta.len();
        let identity = (meta.dev(), meta.ino());
        Ok(SharedFile {
            path,
            lock_path,
            file,
            lock,
            max_bytes,
            backup_count,
            known_size,
            identity,
        })
    }

    /// The log file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lock file's path (`<file>.lock`).
    pub fn lock_path(&self) -> &Path {
        &self.lock_path
    }

    fn rotates(&self) -> bool {
        self.max_bytes > 0 && self.backup_count > 0
    }

    fn reopen(&mut self) -> io::Result<()> {
        self.file = open_append(&self.path)?;
        let meta = self.file.metadata()?;
        self.known_size = meta.len();
        self.identity = (meta.dev(), meta.ino());
        Ok(())
    }

    /// Reopens when the path no longer names our file; refreshes the size
    /// (other processes' appends included) from the same `stat`.
    fn follow_path(&mut self) -> io::Result<()> {
        match std::fs::metadata(&self.path) {
            Ok(m) if (m.dev(), m.ino()) == self.identity => {
                self.known_size = m.len();
                Ok(())
            }
            Ok(_) => self.reopen(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => self.reopen(),
            Err(e) => Err(e),
        }
    }

    /// Under the lock: reopen if the path moved on, rotate if still
    /// needed, and write.
    fn write_locked(&mut self, line: &[u8]) -> io::Result<()> {
        let _held = Flock::exclusive(&self.lock)?;
        // Another process may have rotated while we waited for the lock.
        self.follow_path()?;
        if self.known_size > 0 && self.known_size + line.len() as u64 > self.max_bytes {
            self.rotate()?;
            self.reopen()?;
        }
        self.write_once(line)
    }

    /// One `write(2)`: `O_APPEND` places it atomically at the end. A short
    /// write (disk full, signal) continues with the rest.
    fn write_once(&mut self, line: &[u8]) -> io::Result<()> {
        let mut rest = line;
        while !rest.is_empty() {
            match self.file.write(rest) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.known_size += line.len() as u64;
        Ok(())
    }

    fn backup(&self, n: u32) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    /// Python's `RotatingFileHandler.doRollover` shift: `.N-1`→`.N` … `.1`→`.2`,
    /// then the file → `.1`. Only existing backups are touched.
    fn rotate(&self) -> io::Result<()> {
        let mut highest = 0;
        while highest < self.backup_count && self.backup(highest + 1).exists() {
            highest += 1;
        }
        if highest == self.backup_count {
            std::fs::remove_file(self.backup(highest))?;
            highest -= 1;
        }
        for i in (1..=highest).rev() {
            std::fs::rename(self.backup(i), self.backup(i + 1))?;
        }
        std::fs::rename(&self.path, self.backup(1))
    }
}

impl RecordSink for SharedFile {
    fn describe(&self) -> String {
        format!("shared file {}", self.path.display())
    }

    fn write_record(&mut self, line: &[u8]) -> io::Result<()> {
        self.follow_path()?;
        let margin = (self.max_bytes / 4).min(64 * 1024);
        if self.rotates() && self.known_size + line.len() as u64 + margin > self.max_bytes {
            self.write_locked(line)
        } else {
            self.write_once(line)
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// An exclusive `flock`, released on drop. Holds the raw descriptor; the
/// `SharedFile` owning the lock file outlives it.
struct Flock(RawFd);

impl Flock {
    fn exclusive(file: &File) -> io::Result<Flock> {
        let fd = file.as_raw_fd();
        loop {
            // SAFETY: a valid open descriptor; flock has no memory effects.
            if unsafe { libc::flock(fd, libc::LOCK_EX) } == 0 {
                return Ok(Flock(fd));
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

impl Drop for Flock {
    fn drop(&mut self) {
        // SAFETY: as above; unlocking a lock we hold cannot fail meaningfully.
        unsafe { libc::flock(self.0, libc::LOCK_UN) };
    }
}

/// Writes formatted records to a file shared by many processes.
pub type SharedFileHandler = FormatHandler<SharedFile>;

impl FormatHandler<SharedFile> {
    /// JSON lines appended to `path` by this and other processes, rotating
    /// at `max_bytes` with `backup_count` backups; see [`SharedFile`].
    pub fn shared(
        path: impl AsRef<Path>,
        max_bytes: u64,
        backup_count: u32,
    ) -> io::Result<SharedFileHandler> {
        Ok(FormatHandler::new(SharedFile::open(
            path,
            max_bytes,
            backup_count,
        )?))
    }
}
