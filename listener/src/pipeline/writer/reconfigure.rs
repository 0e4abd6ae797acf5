//! A reload, on the writer's side: switching to another set of outputs at
//! a batch boundary without losing or repeating a record.
//!
//! Every batch carries the [`Encoder`] that routed and formatted it. A
//! reload puts the new encoder in the queue only after the writer has
//! taken the new outputs ([`Reconfigure`]), so no batch of it can come
//! first; batches of the old encoder may still be on their way (formatted
//! just before the switch, or waiting in the queue). The writer keeps each
//! encoder it may still see as a [`Generation`] — its outputs' slots — and
//! writes every batch to its own generation's outputs. An output the new
//! configuration dropped stays open until no batch of an older generation
//! can arrive (the writer holds the last reference to its encoder), then it
//! is flushed, journaled and closed.

use super::{Health, Writer};
use crate::diag::writer as event;
use crate::pipeline::{Encoder, Output};
use crate::settings::OutputSpec;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// The new outputs of a reload, sent to the writer.
pub(crate) struct Reconfigure {
    /// Routing and formats of the new configuration; its outputs are
    /// `specs`, in order.
    pub(crate) encoder: Arc<Encoder>,
    /// Every output of the new configuration.
    pub(crate) specs: Vec<OutputSpec>,
    /// The outputs the writer has no file for yet, opened (and locked) by
    /// the reload, so a path that cannot be opened refused it.
    pub(crate) opened: Vec<Output>,
    /// The outcome: how long the writer stopped writing for the switch and
    /// the outputs it could not reopen (each goes on in the file it had
    /// open), or why it kept the old outputs.
    pub(crate) reply: tokio::sync::oneshot::Sender<Result<(Duration, Vec<String>), String>>,
}

/// One configuration's outputs as the writer holds them: for each output
/// index of `encoder`, the writer's slot.
pub(crate) struct Generation {
    pub(crate) encoder: Arc<Encoder>,
    pub(crate) slots: Arc<[usize]>,
}

impl Writer {
    /// The writer's slot of each output of `encoder`.
    pub(super) fn slots_of_encoder(&self, encoder: &Arc<Encoder>) -> Arc<[usize]> {
        if Arc::ptr_eq(encoder, &self.current.encoder) {
            return self.current.slots.clone();
        }
        if let Some(g) = self.older.iter().find(|g| Arc::ptr_eq(encoder, &g.encoder)) {
            return g.slots.clone();
        }
        // Not reached: an encoder reaches the queue only after the writer
        // took its outputs (a path mapped here that is not open would have
        // no slot).
        self.slots_by_path(encoder)
    }

    pub(super) fn slots_by_path(&self, encoder: &Encoder) -> Arc<[usize]> {
        encoder
            .paths()
            .iter()
            .map(|p| {
                self.outputs
                    .iter()
                    .position(|o| &o.path == p)
                    .unwrap_or(usize::MAX)
            })
            .collect()
    }

