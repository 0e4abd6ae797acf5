//! Reconnect pacing: Python's `SocketHandler.createSocket` schedule.

use std::time::{Duration, Instant};

/// Exponential backoff between connection attempts: Python's defaults are
/// 1 s, doubling, capped at 30 s.
#[derive(Clone, Debug, PartialEq)]
pub struct Backoff {
    /// Wait after the first failure.
    pub start: Duration,
    /// Factor applied to the wait after each further failure.
    pub factor: f64,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            start: Duration::from_secs(1),
            factor: 2.0,
            max: Duration::from_secs(30),
        }
    }
}

/// The state of one connection's retry schedule.
#[derive(Debug, Default)]
pub(crate) struct Retry {
    period: Option<Duration>,
    at: Option<Instant>,
}

impl Retry {
    /// Whether an attempt may be made now.
    pub fn due(&self, now: Instant) -> bool {
        self.at.is_none_or(|at| now >= at)
    }

    /// Records a failed attempt and schedules the next one.
    pub fn failed(&mut self, policy: &Backoff, now: Instant) {
        let next = match self.period {
            None => policy.start,
            Some(p) => p.mul_f64(policy.factor.max(1.0)).min(policy.max),
        };
        self.period = Some(next);
        self.at = Some(now + next);
    }

    /// Records a success: the next failure starts the schedule over.
    pub fn succeeded(&mut self) {
        self.period = None;
        self.at = None;
    }

    /// Whether we are inside an outage.
    pub fn failing(&self) -> bool {
        self.period.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_schedule() {
        let policy = Backoff::default();
        let mut r = Retry::default();
        let t0 = Instant::now();
        assert!(r.due(t0));
        let mut waits = Vec::new();
        let mut now = t0;
        for _ in 0..7 {
            r.failed(&policy, now);
            let at = r.at.unwrap();
            waits.push((at - now).as_secs());
            assert!(!r.due(now));
            now = at;
            assert!(r.due(now));
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        r.succeeded();
        assert!(r.due(now) && !r.failing());
    }
}
