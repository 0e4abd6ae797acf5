//! How often written records are forced to stable storage.

use std::time::Duration;

/// When [`RotatingFile`](crate::RotatingFile) flushes its buffer *and* calls
/// `fdatasync`. Independently of this, the buffer is written to the OS when it
/// fills, on [`flush`](std::io::Write::flush), on rotation and on drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SyncPolicy {
    /// Leave it to the OS (fastest; a power loss may lose recent records).
    #[default]
    Never,
    /// After every `n`-th record (`1`: every record is durable when
    /// `write_record` returns `Ok`).
    EveryRecords(u64),
    /// On the first record written at least this long after the last sync.
    /// There is no timer: an idle writer is not synced until its next record
    /// or an explicit [`sync_all`](crate::RotatingFile::sync_all).
    Interval(Duration),
}
