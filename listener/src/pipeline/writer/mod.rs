//! The one writer thread: writes the lines the input tasks formatted, so
//! each file has exactly one writer.
//!
//! When an output cannot be written (full disk, size limit, I/O error, its
//! directory gone or read-only), writing stops at a record boundary and
//! the writer retries that record with backoff, holding the batch and its
//! queue permits: the queue fills, stream inputs stop reading (their
//! senders wait), datagram inputs drop, counted. When the write works
//! again, writing resumes where it stopped: nothing lost, nothing twice.
//! Only a shutdown ends the wait: once the drain timeout has passed, a
//! failing output is given up and its records are counted as unwritten,
//! which makes the listener finish with an error.

mod outage;
mod reconfigure;
#[cfg(test)]
mod tests;

use reconfigure::Generation;
pub(crate) use reconfigure::Reconfigure;

use super::batch::Lines;
use super::queue::Budget;
use super::{Commits, Encoder, Msg, Output};
use crate::diag::Diag;
use crate::diag::writer as event;
use crate::stats::WriterCounters;
use outage::{Outage, advice};
use std::io;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// A retry wait is slept in slices this long, so a shutdown is noticed
/// soon even during a 2 s wait.
const NAP: Duration = Duration::from_millis(50);

/// While a reload's older outputs are still open, the writer looks this
/// often whether they can be closed, even when nothing arrives.
const RETIRE_CHECK: Duration = Duration::from_millis(20);

/// How one output is doing.
enum Health {
    Writing,
    /// Failing; its records are held and retried.
    Stalled(Outage),
    /// Still failing when a shutdown's drain timeout ran out: its lines
    /// are counted, not written.
    GivenUp {
        unwritten: u64,
    },
}

/// When the writer stops retrying a failing output: only during a
/// shutdown, once the drain timeout has passed.
struct StopRule {
    /// Becomes true when the listener shuts down (a dropped sender counts
    /// as true).
    shutdown: watch::Receiver<bool>,
    /// How long a failing output is retried once the shutdown is seen.
    drain_timeout: Duration,
}

struct Writer {
    /// Every open output: the current configuration's, and those only an
    /// older one still uses (see `reconfigure`).
    outputs: Vec<Output>,
    /// One per output.
    health: Vec<Health>,
    /// The configuration in effect: its encoder and its outputs' slots.
    current: Generation,
    /// Configurations replaced by a reload whose batches may still come.
    older: Vec<Generation>,
    /// How many there are, for the reload that waits for none.
    generations: Arc<AtomicUsize>,
    /// Rotations of outputs closed since start (the counter is a total).
    retired_rotations: u64,
    rx: flume::Receiver<Msg>,
    permits: Arc<Budget>,
    counters: Arc<WriterCounters>,
    diag: Arc<Diag>,
    stop: StopRule,
    /// `Stop` has arrived: every input has finished.
    stopping: bool,
    /// Set when shutdown is first seen while an output fails.
    give_up_at: Option<Instant>,
    /// Acknowledged delivery: journal and acknowledge what was written.
    commits: Commits,
}

/// Starts the writer thread; it exits after [`Msg::Stop`], having written
/// and flushed everything queued before it (or, if an output still failed
/// `drain_timeout` after it saw `shutdown`, counted what it could not
/// write).
#[allow(clippy::too_many_arguments)] // the pieces the listener wires together, each distinct
pub(crate) fn spawn_writer(
    outputs: Vec<Output>,
    encoder: Arc<Encoder>,
    rx: flume::Receiver<Msg>,
    permits: Arc<Budget>,
    counters: Arc<WriterCounters>,
    diag: Arc<Diag>,
    shutdown: watch::Receiver<bool>,
    drain_timeout: Duration,
    commits: Commits,
) -> std::io::Result<(JoinHandle<()>, Arc<AtomicUsize>)> {
    let writer = Writer::new(
        outputs,
        encoder,
        rx,
        permits,
        counters,
        diag,
        StopRule {
            shutdown,
            drain_timeout,
        },
        commits,
    );
    let generations = writer.generations.clone();
    let thread = std::thread::Builder::new()
        .name("tributary-writer".into())
        .spawn(move || writer.run())?;
    Ok((thread, generations))
}

