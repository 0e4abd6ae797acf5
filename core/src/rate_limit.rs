//! One rule for reporting problems without flooding: at most `burst`
//! reports per window, the rest counted and mentioned with the next report
//! that goes out. The listener's diagnostics and the handlers' error
//! reports both use it.

use std::time::{Duration, Instant};

/// Admits at most `burst` events per window of `window`; a window starts
/// with the first event after the previous one ended.
///
/// ```
/// use std::time::{Duration, Instant};
/// use tributary_core::RateLimit;
///
/// let mut limit = RateLimit::new(2, Duration::from_secs(1));
/// let t = Instant::now();
/// assert_eq!(limit.admit_at(t), Some(0));
/// assert_eq!(limit.admit_at(t), Some(0));
/// assert_eq!(limit.admit_at(t), None); // third in the window: suppressed
/// // The next window's first report says one was suppressed.
/// assert_eq!(limit.admit_at(t + Duration::from_secs(1)), Some(1));
/// ```
#[derive(Debug, Clone)]
pub struct RateLimit {
    burst: u32,
    window: Duration,
    started: Option<Instant>,
    in_window: u32,
    suppressed: u64,
}

impl RateLimit {
    /// At most `burst` (at least 1) events per `window`.
    pub const fn new(burst: u32, window: Duration) -> RateLimit {
        RateLimit {
            burst: if burst == 0 { 1 } else { burst },
            window,
            started: None,
            in_window: 0,
            suppressed: 0,
        }
    }

    /// The window's length.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// An event now: `Some(n)` if it may be reported, with `n` the events
    /// suppressed since the last one admitted (to mention with it); `None`
    /// if it is suppressed (and counted).
    pub fn admit(&mut self) -> Option<u64> {
        self.admit_at(Instant::now())
    }

    /// [`admit`](RateLimit::admit) at a given instant.
    pub fn admit_at(&mut self, now: Instant) -> Option<u64> {
        let ended = self
            .started
            .is_none_or(|started| now.saturating_duration_since(started) >= self.window);
        if ended {
            self.started = Some(now);
            self.in_window = 0;
        }
        if self.in_window < self.burst {
            self.in_window += 1;
            Some(std::mem::take(&mut self.suppressed))
        } else {
            self.suppressed += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_per_window_and_the_rest_counted_until_the_next_report() {
        let mut l = RateLimit::new(3, Duration::from_secs(1));
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let admitted: Vec<_> = (0..10).map(|i| l.admit_at(ms(i * 10))).collect();
        assert_eq!(
            admitted,
            [
                Some(0),
                Some(0),
                Some(0),
                None,
                None,
                None,
                None,
                None,
                None,
                None
            ]
        );
        // The window is counted from its first event (t0), not the last.
        assert_eq!(l.admit_at(ms(999)), None);
        assert_eq!(
            l.admit_at(ms(1000)),
            Some(8),
            "the 8 suppressed are mentioned"
        );
        assert_eq!(l.admit_at(ms(1001)), Some(0), "and only once");
    }

    #[test]
    fn one_per_window_starts_a_window_at_each_admitted_event() {
        let mut l = RateLimit::new(1, Duration::from_secs(10));
        let t0 = Instant::now();
        let s = |n| t0 + Duration::from_secs(n);
        assert_eq!(l.admit_at(s(0)), Some(0));
        assert_eq!(l.admit_at(s(9)), None);
        assert_eq!(l.admit_at(s(25)), Some(1));
        assert_eq!(l.admit_at(s(34)), None);
        assert_eq!(l.admit_at(s(35)), Some(1));
    }

    #[test]
    fn a_burst_of_zero_admits_one() {
        let mut l = RateLimit::new(0, Duration::from_secs(1));
        let t0 = Instant::now();
        assert_eq!((l.admit_at(t0), l.admit_at(t0)), (Some(0), None));
    }
}
