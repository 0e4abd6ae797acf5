//! The rotating file itself.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use jiff::tz::TimeZone;

use crate::archives::{Archives, identity, mtime_secs};
use crate::builder::{Builder, Compression};
use crate::clock::Clock;
use crate::error::{Error, ErrorSink, with_path};
use crate::naming::{ArchiveId, Mode, Naming, Rotator, Scheme};
use crate::policy::size::SizePolicy;
use crate::policy::time::TimePolicy;
use crate::retention::Retention;
use crate::sync::SyncPolicy;

#[cfg(feature = "gzip")]
use crate::compress::Worker;

mod batch;
mod position;

pub use position::{FilePosition, Truncation};

/// After a failed rotation, writing goes on in the current file and rotation
/// is tried again this many seconds later (not on every record).
const ROTATION_RETRY_SECS: i64 = 1;

/// A log file that rotates between records.
///
/// Records go through [`write_record`](Self::write_record) (or
/// [`io::Write::write`], where each call is one record). Rotation happens only
/// between records, never inside one. See the [crate docs](crate) for an
/// example and the guarantees.
pub struct RotatingFile {
    path: PathBuf,
    file: Option<File>,
    ident: Option<(u64, u64)>,
    regular: bool,
    /// Bytes in the file (not counting `buf`).
    len: u64,
    /// A failed write left bytes past `len` that must go before the next one.
    needs_truncate: bool,
    buf: Vec<u8>,
    /// Records in `buf`, for [`RotatingFile::discard_buffered`].
    buf_records: usize,
    buf_cap: usize,
    size: Option<SizePolicy>,
    time: Option<TimePolicy>,
    rollover_at: i64,
    retry_rotation_at: Option<i64>,
    archives: Arc<Archives>,
    max_count: Option<usize>,
    rotator: Option<Rotator>,
    #[cfg(feature = "gzip")]
    worker: Option<Worker>,
    clock: Arc<dyn Clock>,
    sync: SyncPolicy,
    unsynced: u64,
    last_sync: Instant,
    delay: bool,
    watch: bool,
    errors: Arc<ErrorSink>,
    next_index: u64,
    last_stamp: Option<(String, u64)>,
    /// Rotations done since open, for monitoring.
    rotations: u64,
    /// One record being assembled by a `MakeWriter` guard.
    #[cfg(feature = "tracing")]
    pub(crate) staging: Vec<u8>,
}

impl fmt::Debug for RotatingFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RotatingFile")
            .field("path", &self.path)
            .field("len", &self.len)
            .field("buffered", &self.buf.len())
            .field("rollover_at", &self.time.as_ref().map(|_| self.rollover_at))
            .finish_non_exhaustive()
    }
}

impl RotatingFile {
    /// Starts configuring a rotating file at `path`.
    pub fn builder(path: impl AsRef<Path>) -> Builder {
        Builder::new(path.as_ref())
    }