impl Writer {
    #[allow(clippy::too_many_arguments)] // as spawn_writer's
    fn new(
        outputs: Vec<Output>,
        encoder: Arc<Encoder>,
        rx: flume::Receiver<Msg>,
        permits: Arc<Budget>,
        counters: Arc<WriterCounters>,
        diag: Arc<Diag>,
        stop: StopRule,
        commits: Commits,
    ) -> Writer {
        let mut writer = Writer {
            health: outputs.iter().map(|_| Health::Writing).collect(),
            outputs,
            current: Generation {
                encoder,
                slots: Arc::new([]),
            },
            older: Vec::new(),
            generations: Arc::new(AtomicUsize::new(0)),
            retired_rotations: 0,
            rx,
            permits,
            counters,
            diag,
            stop,
            stopping: false,
            give_up_at: None,
            commits,
        };
        writer.current.slots = writer.slots_by_path(&writer.current.encoder);
        writer.publish_outputs();
        if writer.current.encoder.records_missing_fields().is_some() {
            writer.counters.had_text.store(true, Relaxed);
        }
        writer
    }

    fn run(mut self) {
        // Block for one message, then take whatever else is queued before
        // flushing: under load few flushes, when idle every record on disk.
        loop {
            let first = if self.older.is_empty() {
                self.rx.recv().map_err(|_| ())
            } else {
                match self.rx.recv_timeout(RETIRE_CHECK) {
                    Ok(msg) => Ok(msg),
                    Err(flume::RecvTimeoutError::Timeout) => {
                        self.retire();
                        continue;
                    }
                    Err(flume::RecvTimeoutError::Disconnected) => Err(()),
                }
            };
            let Ok(first) = first else { break };
            let mut next = Some(first);
            while let Some(msg) = next {
                if !self.handle(msg) {
                    self.close();
                    return;
                }
                if self.commits.due() {
                    self.flush();
                    self.commit();
                }
                // Under sustained load the queue never runs dry: a
                // reload's old outputs are closed as soon as they can be,
                // not when it does.
                if !self.older.is_empty() {
                    self.retire();
                }
                next = self.rx.try_recv().ok();
            }
            self.flush();
            self.commit();
            self.retire();
        }
        self.close();
    }

    /// Handles one message; false on `Stop`.
    fn handle(&mut self, msg: Msg) -> bool {
        match msg {
            Msg::Batch {
                mut records,
                permits,
                kib,
            } => {
                let mark = records.ack.take();
                let queued_bytes = records.bytes() as u64;
                if mark.is_some() && self.commits.needs_begin() {
                    self.begin_journal();
                }
                // Each batch goes to the outputs of the configuration that
                // routed it.
                let slots = self.slots_of_encoder(records.encoder());
                self.rotate_before(&records.outputs, &slots);
                let mut bytes = 0u64;
                let mut lost = 0u64;
                for (i, lines) in records.outputs.iter().enumerate() {
                    let (written, unwritten) = self.write_lines(slots[i], lines);
                    bytes += written;
                    lost += unwritten;
                    if let Some(c) = self.output_counters(slots[i]) {
                        c.bytes.fetch_add(written, Relaxed);
                        if unwritten == 0 {
                            c.records.fetch_add(lines.count() as u64, Relaxed);
                        }
                    }
                }
                let n = records.records as u64;
                drop(records);
                self.count_rotations();
                if lost == 0 {
                    self.counters.records.fetch_add(n, Relaxed);
                    self.commits.written(mark, bytes);
                } else {
                    // Acknowledgements are cumulative: after a record that
                    // was given up on, none may be sent.
                    self.commits.poison();
                }
                self.counters.bytes.fetch_add(bytes, Relaxed);
                self.counters.queued.fetch_sub(n, Relaxed);
                self.counters.queued_bytes.fetch_sub(queued_bytes, Relaxed);
                // Only now, written (or given up on): while an output
                // fails, the queue stays full and inputs wait.
                self.permits.give_back(permits, kib);
                true
            }
            Msg::Reopen => {
                self.reopen();
                true
            }
            Msg::Reconfigure(reconfigure) => {
                self.reconfigure(reconfigure);
                true
            }
            Msg::Stop => {
                self.stopping = true;
                false
            }
        }
    }

