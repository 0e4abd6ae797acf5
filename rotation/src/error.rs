//! Configuration errors and the sink that collects errors from work done off the
//! write path (background compression, retention, rotations that had to be
//! retried).

use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// An error in the configuration given to [`Builder`](crate::Builder), or the
/// I/O error that stopped [`Builder::open`](crate::Builder::open).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `when` string that is not one of Python's values.
    #[error(
        "invalid rotation `when` {0:?}: expected S, M, H, D, midnight or W0..W6 (W0 is Monday)"
    )]
    InvalidWhen(String),
    /// A compression name that is not `none` or `gzip` (or `gzip` without
    /// the `gzip` feature).
    #[error("invalid compression {0:?}: expected {expected}", expected = if cfg!(feature = "gzip") { "none or gzip" } else { "none (gzip needs the `gzip` feature)" })]
    InvalidCompression(String),
    /// `interval(0)`: a period must last at least one unit.
    #[error("rotation interval must be at least 1")]
    ZeroInterval,
    /// A gzip level outside `0..=9`.
    #[error("compression level {0} is outside 0..=9")]
    InvalidLevel(u32),
    /// A custom rotator and built-in compression both want to produce the
    /// first archive; only one of them can.
    #[error("a custom rotator cannot be combined with built-in compression")]
    RotatorWithCompression,
    /// The log path has no file name (e.g. `/` or `..`).
    #[error("log path {0:?} has no file name")]
    NoFileName(PathBuf),
    /// Opening the file or preparing its directory failed.
    #[error("cannot open {path:?}: {source}")]
    Io {
        /// The path being opened.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Io { source, .. } => source,
            other => io::Error::new(io::ErrorKind::InvalidInput, other),
        }
    }
}

/// Called with every error that happens off the write path.
pub type ErrorCallback = Arc<dyn Fn(&io::Error) + Send + Sync>;

/// Errors are kept until taken, but only this many: a writer nobody polls must
/// not grow without bound while the disk stays full.
const MAX_KEPT: usize = 64;

#[derive(Default)]
pub(crate) struct ErrorSink {
    kept: Mutex<Vec<io::Error>>,
    callback: Option<ErrorCallback>,
}

impl ErrorSink {
    pub(crate) fn new(callback: Option<ErrorCallback>) -> Self {
        ErrorSink {
            kept: Mutex::new(Vec::new()),
            callback,
        }
    }

    pub(crate) fn report(&self, err: io::Error) {
        if let Some(cb) = &self.callback {
            cb(&err);
        }
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() < MAX_KEPT {
            kept.push(err);
        }
    }

    pub(crate) fn take(&self) -> Vec<io::Error> {
        std::mem::take(&mut *self.kept.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Adds the path an operation was working on, so a report taken later still
/// says which file failed.
pub(crate) fn with_path(err: io::Error, what: &str, path: &std::path::Path) -> io::Error {
    io::Error::new(err.kind(), format!("{what} {}: {err}", path.display()))
}
