//! Standard output and standard error.

use crate::handler::{FormatHandler, RecordSink};
use std::io::{self, Write};

const FLUSH_AT: usize = 32 * 1024;

/// Which standard stream a [`Stream`] writes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StdStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// A sink on stdout or stderr. Records are buffered and written with one
/// locked write per flush, so lines from other code printing to the same
/// stream never land inside a record.
#[derive(Debug)]
pub struct Stream {
    which: StdStream,
    buf: Vec<u8>,
}

impl Stream {
    /// A sink on `which`.
    pub fn new(which: StdStream) -> Stream {
        Stream {
            which,
            buf: Vec::with_capacity(FLUSH_AT),
        }
    }
}

impl RecordSink for Stream {
    fn describe(&self) -> String {
        match self.which {
            StdStream::Stdout => "stdout".into(),
            StdStream::Stderr => "stderr".into(),
        }
    }

    fn write_record(&mut self, line: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(line);
        if self.buf.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let result = match self.which {
            StdStream::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(&self.buf).and_then(|()| out.flush())
            }
            StdStream::Stderr => io::stderr().lock().write_all(&self.buf),
        };
        // A closed pipe must not make the buffer grow without bound.
        self.buf.clear();
        result
    }
}

/// Writes formatted records to stdout or stderr.
pub type StreamHandler = FormatHandler<Stream>;

impl FormatHandler<Stream> {
    /// JSON lines to standard output.
    pub fn stdout() -> StreamHandler {
        FormatHandler::new(Stream::new(StdStream::Stdout))
    }

    /// JSON lines to standard error.
    pub fn stderr() -> StreamHandler {
        FormatHandler::new(Stream::new(StdStream::Stderr))
    }
}
