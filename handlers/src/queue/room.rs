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

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// A waiting producer looks at the queue again after this long even
/// without a wake-up: a safety net, never the usual path.
const RECHECK: Duration = Duration::from_millis(10);

/// Producers waiting for a full queue to drain, and the dispatcher's signal
/// that it has.
pub(crate) struct Room {
    /// The queue length at or below which waiting producers go on.
    low: usize,
    /// Whether a producer sleeps and nobody has woken it yet. Only set
    /// under `state`'s lock, cleared by the wake-up or by the last sleeper
    /// leaving: the dispatcher wakes sleepers once, not at every look while
    /// they are still getting back on a CPU.
    asleep: AtomicBool,
    /// Producers holding a record they could not queue yet: the dispatcher
    /// waits for them before it stops.
    pending: AtomicUsize,
    state: Mutex<State>,
    drained: Condvar,
}

#[derive(Default)]
struct State {
    /// Wake-ups so far.
    wakeups: u64,
    /// Producers in `drained.wait`.
    sleeping: usize,
}

/// A producer holding a record it could not queue yet (see
/// [`Room::pending`]); counted until dropped.
pub(crate) struct Pending<'a>(&'a Room);

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.0.pending.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Room {
    /// Room for a queue of `capacity` records.
    pub fn new(capacity: usize) -> Room {
        Room {
            low: capacity / 2,
            asleep: AtomicBool::new(false),
            pending: AtomicUsize::new(0),
            state: Mutex::new(State::default()),
            drained: Condvar::new(),
        }
    }

    /// Counts the caller as holding a record it could not queue yet, until
    /// the returned guard drops (after the record is queued or lost).
    pub fn pending(&self) -> Pending<'_> {
        self.pending.fetch_add(1, Ordering::SeqCst);
        Pending(self)
    }

    /// Producers holding a record they could not queue yet.
    pub fn pending_count(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    /// Blocks until `queued()` is at most half the capacity, the
    /// dispatcher says it was, or `closed()`.
    pub fn wait(&self, queued: impl Fn() -> usize, closed: impl Fn() -> bool) {
        let go_on = || queued() <= self.low || closed();
        let mut state = self.lock();
        // Woken, a producer goes on even if others have filled the queue
        // again meanwhile: looking again could starve it.
        let seen = state.wakeups;
        // Flag, then look again before sleeping: the dispatcher looks at the
        // flag after taking records, so either it sees the flag or this
        // second look sees what it took.
        while state.wakeups == seen && !go_on() {
            self.asleep.store(true, Ordering::SeqCst);
            if go_on() {
                break;
            }
            state.sleeping += 1;
            state = match self.drained.wait_timeout(state, RECHECK) {
                Ok((state, _)) => state,
                Err(e) => e.into_inner().0,
            };
            state.sleeping -= 1;
        }
        if state.sleeping == 0 {
            // Nobody left asleep: producers need not queue behind anyone.
            self.asleep.store(false, Ordering::SeqCst);
        }
    }

    /// Whether a producer sleeps and nobody has woken it yet (one atomic
    /// load: cheap enough to ask at every log call). New producers then
    /// queue behind it, and the dispatcher looks whether to wake it.
    pub fn asleep(&self) -> bool {
        self.asleep.load(Ordering::SeqCst)
    }

    /// Wakes the sleeping producers if `queued` is low enough (or
    /// unconditionally when `queued` is `None`: the queue is stopping).
    pub fn release(&self, queued: Option<usize>) {
        if queued.is_some_and(|n| n > self.low) {
            return;
        }
        // Under the lock, so the wake-up cannot fall between a producer's
        // look at the queue and its wait.
        let mut state = self.lock();
        self.asleep.store(false, Ordering::SeqCst);
        state.wakeups += 1;
        self.drained.notify_all();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

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

    #[test]
    fn a_producer_that_finds_room_on_its_second_look_leaves_nobody_queued_behind_it() {
        let room = Room::new(8);
        let looks = AtomicUsize::new(0);
        // Full at the first look, half empty at the second (the dispatcher
        // took records in between).
        room.wait(
            || {
                if looks.fetch_add(1, Ordering::SeqCst) == 0 {
                    8
                } else {
                    4
                }
            },
            || false,
        );
        assert_eq!(looks.load(Ordering::SeqCst), 2);
        assert!(
            !room.asleep(),
            "a stale flag would hold back later producers"
        );
    }
}
