//! Errors from decoding payloads into records.

/// Why a payload could not be decoded into a record.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The payload is not a valid JSON object.
    #[error("invalid JSON record at byte {offset}: {reason}")]
    Json {
        /// Byte offset in the payload where parsing stopped.
        offset: usize,
        /// What was wrong there.
        reason: &'static str,
    },
    /// The payload is not a valid or safe Python pickle.
    #[cfg(feature = "pickle")]
    #[error("invalid Python pickle: {0}")]
    Pickle(#[source] crate::pickle::PickleError),
    /// The payload is a pickle but this build has no pickle support.
    #[error(
        "payload is a Python pickle, but tributary-core was built without the `pickle` feature"
    )]
    PickleDisabled,
    /// The payload is neither JSON nor a pickle.
    #[error(
        "unrecognised payload (first byte {first:?}): expected a JSON object or a Python pickle"
    )]
    Unknown {
        /// The first byte, if any.
        first: Option<u8>,
    },
}
