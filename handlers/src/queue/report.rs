//! Rate-limited error reports to stderr, so a failing handler is visible
//! without flooding the terminal (Python's `handleError` prints a traceback
//! for every record).

use std::collections::HashMap;
use std::time::Duration;
use tributary_core::RateLimit;

/// How often one kind of error may be printed again.
const EVERY: Duration = Duration::from_secs(10);

#[derive(Default)]
pub(crate) struct Reporter {
    seen: HashMap<(String, String), RateLimit>,
}

impl Reporter {
    /// Prints `what` for `source` unless the same kind was printed less than
    /// ten seconds ago; then counts it and mentions the count next time.
    pub fn report(&mut self, source: &str, kind: &str, what: &dyn std::fmt::Display) {
        let key = (source.to_owned(), kind.to_owned());
        let first = !self.seen.contains_key(&key);
        let limit = self
            .seen
            .entry(key)
            .or_insert_with(|| RateLimit::new(1, EVERY));
        match limit.admit() {
            None => {}
            Some(_) if first => eprintln!(
                "tributary: {source}: {what} (further errors of this kind are reported at most every {}s)",
                EVERY.as_secs()
            ),
            Some(suppressed) => eprintln!(
                "tributary: {source}: {what} ({suppressed} similar errors since the last report)"
            ),
        }
    }
}
