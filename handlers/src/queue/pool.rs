//! Line buffers travelling back from the dispatcher to producers, so a log
//! call does not `malloc` a buffer that the dispatcher then `free`s on
//! another thread (which costs both sides and contends on the allocator's
//! arenas).
//!
//! Producers keep a few buffers in a thread-local stash and refill it from
//! a shared pool a batch at a time; the dispatcher returns a whole batch
//! of written buffers under one lock. The pool is bounded, so memory stays
//! small however bursty the logging.

use std::cell::RefCell;
use std::sync::Mutex;

/// Buffers kept in the shared pool at most.
const POOL_MAX: usize = 1024;
/// Buffers a producer takes from the pool at once.
const REFILL: usize = 32;
/// Buffers bigger than this are freed rather than kept: one huge record
/// should not pin its memory.
const KEEP_CAPACITY: usize = 16 * 1024;

static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

thread_local! {
    static STASH: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer with room for about `hint` bytes: a returned one when
/// there is one.
pub(crate) fn take(hint: usize) -> Vec<u8> {
    let reused = STASH.try_with(|stash| {
        let mut stash = stash.try_borrow_mut().ok()?;
        if stash.is_empty()
            && let Ok(mut pool) = POOL.lock()
        {
            let from = pool.len().saturating_sub(REFILL);
            stash.extend(pool.drain(from..));
        }
        stash.pop()
    });
    let mut buf = reused.ok().flatten().unwrap_or_default();
    buf.reserve(hint);
    buf
}

/// Buffers written by the dispatcher, collected during one batch and given
/// back to producers at its end.
#[derive(Default)]
pub(crate) struct Returns(Vec<Vec<u8>>);

impl Returns {
    /// Keeps `buf` for reuse unless it is too big.
    pub fn keep(&mut self, mut buf: Vec<u8>) {
        if buf.capacity() <= KEEP_CAPACITY {
            buf.clear();
            self.0.push(buf);
        }
    }

    /// Hands the kept buffers to the pool, as many as it has room for.
    pub fn give_back(&mut self) {
        if self.0.is_empty() {
            return;
        }
        if let Ok(mut pool) = POOL.lock() {
            let room = POOL_MAX.saturating_sub(pool.len());
            let n = room.min(self.0.len());
            pool.extend(self.0.drain(..n));
        }
        self.0.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_empty_and_big_ones_are_not_kept() {
        let mut returns = Returns::default();
        let mut small = take(100);
        assert!(small.is_empty() && small.capacity() >= 100);
        small.extend_from_slice(b"line\n");
        let small_ptr = small.as_ptr();
        returns.keep(small);
        returns.keep(Vec::with_capacity(KEEP_CAPACITY + 1));
        assert_eq!(returns.0.len(), 1);
        returns.give_back();
        assert!(returns.0.is_empty());
        // Other tests share the pool: look for our buffer among a refill.
        let again: Vec<Vec<u8>> = (0..REFILL + 1).map(|_| take(10)).collect();
        assert!(again.iter().all(Vec::is_empty));
        assert!(again.iter().any(|b| b.as_ptr() == small_ptr));
    }
}
