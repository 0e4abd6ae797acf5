//! Python-style pattern formatting (in progress).

/// A template that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// Not implemented yet.
    #[error("pattern formatting is not implemented yet")]
    Unsupported,
}

/// Formats records with a Python logging template.
#[derive(Debug, Clone)]
pub struct PatternFormatter;

impl PatternFormatter {
    /// Parses a `%`-style template.
    pub fn new(_template: &str) -> Result<PatternFormatter, PatternError> {
        Err(PatternError::Unsupported)
    }
}

impl crate::Formatter for PatternFormatter {
    fn format(&self, _record: &crate::Record, _out: &mut Vec<u8>) {}
}
