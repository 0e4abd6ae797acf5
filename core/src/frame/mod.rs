//! Wire frames: 4-byte big-endian length-prefixed payloads, newline-delimited
//! JSON, and the per-stream detection between them (the contract is
//! "Wire frames" in the repository's `docs/contracts.md`).

mod decoder;
pub mod handshake;
mod lines;
mod stream;

pub use decoder::FrameDecoder;
pub use lines::LineSplitter;
pub use stream::{StreamDecoder, StreamFormat};

use crate::{Formatter, JsonFormatter, Record};

/// A buffer that grew for one large frame gives the memory back once the
/// frame is consumed: with many connections, each keeping the capacity of
/// its largest frame would add up.
const KEEP_CAPACITY: usize = 256 * 1024;

pub(crate) fn shrink(buf: &mut Vec<u8>) {
    if buf.capacity() > KEEP_CAPACITY && buf.len() <= KEEP_CAPACITY / 4 {
        buf.shrink_to(KEEP_CAPACITY / 4);
    }
}

/// The default maximum frame (and line) size: 1 MiB.
pub const DEFAULT_MAX_FRAME: usize = 1 << 20;

/// What a payload contains, judged from its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadKind {
    /// A native JSON record (starts with `{`).
    Json,
    /// A Python pickle (starts with `\x80` PROTO, `}` EMPTY_DICT or `(` MARK).
    Pickle,
    /// Anything else, including an empty payload.
    Unknown,
}

impl PayloadKind {
    /// Classifies a payload by its first byte.
    pub fn of(payload: &[u8]) -> PayloadKind {
        match payload.first() {
            Some(b'{') => PayloadKind::Json,
            Some(0x80 | b'}' | b'(') => PayloadKind::Pickle,
            _ => PayloadKind::Unknown,
        }
    }
}

/// A framing error. Every variant except [`FrameError::LineTooLong`] leaves
/// the stream unusable, since frame boundaries are lost.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A frame header announced more than the maximum frame size. The
    /// claimed size is never allocated.
    #[error(
        "frame of {len} bytes exceeds the maximum of {max} bytes (raise --max-frame if this is legitimate)"
    )]
    TooLarge {
        /// The length the header claimed.
        len: u64,
        /// The configured maximum.
        max: usize,
    },
    /// The input ended in the middle of a frame.
    #[error("input ended inside a frame: {missing} of {len} bytes missing")]
    Truncated {
        /// The frame's declared length (or 4 for a partial header).
        len: usize,
        /// How many bytes never arrived.
        missing: usize,
    },
    /// A newline-delimited line was longer than the maximum; it was skipped
    /// up to the next newline and the stream goes on.
    #[error("line longer than the maximum of {max} bytes; skipped")]
    LineTooLong {
        /// The configured maximum.
        max: usize,
    },
    /// A payload cannot be framed: over 4 GiB.
    #[error("payload of {0} bytes cannot be framed (limit 4 GiB)")]
    PayloadTooLarge(usize),
}

/// Appends one frame: the 4-byte big-endian length of `payload`, then `payload`.
///
/// ```
/// let mut out = Vec::new();
/// tributary_core::frame::encode(b"{}", &mut out).unwrap();
/// assert_eq!(out, b"\0\0\0\x02{}");
/// ```
pub fn encode(payload: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
    let len =
        u32::try_from(payload.len()).map_err(|_| FrameError::PayloadTooLarge(payload.len()))?;
    out.reserve(4 + payload.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// Appends one native frame for `record`: its native-profile JSON, length-prefixed.
pub fn encode_record(
    record: &Record,
    formatter: &JsonFormatter,
    out: &mut Vec<u8>,
) -> Result<(), FrameError> {
    framed(out, |out| formatter.format(record, out))
}

/// Appends one frame whose payload `write` appends: the length prefix is
/// reserved first and filled in after, so the payload is written once, in
/// place. A payload too long for the prefix is taken back out.
pub(crate) fn framed(
    out: &mut Vec<u8>,
    write: impl FnOnce(&mut Vec<u8>),
) -> Result<(), FrameError> {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    write(out);
    let len = out.len() - start - 4;
    match u32::try_from(len) {
        Ok(n) => {
            out[start..start + 4].copy_from_slice(&n.to_be_bytes());
            Ok(())
        }
        Err(_) => {
            out.truncate(start);
            Err(FrameError::PayloadTooLarge(len))
        }
    }
}
