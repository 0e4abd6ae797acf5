//! Everything the admin endpoint shows, read at one moment: the counters
//! (atomics only: a scrape never waits for the writer or an input), the
//! queue's bounds, the connected acknowledged producers and the last
//! reload. `/metrics`, `/health` and `/status.json` all render one view.

use crate::acks::ProducerStatus;
use crate::stats::StatsSnapshot;

/// The result of the last reload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LastReload {
    /// When it finished, in milliseconds since the Unix epoch.
    pub(crate) at_unix_ms: u64,
    /// Whether it was applied.
    pub(crate) ok: bool,
    /// What was done, or why it was refused.
    pub(crate) message: String,
}

/// One moment of the listener.
#[derive(Clone, Debug, Default)]
pub(crate) struct View {
    pub(crate) stats: StatsSnapshot,
    /// Records written to text outputs without a field their pattern
    /// uses; `None` without text outputs.
    pub(crate) missing_fields: Option<u64>,
    /// The queue's bound in records.
    pub(crate) queue_capacity: u64,
    /// The queue's bound in bytes.
    pub(crate) queue_bytes_capacity: u64,
    pub(crate) producers: Vec<ProducerStatus>,
    pub(crate) last_reload: Option<LastReload>,
    /// Seconds since the listener started serving.
    pub(crate) uptime_seconds: f64,
}

/// The kind of an input from its label (`tcp 127.0.0.1:9020` → `tcp`).
pub(crate) fn protocol(input: &str) -> &str {
    input.split_once(' ').map_or(input, |(kind, _)| kind)
}

/// The address of an input from its label (`tcp 127.0.0.1:9020` →
/// `127.0.0.1:9020`).
pub(crate) fn address(input: &str) -> &str {
    input.split_once(' ').map_or("", |(_, addr)| addr)
}