    pub(crate) fn from_builder(b: Builder) -> Result<RotatingFile, Error> {
        if b.interval == 0 {
            return Err(Error::ZeroInterval);
        }
        let level: Option<u32> = match b.compression {
            Compression::None => None,
            #[cfg(feature = "gzip")]
            Compression::Gzip { level } => {
                if level > 9 {
                    return Err(Error::InvalidLevel(level));
                }
                Some(level)
            }
        };
        if level.is_some() && b.rotator.is_some() {
            return Err(Error::RotatorWithCompression);
        }
        let base_name = b
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| Error::NoFileName(b.path.clone()))?;
        let tz = if b.utc {
            TimeZone::UTC
        } else {
            b.tz.clone().unwrap_or_else(TimeZone::system)
        };
        let time = b.when.map(|when| TimePolicy {
            when,
            interval: b.interval,
            at_time: b.at_time,
            tz: tz.clone(),
        });
        let mode = match (b.naming, &time) {
            (Naming::Python, None) => Mode::Shift,
            (Naming::Index, _) => Mode::Counter,
            _ => Mode::Stamp,
        };
        let stamp_format = time
            .as_ref()
            .map_or("%Y-%m-%d_%H-%M-%S", |t| t.when.suffix_format());
        let scheme = Scheme::new(b.path.clone(), base_name, mode, stamp_format, tz, b.namer);
        let errors = Arc::new(ErrorSink::new(b.on_error));
        let max_count = (b.backup_count > 0).then_some(b.backup_count);
        let archives = Arc::new(Archives {
            retention: Retention {
                max_count,
                max_age: b.max_age,
                max_total_bytes: b.max_total_bytes,
            },
            state: Mutex::new(Default::default()),
            clock: Arc::clone(&b.clock),
            errors: Arc::clone(&errors),
            scheme,
        });
        let io_err = |source: io::Error| Error::Io {
            path: b.path.clone(),
            source,
        };
        fs::create_dir_all(&archives.scheme.dir).map_err(io_err)?;
        // Neither is fatal: the file can be written even if an old archive
        // cannot be cleaned up.
        if let Err(e) = archives.repair() {
            errors.report(e);
        }
        if let Err(e) = archives.apply_retention() {
            errors.report(e);
        }
        let existing = fs::metadata(&b.path).ok();
        let now = b.clock.now().as_second();
        let rollover_at = time.as_ref().map_or(i64::MAX, |t| {
            // Python: a restarted process continues the schedule of the file.
            t.compute_rollover(existing.as_ref().map_or(now, mtime_secs))
        });
        let next_index = if mode == Mode::Counter {
            archives.max_index() + 1
        } else {
            1
        };
        let mut file = RotatingFile {
            path: b.path.clone(),
            file: None,
            ident: None,
            regular: existing.as_ref().is_none_or(|m| m.is_file()),
            len: existing.as_ref().map_or(0, |m| m.len()),
            needs_truncate: false,
            buf: Vec::with_capacity(b.buffer),
            buf_records: 0,
            buf_cap: b.buffer,
            size: (b.max_bytes > 0).then_some(SizePolicy {
                max_bytes: b.max_bytes,
            }),
            time,
            rollover_at,
            retry_rotation_at: None,
            archives: Arc::clone(&archives),
            max_count,
            rotator: b.rotator,
            #[cfg(feature = "gzip")]
            worker: None,
            clock: b.clock,
            sync: b.sync,
            unsynced: 0,
            last_sync: Instant::now(),
            delay: b.delay,
            watch: b.watch,
            errors,
            next_index,
            last_stamp: None,
            rotations: 0,
            #[cfg(feature = "tracing")]
            staging: Vec::new(),
        };
        if !b.delay {
            file.open_file().map_err(io_err)?;
        }
        #[cfg(feature = "gzip")]
        if let Some(level) = level {
            let worker = Worker::spawn(archives, level).map_err(io_err)?;
            // Picks up archives an earlier run left uncompressed.
            worker.notify();
            file.worker = Some(worker);
        }
        Ok(file)
    }

    /// The path of the active file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one record. Rotation, if due, happens before it.
    ///
    /// `Ok` means the record was accepted whole (it may still sit in the
    /// buffer); `Err` means it was not written at all: a failed write is cut
    /// back to the last record boundary, so the file never holds part of a
    /// record, and the next call tries again (reopening the file and
    /// recreating its directory if they vanished). Records accepted earlier
    /// stay buffered until they can be written.
    pub fn write_record(&mut self, record: &[u8]) -> io::Result<()> {
        if record.is_empty() {
            return Ok(());
        }
        self.rotate_before(record.len() as u64)?;
        self.accept(record, 1)
    }

    /// Opens the file if needed and rotates it if a policy says so before
    /// `upcoming` more bytes; true if it rotated.
    ///
    /// A failed rotation is reported (and retried a little later) but is no
    /// error: the bytes go to the current file. An error means the file
    /// itself cannot be opened.
    #[inline]
    fn rotate_before(&mut self, upcoming: u64) -> io::Result<bool> {
        if self.file.is_none() {
            self.open_file()?;
        }
        match self.rotation_due(upcoming) {
            Some(time_due) => self.rotate_or_report(time_due),
            None => Ok(false),
        }
    }

    #[cold]
    fn rotate_or_report(&mut self, time_due: bool) -> io::Result<bool> {
        let before = self.rotations;
        match self.rotate(time_due) {
            Ok(()) => self.retry_rotation_at = None,
            Err(e) => {
                self.retry_rotation_at = Some(self.clock.now().as_second() + ROTATION_RETRY_SECS);
                self.errors.report(e);
            }
        }
        if self.file.is_none() {
            self.open_file()?;
        }
        Ok(self.rotations != before)
    }

    /// Takes `bytes`, which hold `records` whole records, into the buffer
    /// (or straight to the file when larger than it): all of them or, on
    /// error, none.
    fn accept(&mut self, bytes: &[u8], records: u64) -> io::Result<()> {
        if self.buf.len() + bytes.len() > self.buf_cap {
            self.flush_buf()?;
        }
        let sync_now = self.count_for_sync(records);
        if bytes.len() > self.buf_cap {
            self.append(bytes)?;
        } else {
            let start = self.buf.len();
            self.buf.extend_from_slice(bytes);
            self.buf_records += records as usize;
            if sync_now && let Err(e) = self.flush_buf() {
                self.buf.truncate(start);
                self.buf_records -= records as usize;
                return Err(e);
            }
        }
        if sync_now {
            self.sync_data()?;
        }
        Ok(())
    }

    /// `Some(time_due)` when a rotation should happen before a record of
    /// `n` bytes. Only looks, so a journaling caller can ask first
    /// ([`rotation_pending`](Self::rotation_pending)).
    #[inline]
    fn rotation_due(&self, n: u64) -> Option<bool> {
        if !self.regular {
            return None;
        }
        let size_due = self
            .size
            .is_some_and(|s| s.should_rotate(self.len + self.buf.len() as u64, n));
        if !size_due && self.time.is_none() {
            return None;
        }
        let now = self.clock.now().as_second();
        let time_due = self.time.is_some() && now >= self.rollover_at;
        if !(size_due || time_due) {
            return None;
        }
        if self.retry_rotation_at.is_some_and(|at| now < at) {
            return None;
        }
        Some(time_due)
    }

    /// Rotates now, whatever the policies say (an empty file is left alone).
    /// The time schedule is not changed.
    pub fn rotate_now(&mut self) -> io::Result<()> {
        self.rotate(false)?;
        if self.file.is_none() && !self.delay {
            self.open_file()?;
        }
        Ok(())
    }

    fn rotate(&mut self, time_due: bool) -> io::Result<()> {
        self.flush_buf()?;
        let now = self.clock.now().as_second();
        let empty = self.len == 0 && fs::metadata(&self.path).map_or(true, |m| m.len() == 0);
        if empty {
            // Python would archive an empty file on a time rollover; an empty
            // archive named for an idle period helps nobody.
            if time_due && let Some(t) = &self.time {
                self.rollover_at = t.next_rollover_after(now);
            }
            return Ok(());
        }
        if self.sync != SyncPolicy::Never {
            self.sync_data()?;
        }
        let stamp = self
            .time
            .as_ref()
            .map(|t| t.stamp(t.period_start(self.rollover_at)));
        // Close before renaming, which some platforms require.
        self.file = None;
        let moved = self.move_active(stamp, now);
        let reopened = if self.delay && moved.is_ok() {
            self.len = 0;
            Ok(())
        } else {
            self.open_file()
        };
        moved?;
        reopened?;
        if time_due && let Some(t) = &self.time {
            self.rollover_at = t.next_rollover_after(now);
        }
        self.after_rotation();
        Ok(())
    }

    /// Moves the active file to a fresh archive name: never over an existing
    /// one, and never giving up because one exists.
    fn move_active(&mut self, stamp: Option<String>, now: i64) -> io::Result<()> {
        let archives = Arc::clone(&self.archives);
        let scheme = &archives.scheme;
        let mut guard = (scheme.mode == Mode::Shift).then(|| archives.lock());
        let id = match scheme.mode {
            Mode::Shift => {
                if let Some(st) = guard.as_mut() {
                    archives.shift(st, self.max_count)?;
                }
                let id = ArchiveId::Index(1);
                if scheme.taken(&id) {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!("{} still exists after shifting", scheme.path(&id).display()),
                    ));
                }
                id
            }
            Mode::Counter => {
                while scheme.taken(&ArchiveId::Index(self.next_index)) {
                    self.next_index += 1;
                }
                let id = ArchiveId::Index(self.next_index);
                self.next_index += 1;
                id
            }
            Mode::Stamp => {
                let stamp = stamp.unwrap_or_else(|| scheme.stamp_at(now));
                let mut seq = match &self.last_stamp {
                    Some((s, q)) if *s == stamp => q + 1,
                    _ => 0,
                };
                let mut id = ArchiveId::Stamp {
                    stamp: stamp.clone(),
                    seq,
                };
                while scheme.taken(&id) {
                    seq += 1;
                    id = ArchiveId::Stamp {
                        stamp: stamp.clone(),
                        seq,
                    };
                }
                self.last_stamp = Some((stamp, seq));
                id
            }
        };
        let dest = scheme.path(&id);
        // Python (Issue 18940): with `delay` the file may not exist yet.
        if self.path.symlink_metadata().is_ok() {
            match &self.rotator {
                Some(rotator) => rotator(&self.path, &dest)?,
                None => fs::rename(&self.path, &dest)
                    .map_err(|e| with_path(e, "renaming", &self.path))?,
            }
        }
        drop(guard);
        Ok(())
    }

    fn after_rotation(&mut self) {
        self.rotations += 1;
        #[cfg(feature = "gzip")]
        if let Some(w) = &self.worker {
            w.notify();
            return;
        }
        if let Err(e) = self.archives.apply_retention() {
            self.errors.report(e);
        }
    }

    /// How many times this file has rotated since it was opened (by
    /// policy or [`rotate_now`](RotatingFile::rotate_now); not counting
    /// skipped rotations of an empty file or [`reopen`](RotatingFile::reopen)).
    /// Cheap: for stats lines and monitoring.
    pub fn rotations(&self) -> u64 {
        self.rotations
    }

    /// Closes and reopens the file by path: call it after an external tool
    /// (logrotate) moved the file away.
    pub fn reopen(&mut self) -> io::Result<()> {
        self.flush_buf()?;
        self.file = None;
        self.open_file()
    }

    /// Writes the buffered records to the OS (the same as
    /// [`io::Write::flush`]). On error they stay buffered for the next try.
    pub fn flush(&mut self) -> io::Result<()> {
        self.flush_buf()
    }

    /// Drops the records accepted but not yet written, and returns how many
    /// there were: for a writer that gives up on a file it cannot write
    /// (a disk that stays full past a shutdown deadline) and must count
    /// what it lost rather than keep it, or have `Drop` try once more.
    pub fn discard_buffered(&mut self) -> usize {
        self.buf.clear();
        std::mem::take(&mut self.buf_records)
    }

    /// Writes the buffer and `fdatasync`s the file.
    pub fn sync_all(&mut self) -> io::Result<()> {
        self.flush_buf()?;
        self.sync_data()
    }

    /// Errors from work done off the write path (background compression,
    /// retention, failed rotations that will be retried) since the last call.
    /// At most 64 are kept between calls; see also
    /// [`Builder::on_error`](crate::Builder::on_error).
    pub fn take_errors(&self) -> Vec<io::Error> {
        self.errors.take()
    }

    /// Blocks until background compression has caught up with every
    /// rotation so far. Returns at once without compression.
    pub fn wait_background(&self) {
        #[cfg(feature = "gzip")]
        if let Some(w) = &self.worker {
            w.wait_idle();
        }
    }

    /// Flushes, waits for background compression to finish, and returns the
    /// background errors not taken yet. Dropping does the same, reporting a
    /// flush error to the error callback only.
    pub fn close(mut self) -> io::Result<Vec<io::Error>> {
        let flushed = self.flush_buf();
        self.stop_worker();
        flushed.map(|()| self.errors.take())
    }

    fn stop_worker(&mut self) {
        #[cfg(feature = "gzip")]
        if let Some(mut w) = self.worker.take() {
            w.shutdown();
        }
    }

    /// Called by the `MakeWriter` guard: the staged bytes are one record.
    #[cfg(feature = "tracing")]
    pub(crate) fn commit_staged(&mut self, flush: bool) -> io::Result<()> {
        let staged = std::mem::take(&mut self.staging);
        let mut result = self.write_record(&staged);
        if result.is_ok() && flush {
            result = self.flush_buf();
        }
        self.staging = staged;
        self.staging.clear();
        result
    }

    #[cfg(feature = "tracing")]
    pub(crate) fn report(&self, e: io::Error) {
        self.errors.report(e);
    }

    fn count_for_sync(&mut self, records: u64) -> bool {
        match self.sync {
            SyncPolicy::Never => false,
            SyncPolicy::EveryRecords(n) => {
                self.unsynced += records;
                self.unsynced >= n.max(1)
            }
            SyncPolicy::Interval(d) => {
                self.unsynced += records;
                self.last_sync.elapsed() >= d
            }
        }
    }

    fn sync_data(&mut self) -> io::Result<()> {
        self.unsynced = 0;
        self.last_sync = Instant::now();
        match &self.file {
            Some(f) if self.regular => f.sync_data(),
            _ => Ok(()),
        }
    }

    fn open_file(&mut self) -> io::Result<()> {
        if let Some(dir) = self.path.parent()
            && !dir.as_os_str().is_empty()
            && !dir.exists()
        {
            fs::create_dir_all(dir)?;
        }
        let f = OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.path)?;
        let md = f.metadata()?;
        self.regular = md.is_file();
        self.len = md.len();
        self.ident = Some(identity(&md));
        self.needs_truncate = false;
        self.file = Some(f);
        Ok(())
    }

    /// Makes sure the open file is the one at `path`, with nothing past `len`.
    fn prepare(&mut self) -> io::Result<()> {
        if self.file.is_some() && self.watch && self.regular {
            let same = fs::metadata(&self.path)
                .map(|m| Some(identity(&m)) == self.ident)
                .unwrap_or(false);
            if !same {
                self.file = None;
            }
        }
        if self.file.is_none() {
            self.open_file()?;
        }
        if self.needs_truncate
            && let Some(f) = &self.file
        {
            f.set_len(self.len)?;
            self.needs_truncate = false;
        }
        Ok(())
    }

    /// Appends whole records; on failure, cuts the file back to where it was.
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        self.prepare()?;
        let Some(f) = self.file.as_mut() else {
            return Err(io::Error::other("file not open"));
        };
        match f.write_all(data) {
            Ok(()) => {
                self.len += data.len() as u64;
                Ok(())
            }
            Err(e) => {
                if self.regular && f.set_len(self.len).is_err() {
                    self.needs_truncate = true;
                }
                Err(e)
            }
        }
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let buf = std::mem::take(&mut self.buf);
        let result = self.append(&buf);
        self.buf = buf;
        if result.is_ok() {
            self.buf.clear();
            self.buf_records = 0;
        }
        result
    }
}

impl Write for RotatingFile {
    /// Each call is one record: rotation may happen before it, never inside
    /// it. Build a record completely before writing it (`write_all` of a
    /// formatted buffer, as `tracing-subscriber` does).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_record(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_buf()
    }
}

impl Drop for RotatingFile {
    fn drop(&mut self) {
        if let Err(e) = self.flush_buf() {
            self.errors.report(e);
        }
        self.stop_worker();
    }
}
