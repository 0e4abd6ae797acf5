//! Safe decoding of the pickled LogRecord dicts that Python's
//! `SocketHandler` and `DatagramHandler` send.
//!
//! Python's own `pickle.loads` can import modules and call functions named
//! by the payload, so a listener that unpickles what a peer sends runs that
//! peer's code. This decoder is a small stack machine that understands the
//! data opcodes of pickle protocols 0-5 (including Python 2's string and
//! integer opcodes) and nothing else: GLOBAL, REDUCE, BUILD, INST, OBJ,
//! NEWOBJ, EXT and PERSID are refused, or, in lenient mode, turned into an
//! opaque string such as `<pickled object datetime.datetime>` without
//! running anything. No length read from the payload is trusted for
//! allocation, nesting is bounded, and shared references cannot expand a
//! small payload into a huge value.
//!
//! ```
//! use tributary_core::pickle::{PickleDecoder, decode_record};
//! use tributary_core::{Level, Value};
//!
//! // What `pickle.dumps({"name": "app", "msg": "hi", "levelname": "WARNING",
//! // "levelno": 30, "user": "ann"}, 1)` produces.
//! let payload = b"}q\x00(X\x04\x00\x00\x00nameq\x01X\x03\x00\x00\x00appq\x02\
//!     X\x03\x00\x00\x00msgq\x03X\x02\x00\x00\x00hiq\x04\
//!     X\t\x00\x00\x00levelnameq\x05X\x07\x00\x00\x00WARNINGq\x06\
//!     X\x07\x00\x00\x00levelnoq\x07K\x1e\
//!     X\x04\x00\x00\x00userq\x08X\x03\x00\x00\x00annq\tu.";
//! let record = decode_record(payload, false).unwrap();
//! assert_eq!((record.logger.as_str(), record.msg.as_str()), ("app", "hi"));
//! assert_eq!(record.level, Level::WARNING);
//! assert_eq!(record.fields.get("user"), Some(&Value::from("ann")));
//!
//! // `os.system("touch /tmp/pwned")` via GLOBAL + REDUCE: refused, never run.
//! let evil = b"cos\nsystem\n(X\x10\x00\x00\x00touch /tmp/pwnedtR.";
//! let err = PickleDecoder::new().decode_value(evil).unwrap_err();
//! assert!(err.to_string().contains("GLOBAL at byte 0 (os.system)"));
//! // Lenient mode keeps an opaque marker instead, still without running it.
//! let value = PickleDecoder::new().lenient(true).decode_value(evil).unwrap();
//! assert_eq!(value, Value::from("<pickled object os.system>"));
//! ```

mod budget;
mod convert;
mod error;
mod flat;
mod item;
mod machine;
mod opcodes;
mod record;
mod scratch;
#[cfg(test)]
mod tests;
mod text;

pub use error::PickleError;

use crate::{Record, Value};
use budget::Budget;
use convert::Converter;

/// The default bound on container nesting: deep enough for any log data,
/// shallow enough that converting it cannot exhaust a thread's stack.
pub const DEFAULT_MAX_DEPTH: usize = 256;

/// The default output budget, in bytes of decoded values per payload byte
/// (plus 64 KiB). A typical LogRecord pickle decodes to about 2 bytes per
/// byte; a list of small integers to about 16.
pub const DEFAULT_MAX_EXPANSION: usize = 32;

/// A configured pickle decoder.
///
/// [`decode_record`] and [`decode_value`] use the defaults; build one of
/// these to change the limits.
///
/// ```
/// use tributary_core::pickle::{PickleDecoder, PickleError};
/// // [[[]]]: three nested lists, one too many for a depth limit of 2.
/// let nested = b"\x80\x02]]]aa.";
/// let err = PickleDecoder::new().max_depth(2).decode_value(nested).unwrap_err();
/// assert_eq!(err, PickleError::TooDeep { limit: 2 });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PickleDecoder {
    lenient: bool,
    max_depth: usize,
    max_expansion: usize,
}

impl Default for PickleDecoder {
    fn default() -> Self {
        PickleDecoder::new()
    }
}

impl PickleDecoder {
    /// A strict decoder with the default limits.
    pub const fn new() -> PickleDecoder {
        PickleDecoder {
            lenient: false,
            max_depth: DEFAULT_MAX_DEPTH,
            max_expansion: DEFAULT_MAX_EXPANSION,
        }
    }

    /// Whether code-executing opcodes become opaque strings (`true`) or
    /// errors (`false`, the default). Use lenient mode when senders log
    /// `datetime`s, `bytes` or custom objects in `extra` and you would rather
    /// keep those records; nothing is executed either way.
    pub const fn lenient(mut self, lenient: bool) -> PickleDecoder {
        self.lenient = lenient;
        self
    }

    /// The deepest container nesting accepted (default [`DEFAULT_MAX_DEPTH`]).
    pub const fn max_depth(mut self, depth: usize) -> PickleDecoder {
        self.max_depth = depth;
        self
    }

    /// Bytes of decoded output allowed per payload byte, beyond a 64 KiB
    /// allowance (default [`DEFAULT_MAX_EXPANSION`]). Bounds what memo
    /// references to shared containers can expand into.
    pub const fn max_expansion(mut self, ratio: usize) -> PickleDecoder {
        self.max_expansion = ratio;
        self
    }

