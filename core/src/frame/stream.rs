//! Per-connection detection: length-prefixed frames or newline-delimited JSON.

use super::{FrameDecoder, FrameError, LineSplitter};

/// How a stream is framed, decided by its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamFormat {
    /// 4-byte big-endian length-prefixed frames.
    Frames,
    /// Newline-delimited JSON (the stream starts with `{`).
    Lines,
}

/// Decodes a stream socket's bytes into payloads, detecting the framing
/// from the first byte: `{` means newline-delimited JSON, anything else
/// length-prefixed frames (`docs/contracts.md`, "Wire frames").
///
/// ```
/// use tributary_core::frame::{StreamDecoder, StreamFormat};
/// let mut d = StreamDecoder::new(1 << 20);
/// d.push(b"{\"msg\":\"hi\"}\n");
/// assert_eq!(d.next_payload().unwrap(), Some(&br#"{"msg":"hi"}"#[..]));
/// assert_eq!(d.format(), Some(StreamFormat::Lines));
/// ```
#[derive(Debug)]
pub struct StreamDecoder {
    state: State,
    max: usize,
}

#[derive(Debug)]
enum State {
    Undecided(Vec<u8>),
    Frames(FrameDecoder),
    Lines(LineSplitter),
}

impl StreamDecoder {
    /// A decoder with a maximum frame (or line) size of `max` bytes.
    pub fn new(max: usize) -> StreamDecoder {
        StreamDecoder {
            state: State::Undecided(Vec::new()),
            max,
        }
    }

    /// The framing, once the first byte has been looked at by
    /// [`next_payload`](StreamDecoder::next_payload).
    pub fn format(&self) -> Option<StreamFormat> {
        match self.state {
            State::Undecided(_) => None,
            State::Frames(_) => Some(StreamFormat::Frames),
            State::Lines(_) => Some(StreamFormat::Lines),
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer_mut().extend_from_slice(bytes);
    }

    /// The buffer to read into directly; bytes appended to it are input.
    pub fn buffer_mut(&mut self) -> &mut Vec<u8> {
        match &mut self.state {
            State::Undecided(buf) => buf,
            State::Frames(d) => d.buffer_mut(),
            State::Lines(s) => s.buffer_mut(),
        }
    }

    fn decide(&mut self) {
        if let State::Undecided(buf) = &mut self.state {
            let Some(&first) = buf.first() else { return };
            let buf = std::mem::take(buf);
            self.state = if first == b'{' {
                let mut s = LineSplitter::new(self.max);
                s.push(&buf);
                State::Lines(s)
            } else {
                let mut d = FrameDecoder::new(self.max);
                d.push(&buf);
                State::Frames(d)
            };
        }
    }

    /// The next payload (a frame's body or a line), `Ok(None)` when more
    /// input is needed. After an error other than
    /// [`FrameError::LineTooLong`] the stream cannot be resynchronised.
    pub fn next_payload(&mut self) -> Result<Option<&[u8]>, FrameError> {
        self.decide();
        match &mut self.state {
            State::Undecided(_) => Ok(None),
            State::Frames(d) => d.next_frame(),
            State::Lines(s) => s.next_line(),
        }
    }

    /// Bytes received but not yet returned as payloads: a frame or line in
    /// progress (or being skipped).
    pub fn pending(&self) -> usize {
        match &self.state {
            State::Undecided(buf) => buf.len(),
            State::Frames(d) => d.pending(),
            State::Lines(s) => s.pending(),
        }
    }

    /// Call at end of input: a final unterminated line, or an error for a
    /// truncated frame.
    pub fn finish(&mut self) -> Result<Option<&[u8]>, FrameError> {
        self.decide();
        match &mut self.state {
            State::Undecided(_) => Ok(None),
            State::Frames(d) => d.finish().map(|()| None),
            State::Lines(s) => Ok(s.finish()),
        }
    }
}
