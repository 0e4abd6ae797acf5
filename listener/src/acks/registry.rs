//! The producers the listener knows: for each numbering (producer id and
//! epoch), what it accepted into the queue and what it wrote, and a way to
//! wake its connection to send an acknowledgement.
//!
//! Keyed by (id, epoch), so a hello that does not name the live
//! producer's epoch (a restarted producer without its buffer, a forged
//! hello, a second process given the same id) starts a numbering of its
//! own and can neither skip nor supersede the live producer's records.

use super::Numbering;
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
    /// The numbering's epoch from the hello ("" for none).
    pub(crate) epoch: String,
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
    fn new(id: String, epoch: String, written: u64) -> Producer {
        Producer {
            id,
            epoch,
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
    /// (a duplicate to drop). The last number, `u64::MAX`, has no next and
    /// is never accepted (the connection refuses it before).
    pub(crate) fn accept(&self, seq: u64) -> bool {
        let Some(next) = seq.checked_add(1) else {
            return false;
        };
        self.accepted.fetch_max(next, AcqRel) <= seq
    }

    /// Records below `next` are written: wakes the connection to say so.
    pub(crate) fn written_through(&self, next: u64) {
        if self.written.fetch_max(next, AcqRel) < next {
            self.notify.notify_waiters();
        }
    }
}

/// A connected acknowledged producer, as the status page shows it.
#[cfg_attr(not(feature = "http"), allow(dead_code))] // the admin endpoint's
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ProducerStatus {
    pub(crate) id: String,
    pub(crate) epoch: String,
    /// Next number not yet queued.
    pub(crate) accepted: u64,
    /// Next number not yet written and acknowledged.
    pub(crate) written: u64,
    /// Records queued but not yet acknowledged.
    pub(crate) lag: u64,
}

/// What goes with a batch from an acknowledged connection: once the batch
/// is written, the producer's records below `next` are.
#[derive(Debug, Clone)]
pub(crate) struct AckMark {
    pub(crate) producer: Arc<Producer>,
    pub(crate) next: u64,
}

/// The registry is swept of producers that never had anything written
/// (and have no connection) once it holds this many, and then again each
/// time it has doubled since the last sweep.
const SWEEP_AT: usize = 1024;

/// Every producer numbering seen (in this run or, through the journal,
/// before), keyed by (id, epoch).
#[derive(Debug)]
pub(crate) struct Producers {
    map: Mutex<Registry>,
}

#[derive(Debug)]
struct Registry {
    producers: HashMap<(String, String), Arc<Producer>>,
    sweep_at: usize,
}

impl Default for Producers {
    fn default() -> Producers {
        Producers::recovered([])
    }
}

impl Producers {
    /// The registry as the journal left it: each numbering's next
    /// unwritten number.
    pub(crate) fn recovered(
        written: impl IntoIterator<Item = ((String, String), u64)>,
    ) -> Producers {
        let producers: HashMap<_, _> = written
            .into_iter()
            .map(|((id, epoch), next)| {
                let producer = Arc::new(Producer::new(id.clone(), epoch.clone(), next));
                ((id, epoch), producer)
            })
            .collect();
        Producers {
            map: Mutex::new(Registry {
                sweep_at: SWEEP_AT.max(2 * producers.len()),
                producers,
            }),
        }
    }

    /// Adds what the journal says was written before (the registry is
    /// created before recovery, as the inputs are bound first; nothing
    /// is read from them before this).
    pub(crate) fn restore(&self, written: impl IntoIterator<Item = (Numbering, u64)>) {
        let mut registry = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for ((id, epoch), next) in written {
            let producer = Arc::new(Producer::new(id.clone(), epoch.clone(), next));
            registry.producers.insert((id, epoch), producer);
        }
        registry.sweep_at = SWEEP_AT.max(2 * registry.producers.len());
    }

    /// A hello from `id` in `epoch` whose next record is numbered `next`:
    /// returns the producer, the connection's generation, and the number
    /// the connection's first record gets (the welcome's `next`): records
    /// the listener already wrote are not sent again.
    pub(crate) fn hello(&self, id: &str, epoch: &str, next: u64) -> (Arc<Producer>, u64, u64) {
        let producer = {
            let mut registry = self
                .map
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if registry.producers.len() >= registry.sweep_at {
                registry.sweep();
            }
            registry
                .producers
                .entry((id.to_owned(), epoch.to_owned()))
                .or_insert_with(|| Arc::new(Producer::new(id.to_owned(), epoch.to_owned(), 0)))
                .clone()
        };
        let generation = producer.generation.fetch_add(1, AcqRel) + 1;
        let start = next.max(producer.written.load(Acquire));
        (producer, generation, start)
    }

    /// The producers with a connection (or a batch in the queue) now, by
    /// id, at most `limit` of them: what the status page shows.
    #[cfg_attr(not(feature = "http"), allow(dead_code))] // the admin endpoint's
    pub(crate) fn connected(&self, limit: usize) -> Vec<ProducerStatus> {
        let registry = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut connected: Vec<ProducerStatus> = registry
            .producers
            .values()
            .filter(|p| Arc::strong_count(p) > 1)
            .map(|p| {
                let accepted = p.accepted.load(Acquire);
                let written = p.written.load(Acquire);
                ProducerStatus {
                    id: p.id.clone(),
                    epoch: p.epoch.clone(),
                    accepted,
                    written,
                    lag: accepted.saturating_sub(written),
                }
            })
            .collect();
        drop(registry);
        connected.sort_by(|a, b| (&a.id, &a.epoch).cmp(&(&b.id, &b.epoch)));
        connected.truncate(limit);
        connected
    }

    /// How many producer numberings are known.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.lock().map_or(0, |m| m.producers.len())
    }
}

