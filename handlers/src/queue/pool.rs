//! Line buffers travelling back from the dispatcher to producers, so a log
//! call does not `malloc` a buffer that the dispatcher then `free`s on
//! another thread (which costs both sides, contends on the allocator's
//! arenas and, as the heap grows and shrinks, faults fresh pages in).
//!
//! Producers keep a few buffers in a thread-local stash and refill it from
//! the queue's pool a batch at a time; the dispatcher returns a whole batch
//! of written buffers under one lock. A pool holds at most as many buffers
//! as its queue holds records, so it keeps no more memory than a full queue
//! needed anyway.

use std::cell::RefCell;
use std::sync::Mutex;

/// Buffers a producer takes from the pool at once: a refill (a lock shared
/// with the other producers) then falls on fewer than 1% of log calls.
const REFILL: usize = 256;
/// Buffers bigger than this are freed rather than kept: one huge record
/// should not pin its memory.
const KEEP_CAPACITY: usize = 16 * 1024;

thread_local! {
    /// Buffers of any queue: they are interchangeable.
    static STASH: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// Empty buffers ready for producers of one queue.
pub(crate) struct Pool {
    free: Mutex<Vec<Vec<u8>>>,
    max: usize,
}

impl Pool {
    /// A pool keeping at most `max` buffers.
    pub fn new(max: usize) -> Pool {
        Pool {
            free: Mutex::new(Vec::new()),
            max,
        }
    }

    /// An empty buffer: a returned one when there is one (it keeps the size
    /// it grew to), else a new one with room for `hint` bytes.
    pub fn take(&self, hint: usize) -> Vec<u8> {
        let reused = STASH.try_with(|stash| {
            let mut stash = stash.try_borrow_mut().ok()?;
            if stash.is_empty()
                && let Ok(mut free) = self.free.lock()
            {
                let from = free.len().saturating_sub(REFILL);
                stash.extend(free.drain(from..));
            }
            stash.pop()
        });
        reused
            .ok()
            .flatten()
            .unwrap_or_else(|| Vec::with_capacity(hint))
    }
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

    /// Hands the kept buffers to `pool`, as many as it has room for.
    pub fn give_back(&mut self, pool: &Pool) {
        if self.0.is_empty() {
            return;
        }
        if let Ok(mut free) = pool.free.lock() {
            if free.is_empty() && self.0.len() <= pool.max {
                // The usual case under load: hand over the whole batch
                // without copying it, while producers wait for the lock.
                std::mem::swap(&mut *free, &mut self.0);
                return;
            }
            let room = pool.max.saturating_sub(free.len());
            let n = room.min(self.0.len());
            free.extend(self.0.drain(..n));
        }
        self.0.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_empty_bounded_and_big_ones_are_not_kept() {
        let pool = Pool::new(2);
        let mut returns = Returns::default();
        let mut small = pool.take(100);
        assert!(small.is_empty() && small.capacity() >= 100);
        small.extend_from_slice(b"line\n");
        let small_ptr = small.as_ptr();
        returns.keep(small);
        returns.keep(Vec::with_capacity(KEEP_CAPACITY + 1));
        returns.keep(Vec::with_capacity(10));
        returns.keep(Vec::with_capacity(10));
        assert_eq!(returns.0.len(), 3);
        returns.give_back(&pool);
        assert!(returns.0.is_empty());
        assert_eq!(pool.free.lock().unwrap().len(), 2, "bounded");
        // This thread's stash is empty: the next take refills it.
        let first = pool.take(10);
        let second = pool.take(10);
        assert!(first.is_empty() && second.is_empty());
        assert!(first.as_ptr() == small_ptr || second.as_ptr() == small_ptr);
    }
}
