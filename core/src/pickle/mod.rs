//! Safe decoding of Python's pickled LogRecord dicts (in progress).

/// A pickle that cannot be decoded safely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PickleError {
    /// Not implemented yet.
    #[error("pickle decoding is not implemented yet")]
    Unsupported,
}

/// Decodes a pickled LogRecord dict into a record.
pub fn decode_record(_payload: &[u8], _lenient: bool) -> Result<crate::Record, PickleError> {
    Err(PickleError::Unsupported)
}
