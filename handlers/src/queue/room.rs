//! How a producer waits for room in a full queue under
//! [`Overflow::Block`](crate::Overflow::Block).
//!
//! flume's blocking `send` parks each waiting producer until *one* slot is
//! free, so a queue that stays full (producers faster than the handlers)
//! turns every log call into a park and the dispatcher's every receive into
//! a wake-up (two system calls per record, on both sides). Waiting instead
//! until the queue has drained to half its capacity lets the dispatcher
//! work through a batch undisturbed, and the producers' next few thousand
//! calls go through without waiting: the same backpressure, paid by far
//! fewer calls.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// A waiting producer looks at the queue again after this long even
/// without a wake-up: a safety net, never the usual path.
const RECHECK: Duration = Duration::from_millis(10);

/// Producers waiting for a full queue to drain, and the dispatcher's signal
/// that it has.
pub(crate) struct Room {
    /// The queue length at or below which waiting producers go on.
    low: usize,
    /// Set by a producer about to sleep, cleared by the wake-up: the
    /// dispatcher wakes sleepers once, not at every look while they are
    /// still getting back on a CPU.
    asleep: AtomicBool,
    /// Wake-ups so far.
    wakeups: Mutex<u64>,
    drained: Condvar,
}

impl Room {
    /// Room for a queue of `capacity` records.
    pub fn new(capacity: usize) -> Room {
        Room {
            low: capacity / 2,
            asleep: AtomicBool::new(false),
            wakeups: Mutex::new(0),
            drained: Condvar::new(),
        }
    }

    /// Blocks until `queued()` is at most half the capacity, the
    /// dispatcher says it was, or `closed()`.
    pub fn wait(&self, queued: impl Fn() -> usize, closed: impl Fn() -> bool) {
        let go_on = || queued() <= self.low || closed();
        let mut guard = self.wakeups.lock().unwrap_or_else(|e| e.into_inner());
        // Woken, a producer goes on even if others have filled the queue
        // again meanwhile: looking again could starve it.
        let seen = *guard;
        // Flag, then look again before sleeping: the dispatcher looks at the
        // flag after taking records, so either it sees the flag or this
        // second look sees what it took.
        while *guard == seen && !go_on() {
            self.asleep.store(true, Ordering::SeqCst);
            if go_on() {
                break;
            }
            guard = match self.drained.wait_timeout(guard, RECHECK) {
                Ok((guard, _)) => guard,
                Err(e) => e.into_inner().0,
            };
        }
    }

    /// Whether a producer sleeps and nobody has woken it yet (one atomic
    /// load: cheap enough to ask at every log call). New producers then
    /// queue behind it, and the dispatcher looks whether to wake it.
    pub fn asleep(&self) -> bool {
        self.asleep.load(Ordering::SeqCst)
    }

    /// Wakes the sleeping producers if `queued` is low enough (or
    /// unconditionally when `queued` is `None`: the queue is closing).
    pub fn release(&self, queued: Option<usize>) {
        if queued.is_some_and(|n| n > self.low) {
            return;
        }
        self.asleep.store(false, Ordering::SeqCst);
        // Taking the lock orders this wake-up after a producer's look at
        // the queue, so it cannot fall between its look and its wait.
        let mut wakeups = self.wakeups.lock().unwrap_or_else(|e| e.into_inner());
        *wakeups += 1;
        self.drained.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn a_waiting_producer_goes_on_only_once_the_queue_is_half_empty() {
        let room = Arc::new(Room::new(8));
        let queued = Arc::new(AtomicUsize::new(8));
        let waiter = {
            let (room, queued) = (room.clone(), queued.clone());
            std::thread::spawn(move || {
                room.wait(|| queued.load(Ordering::SeqCst), || false);
                queued.load(Ordering::SeqCst)
            })
        };
        while !room.asleep() {
            std::thread::yield_now();
        }
        queued.store(5, Ordering::SeqCst);
        room.release(Some(5)); // above half: not released
        std::thread::sleep(RECHECK * 3);
        assert!(!waiter.is_finished(), "released above the low mark");
        queued.store(4, Ordering::SeqCst);
        room.release(Some(4));
        assert_eq!(waiter.join().unwrap(), 4);
        assert!(!room.asleep(), "the wake-up clears the flag");
    }

    #[test]
    fn closing_releases_a_waiting_producer() {
        let room = Arc::new(Room::new(8));
        let closed = Arc::new(AtomicBool::new(false));
        let waiter = {
            let (room, closed) = (room.clone(), closed.clone());
            std::thread::spawn(move || room.wait(|| 8, || closed.load(Ordering::SeqCst)))
        };
        while !room.asleep() {
            std::thread::yield_now();
        }
        closed.store(true, Ordering::SeqCst);
        room.release(None);
        waiter.join().unwrap();
    }
}
