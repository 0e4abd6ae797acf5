//! Where formatted lines go: a file that can be reopened, optionally
//! rotating.

use crate::settings::RotationSpec;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A line-oriented output file.
pub(crate) trait Sink: Send {
    /// Appends one complete line (with its newline).
    fn write_record(&mut self, line: &[u8]) -> io::Result<()>;
    /// Pushes buffered lines to the file.
    fn flush(&mut self) -> io::Result<()>;
    /// Closes and reopens the path, for logrotate-style external renames.
    fn reopen(&mut self) -> io::Result<()>;
    /// Rotations done so far.
    fn rotations(&self) -> u64 {
        0
    }
}

/// Opens the sink for one output.
pub(crate) fn open_sink(path: &Path, rotation: &RotationSpec) -> io::Result<Box<dyn Sink>> {
    if rotation.is_active() {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "rotation options need tributary-rotation's RotatingFile, which this build does not have yet; \
             drop --max-bytes/--when or rotate externally with logrotate and SIGHUP",
        ));
    }
    Ok(Box::new(AppendFile::open(path)?))
}

/// An append-only file behind a buffer: appends are atomic per write(2) on
/// local filesystems, and the buffer turns many small lines into few writes.
pub(crate) struct AppendFile {
    path: PathBuf,
    file: BufWriter<File>,
}

/// Large enough that a busy writer issues few syscalls, small enough that
/// a crash loses little.
const BUFFER: usize = 64 * 1024;

impl AppendFile {
    pub(crate) fn open(path: &Path) -> io::Result<AppendFile> {
        Ok(AppendFile {
            path: path.to_owned(),
            file: BufWriter::with_capacity(BUFFER, open_append(path)?),
        })
    }
}

pub(crate) fn open_append(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new().create(true).append(true).open(path)
}

impl Sink for AppendFile {
    fn write_record(&mut self, line: &[u8]) -> io::Result<()> {
        self.file.write_all(line)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }

    fn reopen(&mut self) -> io::Result<()> {
        self.file.flush()?;
        self.file = BufWriter::with_capacity(BUFFER, open_append(&self.path)?);
        Ok(())
    }
}
