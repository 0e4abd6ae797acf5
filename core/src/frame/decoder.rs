//! Incremental decoder for length-prefixed frames.

use super::{DEFAULT_MAX_FRAME, FrameError};

/// Splits a byte stream into length-prefixed frames, whatever the chunking.
///
/// Feed bytes with [`push`](FrameDecoder::push) (or read straight into
/// [`buffer_mut`](FrameDecoder::buffer_mut)), then call
/// [`next_frame`](FrameDecoder::next_frame) until it returns `Ok(None)`.
/// A header claiming more than the maximum is an error before any payload
/// is buffered, so a hostile length costs nothing.
///
/// ```
/// use tributary_core::frame::FrameDecoder;
/// let mut d = FrameDecoder::new(1024);
/// d.push(b"\0\0\0\x02{");
/// assert_eq!(d.next_frame().unwrap(), None);
/// d.push(b"}\0\0");
/// assert_eq!(d.next_frame().unwrap(), Some(&b"{}"[..]));
/// assert!(d.finish().is_err()); // two bytes of a header are left over
/// ```
#[derive(Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    /// Start of unconsumed bytes in `buf`.
    pos: usize,
    max: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new(DEFAULT_MAX_FRAME)
    }
}

impl FrameDecoder {
    /// A decoder refusing frames larger than `max_frame` bytes.
    pub fn new(max_frame: usize) -> FrameDecoder {
        FrameDecoder {
            buf: Vec::new(),
            pos: 0,
            max: max_frame,
        }
    }

    /// The maximum frame size.
    pub fn max_frame(&self) -> usize {
        self.max
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.compact();
        self.buf.extend_from_slice(bytes);
    }

    /// The buffer to read into directly (e.g. with tokio's `read_buf`);
    /// bytes appended to it are input. Consumed bytes are discarded first.
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

    /// The next complete frame's payload, `Ok(None)` when more input is
    /// needed, or an error for an oversize header.
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, FrameError> {
        let rest = &self.buf[self.pos..];
        let Some(header) = rest.first_chunk::<4>() else {
            return Ok(None);
        };
        let len = u32::from_be_bytes(*header) as usize;
        if len > self.max {
            return Err(FrameError::TooLarge {
                len: len as u64,
                max: self.max,
            });
        }
        if rest.len() < 4 + len {
            return Ok(None);
        }
        let start = self.pos + 4;
        self.pos = start + len;
        Ok(Some(&self.buf[start..start + len]))
    }

    /// Bytes received but not yet returned as frames.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Call at end of input: an error when a partial frame is left over.
    pub fn finish(&self) -> Result<(), FrameError> {
        let rest = &self.buf[self.pos..];
        match rest.first_chunk::<4>() {
            None if rest.is_empty() => Ok(()),
            None => Err(FrameError::Truncated {
                len: 4,
                missing: 4 - rest.len(),
            }),
            Some(header) => {
                let len = u32::from_be_bytes(*header) as usize;
                Err(FrameError::Truncated {
                    len,
                    missing: 4 + len - rest.len(),
                })
            }
        }
    }
}
