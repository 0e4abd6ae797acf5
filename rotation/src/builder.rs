//! Configuration of a [`RotatingFile`].

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jiff::civil::Time;
use jiff::tz::TimeZone;

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, ErrorCallback};
use crate::file::RotatingFile;
use crate::naming::{Namer, Naming, Rotator};
use crate::policy::time::When;
use crate::sync::SyncPolicy;

/// Compression of archives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Compression {
    /// Archives stay as written.
    #[default]
    None,
    /// gzip on a background thread; archives get `.gz` appended to their name.
    #[cfg(feature = "gzip")]
    Gzip {
        /// 0 (store) to 9 (smallest); [`Compression::gzip`] takes 1, zlib's
        /// default is 6.
        level: u32,
    },
}

impl Compression {
    /// gzip at level 1, the default. The worker shares the machine with
    /// the writer and the producers, and on log lines level 1 costs about a
    /// fifth of zlib's default level 6 in instructions (8.3 vs 39.5 million
    /// per MiB with flate2's zlib-rs backend) for archives about 60% larger
    /// (12.3:1 vs 19.6:1; callgrind on `examples/gzip_levels.rs`). Use `Compression::Gzip { level: 6 }`
    /// where disk matters more than CPU.
    #[cfg(feature = "gzip")]
    pub fn gzip() -> Self {
        Compression::Gzip { level: 1 }
    }

    /// The name a configuration uses: `none` or `gzip`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            #[cfg(feature = "gzip")]
            Compression::Gzip { .. } => "gzip",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses `none` or `gzip` (at level 1), case-insensitively: the one
/// spelling every configuration of archives' compression shares.
impl std::str::FromStr for Compression {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(Compression::None),
            #[cfg(feature = "gzip")]
            "gzip" => Ok(Compression::gzip()),
            _ => Err(Error::InvalidCompression(s.to_owned())),
        }
    }
}

/// Builds a [`RotatingFile`]; start with [`RotatingFile::builder`].
#[must_use = "a builder does nothing until .open() is called"]
pub struct Builder {
    pub(crate) path: PathBuf,
    pub(crate) max_bytes: u64,
    pub(crate) when: Option<When>,
    pub(crate) interval: u32,
    pub(crate) at_time: Option<Time>,
    pub(crate) utc: bool,
    pub(crate) tz: Option<TimeZone>,
    pub(crate) backup_count: usize,
    pub(crate) max_age: Option<Duration>,
    pub(crate) max_total_bytes: Option<u64>,
    pub(crate) naming: Naming,
    pub(crate) namer: Option<Namer>,
    pub(crate) rotator: Option<Rotator>,
    pub(crate) compression: Compression,
    pub(crate) delay: bool,
    pub(crate) sync: SyncPolicy,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) buffer: usize,
    pub(crate) watch: bool,
    pub(crate) on_error: Option<ErrorCallback>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("path", &self.path)
            .field("max_bytes", &self.max_bytes)
            .field("when", &self.when)
            .field("interval", &self.interval)
            .field("at_time", &self.at_time)
            .field("utc", &self.utc)
            .field("backup_count", &self.backup_count)
            .field("naming", &self.naming)
            .field("compression", &self.compression)
            .finish_non_exhaustive()
    }
}

impl Builder {
    pub(crate) fn new(path: &Path) -> Self {
        Builder {
            path: path.to_path_buf(),
            max_bytes: 0,
            when: None,
            interval: 1,
            at_time: None,
            utc: false,
            tz: None,
            backup_count: 0,
            max_age: None,
            max_total_bytes: None,
            naming: Naming::Python,
            namer: None,
            rotator: None,
            compression: Compression::None,
            delay: false,
            sync: SyncPolicy::Never,
            clock: Arc::new(SystemClock),
            buffer: 64 * 1024,
            watch: true,
            on_error: None,
        }
    }

    /// Rotate before a record that would take the file past `n` bytes.
    /// `0` (the default) disables size rotation.
    pub fn max_bytes(mut self, n: u64) -> Self {
        self.max_bytes = n;
        self
    }

    /// Rotate on a time schedule (Python's `when`).
    pub fn when(mut self, when: When) -> Self {
        self.when = Some(when);
        self
    }

    /// Periods last `n` units of `when` (default 1).
    pub fn interval(mut self, n: u32) -> Self {
        self.interval = n;
        self
    }

