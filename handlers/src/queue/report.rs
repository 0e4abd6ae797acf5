//! Rate-limited error reports to stderr, so a failing handler is visible
//! without flooding the terminal (Python's `handleError` prints a traceback
//! for every record).

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How often one kind of error may be printed again.
const EVERY: Duration = Duration::from_secs(10);

#[derive(Default)]
pub(crate) struct Reporter {
    seen: HashMap<(String, String), (Instant, u64)>,
}

impl Reporter {
    /// Prints `what` for `source` unless the same kind was printed less than
    /// ten seconds ago; then counts it and mentions the count next time.
    pub fn report(&mut self, source: &str, kind: &str, what: &dyn std::fmt::Display) {
        let now = Instant::now();
        let key = (source.to_owned(), kind.to_owned());
        match self.seen.get_mut(&key) {
            Some((last, suppressed)) if now.duration_since(*last) < EVERY => *suppressed += 1,
            Some((last, suppressed)) => {
                eprintln!(
                    "tributary: {source}: {what} ({} similar errors since the last report)",
                    *suppressed
                );
                *last = now;
                *suppressed = 0;
            }
            None => {
                eprintln!(
                    "tributary: {source}: {what} (further errors of this kind are reported at most every {}s)",
                    EVERY.as_secs()
                );
                self.seen.insert(key, (now, 0));
            }
        }
    }
}
