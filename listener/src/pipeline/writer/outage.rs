//! One output's outage: since when it fails, how long to wait before the
//! next try, and what to tell the operator.

use std::io;
use std::time::{Duration, Instant};

/// The first retry comes this soon: a momentary failure costs little.
const FIRST_DELAY: Duration = Duration::from_millis(50);
/// Retries slow down to one every this long, however long it lasts.
const MAX_DELAY: Duration = Duration::from_secs(2);

/// An output that cannot be written now.
#[derive(Debug)]
pub(super) struct Outage {
    /// When the first write failed.
    pub(super) since: Instant,
    /// Failed attempts, the first included.
    pub(super) attempts: u64,
    /// The cause last reported, to report a new one once.
    cause: (Option<i32>, io::ErrorKind),
    delay: Duration,
}

impl Outage {
    /// An outage starting with `error`.
    pub(super) fn new(error: &io::Error) -> Outage {
        Outage {
            since: Instant::now(),
            attempts: 1,
            cause: cause(error),
            delay: FIRST_DELAY,
        }
    }

    /// Counts another failed attempt; true if its cause differs from the
    /// one reported (the operator fixed one thing and another showed up).
    pub(super) fn again(&mut self, error: &io::Error) -> bool {
        self.attempts += 1;
        let now = cause(error);
        let changed = now != self.cause;
        self.cause = now;
        changed
    }

    /// How long to wait before the next try: doubling from 50 ms to 2 s.
    pub(super) fn next_delay(&mut self) -> Duration {
        let d = self.delay;
        self.delay = (self.delay * 2).min(MAX_DELAY);
        d
    }
}

fn cause(error: &io::Error) -> (Option<i32>, io::ErrorKind) {
    (error.raw_os_error(), error.kind())
}

/// What the operator can do about `error`.
pub(super) fn advice(error: &io::Error) -> &'static str {
    match error.raw_os_error() {
        Some(libc::ENOSPC) => "the file system is full: free space on it",
        Some(libc::EDQUOT) => "the disk quota is used up: free space or raise the quota",
        Some(libc::EFBIG) => {
            "the file reached a size limit (the listener's `ulimit -f`, or the largest file the file system allows): raise the limit, or rotate with max-bytes"
        }
        Some(libc::EROFS) => "the file system is read-only: remount it read-write",
        Some(libc::EACCES | libc::EPERM) => {
            "permission denied: let the listener's user write the output directory and file"
        }
        Some(libc::ENOENT | libc::ENOTDIR) => {
            "the output directory is gone and cannot be recreated: remove whatever stands at its path, or create it"
        }
        Some(libc::EIO) => "the device reported an I/O error: check the disk (dmesg)",
        _ => "fix the cause",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_50ms_to_2s() {
        let mut o = Outage::new(&io::Error::from_raw_os_error(libc::ENOSPC));
        let delays: Vec<u64> = (0..9).map(|_| o.next_delay().as_millis() as u64).collect();
        assert_eq!(delays, [50, 100, 200, 400, 800, 1600, 2000, 2000, 2000]);
    }

    #[test]
    fn a_new_cause_is_noticed_once() {
        let mut o = Outage::new(&io::Error::from_raw_os_error(libc::ENOSPC));
        assert!(!o.again(&io::Error::from_raw_os_error(libc::ENOSPC)));
        assert!(o.again(&io::Error::from_raw_os_error(libc::ENOTDIR)));
        assert!(!o.again(&io::Error::from_raw_os_error(libc::ENOTDIR)));
        assert_eq!(o.attempts, 4);
    }

    #[test]
    fn advice_names_what_to_do() {
        let full = io::Error::from_raw_os_error(libc::ENOSPC);
        assert!(advice(&full).contains("free space"));
        let big = io::Error::from_raw_os_error(libc::EFBIG);
        assert!(advice(&big).contains("ulimit -f"));
    }
}