    /// Reopens every output; returns a message per output that could not
    /// be reopened (it goes on in its old file, and the next write tries
    /// again).
    fn reopen(&mut self) -> Vec<String> {
        // As around a rotation: what was written to the files open now is
        // journaled (and acknowledged) before they are let go, and the new
        // files are on record before anything is written to them, so a
        // crash right after still finds every unacknowledged tail where
        // the journal says.
        let journaling = self.commits.journaling();
        if journaling {
            self.flush();
            self.commit();
        }
        let mut failed = Vec::new();
        for output in self.outputs.iter_mut() {
            if let Err(error) = output.reopen() {
                output.counters.write_errors.fetch_add(1, Relaxed);
                failed.push(format!("cannot reopen {}: {error}", output.path.display()));
                self.diag.emit(
                    &*self.counters,
                    event::ReopenFailed {
                        path: &output.path,
                        error: &error,
                    },
                );
            }
        }
        if journaling {
            self.flush();
            self.commit();
        }
        failed
    }

    /// Writes output `i`'s lines, retrying from the failed line until they
    /// are all written or the output is given up. Returns the bytes
    /// written and the lines given up on.
    fn write_lines(&mut self, i: usize, lines: &Lines) -> (u64, u64) {
        let mut from = 0;
        let mut bytes = 0;
        loop {
            if let Health::GivenUp { unwritten } = &mut self.health[i] {
                let left = lines.iter().skip(from).count() as u64;
                *unwritten += left;
                self.counters.unwritten.fetch_add(left, Relaxed);
                if let Some(c) = self.output_counters(i) {
                    c.unwritten.fetch_add(left, Relaxed);
                }
                return (bytes, left);
            }
            if self.commits.journaling() && from == 0 {
                // The journal records where each file ends, so a batch must
                // land whole in one file ([`rotate_before`] rotated what
                // was due).
                match self.outputs[i].write_whole(lines) {
                    Ok(written) => {
                        self.recovered(i);
                        return (written, 0);
                    }
                    Err(error) => {
                        self.failed(i, error);
                        continue;
                    }
                }
            }
            match self.outputs[i].write_from(lines, from) {
                Ok(written) => {
                    self.recovered(i);
                    return (bytes + written, 0);
                }
                Err(stopped) => {
                    bytes += stopped.bytes;
                    from = stopped.next;
                    self.failed(i, stopped.error);
                }
            }
        }
    }

    /// Before a batch is written to any output, while journaling: rotates
    /// the outputs it would rotate, with a commit just before (the old
    /// files' final lengths) and just after (the new files' inodes, on
    /// record before anything is written to them). All before the batch:
    /// a commit after the batch went to some outputs but before its
    /// acknowledgement mark is counted would journal its lines as kept
    /// while its producer is told nothing, and the resend after a crash
    /// would write them twice.
    fn rotate_before(&mut self, batch: &[Lines], slots: &[usize]) {
        if !self.commits.journaling() {
            return;
        }
        // (slot, bytes of the batch for it)
        let due: Vec<(usize, u64)> = batch
            .iter()
            .zip(slots)
            .map(|(lines, &i)| (i, lines.len() as u64))
            .filter(|&(i, _)| !matches!(self.health[i], Health::GivenUp { .. }))
            .filter(|&(i, bytes)| self.outputs[i].rotation_pending(bytes))
            .collect();
        if due.is_empty() {
            return;
        }
        self.flush();
        self.commit();
        for (i, bytes) in due {
            while !matches!(self.health[i], Health::GivenUp { .. }) {
                match self.outputs[i].rotate_if_due(bytes) {
                    Ok(_) => {
                        self.recovered(i);
                        break;
                    }
                    Err(error) => self.failed(i, error),
                }
            }
        }
        self.flush();
        self.commit();
    }