    /// Switches to the outputs of a reload: outputs whose rotation changed
    /// are opened anew, the others reopened (a reload also does what a
    /// SIGHUP for logrotate did), new ones added. All or nothing: if an
    /// output cannot be opened with its new rotation, the old outputs stay
    /// and the reason goes back to the reload.
    pub(super) fn reconfigure(&mut self, msg: Reconfigure) {
        let began = Instant::now();
        let Reconfigure {
            encoder,
            specs,
            opened,
            reply,
        } = msg;
        // What was written to the files open now is journaled before they
        // change, as around a rotation.
        let journaling = self.commits.journaling();
        self.flush();
        if journaling {
            self.commit();
        }
        let mut replaced = Vec::new();
        for spec in &specs {
            let Some(i) = self.outputs.iter().position(|o| o.path == spec.path) else {
                continue;
            };
            if self.outputs[i].rotation == spec.rotation {
                continue;
            }
            match self.outputs[i].reopen_with(&spec.rotation, &self.diag) {
                Ok(new) => replaced.push((i, new)),
                Err(e) => {
                    // The old outputs stay: their locks go back to them.
                    for (i, mut new) in replaced {
                        self.outputs[i].take_lock_from(&mut new);
                    }
                    let _ = reply.send(Err(format!(
                        "cannot open {} with its new rotation: {e}",
                        spec.path.display()
                    )));
                    return;
                }
            }
        }
        let fresh: Vec<usize> = replaced.iter().map(|(i, _)| *i).collect();
        for (i, new) in replaced {
            let old = std::mem::replace(&mut self.outputs[i], new);
            // `new` carries `old`'s rotations on.
            self.close_output(old, Health::Writing);
        }
        let mut reopen_failed = Vec::new();
        for i in (0..self.outputs.len()).filter(|i| !fresh.contains(i)) {
            if let Err(error) = self.outputs[i].reopen() {
                self.outputs[i].counters.write_errors.fetch_add(1, Relaxed);
                reopen_failed.push(format!(
                    "cannot reopen {}: {error}",
                    self.outputs[i].path.display()
                ));
                self.diag.emit(
                    &*self.counters,
                    event::ReopenFailed {
                        path: &self.outputs[i].path,
                        error: &error,
                    },
                );
            }
        }
        for output in opened {
            if self.outputs.iter().any(|o| o.path == output.path) {
                continue; // still open for an older generation
            }
            self.outputs.push(output);
            self.health.push(Health::Writing);
        }
        self.publish_outputs();
        if encoder.records_missing_fields().is_some() {
            self.counters.had_text.store(true, Relaxed);
        }
        let slots = self.slots_by_path(&encoder);
        let old = std::mem::replace(&mut self.current, Generation { encoder, slots });
        self.older.push(old);
        // The new files are on record before anything is written to them.
        if journaling {
            self.flush();
            self.commit();
        }
        self.generations.store(self.older.len(), Relaxed);
        let _ = reply.send(Ok((began.elapsed(), reopen_failed)));
    }

    /// Forgets the older generations no batch can come from any more (the
    /// writer holds the last reference to their encoder) and closes the
    /// outputs only they used.
    pub(super) fn retire(&mut self) {
        if self.older.is_empty() {
            return;
        }
        let before = self.older.len();
        let counters = self.counters.clone();
        self.older.retain(|g| {
            let live = Arc::strong_count(&g.encoder) > 1;
            if !live {
                retire_counts(&counters, &g.encoder);
            }
            live
        });
        if self.older.len() == before {
            return;
        }
        self.generations.store(self.older.len(), Relaxed);
        let used = |i: usize, w: &Writer| {
            w.current.slots.contains(&i) || w.older.iter().any(|g| g.slots.contains(&i))
        };
        if (0..self.outputs.len()).all(|i| used(i, self)) {
            return;
        }
        // Their final lengths are journaled before they are let go.
        let began = Instant::now();
        self.flush();
        self.commit();
        let mut closed = Vec::new();
        for i in (0..self.outputs.len()).rev() {
            if used(i, self) {
                continue;
            }
            let output = self.outputs.remove(i);
            let health = self.health.remove(i);
            self.retired_rotations += output.rotations();
            closed.push(output.path.clone());
            self.close_output(output, health);
        }
        self.publish_outputs();
        self.current.slots = self.slots_by_path(&self.current.encoder);
        let remapped: Vec<Arc<[usize]>> = self
            .older
            .iter()
            .map(|g| self.slots_by_path(&g.encoder))
            .collect();
        for (g, slots) in self.older.iter_mut().zip(remapped) {
            g.slots = slots;
        }
        self.commit();
        closed.reverse();
        self.diag.emit(
            &*self.counters,
            event::RemovedOutputsClosed {
                paths: &closed,
                pause: began.elapsed(),
            },
        );
    }

    /// At exit: the counts of every configuration a reload replaced.
    pub(super) fn retire_all(&mut self) {
        for g in self.older.drain(..) {
            retire_counts(&self.counters, &g.encoder);
        }
    }
}

/// Keeps what a replaced configuration's formatters counted.
fn retire_counts(counters: &crate::stats::WriterCounters, encoder: &Encoder) {
    if let Some(n) = encoder.records_missing_fields() {
        counters.missing_fields_retired.fetch_add(n, Relaxed);
    }
}
