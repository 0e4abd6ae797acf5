//! `RotatingFileHandler`: formatted records into a `tributary_rotation::RotatingFile`.

use crate::handler::{FormatHandler, RecordSink};
use std::io;
use tributary_rotation::RotatingFile;

/// A [`RotatingFile`] as a record sink: one record per `write_record`, so
/// rotation never splits a line.
#[derive(Debug)]
pub struct Rotating {
    file: Option<RotatingFile>,
    describe: String,
}

impl Rotating {
    /// Wraps an open rotating file.
    pub fn new(file: RotatingFile) -> Rotating {
        Rotating {
            describe: format!("rotating file {}", file.path().display()),
            file: Some(file),
        }
    }

    /// The rotating file (`None` after close).
    pub fn file_mut(&mut self) -> Option<&mut RotatingFile> {
        self.file.as_mut()
    }

    fn closed() -> io::Error {
        io::Error::new(
            io::ErrorKind::NotConnected,
            "the rotating file handler was closed",
        )
    }
}

impl RecordSink for Rotating {
    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn write_record(&mut self, line: &[u8]) -> io::Result<()> {
        self.file
            .as_mut()
            .ok_or_else(Rotating::closed)?
            .write_record(line)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }

    /// Flushes, waits for background compression, and reports the first
    /// background error, if any.
    fn close(&mut self) -> io::Result<()> {
        let Some(file) = self.file.take() else {
            return Ok(());
        };
        match file.close()?.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Writes formatted records to a size- and/or time-rotated file.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// use tributary_handlers::{QueueListener, RotatingFileHandler};
/// use tributary_rotation::RotatingFile;
/// let file = RotatingFile::builder(dir.path().join("app.log")).max_bytes(10 << 20).backup_count(5).open()?;
/// let listener = QueueListener::builder().handler(RotatingFileHandler::rotating(file)).start()?;
/// # drop(listener);
/// # Ok(()) }
/// ```
pub type RotatingFileHandler = FormatHandler<Rotating>;

impl FormatHandler<Rotating> {
    /// JSON lines into `file`.
    pub fn rotating(file: RotatingFile) -> RotatingFileHandler {
        FormatHandler::new(Rotating::new(file))
    }
}
