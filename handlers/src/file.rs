//! A plain append-only file.

use crate::handler::{FormatHandler, RecordSink};
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

const BUFFER: usize = 64 * 1024;

/// A file opened for appending (created if missing), written through a
/// 64 KiB buffer that is flushed whenever the handler is flushed.
#[derive(Debug)]
pub struct AppendFile {
    path: PathBuf,
    out: BufWriter<File>,
}

impl AppendFile {
    /// Opens (or creates) `path` for appending; creates missing parent
    /// directories.
    pub fn open(path: impl AsRef<Path>) -> io::Result<AppendFile> {
        let path = path.as_ref().to_path_buf();
        let file = open_append(&path)?;
        Ok(AppendFile {
            out: BufWriter::with_capacity(BUFFER, file),
            path,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes and opens the path again: after an external `logrotate`
    /// moved the file, writing continues in a new file at the same path.
    pub fn reopen(&mut self) -> io::Result<()> {
        self.out.flush()?;
        self.out = BufWriter::with_capacity(BUFFER, open_append(&self.path)?);
        Ok(())
    }
}

pub(crate) fn open_append(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot open log file {}: {e}", path.display()),
            )
        })
}

impl RecordSink for AppendFile {
    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }

    fn write_record(&mut self, line: &[u8]) -> io::Result<()> {
        self.out.write_all(line)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Writes formatted records to a file.
pub type FileHandler = FormatHandler<AppendFile>;

impl FormatHandler<AppendFile> {
    /// JSON lines appended to `path`.
    pub fn append(path: impl AsRef<Path>) -> io::Result<FileHandler> {
        Ok(FormatHandler::new(AppendFile::open(path)?))
    }
}
