//! Writing the records that passed the filters: `pretty`, `json` (the lines
//! as they are), `text` (a Python template) or `raw` (the message only).

mod pretty;

use std::io::{self, Write};

use tributary_core::{Formatter, PatternFormatter, Record};

pub use pretty::Pretty;

/// Why a line is not a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Broken {
    /// Not valid UTF-8.
    InvalidUtf8,
    /// Not a JSON object (or not valid JSON).
    InvalidJson,
    /// The last line of a file, cut before its end (a crash, a full disk).
    Truncated,
}

impl Broken {
    /// The words used in markers and counts.
    pub fn describe(self) -> &'static str {
        match self {
            Broken::InvalidUtf8 => "invalid UTF-8",
            Broken::InvalidJson => "invalid JSON",
            Broken::Truncated => "truncated",
        }
    }
}

/// The output format.
pub enum Output {
    /// For people: local time, colored level, logger, message, fields, and
    /// `exc`/`stack` indented under the record.
    Pretty(Pretty),
    /// The lines exactly as read.
    Json,
    /// A Python logging template, as the listener's `--format text`.
    Text(Box<PatternFormatter>),
    /// The message only.
    Raw,
}

impl Output {
    /// True when the decoded record is needed to print a line (everything
    /// but `json`, which copies the line).
    pub fn needs_record(&self) -> bool {
        !matches!(self, Output::Json)
    }
}

/// Writes records and broken lines in one [`Output`] format.
pub struct Printer<W: Write> {
    output: Output,
    out: W,
    scratch: Vec<u8>,
}

impl<W: Write> Printer<W> {
    /// Prints to `out` (buffer it: lines are written one by one).
    pub fn new(output: Output, out: W) -> Self {
        Printer {
            output,
            out,
            scratch: Vec::with_capacity(1024),
        }
    }

    /// The output format.
    pub fn output(&self) -> &Output {
        &self.output
    }

    /// Prints one record: `line` is how it was read, `record` its decoding
    /// (required unless the format is `json`).
    ///
    /// # Errors
    ///
    /// Writing failed (a closed pipe included).
    pub fn record(&mut self, line: &[u8], record: Option<&Record>) -> io::Result<()> {
        self.scratch.clear();
        match (&self.output, record) {
            (Output::Json, _) | (_, None) => {
                self.scratch.extend_from_slice(line);
            }
            (Output::Pretty(p), Some(r)) => p.format(r, &mut self.scratch),
            (Output::Text(f), Some(r)) => f.format(r, &mut self.scratch),
            (Output::Raw, Some(r)) => self.scratch.extend_from_slice(r.msg.as_bytes()),
        }
        self.scratch.push(b'\n');
        self.out.write_all(&self.scratch)
    }

    /// Prints a line that is not a record: marked with `pretty`, as it is
    /// with `json`, as text with `text` and `raw`.
    ///
    /// # Errors
    ///
    /// Writing failed.
    pub fn broken(&mut self, line: &[u8], why: Broken) -> io::Result<()> {
        self.scratch.clear();
        match &self.output {
            Output::Pretty(p) => p.broken(line, why, &mut self.scratch),
            Output::Json | Output::Text(_) | Output::Raw => self.scratch.extend_from_slice(line),
        }
        self.scratch.push(b'\n');
        self.out.write_all(&self.scratch)
    }

    /// Writes free text (the `--stats` report).
    ///
    /// # Errors
    ///
    /// Writing failed.
    pub fn text(&mut self, text: &str) -> io::Result<()> {
        self.out.write_all(text.as_bytes())
    }

    /// Flushes what is buffered (a follower does after each poll).
    ///
    /// # Errors
    ///
    /// Writing failed.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
