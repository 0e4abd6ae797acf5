//! A rotating log file that rotates only between records.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! use tributary_rotation::{Compression, RotatingFile, When};
//!
//! let mut log = RotatingFile::builder(dir.path().join("app.log"))
//!     .max_bytes(10 * 1024 * 1024) // whichever comes first:
//!     .when(When::Midnight)        // 10 MiB or midnight
//!     .backup_count(30)
//!     .compression(Compression::gzip()) // on a background thread
//!     .open()?;
//! log.write_record(b"{\"msg\":\"hello\"}\n")?;
//! log.close()?; // flush, finish compressing; dropping does the same
//! # Ok(()) }
//! ```
//!
//! # What it does
//!
//! - **Record-aligned.** [`RotatingFile::write_record`] (and each
//!   [`std::io::Write::write`] call) is one record. Records are buffered
//!   whole and written out at record boundaries; a failed write (full disk)
//!   is cut back to the last boundary and returned as an error, and the
//!   writer recovers when the condition clears. A deleted file or directory
//!   is recreated on the next write.
//! - **Size and time policies**, whichever comes first. Size: rotate before a
//!   record that would take the file past `max_bytes`; an empty file never
//!   rotates and an oversized record is written whole into a fresh file.
//!   Time: Python's `when` (`S`, `M`, `H`, `D`, `MIDNIGHT`, `W0`-`W6`) with
//!   `interval` and `at_time`, in UTC or any [`jiff`] time zone with correct
//!   DST, the schedule continuing from the file's mtime after a restart.
//!   Non-regular files (`/dev/null`, FIFOs) never rotate.
//! - **Python-compatible names** ([`Naming::Python`]): `app.log.1`..`.N` for
//!   size, `app.log.2026-11-22` for time (named for the start of the period),
//!   and Python's `namer` and `rotator` hooks. [`Naming::Index`] and
//!   [`Naming::Timestamp`] never rename old archives. An existing name is
//!   never overwritten, and never stops rotation: a free `NAME.1`, `NAME.2`…
//!   is taken instead (CPython overwrites before 3.13 and stops rotating
//!   from 3.13 on).
//! - **Compression off the write path** (feature `gzip`): the writing thread
//!   only renames; a background thread compresses into `X.gz.tmp`, fsyncs,
//!   renames to `X.gz` and removes `X`. The next [`Builder::open`] finishes or
//!   undoes whatever a killed process left, so no record is lost or doubled.
//! - **Retention** by count, age and total size, on open and after each
//!   rotation; files that do not parse as this file's archives are never
//!   touched.
//! - **Batches and positions**, for a caller that journals what it wrote:
//!   [`RotatingFile::rotate_if_due`] and
//!   [`RotatingFile::write_batch_unrotated`] keep a batch of lines in one
//!   file, [`RotatingFile::position`] says where the written bytes end (file
//!   identity and length), and [`RotatingFile::truncate_to`] cuts an
//!   unrecorded tail after a crash, only in the file the position names.
//! - [`RotatingFile::reopen`] for external logrotate, [`SyncPolicy`] for
//!   fsync, and (feature `tracing`) a `MakeWriter` that replaces
//!   `tracing_appender::rolling` in one line.
//!
//! The semantics follow CPython's
//! [`logging.handlers`](https://github.com/python/cpython/blob/v3.13.0/Lib/logging/handlers.py);
//! the differences are listed on each item.
//!
//! One process must own a file: rotation is not coordinated between
//! processes.

mod archives;
mod builder;
mod clock;
#[cfg(feature = "gzip")]
mod compress;
mod discover;
mod error;
mod file;
#[cfg(feature = "tracing")]
mod make_writer;
mod naming;
mod policy;
mod retention;
mod sync;
#[cfg(feature = "test-hooks")]
pub mod test_hooks;

pub use builder::{Builder, Compression};
pub use clock::{Clock, ManualClock, SystemClock};
pub use discover::{ArchiveFile, find_archives};
pub use error::{Error, ErrorCallback};
pub use file::{FilePosition, RotatingFile, Truncation};
#[cfg(feature = "tracing")]
pub use make_writer::{EventWriter, SharedRotatingFile};
pub use naming::{Namer, Naming, Rotator};
pub use policy::time::When;
pub use sync::SyncPolicy;

/// Re-exported so callers can name zones and times without a direct `jiff`
/// dependency.
pub use jiff;
