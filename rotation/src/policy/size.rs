//! The size trigger.

/// Rotates before a record that would take the file past `max_bytes`.
///
/// Python (`RotatingFileHandler.shouldRollover`) uses `pos + len >= maxBytes`
/// and counts characters; here bytes are counted and a file may reach exactly
/// `max_bytes`. An empty file never rotates, so a record larger than the limit
/// is written whole into a fresh file instead of leaving empty archives behind
/// (gh-116263).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SizePolicy {
    pub(crate) max_bytes: u64,
}

impl SizePolicy {
    pub(crate) fn should_rotate(&self, current_len: u64, record_len: u64) -> bool {
        current_len > 0 && current_len.saturating_add(record_len) > self.max_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_never_rotates() {
        let p = SizePolicy { max_bytes: 1 };
        assert!(!p.should_rotate(0, 100));
    }

    #[test]
    fn rotates_only_past_the_limit() {
        let p = SizePolicy { max_bytes: 10 };
        assert!(!p.should_rotate(5, 5));
        assert!(p.should_rotate(5, 6));
        // CPython test_should_rollover: a file holding "\n" with maxBytes=2.
        let p = SizePolicy { max_bytes: 2 };
        assert!(p.should_rotate(1, 2));
    }
}
