//! Lines out of a byte stream, through one reusable buffer, with the offset
//! where each ends (cursors and followers resume from it).

use std::io::{self, Read};

/// The longest line kept whole; a longer one is returned in pieces, each
/// marked unterminated (so it counts as broken), and memory stays bounded.
pub const MAX_LINE: usize = 16 * 1024 * 1024;

const CHUNK: usize = 256 * 1024;

/// Splits a reader into lines (`\n`-terminated; a final line without `\n`
/// is returned as unterminated).
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// Stream offset of `buf[start]`.
    offset: u64,
}

/// One line, without its `\n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// The bytes, without the terminator (a trailing `\r` is kept).
    pub bytes: &'a [u8],
    /// False for a last line without `\n`, or a piece of an overlong one.
    pub terminated: bool,
    /// Stream offset just after this line (and its `\n`).
    pub end: u64,
}

impl<R: Read> LineReader<R> {
    /// Reads `inner` from stream offset `offset` (0 for a file read from its
    /// start).
    pub fn new(inner: R, offset: u64) -> Self {
        Self::with_buffer(inner, offset, Vec::new())
    }

    /// As [`LineReader::new`], buffering in `buf` (what
    /// [`LineReader::into_buffer`] gave back from an earlier reader): its
    /// pages are already in memory, a fresh buffer's fault in again.
    pub fn with_buffer(inner: R, offset: u64, mut buf: Vec<u8>) -> Self {
        if buf.len() < CHUNK {
            buf.resize(CHUNK, 0);
        }
        LineReader {
            inner,
            buf,
            start: 0,
            end: 0,
            eof: false,
            offset,
        }
    }

    /// The buffer, for a next reader ([`LineReader::with_buffer`]); one
    /// grown past its usual size by an overlong line is not kept.
    pub fn into_buffer(self) -> Vec<u8> {
        if self.buf.len() > 2 * CHUNK {
            return Vec::new();
        }
        self.buf
    }

    /// The next line, `None` at the end of the stream.
    ///
    /// # Errors
    ///
    /// The underlying read failed (a truncated gzip member, an I/O error);
    /// lines returned before stay valid and the bytes since the last line
    /// are given by [`LineReader::take_rest`].
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        // Scanned bytes, relative to `start`: filling may move the buffer.
        let mut scanned = 0;
        loop {
            if let Some(nl) = self.newline_after(scanned) {
                return Ok(Some(self.cut_line(nl)));
            }
            scanned = self.end - self.start;
            if self.eof {
                return Ok(self.take_rest_line());
            }
            if self.end - self.start >= MAX_LINE {
                return Ok(self.take_rest_line());
            }
            self.fill()?;
        }
    }

    /// Reads only what is there now: `None` when no whole line is buffered
    /// and the stream has nothing more at the moment (a follower calls it
    /// again later; an unfinished last line stays buffered).
    ///
    /// # Errors
    ///
    /// The underlying read failed.
    pub fn next_complete(&mut self) -> io::Result<Option<Line<'_>>> {
        // Scanned bytes, relative to `start`: filling may move the buffer.
        let mut scanned = 0;
        loop {
            if let Some(nl) = self.newline_after(scanned) {
                return Ok(Some(self.cut_line(nl)));
            }
            scanned = self.end - self.start;
            if self.end - self.start >= MAX_LINE {
                return Ok(self.take_rest_line());
            }
            self.eof = false;
            if self.fill()? == 0 {
                return Ok(None);
            }
        }
    }

    /// The bytes buffered after the last returned line, as an unterminated
    /// line (`None` if there are none).
    pub fn take_rest(&mut self) -> Option<Line<'_>> {
        self.take_rest_line()
    }

    /// Stream offset after the last returned line.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes buffered but not yet returned as a line.
    pub fn pending(&self) -> usize {
        self.end - self.start
    }

    /// The reader inside.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Where the next newline is, looking past the `scanned` bytes after
    /// `start` already known to hold none.
    fn newline_after(&self, scanned: usize) -> Option<usize> {
        memchr::memchr(b'\n', &self.buf[self.start + scanned..self.end])
            .map(|i| self.start + scanned + i)
    }

    /// The line from `start` to the newline at `nl`, which is consumed.
    fn cut_line(&mut self, nl: usize) -> Line<'_> {
        let s = self.start;
        self.start = nl + 1;
        self.offset += (nl + 1 - s) as u64;
        Line {
            bytes: &self.buf[s..nl],
            terminated: true,
            end: self.offset,
        }
    }

    fn take_rest_line(&mut self) -> Option<Line<'_>> {
        if self.start == self.end {
            return None;
        }
        let s = self.start;
        let e = self.end.min(s + MAX_LINE);
        self.start = e;
        self.offset += (e - s) as u64;
        Some(Line {
            bytes: &self.buf[s..e],
            terminated: false,
            end: self.offset,
        })
    }

    fn fill(&mut self) -> io::Result<usize> {
        if self.start > 0 && (self.start == self.end || self.end + CHUNK / 4 > self.buf.len()) {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < CHUNK / 4 {
            let grown = (self.buf.len() * 2).min(MAX_LINE + CHUNK);
            self.buf.resize(grown.max(self.end + CHUNK / 4), 0);
        }
        let n = loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            self.eof = true;
        }
        self.end += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_offsets_and_unterminated_tail() {
        let data = b"a\nbb\n\nccc".to_vec();
        let mut r = LineReader::new(&data[..], 0);
        let mut got = Vec::new();
        while let Some(l) = r.next_line().unwrap() {
            got.push((l.bytes.to_vec(), l.terminated, l.end));
        }
        assert_eq!(
            got,
            vec![
                (b"a".to_vec(), true, 2),
                (b"bb".to_vec(), true, 5),
                (b"".to_vec(), true, 6),
                (b"ccc".to_vec(), false, 9),
            ]
        );
    }
}
