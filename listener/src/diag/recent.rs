//! The last diagnostics reported, for the admin endpoint's status page: a
//! ring of a fixed size, fed by [`super::Diag`] with each diagnostic it lets
//! through its rate limit, so a flood of bad input costs one slot each.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};
use tributary_core::Level;

/// How many are kept.
pub(crate) const KEPT: usize = 20;

/// One reported diagnostic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecentDiagnostic {
    /// When it was reported, in milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
    /// Its level name (`WARNING`, `ERROR`, ...).
    pub level: String,
    /// Its message, as on stderr.
    pub message: String,
}

/// The ring.
#[derive(Debug, Default)]
pub(crate) struct Recent {
    ring: Mutex<VecDeque<RecentDiagnostic>>,
}

impl Recent {
    /// Keeps `message`, forgetting the oldest beyond [`KEPT`].
    pub(crate) fn push(&self, level: &Level, message: String) {
        let at_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        if ring.len() == KEPT {
            ring.pop_front();
        }
        ring.push_back(RecentDiagnostic {
            at_unix_ms,
            level: level.name().to_owned(),
            message,
        });
    }

    /// The kept diagnostics, oldest first.
    #[cfg_attr(not(feature = "http"), allow(dead_code))] // the admin endpoint's
    pub(crate) fn list(&self) -> Vec<RecentDiagnostic> {
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        ring.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_twenty_are_kept_oldest_first() {
        let recent = Recent::default();
        for i in 0..25 {
            recent.push(&Level::WARNING, format!("event {i}"));
        }
        let kept: Vec<String> = recent.list().into_iter().map(|d| d.message).collect();
        let expected: Vec<String> = (5..25).map(|i| format!("event {i}")).collect();
        assert_eq!(kept, expected);
    }
}
