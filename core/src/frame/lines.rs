//! Newline-delimited JSON splitting with a maximum line length.

use super::{DEFAULT_MAX_FRAME, FrameError};

/// Splits a byte stream into lines, whatever the chunking.
///
/// A line longer than the maximum yields one [`FrameError::LineTooLong`]
/// and is skipped up to its newline; the lines after it are unaffected. The
/// newline and a trailing `\r` are stripped; blank lines are skipped.
///
/// ```
/// use tributary_core::frame::LineSplitter;
/// let mut s = LineSplitter::new(1024);
/// s.push(b"{\"msg\":\"a\"}\r\n\n{\"msg\"");
/// assert_eq!(s.next_line().unwrap(), Some(&br#"{"msg":"a"}"#[..]));
/// assert_eq!(s.next_line().unwrap(), None);
/// s.push(b":\"b\"}");
/// assert_eq!(s.finish(), Some(&br#"{"msg":"b"}"#[..])); // last line without newline
/// ```
#[derive(Debug)]
pub struct LineSplitter {
    buf: Vec<u8>,
    pos: usize,
    /// How far past `pos` has been searched for a newline already.
    scanned: usize,
    max: usize,
    /// Inside an oversize line: discard through the next newline.
    skipping: bool,
}

impl Default for LineSplitter {
    fn default() -> Self {
        LineSplitter::new(DEFAULT_MAX_FRAME)
    }
}

impl LineSplitter {
    /// A splitter refusing lines longer than `max_line` bytes.
    pub fn new(max_line: usize) -> LineSplitter {
        LineSplitter {
            buf: Vec::new(),
            pos: 0,
            scanned: 0,
            max: max_line,
            skipping: false,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.compact();
        self.buf.extend_from_slice(bytes);
    }

    /// The buffer to read into directly; bytes appended to it are input.
    pub fn buffer_mut(&mut self) -> &mut Vec<u8> {
        self.compact();
        &mut self.buf
    }

    fn compact(&mut self) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        super::shrink(&mut self.buf);
    }

    /// Bytes received but not yet returned as lines.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next complete line, `Ok(None)` when more input is needed, or
    /// `Err(LineTooLong)` once per oversize line (call again to go on).
    pub fn next_line(&mut self) -> Result<Option<&[u8]>, FrameError> {
        loop {
            let rest = &self.buf[self.pos..];
            let Some(nl) = memchr::memchr(b'\n', &rest[self.scanned..]).map(|i| i + self.scanned)
            else {
                self.scanned = rest.len();
                if self.skipping {
                    // Drop what was skipped so an endless line costs no memory.
                    self.pos = self.buf.len();
                    self.scanned = 0;
                } else if rest.len() > self.max + 1
                    || (rest.len() == self.max + 1 && rest.last() != Some(&b'\r'))
                {
                    // (A line of exactly `max` bytes may still be waiting
                    // for the `\n` after its `\r`.)
                    self.skipping = true;
                    self.pos = self.buf.len();
                    self.scanned = 0;
                    return Err(FrameError::LineTooLong { max: self.max });
                }
                return Ok(None);
            };
            let start = self.pos;
            self.pos += nl + 1;
            self.scanned = 0;
            if std::mem::take(&mut self.skipping) {
                continue;
            }
            let line = trim_cr(&self.buf[start..start + nl]);
            if line.len() > self.max {
                return Err(FrameError::LineTooLong { max: self.max });
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Ok(Some(trim_cr(&self.buf[start..start + nl])));
        }
    }

    /// Call at end of input: the last line if it had no newline.
    pub fn finish(&mut self) -> Option<&[u8]> {
        let rest = trim_cr(&self.buf[self.pos..]);
        if self.skipping || rest.len() > self.max || rest.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        let end = self.pos + rest.len();
        let start = self.pos;
        self.pos = self.buf.len();
        Some(&self.buf[start..end])
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}
