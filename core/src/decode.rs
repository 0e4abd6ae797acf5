//! One entry point for any payload a producer can send.

use crate::frame::PayloadKind;
use crate::{DecodeError, Record};

/// How to decode payloads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Render code-executing pickle opcodes (e.g. a `datetime` in `extra`)
    /// as an opaque string instead of rejecting the record. Nothing is ever
    /// executed either way.
    pub lenient_pickle: bool,
}

/// Decodes a frame payload or a JSON line, choosing the decoder by
/// [`PayloadKind`].
///
/// ```
/// use tributary_core::{decode_payload, DecodeOptions};
/// let r = decode_payload(br#"{"msg":"hi"}"#, DecodeOptions::default()).unwrap();
/// assert_eq!(r.msg, "hi");
/// assert!(decode_payload(b"garbage", DecodeOptions::default()).is_err());
/// ```
pub fn decode_payload(payload: &[u8], options: DecodeOptions) -> Result<Record, DecodeError> {
    match PayloadKind::of(payload) {
        PayloadKind::Json => crate::json::decode_json(payload),
        #[cfg(feature = "pickle")]
        PayloadKind::Pickle => crate::pickle::decode_record(payload, options.lenient_pickle)
            .map_err(DecodeError::Pickle),
        #[cfg(not(feature = "pickle"))]
        PayloadKind::Pickle => {
            let _ = options;
            Err(DecodeError::PickleDisabled)
        }
        PayloadKind::Unknown => Err(DecodeError::Unknown {
            first: payload.first().copied(),
        }),
    }
}

/// [`decode_payload`] into a record the caller keeps (one per connection):
/// the record's buffers are reused (JSON: [`crate::json::decode_json_into`];
/// pickles: `pickle::decode_record_into`). On an error
/// the record's contents are unspecified (but valid).
///
/// ```
/// use tributary_core::{decode_payload_into, DecodeOptions, Record};
/// let mut r = Record::empty();
/// decode_payload_into(br#"{"msg":"hi","k":1}"#, DecodeOptions::default(), &mut r).unwrap();
/// decode_payload_into(br#"{"msg":"again"}"#, DecodeOptions::default(), &mut r).unwrap();
/// assert_eq!((r.msg.as_str(), r.fields.len()), ("again", 0));
/// ```
pub fn decode_payload_into(
    payload: &[u8],
    options: DecodeOptions,
    record: &mut Record,
) -> Result<(), DecodeError> {
    match PayloadKind::of(payload) {
        PayloadKind::Json => crate::json::decode_json_into(payload, record),
        #[cfg(feature = "pickle")]
        PayloadKind::Pickle => {
            crate::pickle::decode_record_into(payload, options.lenient_pickle, record)
                .map_err(DecodeError::Pickle)
        }
        _ => {
            *record = decode_payload(payload, options)?;
            Ok(())
        }
    }
}