    /// For [`When::Midnight`] and [`When::Weekly`]: rotate at this wall-clock
    /// time instead of midnight. Ignored by the other `when` values, as in
    /// Python.
    pub fn at_time(mut self, t: Time) -> Self {
        self.at_time = Some(t);
        self
    }

    /// Read the wall clock in UTC (`true`) or in the configured/system zone.
    pub fn utc(mut self, utc: bool) -> Self {
        self.utc = utc;
        self
    }

    /// The zone for time rotation and archive names (default: the system's).
    /// Use e.g. `TimeZone::posix("EST+05EDT,M3.2.0,M11.1.0")` or
    /// `TimeZone::get("Europe/Paris")`.
    pub fn time_zone(mut self, tz: TimeZone) -> Self {
        self.tz = Some(tz);
        self
    }

    /// Keep at most `n` archives; `0` (the default) keeps all of them.
    ///
    /// Python's `RotatingFileHandler` never rotates with `backupCount=0`; here
    /// [`max_bytes`](Self::max_bytes) alone decides whether rotation happens.
    pub fn backup_count(mut self, n: usize) -> Self {
        self.backup_count = n;
        self
    }

    /// Also delete archives last modified longer ago than `age`.
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// Also delete the oldest archives while all of them together exceed `n`
    /// bytes (as stored, i.e. compressed).
    pub fn max_total_bytes(mut self, n: u64) -> Self {
        self.max_total_bytes = Some(n);
        self
    }

    /// How archives are named (default [`Naming::Python`]).
    pub fn naming(mut self, naming: Naming) -> Self {
        self.naming = naming;
        self
    }

    /// Python's `namer`: maps every default archive path to the one to use.
    pub fn namer(mut self, f: impl Fn(&Path) -> PathBuf + Send + Sync + 'static) -> Self {
        self.namer = Some(Arc::new(f));
        self
    }

    /// Python's `rotator`: called as `rotator(active_path, first_archive_path)`
    /// instead of a rename, on the writing thread. Exclusive with
    /// [`compression`](Self::compression).
    pub fn rotator(
        mut self,
        f: impl Fn(&Path, &Path) -> io::Result<()> + Send + Sync + 'static,
    ) -> Self {
        self.rotator = Some(Arc::new(f));
        self
    }

    /// Compress archives off the writing thread.
    pub fn compression(mut self, c: Compression) -> Self {
        self.compression = c;
        self
    }

    /// Create the file on the first record instead of in `open`.
    pub fn delay(mut self, delay: bool) -> Self {
        self.delay = delay;
        self
    }

    /// When to fsync (default [`SyncPolicy::Never`]).
    pub fn sync(mut self, sync: SyncPolicy) -> Self {
        self.sync = sync;
        self
    }

    /// The clock for time rotation and `max_age` (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Size of the in-memory buffer (default 64 KiB). Records are appended to
    /// it whole and it is written out at record boundaries, so a file never
    /// holds part of a record. `0` writes every record with its own syscall.
    pub fn buffer_size(mut self, bytes: usize) -> Self {
        self.buffer = bytes;
        self
    }

    /// Before writing, check that the path still names the open file, and
    /// reopen (recreating directories) if it was deleted or moved — what
    /// Python's `WatchedFileHandler` does. On by default; costs one `stat` per
    /// buffer flush.
    pub fn watch(mut self, watch: bool) -> Self {
        self.watch = watch;
        self
    }

    /// Called with every error that happens where it cannot be returned:
    /// background compression, retention, and rotations that will be retried.
    /// They are also kept for [`RotatingFile::take_errors`].
    pub fn on_error(mut self, f: impl Fn(&io::Error) + Send + Sync + 'static) -> Self {
        self.on_error = Some(Arc::new(f));
        self
    }

    /// Validates the configuration, repairs what an interrupted run left,
    /// applies retention and opens the file (unless `delay`).
    pub fn open(self) -> Result<RotatingFile, Error> {
        RotatingFile::from_builder(self)
    }
}

#[cfg(all(test, feature = "gzip"))]
mod tests {
    use super::Compression;

    #[test]
    fn compression_names_parse_and_print_back() {
        for c in [Compression::None, Compression::gzip()] {
            assert_eq!(c.name().parse::<Compression>().ok(), Some(c));
        }
        assert_eq!(
            "GZIP".parse::<Compression>().ok(),
            Some(Compression::gzip())
        );
        let e = "zip".parse::<Compression>().unwrap_err().to_string();
        assert!(e.contains("\"zip\"") && e.contains("none or gzip"), "{e}");
    }
}