impl Registry {
    /// Forgets the producers that never had a record written and that
    /// nothing refers to (no connection, no batch in the queue): a client
    /// saying hello under ever new ids must not grow the registry forever.
    /// Those with records written stay: their resends must be recognised.
    fn sweep(&mut self) {
        self.producers
            .retain(|_, p| Arc::strong_count(p) > 1 || p.written.load(Acquire) > 0);
        self.sweep_at = SWEEP_AT.max(2 * self.producers.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resent_record_is_a_duplicate_once_accepted() {
        let producers = Producers::default();
        let (p, g1, start) = producers.hello("a", "e", 0);
        assert_eq!(start, 0);
        assert!(p.accept(0) && p.accept(1));
        assert!(!p.accept(0), "resent after a reconnect");
        let (p2, g2, start) = producers.hello("a", "e", 0);
        assert!(Arc::ptr_eq(&p, &p2));
        assert_eq!(start, 0, "nothing is written yet, so everything is resent");
        assert!(!p.is_current(g1) && p.is_current(g2));
        p.written_through(2);
        let (_, _, start) = producers.hello("a", "e", 0);
        assert_eq!(start, 2, "written records are not asked for again");
        let (_, _, start) = producers.hello("a", "e", 5);
        assert_eq!(start, 5, "the producer dropped 2..5 itself");
    }

    #[test]
    fn the_journal_restores_what_was_written() {
        let producers = Producers::recovered([(("x".to_owned(), String::new()), 7)]);
        let (p, _, start) = producers.hello("x", "", 3);
        assert_eq!(start, 7);
        assert!(!p.accept(6) && p.accept(7));
        assert_eq!(producers.len(), 1);
    }

    /// Another epoch is another numbering: neither skips nor supersedes
    /// the live one.
    #[test]
    fn a_hello_in_another_epoch_leaves_the_live_producer_alone() {
        let producers = Producers::default();
        let (live, generation, start) = producers.hello("web-1", "live", 0);
        assert_eq!(start, 0);
        assert!(live.accept(0));
        let (forged, _, start) = producers.hello("web-1", "", 1_000_000_000);
        assert_eq!(start, 1_000_000_000);
        assert!(forged.accept(1_000_000_000));
        assert!(live.is_current(generation), "not superseded");
        assert!(live.accept(1), "the live producer's next record is taken");
        let (_, _, start) = producers.hello("web-1", "live", 1);
        assert_eq!(start, 1, "its welcome is not moved by the forged hello");
    }

    #[test]
    fn the_last_number_is_never_accepted() {
        let producers = Producers::default();
        let (p, _, _) = producers.hello("p", "e", u64::MAX - 1);
        assert!(p.accept(u64::MAX - 1));
        assert!(!p.accept(u64::MAX), "no next number: refused, not wrapped");
        assert!(!p.accept(0), "and nothing wrapped around");
    }

    /// 30,000 ids that say hello and go without writing anything do not
    /// stay in memory.
    #[test]
    fn producers_that_never_wrote_are_forgotten() {
        let producers = Producers::default();
        let (kept, _, _) = producers.hello("writes", "e", 0);
        kept.written_through(1);
        drop(kept);
        let (connected, _, _) = producers.hello("connected", "e", 0);
        for i in 0..30_000 {
            drop(producers.hello(&format!("id-{i}"), "e", 0));
        }
        assert!(
            producers.len() <= 2 * SWEEP_AT,
            "{} producers kept",
            producers.len()
        );
        let (p, _, start) = producers.hello("writes", "e", 0);
        assert_eq!(start, 1, "a producer with records written is kept");
        drop(p);
        let (again, _, _) = producers.hello("connected", "e", 0);
        assert!(Arc::ptr_eq(&connected, &again), "a connected one is kept");
    }
}
