//! Which archives to delete: by count, by age and by total size.

use std::time::Duration;

/// Limits on the archives kept. Applied on open and after every rotation;
/// only files recognised as this file's archives are ever considered.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Retention {
    /// Keep at most this many archives.
    pub(crate) max_count: Option<usize>,
    /// Delete archives whose last modification is older than this.
    pub(crate) max_age: Option<Duration>,
    /// Keep the newest archives whose sizes add up to at most this.
    pub(crate) max_total_bytes: Option<u64>,
}

/// What retention needs to know of one archive.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidate {
    /// Bytes on disk, all forms together.
    pub(crate) len: u64,
    /// Modification time, seconds since the epoch.
    pub(crate) mtime: i64,
}

impl Retention {
    pub(crate) fn is_active(&self) -> bool {
        self.max_count.is_some() || self.max_age.is_some() || self.max_total_bytes.is_some()
    }

    /// Given archives sorted oldest first, returns how many of the oldest to
    /// delete. Deleting only a prefix keeps the survivors contiguous in time.
    pub(crate) fn count_to_delete(&self, oldest_first: &[Candidate], now: i64) -> usize {
        let n = oldest_first.len();
        let mut cut = 0;
        if let Some(max) = self.max_count {
            cut = cut.max(n.saturating_sub(max));
        }
        if let Some(age) = self.max_age {
            let limit = now.saturating_sub(i64::try_from(age.as_secs()).unwrap_or(i64::MAX));
            if let Some(last_old) = oldest_first.iter().rposition(|c| c.mtime < limit) {
                cut = cut.max(last_old + 1);
            }
        }
        if let Some(max) = self.max_total_bytes {
            let mut total = 0u64;
            for (i, c) in oldest_first.iter().enumerate().rev() {
                total = total.saturating_add(c.len);
                if total > max {
                    cut = cut.max(i + 1);
                    break;
                }
            }
        }
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(len: u64, mtime: i64) -> Candidate {
        Candidate { len, mtime }
    }

    #[test]
    fn count_keeps_newest() {
        let r = Retention {
            max_count: Some(2),
            ..Default::default()
        };
        let files = [c(1, 1), c(1, 2), c(1, 3), c(1, 4)];
        assert_eq!(r.count_to_delete(&files, 10), 2);
        assert_eq!(r.count_to_delete(&files[..2], 10), 0);
    }

    #[test]
    fn age_and_bytes() {
        let r = Retention {
            max_age: Some(Duration::from_secs(5)),
            ..Default::default()
        };
        let files = [c(10, 1), c(10, 4), c(10, 8), c(10, 9)];
        assert_eq!(r.count_to_delete(&files, 10), 2);
        let r = Retention {
            max_total_bytes: Some(25),
            ..Default::default()
        };
        assert_eq!(r.count_to_delete(&files, 10), 2);
        let r = Retention {
            max_total_bytes: Some(5),
            ..Default::default()
        };
        assert_eq!(r.count_to_delete(&files, 10), 4);
        assert!(!Retention::default().is_active());
    }
}
