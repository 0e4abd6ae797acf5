//! The producers the listener knows: for each, what it accepted into the
//! queue and what it wrote, and a way to wake its connection to send an
//! acknowledgement.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{AcqRel, Acquire};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// One producer's progress. Sequence numbers are "next" numbers: every
/// record numbered below is accepted (or written).
#[derive(Debug)]
pub(crate) struct Producer {
    /// The producer's name from its hello.
    pub(crate) id: String,
    /// Next number not yet queued for writing: lower numbers arriving again
    /// are duplicates.
    pub(crate) accepted: AtomicU64,
    /// Next number not yet written (and journaled).
    pub(crate) written: AtomicU64,
    /// Bumped by each hello, so an older connection of the same producer
    /// still being read stops adding records behind the new one's back.
    generation: AtomicU64,
    /// Woken when `written` moves.
    pub(crate) notify: Notify,
}

impl Producer {
    fn new(id: String, written: u64) -> Producer {
        Producer {
            id,
            accepted: AtomicU64::new(written),
            written: AtomicU64::new(written),
            generation: AtomicU64::new(0),
            notify: Notify::new(),
        }
    }

    /// Whether `generation` is still the producer's latest connection.
    pub(crate) fn is_current(&self, generation: u64) -> bool {
        self.generation.load(Acquire) == generation
    }

    /// Claims record `seq` for the queue: false if it was accepted before
    /// (a duplicate to drop).
    pub(crate) fn accept(&self, seq: u64) -> bool {
        self.accepted.fetch_max(seq + 1, AcqRel) <= seq
    }

    /// Records below `next` are written: wakes the connection to say so.
    pub(crate) fn written_through(&self, next: u64) {
        if self.written.fetch_max(next, AcqRel) < next {
            self.notify.notify_waiters();
        }
    }
}

/// What goes with a batch from an acknowledged connection: once the batch
/// is written, the producer's records below `next` are.
#[derive(Debug, Clone)]
pub(crate) struct AckMark {
    pub(crate) producer: Arc<Producer>,
    pub(crate) next: u64,
}

/// Every producer seen (in this run or, through the journal, before).
#[derive(Debug, Default)]
pub(crate) struct Producers {
    map: Mutex<HashMap<String, Arc<Producer>>>,
}

impl Producers {
    /// The registry as the journal left it: each producer's next unwritten
    /// number.
    pub(crate) fn recovered(written: impl IntoIterator<Item = (String, u64)>) -> Producers {
        let map = written
            .into_iter()
            .map(|(id, next)| (id.clone(), Arc::new(Producer::new(id, next))))
            .collect();
        Producers {
            map: Mutex::new(map),
        }
    }

    /// A hello from `id` whose next record is numbered `next`: returns the
    /// producer, the connection's generation, and the number the
    /// connection's first record gets (the welcome's `next`): records the
    /// listener already wrote are not sent again.
    pub(crate) fn hello(&self, id: &str, next: u64) -> (Arc<Producer>, u64, u64) {
        let producer = {
            let mut map = self
                .map
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            map.entry(id.to_owned())
                .or_insert_with(|| Arc::new(Producer::new(id.to_owned(), 0)))
                .clone()
        };
        let generation = producer.generation.fetch_add(1, AcqRel) + 1;
        let start = next.max(producer.written.load(Acquire));
        (producer, generation, start)
    }

    /// How many producers are known.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.lock().map_or(0, |m| m.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resent_record_is_a_duplicate_once_accepted() {
        let producers = Producers::default();
        let (p, g1, start) = producers.hello("a", 0);
        assert_eq!(start, 0);
        assert!(p.accept(0) && p.accept(1));
        assert!(!p.accept(0), "resent after a reconnect");
        let (p2, g2, start) = producers.hello("a", 0);
        assert!(Arc::ptr_eq(&p, &p2));
        assert_eq!(start, 0, "nothing is written yet, so everything is resent");
        assert!(!p.is_current(g1) && p.is_current(g2));
        p.written_through(2);
        let (_, _, start) = producers.hello("a", 0);
        assert_eq!(start, 2, "written records are not asked for again");
        let (_, _, start) = producers.hello("a", 5);
        assert_eq!(start, 5, "the producer dropped 2..5 itself");
    }

    #[test]
    fn the_journal_restores_what_was_written() {
        let producers = Producers::recovered([("x".to_owned(), 7)]);
        let (p, _, start) = producers.hello("x", 3);
        assert_eq!(start, 7);
        assert!(!p.accept(6) && p.accept(7));
        assert_eq!(producers.len(), 1);
    }
}
