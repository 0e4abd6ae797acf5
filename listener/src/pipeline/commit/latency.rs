//! How long acknowledged commits take: a histogram of fixed buckets of
//! atomics, observed by the writer thread once per commit and read by
//! `/metrics` without a lock.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Upper bounds of the buckets, in seconds: from a page-cache write
/// (well under a millisecond) to an fsync on a busy disk (seconds).
pub(crate) const COMMIT_LATENCY_BOUNDS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The histogram of `tributary_ack_commit_seconds`.
#[derive(Debug, Default)]
pub(crate) struct CommitLatency {
    /// Observations at or under each bound (not cumulative: the
    /// exposition adds them up).
    buckets: [AtomicU64; COMMIT_LATENCY_BOUNDS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl CommitLatency {
    /// Counts one commit that took `took`.
    pub(crate) fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        if let Some(i) = COMMIT_LATENCY_BOUNDS.iter().position(|&b| seconds <= b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> CommitLatencySnapshot {
        let mut cumulative = 0;
        let buckets = COMMIT_LATENCY_BOUNDS
            .iter()
            .zip(&self.buckets)
            .map(|(&bound, n)| {
                cumulative += n.load(Relaxed);
                (bound, cumulative)
            })
            .collect();
        CommitLatencySnapshot {
            buckets,
            count: self.count.load(Relaxed),
            sum_seconds: Duration::from_nanos(self.sum_nanos.load(Relaxed)).as_secs_f64(),
        }
    }
}

/// The histogram at one moment, in Prometheus' form.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CommitLatencySnapshot {
    /// (upper bound in seconds, commits that took at most that long),
    /// cumulative, ascending; the `+Inf` bucket is `count`.
    pub buckets: Vec<(f64, u64)>,
    /// Commits observed.
    pub count: u64,
    /// Their total time, in seconds.
    pub sum_seconds: f64,
}

// Bounds are finite constants, never NaN: equality is total here.
impl Eq for CommitLatencySnapshot {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_the_slowest_land_only_in_inf() {
        let h = CommitLatency::default();
        h.observe(Duration::from_micros(300));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(10));
        let s = h.snapshot();
        assert_eq!(s.count, 3);
        assert_eq!(s.buckets[0], (0.0005, 1));
        assert_eq!(s.buckets[3], (0.005, 2));
        assert_eq!(s.buckets.last(), Some(&(2.5, 2)));
        assert!((s.sum_seconds - 10.0033).abs() < 1e-9);
    }
}
