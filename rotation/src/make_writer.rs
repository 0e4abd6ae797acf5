//! `tracing_subscriber::fmt::MakeWriter` for [`RotatingFile`].

use std::io::{self, Write};
use std::sync::{Arc, Mutex, MutexGuard};

use tracing_subscriber::fmt::MakeWriter;

use crate::file::RotatingFile;

/// A shareable [`RotatingFile`] for `tracing_subscriber::fmt().with_writer(..)`.
///
/// Each event becomes exactly one record, however the formatter splits its
/// writes, so rotation never cuts an event in two. By default every event is
/// written to the OS before the next one, like `tracing_appender::rolling`;
/// [`buffered`](Self::buffered) trades that for speed.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// use tributary_rotation::{RotatingFile, When};
///
/// // Instead of tracing_appender::rolling::hourly(dir, "app.log"):
/// let writer = RotatingFile::builder(dir.path().join("app.log"))
///     .when(When::Hours)
///     .max_bytes(10 << 20)
///     .open()?
///     .into_make_writer();
/// let subscriber = tracing_subscriber::fmt().with_writer(writer.clone()).finish();
/// tracing::subscriber::with_default(subscriber, || tracing::info!("hello"));
/// assert!(std::fs::read_to_string(dir.path().join("app.log"))?.contains("hello"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SharedRotatingFile {
    inner: Arc<Mutex<RotatingFile>>,
    flush_each: bool,
}

impl SharedRotatingFile {
    /// Wraps `file`.
    pub fn new(file: RotatingFile) -> Self {
        SharedRotatingFile {
            inner: Arc::new(Mutex::new(file)),
            flush_each: true,
        }
    }

    /// Keep events in the file's buffer until it fills or
    /// [`flush`](Self::flush) is called. Faster, but a process that exits
    /// without dropping every clone (a global subscriber is never dropped)
    /// loses what is buffered.
    pub fn buffered(mut self) -> Self {
        self.flush_each = false;
        self
    }

    /// Writes what is buffered.
    pub fn flush(&self) -> io::Result<()> {
        self.lock().flush()
    }

    /// Locks the file for direct use.
    pub fn lock(&self) -> MutexGuard<'_, RotatingFile> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl RotatingFile {
    /// Wraps this file for `tracing_subscriber::fmt().with_writer(..)`.
    pub fn into_make_writer(self) -> SharedRotatingFile {
        SharedRotatingFile::new(self)
    }
}

/// Collects one event and writes it as one record when dropped.
#[derive(Debug)]
pub struct EventWriter<'a> {
    file: MutexGuard<'a, RotatingFile>,
    flush_each: bool,
}

impl Write for EventWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.staging.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for EventWriter<'_> {
    fn drop(&mut self) {
        if self.file.staging.is_empty() {
            return;
        }
        if let Err(e) = self.file.commit_staged(self.flush_each) {
            // Nowhere to return it from a drop.
            self.file.report(e);
        }
    }
}

impl<'a> MakeWriter<'a> for SharedRotatingFile {
    type Writer = EventWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        EventWriter {
            file: self.lock(),
            flush_each: self.flush_each,
        }
    }
}
