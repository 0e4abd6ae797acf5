//! Group commit for acknowledged delivery: after a group of writes, flush
//! (and fsync, when durable) every output, journal where they stand, and
//! only then acknowledge the producers whose records the group held.

mod latency;

pub(crate) use latency::CommitLatency;
pub use latency::CommitLatencySnapshot;

use super::Output;
use crate::acks::{AckMark, FileKey, ForwardGate, Journal, Numbering, OutputPos, Place, sync_dir};
use std::collections::HashMap;
use std::io;
use std::sync::Arc;

/// Bytes written with acknowledgements pending after which the writer
/// commits even though more batches are queued: bounds how long a
/// producer under sustained load waits for its acknowledgements.
const COMMIT_EVERY: u64 = 1 << 20;

/// The writer's acknowledgement state.
pub(crate) struct Commits {
    journal: Journal,
    pending: Vec<AckMark>,
    bytes_pending: u64,
    /// A record was given up on: nothing more is acknowledged.
    poisoned: bool,
    /// With `forward-acknowledge = "forwarded"`: where committed marks
    /// wait for JetStream before they are acknowledged.
    gate: Option<Arc<ForwardGate>>,
    /// Test hook: the commit stops (as if the listener were killed) just
    /// after this step.
    #[cfg(test)]
    pub(crate) crash_after: Option<crash_points::Step>,
}

impl Commits {
    /// Commits recorded in `journal` (fsynced first when it is durable).
    pub(crate) fn new(journal: Journal) -> Commits {
        Commits {
            journal,
            pending: Vec::new(),
            bytes_pending: 0,
            poisoned: false,
            gate: None,
            #[cfg(test)]
            crash_after: None,
        }
    }

    /// Acknowledges committed records only once forwarding has passed
    /// them in the first output (`forward-acknowledge = "forwarded"`).
    #[cfg_attr(not(feature = "nats"), allow(dead_code))] // only forwarding opens a gate
    pub(crate) fn gated(mut self, gate: Arc<ForwardGate>) -> Commits {
        self.gate = Some(gate);
        self
    }

    /// Stops acknowledging: a record was given up on, and acknowledgements
    /// are cumulative.
    pub(crate) fn poison(&mut self) {
        self.poisoned = true;
        self.pending.clear();
    }

    /// A batch was written: acknowledge its mark at the next commit.
    pub(crate) fn written(&mut self, mark: Option<AckMark>, bytes: u64) {
        if let Some(mark) = mark.filter(|_| !self.poisoned) {
            self.pending.push(mark);
        }
        if !self.pending.is_empty() || self.journal.active() {
            self.bytes_pending += bytes;
        }
    }

    /// Whether commits are journaled (some producer used acknowledged
    /// delivery): batches must then land whole in one file.
    pub(crate) fn journaling(&self) -> bool {
        !self.poisoned && (self.journal.active() || !self.pending.is_empty())
    }

    /// Whether producers wait for this commit's acknowledgements.
    pub(crate) fn acknowledging(&self) -> bool {
        !self.poisoned && !self.pending.is_empty()
    }

    /// Whether enough was written under pending acknowledgements to commit
    /// before the queue runs dry.
    pub(crate) fn due(&self) -> bool {
        !self.pending.is_empty() && self.bytes_pending >= COMMIT_EVERY
    }

    /// Whether the next acknowledged batch must first [`begin`](Self::begin)
    /// the journal: nothing is journaled or pending yet, and acknowledging
    /// has not been given up.
    pub(crate) fn needs_begin(&self) -> bool {
        !self.poisoned && !self.journaling()
    }

    /// Before the first acknowledged batch is written: journals where the
    /// outputs end now (synced first when durable; `outputs` must be
    /// flushed already), so a restart cuts back to here.
    pub(crate) fn begin(&mut self, outputs: &mut [Output]) -> io::Result<()> {
        let positions = self.positions(outputs, self.journal.durable())?;
        self.journal.begin(positions)
    }

    /// Makes what was written durable as configured, journals it and
    /// acknowledges it. `outputs` must be flushed already. On error nothing
    /// is acknowledged; the next commit tries again.
    pub(crate) fn commit(&mut self, outputs: &mut [Output]) -> io::Result<()> {
        if self.poisoned || (self.pending.is_empty() && !self.journal.active()) {
            return Ok(());
        }
        let sync = self.journal.durable() && (self.bytes_pending > 0 || !self.pending.is_empty());
        let positions = self.positions(outputs, sync)?;
        #[cfg(test)]
        self.crash_point(crash_points::Step::Synced)?;
        let mut advanced: HashMap<(&str, &str), u64> = HashMap::new();
        for mark in &self.pending {
            let p = &mark.producer;
            let next = advanced
                .entry((p.id.as_str(), p.epoch.as_str()))
                .or_insert(0);
            *next = (*next).max(mark.next);
        }
        let advanced: Vec<(Numbering, u64)> = advanced
            .into_iter()
            .map(|((id, epoch), next)| ((id.to_owned(), epoch.to_owned()), next))
            .collect();
        let first = positions.first().map(|first| Place {
            file: FileKey {
                dev: first.dev,
                ino: first.ino,
            },
            offset: first.len,
        });
        self.journal.commit(positions, &advanced)?;
        #[cfg(test)]
        self.crash_point(crash_points::Step::Journaled)?;
        match (&self.gate, first) {
            (Some(gate), Some(until)) => gate.hold(until, self.pending.drain(..).collect()),
            _ => {
                for mark in self.pending.drain(..) {
                    mark.producer.written_through(mark.next);
                }
            }
        }
        self.bytes_pending = 0;
        Ok(())
    }

    /// Where each output ends, after syncing them all when `sync`. A file
    /// the journal does not know yet (created, or new after a rotation)
    /// has its directory synced too: its name (and the archive's) would
    /// otherwise not survive a power cut that its acknowledged data does.
    fn positions(&self, outputs: &mut [Output], sync: bool) -> io::Result<Vec<OutputPos>> {
        if sync {
            for output in outputs.iter_mut() {
                output.sync()?;
            }
        }
        let positions: Vec<OutputPos> = outputs
            .iter_mut()
            .map(Output::position)
            .collect::<io::Result<_>>()?;
        if sync {
            for pos in positions.iter().filter(|p| !self.journal.knows(p)) {
                sync_dir(&pos.path)?;
            }
        }
        Ok(positions)
    }

    #[cfg(test)]
    fn crash_point(&self, step: crash_points::Step) -> io::Result<()> {
        if self.crash_after == Some(step) {
            return Err(io::Error::other(format!("killed after {step:?}")));
        }
        Ok(())
    }

    /// The journal's path, for messages.
    pub(crate) fn journal_path(&self) -> &std::path::Path {
        self.journal.path()
    }
}

#[cfg(test)]
pub(crate) mod crash_points;
