//! The bounded queue between the input tasks and the writer thread.
//!
//! Its capacity counts records and bytes, not messages: inputs send a
//! batch of formatted lines per socket read (cheap under load) and take one
//! permit per record and one per KiB of lines from two semaphores, which
//! the writer gives back once the batch is written. Both bounds matter:
//! 16,384 records of 1 MiB each would otherwise be 16 GiB in flight. Stream
//! inputs wait for permits (backpressure: their reads pause); datagram
//! inputs take them only if available and otherwise drop, counted.

use super::{Batch, Encoder};
use crate::stats::WriterCounters;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, RwLock};
use tokio::sync::Semaphore;

/// What the writer thread receives.
pub(crate) enum Msg {
    /// Records to write; `permits` (records) and `kib` go back to the
    /// queue afterwards.
    Batch {
        records: Batch,
        permits: u32,
        kib: u32,
    },
    /// Reopen every output file (after logrotate renamed them).
    Reopen,
    /// A reload: switch to these outputs at this batch boundary, reopening
    /// every file (see [`super::Reconfigure`]).
    Reconfigure(super::Reconfigure),
    /// Flush and exit: every input has finished.
    Stop,
}

/// The writer has exited; nothing more can be queued.
#[derive(Debug)]
pub(crate) struct Closed;

/// The queue's two bounds, shared by the inputs (which take) and the
/// writer (which gives back).
pub(crate) struct Budget {
    records: Semaphore,
    kib: Semaphore,
    capacity: usize,
    capacity_kib: usize,
}

impl Budget {
    /// Returns what a written batch held.
    pub(crate) fn give_back(&self, records: u32, kib: u32) {
        self.records.add_permits(records as usize);
        self.kib.add_permits(kib as usize);
    }
}

/// The sending side, cloned into every input task.
#[derive(Clone)]
pub(crate) struct Queue {
    tx: flume::Sender<Msg>,
    budget: Arc<Budget>,
    /// The routing and formats in effect; a reload replaces it. Each batch
    /// takes the one in effect when it starts, and keeps it.
    encoder: Arc<RwLock<Arc<Encoder>>>,
    counters: Arc<WriterCounters>,
}

impl Queue {
    /// A queue of `capacity` records and `bytes` bytes, and the writer's
    /// receiving end.
    pub(crate) fn new(
        capacity: usize,
        bytes: usize,
        encoder: Encoder,
        counters: Arc<WriterCounters>,
    ) -> (Queue, flume::Receiver<Msg>, Arc<Budget>) {
        // The channel itself is unbounded: the semaphores bound it.
        let (tx, rx) = flume::unbounded();
        let capacity_kib = (bytes / 1024).clamp(1, Semaphore::MAX_PERMITS);
        let budget = Arc::new(Budget {
            records: Semaphore::new(capacity.min(Semaphore::MAX_PERMITS)),
            kib: Semaphore::new(capacity_kib),
            capacity,
            capacity_kib,
        });
        let queue = Queue {
            tx,
            budget: budget.clone(),
            encoder: Arc::new(RwLock::new(Arc::new(encoder))),
            counters,
        };
        (queue, rx, budget)
    }

    /// The routing and formats in effect now.
    pub(crate) fn encoder(&self) -> Arc<Encoder> {
        // A poisoned lock still holds a whole `Arc`: nothing is half-done
        // under it.
        match self.encoder.read() {
            Ok(e) => e.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Records written without a field their text pattern uses, over all
    /// outputs and every configuration since start; `None` when no output
    /// ever wrote text.
    pub(crate) fn records_missing_fields(&self) -> Option<u64> {
        let retired = self.counters.missing_fields_retired.load(Relaxed);
        match self.encoder().records_missing_fields() {
            Some(now) => Some(now + retired),
            None if self.counters.had_text.load(Relaxed) => Some(retired),
            None => None,
        }
    }

    /// Puts `encoder` in effect for every batch started from now on.
    pub(crate) fn set_encoder(&self, encoder: Arc<Encoder>) {
        match self.encoder.write() {
            Ok(mut e) => *e = encoder,
            Err(poisoned) => *poisoned.into_inner() = encoder,
        }
    }

    /// The permits a batch takes: a batch larger than the whole queue takes
    /// the whole queue (and so waits until it is empty).
    fn permits_for(&self, batch: &Batch) -> (u32, u32) {
        let records = batch.records.min(self.budget.capacity);
        let kib = batch.bytes().div_ceil(1024).min(self.budget.capacity_kib);
        (
            u32::try_from(records).unwrap_or(u32::MAX),
            u32::try_from(kib).unwrap_or(u32::MAX),
        )
    }

    fn push(&self, records: Batch, (permits, kib): (u32, u32)) -> Result<(), Closed> {
        let len = records.records as u64;
        let bytes = records.bytes() as u64;
        self.counters.queued.fetch_add(len, Relaxed);
        self.counters.queued_bytes.fetch_add(bytes, Relaxed);
        self.tx
            .send(Msg::Batch {
                records,
                permits,
                kib,
            })
            .map_err(|_| {
                self.counters.queued.fetch_sub(len, Relaxed);
                self.counters.queued_bytes.fetch_sub(bytes, Relaxed);
                self.budget.give_back(permits, kib);
                Closed
            })
    }

    /// Queues a batch, waiting while the queue is full.
    pub(crate) async fn send(&self, records: Batch) -> Result<(), Closed> {
        if records.is_empty() {
            return Ok(());
        }
        let (n, kib) = self.permits_for(&records);
        let taken = self
            .budget
            .records
            .acquire_many(n)
            .await
            .map_err(|_| Closed)?;
        self.budget
            .kib
            .acquire_many(kib)
            .await
            .map_err(|_| Closed)?
            .forget();
        taken.forget();
        self.push(records, (n, kib))
    }

    /// Queues a batch only if there is room now; gives it back otherwise.
    pub(crate) fn try_send(&self, records: Batch) -> Result<(), Batch> {
        if records.is_empty() {
            return Ok(());
        }
        let (n, kib) = self.permits_for(&records);
        let Ok(taken) = self.budget.records.try_acquire_many(n) else {
            return Err(records);
        };
        match self.budget.kib.try_acquire_many(kib) {
            Ok(p) => p.forget(),
            // Dropping `taken` returns the record permits.
            Err(_) => return Err(records),
        }
        taken.forget();
        // Closed means the writer is gone: nothing can be done with them.
        let _ = self.push(records, (n, kib));
        Ok(())
    }

    /// Sends a control message; never waits.
    pub(crate) fn control(&self, msg: Msg) {
        let _ = self.tx.send(msg);
    }
}
