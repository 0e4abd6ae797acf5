//! Records formatted on the producing thread: when every handler of a
//! queue only needs the formatter's output, producers format in parallel
//! and the dispatcher just writes bytes.

use super::pool::Pool;
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use tributary_core::{Formatter, Record};

/// One formatted record, newline included, with its level number for the
/// handlers' level checks.
pub(crate) struct Line {
    pub level: i32,
    pub bytes: Vec<u8>,
}

/// The longest line whose size is remembered as the next buffer's.
const MAX_HINT: usize = 64 * 1024;

thread_local! {
    /// The last line's size plus slack: the next buffer rarely grows.
    static SIZE_HINT: Cell<usize> = const { Cell::new(512) };
}

/// Formats `record` as one line in a buffer from `pool`, or `None` when the formatter panicked:
/// the caller then sends the record itself, and the dispatcher contains
/// and reports the handler's panic as it does for any other.
pub(crate) fn format_line(formatter: &dyn Formatter, record: &Record, pool: &Pool) -> Option<Line> {
    let hint = SIZE_HINT.try_with(Cell::get).unwrap_or(512);
    let mut bytes = pool.take(hint);
    catch_unwind(AssertUnwindSafe(|| formatter.format(record, &mut bytes))).ok()?;
    bytes.push(b'\n');
    let next = (bytes.len() + 64).next_multiple_of(64).min(MAX_HINT);
    let _ = SIZE_HINT.try_with(|h| h.set(next));
    Some(Line {
        level: record.level.no(),
        bytes,
    })
}
