//! Records per second of each input over the last 5 minutes, for the
//! status page's chart: a task samples every input's record counter once a
//! second into a ring of fixed length, so memory stays bounded and the
//! inputs' hot path is not touched (it only reads their atomics).

use crate::stats::Stats;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// One sample a second.
pub(crate) const EVERY: Duration = Duration::from_secs(1);
/// Samples kept: 5 minutes of rates need one more count than rates.
const KEPT: usize = 301;

/// The ring of counts: each entry holds every input's record counter at
/// one sampling, by the input's label (inputs may come and go: a rate is
/// a difference between two samples of the same input).
#[derive(Debug, Default)]
pub(crate) struct Rates {
    counts: Mutex<VecDeque<Vec<(String, u64)>>>,
}

impl Rates {
    /// Takes one sample of `stats`.
    pub(crate) fn sample(&self, stats: &Stats) {
        let now: Vec<(String, u64)> = stats
            .snapshot()
            .inputs
            .into_iter()
            .map(|i| (i.input, i.records))
            .collect();
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() == KEPT {
            counts.pop_front();
        }
        counts.push_back(now);
    }

    /// Records per second of the input labelled `input` between
    /// consecutive samples, oldest first (at most 300); 0 where a sample
    /// lacks it.
    pub(crate) fn per_second(&self, input: &str) -> Vec<u64> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let of = |sample: &Vec<(String, u64)>| {
            sample
                .iter()
                .find(|(label, _)| label == input)
                .map(|&(_, n)| n)
        };
        counts
            .iter()
            .zip(counts.iter().skip(1))
            .map(|(before, after)| match (of(before), of(after)) {
                (Some(b), Some(a)) => a.saturating_sub(b),
                // Added between the two samples: counted from 0.
                (None, Some(a)) => a,
                _ => 0,
            })
            .collect()
    }
}

/// Samples `stats` into `rates` every second, forever (the caller aborts
/// the task at shutdown).
pub(crate) async fn sample_forever(stats: Stats, rates: std::sync::Arc<Rates>) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        rates.sample(&stats);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{InputCounters, ReloadCounters, WriterCounters};
    use std::sync::Arc;
    use std::sync::atomic::Ordering::Relaxed;

    #[test]
    fn rates_are_differences_and_the_ring_keeps_five_minutes() {
        let a = Arc::new(InputCounters::default());
        let b = Arc::new(InputCounters::default());
        let stats = Stats {
            inputs: Arc::new(std::sync::RwLock::new(vec![
                ("tcp a".into(), a.clone()),
                ("udp b".into(), b.clone()),
            ])),
            writer: Arc::new(WriterCounters::default()),
            reloads: Arc::new(ReloadCounters::default()),
            forward: None,
        };
        let rates = Rates::default();
        for second in 0..400u64 {
            a.records.store(second * 10, Relaxed);
            b.records.store(second * second, Relaxed);
            rates.sample(&stats);
        }
        let a_rates = rates.per_second("tcp a");
        assert_eq!(a_rates.len(), 300);
        assert!(a_rates.iter().all(|&r| r == 10));
        let b_rates = rates.per_second("udp b");
        assert_eq!(b_rates.last(), Some(&(399 * 399 - 398 * 398)));
        assert_eq!(b_rates.first(), Some(&(100 * 100 - 99 * 99)));
        assert!(
            rates.per_second("tcp z").iter().all(|&r| r == 0),
            "no such input"
        );
    }
}
