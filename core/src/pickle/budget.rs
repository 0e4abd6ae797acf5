//! The memory budget of one decode.
//!
//! A pickle can refer to the same container many times through the memo, so
//! a few hundred bytes can describe a tree of billions of values. Each decode
//! gets a byte budget proportional to its payload; building containers and
//! writing out values spend it, and running out is an error, not an
//! allocation failure.

use super::PickleError;

/// Bytes a decode may still spend.
#[derive(Debug)]
pub(crate) struct Budget {
    left: usize,
    limit: usize,
}

impl Budget {
    /// `ratio` bytes per payload byte plus a fixed 64 KiB allowance for
    /// small payloads.
    pub(crate) fn for_payload(len: usize, ratio: usize) -> Budget {
        let limit = len.saturating_mul(ratio).saturating_add(64 * 1024);
        Budget { left: limit, limit }
    }

    /// Spends `bytes`, or fails when the budget is exhausted.
    #[inline]
    pub(crate) fn spend(&mut self, bytes: usize) -> Result<(), PickleError> {
        match self.left.checked_sub(bytes) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => Err(PickleError::TooLarge { limit: self.limit }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spending_past_the_limit_fails() {
        let mut b = Budget::for_payload(10, 1);
        assert!(b.spend(64 * 1024).is_ok());
        assert!(b.spend(10).is_ok());
        assert_eq!(
            b.spend(1),
            Err(PickleError::TooLarge {
                limit: 64 * 1024 + 10
            })
        );
    }
}
