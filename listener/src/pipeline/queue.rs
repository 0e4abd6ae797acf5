//! The bounded queue between the input tasks and the writer thread.
//!
//! Its capacity counts records, not messages: inputs send a batch of
//! formatted lines per socket read (cheap under load) and take one permit
//! per record from a
//! semaphore, which the writer gives back once the batch is written. Stream
//! inputs wait for permits (backpressure: their reads pause); datagram
//! inputs take them only if available and otherwise drop, counted.

use super::{Batch, Encoder};
use crate::stats::WriterCounters;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use tokio::sync::Semaphore;

/// What the writer thread receives.
pub(crate) enum Msg {
    /// Records to write; `permits` go back to the queue afterwards.
    Batch { records: Batch, permits: u32 },
    /// Reopen every output file (SIGHUP, after logrotate renamed them).
    Reopen,
    /// Flush and exit: every input has finished.
    Stop,
}

/// The writer has exited; nothing more can be queued.
#[derive(Debug)]
pub(crate) struct Closed;

/// The sending side, cloned into every input task.
#[derive(Clone)]
pub(crate) struct Queue {
    tx: flume::Sender<Msg>,
    permits: Arc<Semaphore>,
    capacity: usize,
    pub(crate) encoder: Arc<Encoder>,
    counters: Arc<WriterCounters>,
}

impl Queue {
    /// A queue of `capacity` records and the writer's receiving end.
    pub(crate) fn new(
        capacity: usize,
        encoder: Encoder,
        counters: Arc<WriterCounters>,
    ) -> (Queue, flume::Receiver<Msg>, Arc<Semaphore>) {
        // The channel itself is unbounded: the semaphore bounds it.
        let (tx, rx) = flume::unbounded();
        let permits = Arc::new(Semaphore::new(capacity));
        let queue = Queue {
            tx,
            permits: permits.clone(),
            capacity,
            encoder: Arc::new(encoder),
            counters,
        };
        (queue, rx, permits)
    }

    fn permits_for(&self, batch: &Batch) -> u32 {
        // A batch larger than the whole queue takes the whole queue.
        u32::try_from(batch.records.min(self.capacity)).unwrap_or(u32::MAX)
    }

    fn push(&self, records: Batch, permits: u32) -> Result<(), Closed> {
        let len = records.records as u64;
        self.counters.queued.fetch_add(len, Relaxed);
        self.tx.send(Msg::Batch { records, permits }).map_err(|_| {
            self.counters.queued.fetch_sub(len, Relaxed);
            self.permits.add_permits(permits as usize);
            Closed
        })
    }

    /// Queues a batch, waiting while the queue is full.
    pub(crate) async fn send(&self, records: Batch) -> Result<(), Closed> {
        if records.is_empty() {
            return Ok(());
        }
        let n = self.permits_for(&records);
        self.permits
            .acquire_many(n)
            .await
            .map_err(|_| Closed)?
            .forget();
        self.push(records, n)
    }

    /// Queues a batch only if there is room now; gives it back otherwise.
    pub(crate) fn try_send(&self, records: Batch) -> Result<(), Batch> {
        if records.is_empty() {
            return Ok(());
        }
        let n = self.permits_for(&records);
        match self.permits.try_acquire_many(n) {
            Ok(p) => p.forget(),
            Err(_) => return Err(records),
        }
        // Closed means the writer is gone: nothing can be done with them.
        let _ = self.push(records, n);
        Ok(())
    }

    /// Sends a control message; never waits.
    pub(crate) fn control(&self, msg: Msg) {
        let _ = self.tx.send(msg);
    }
}