    /// After a flush: journals and acknowledges what was written, if every
    /// output is healthy (an acknowledged record must be in every file).
    /// Commits that acknowledge producers are timed
    /// (`tributary_ack_commit_seconds`).
    fn commit(&mut self) {
        if !self.health.iter().all(|h| matches!(h, Health::Writing)) {
            return;
        }
        let started = self.commits.acknowledging().then(Instant::now);
        match self.commits.commit(&mut self.outputs) {
            Ok(()) => {
                if let Some(started) = started {
                    self.counters.ack_commit.observe(started.elapsed());
                }
                if self.commits.journaling() {
                    self.counters.journal_failing.store(0, Relaxed);
                }
            }
            Err(e) => self.journal_failed(
                &e,
                "cannot record acknowledgements in",
                "acknowledging later",
            ),
        }
    }

    /// Tells the stats which outputs are open now (their counters).
    pub(super) fn publish_outputs(&self) {
        self.counters
            .set_outputs(self.outputs.iter().map(|o| o.counters.clone()).collect());
    }

    /// Output `i`'s counters (`i` indexes the open outputs).
    fn output_counters(&self, i: usize) -> Option<&crate::stats::OutputCounters> {
        self.outputs.get(i).map(|o| &*o.counters)
    }

    /// Keeps each output's rotation count, and when it last rotated, and
    /// the writer's total.
    fn count_rotations(&self) {
        let mut total = self.retired_rotations;
        for (i, output) in self.outputs.iter().enumerate() {
            let rotations = output.rotations();
            total += rotations;
            if let Some(c) = self.output_counters(i)
                && c.rotations.swap(rotations, Relaxed) != rotations
            {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                c.last_rotation.store(now, Relaxed);
            }
        }
        self.counters.rotations.store(total, Relaxed);
    }

    /// Before the first acknowledged records: journals where the outputs
    /// end, so a restart after a kill cuts back to there.
    fn begin_journal(&mut self) {
        self.flush();
        if let Err(e) = self.commits.begin(&mut self.outputs) {
            self.journal_failed(
                &e,
                "cannot start the acknowledgement journal",
                "if the listener dies before its first commit, what it wrote until then may be written twice",
            );
        }
    }

    /// Counts and reports a failed journal write.
    fn journal_failed(&self, e: &io::Error, what: &str, consequence: &str) {
        self.diag.emit(
            &*self.counters,
            event::JournalFailed {
                what,
                path: self.commits.journal_path(),
                error: e,
                consequence,
            },
        );
    }

    /// Flushes every output, each retried until it works or is given up.
    fn flush(&mut self) {
        for i in 0..self.outputs.len() {
            self.flush_output(i);
        }
    }

    fn flush_output(&mut self, i: usize) {
        while !matches!(self.health[i], Health::GivenUp { .. }) {
            match self.outputs[i].flush() {
                Ok(()) => {
                    self.recovered(i);
                    return;
                }
                Err(e) => self.failed(i, e),
            }
        }
    }

    /// A write to output `i` failed: reports it (once per outage, and again
    /// if the cause changes), then waits before the retry, or gives the
    /// output up if a shutdown's drain timeout has run out.
    fn failed(&mut self, i: usize, error: io::Error) {
        let path = self.outputs[i].path.display().to_string();
        let advice = advice(&error);
        if let Some(c) = self.output_counters(i) {
            c.write_errors.fetch_add(1, Relaxed);
            if !matches!(self.health[i], Health::Stalled(_)) {
                c.stalls.fetch_add(1, Relaxed);
                c.stalled.store(1, Relaxed);
            }
        }
        match &mut self.health[i] {
            Health::Stalled(outage) => {
                let cause_changed = outage.again(&error);
                self.diag.emit(
                    &*self.counters,
                    event::OutageGoesOn {
                        path: &path,
                        error: &error,
                        advice: &advice,
                        cause_changed,
                    },
                );
            }
            health => {
                *health = Health::Stalled(Outage::new(&error));
                self.diag.emit(
                    &*self.counters,
                    event::OutageBegan {
                        path: &path,
                        error: &error,
                        advice: &advice,
                    },
                );
            }
        }
        if self.give_up_due() {
            self.give_up(i, &error);
        } else {
            self.pause(i);
        }
    }