    /// Decodes a pickled LogRecord dict (a SocketHandler frame's payload,
    /// without its 4-byte length) into a record.
    ///
    /// Standard attributes fill the record's fields (`created` → `ts`,
    /// `name` → `logger`, `exc_text` → `exc`, ...); `args`, `exc_info`,
    /// `msecs`, `message` and `asctime` are dropped as derived or always
    /// empty, as is `filename` when it is the base name of `pathname`, and
    /// `taskName` when None; every other key becomes a field. A standard
    /// attribute of an unexpected type is kept as a field too.
    pub fn decode_record(&self, payload: &[u8]) -> Result<Record, PickleError> {
        let mut record = Record::empty();
        self.decode_record_into(payload, &mut record)?;
        Ok(record)
    }

    /// [`PickleDecoder::decode_record`] into a record the caller keeps (one
    /// per connection), which is replaced whole; its buffers are reused. On
    /// an error its contents are unspecified (but valid).
    pub fn decode_record_into(
        &self,
        payload: &[u8],
        record: &mut Record,
    ) -> Result<(), PickleError> {
        // A flat dict (every LogRecord) skips the machine; see `flat`.
        let mut budget = Budget::for_payload(payload.len(), self.max_expansion);
        if flat::decode_into(payload, &mut budget, self.max_depth, record).is_some() {
            return Ok(());
        }
        self.with_parsed(payload, |parsed, conv| {
            record::to_record(parsed, conv, record)
        })
    }

    /// Runs the machine over `payload` in this thread's kept vectors,
    /// hands the result to `convert`, and keeps the vectors again.
    fn with_parsed<T>(
        &self,
        payload: &[u8],
        convert: impl for<'a> FnOnce(
            &machine::Parsed<'a>,
            &mut Converter<'_, 'a>,
        ) -> Result<T, PickleError>,
    ) -> Result<T, PickleError> {
        let mut budget = Budget::for_payload(payload.len(), self.max_expansion);
        let mut kept = scratch::take();
        let parsed = machine::run(payload, self.lenient, &mut budget, &mut kept);
        let result = parsed.and_then(|parsed| {
            let mut conv = Converter {
                arena: &parsed.arena,
                owned: &parsed.owned,
                budget: &mut budget,
                max_depth: self.max_depth,
            };
            let result = convert(&parsed, &mut conv);
            let (arena, first_mark) = scratch::relabel_arena(parsed.arena);
            kept.arena = arena;
            if kept.first_mark.capacity() < first_mark.capacity() {
                kept.first_mark = first_mark;
            }
            result
        });
        scratch::keep(kept);
        result
    }

    /// [`PickleDecoder::decode_record`] by the machine alone, without the
    /// flat path: what the flat path must agree with.
    #[cfg(test)]
    pub(crate) fn decode_record_by_machine(&self, payload: &[u8]) -> Result<Record, PickleError> {
        let mut budget = Budget::for_payload(payload.len(), self.max_expansion);
        let parsed = machine::run(payload, self.lenient, &mut budget, &mut Default::default())?;
        let mut conv = Converter {
            arena: &parsed.arena,
            owned: &parsed.owned,
            budget: &mut budget,
            max_depth: self.max_depth,
        };
        let mut record = Record::empty();
        record::to_record(&parsed, &mut conv, &mut record)?;
        Ok(record)
    }

    /// Whether the flat path takes `payload` (rather than the machine).
    #[cfg(test)]
    pub(crate) fn takes_flat(&self, payload: &[u8]) -> bool {
        let mut budget = Budget::for_payload(payload.len(), self.max_expansion);
        flat::decode_into(payload, &mut budget, self.max_depth, &mut Record::empty()).is_some()
    }

    /// Decodes any pickled plain-data value: tuples and sets become lists,
    /// `bytes` become text (with `\xNN` for bytes that are not UTF-8), and
    /// dict keys that are not strings become their Python `str()`.
    pub fn decode_value(&self, payload: &[u8]) -> Result<Value, PickleError> {
        self.with_parsed(payload, |parsed, conv| conv.value(&parsed.root, 0))
    }
}

/// Decodes a pickled LogRecord dict with the default limits; see
/// [`PickleDecoder::decode_record`].
pub fn decode_record(payload: &[u8], lenient: bool) -> Result<Record, PickleError> {
    PickleDecoder::new().lenient(lenient).decode_record(payload)
}

/// Decodes a pickled LogRecord dict with the default limits into a record
/// the caller keeps; see [`PickleDecoder::decode_record_into`].
pub fn decode_record_into(
    payload: &[u8],
    lenient: bool,
    record: &mut Record,
) -> Result<(), PickleError> {
    PickleDecoder::new()
        .lenient(lenient)
        .decode_record_into(payload, record)
}

/// Decodes any pickled plain-data value with the default limits; see
/// [`PickleDecoder::decode_value`].
pub fn decode_value(payload: &[u8], lenient: bool) -> Result<Value, PickleError> {
    PickleDecoder::new().lenient(lenient).decode_value(payload)
}
