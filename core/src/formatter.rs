//! The formatter trait shared by every output format.

use crate::Record;

/// Turns a record into bytes.
///
/// Implementations append exactly one record, without a line terminator
/// (the handler writing the line adds it), and must not fail: anything a
/// record can hold has a representation.
pub trait Formatter: Send + Sync {
    /// Appends `record` to `out`.
    fn format(&self, record: &Record, out: &mut Vec<u8>);
}

impl<F: Formatter + ?Sized> Formatter for Box<F> {
    fn format(&self, record: &Record, out: &mut Vec<u8>) {
        (**self).format(record, out);
    }
}

impl<F: Formatter + ?Sized> Formatter for std::sync::Arc<F> {
    fn format(&self, record: &Record, out: &mut Vec<u8>) {
        (**self).format(record, out);
    }
}