    /// Output `i` was written: ends its outage, if any.
    fn recovered(&mut self, i: usize) {
        if let Health::Stalled(outage) = &self.health[i] {
            self.diag.emit(
                &*self.counters,
                event::OutageEnded {
                    path: &self.outputs[i].path,
                    lasted: outage.since.elapsed(),
                    attempts: outage.attempts,
                },
            );
            self.health[i] = Health::Writing;
            if let Some(c) = self.output_counters(i) {
                c.stalled.store(0, Relaxed);
            }
        }
    }

    /// Stops retrying output `i`: its buffered records and every line still
    /// to come for it are counted as unwritten.
    fn give_up(&mut self, i: usize, error: &io::Error) {
        let buffered = self.outputs[i].discard_buffered() as u64;
        if let Some(c) = self.output_counters(i) {
            c.unwritten.fetch_add(buffered, Relaxed);
        }
        self.health[i] = Health::GivenUp {
            unwritten: buffered,
        };
        self.diag.emit(
            &*self.counters,
            event::OutputGivenUp {
                path: &self.outputs[i].path,
                error,
                drain_timeout: self.stop.drain_timeout,
                buffered,
            },
        );
    }

    /// Whether a failing output should be given up now: only when the
    /// listener is shutting down and the drain timeout, counted from when
    /// the writer first saw that, has passed.
    fn give_up_due(&mut self) -> bool {
        if self.give_up_at.is_none() && self.shutting_down() {
            self.give_up_at = Some(Instant::now() + self.stop.drain_timeout);
        }
        self.give_up_at.is_some_and(|at| Instant::now() >= at)
    }

    fn shutting_down(&self) -> bool {
        self.stopping || self.stop.shutdown.has_changed().is_err() || *self.stop.shutdown.borrow()
    }

    /// Waits before retrying output `i`: its backoff delay, cut short when
    /// the give-up time comes first (so one last try happens then).
    fn pause(&mut self, i: usize) {
        let Health::Stalled(outage) = &mut self.health[i] else {
            return;
        };
        let until = Instant::now() + outage.next_delay();
        loop {
            self.give_up_due();
            let now = Instant::now();
            let end = self.give_up_at.map_or(until, |at| at.min(until));
            if now >= end {
                return;
            }
            std::thread::sleep((end - now).min(NAP));
        }
    }

    /// Flushes every output (retrying, as anywhere) and waits for
    /// background compression, so the archives are complete when the
    /// listener exits; reports what could not be written.
    fn close(&mut self) {
        self.stopping = true;
        self.retire_all();
        self.flush();
        self.commit();
        let outputs: Vec<Output> = self.outputs.drain(..).collect();
        let health: Vec<Health> = self.health.drain(..).collect();
        for (output, health) in outputs.into_iter().zip(health) {
            self.close_output(output, health);
        }
    }

    /// Closes one output (at exit, or when a reload removed it): waits
    /// for its background compression, reports what it could not write.
    fn close_output(&self, output: Output, health: Health) {
        {
            let path = output.path.clone();
            let output_counters = output.counters.clone();
            if let Health::GivenUp { unwritten } = health {
                self.diag.emit(
                    &*self.counters,
                    event::OutputLost {
                        path: &path,
                        unwritten,
                    },
                );
            }
            match output.close() {
                Ok(errors) => {
                    let output = path.display().to_string();
                    for e in errors {
                        self.diag.emit(
                            &(),
                            event::BackgroundFailed {
                                output: &output,
                                error: &e,
                            },
                        );
                    }
                }
                Err(error) => {
                    output_counters.write_errors.fetch_add(1, Relaxed);
                    self.diag.emit(
                        &*self.counters,
                        event::CloseFailed {
                            path: &path,
                            error: &error,
                        },
                    );
                }
            }
        }
    }
}
