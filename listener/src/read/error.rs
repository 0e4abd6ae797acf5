//! Errors of the reader: each names the file and says what to do.

use std::io;
use std::path::{Path, PathBuf};

/// Why reading could not start or go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// No PATH and standard input is a terminal.
    #[error(
        "nothing to read: pass a log file (e.g. logs/tributary.log; its rotated archives are read too), or pipe records in"
    )]
    NothingToRead,
    /// A directory was given.
    #[error(
        "{0} is a directory: pass the live log file in it (e.g. {0}/tributary.log; its rotated archives beside it are read too) or a glob such as '{0}/*.log*'"
    )]
    Directory(PathBuf),
    /// A glob matched nothing.
    #[error("{0}: no file matches this pattern")]
    NoMatch(PathBuf),
    /// A file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: io::Error,
    },
    /// A filter or option value is invalid.
    #[error("{0}")]
    Invalid(String),
    /// The cursor file cannot be used.
    #[error("cursor {path}: {reason}")]
    Cursor {
        /// The cursor file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl ReadError {
    pub(crate) fn open(path: &Path, source: io::Error) -> ReadError {
        ReadError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
