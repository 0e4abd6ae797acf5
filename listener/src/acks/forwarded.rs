//! `forward-acknowledge = "forwarded"`: producers' acknowledgements wait
//! until JetStream has the records, not only the local file.
//!
//! The writer's commit does not raise the producers' written numbers
//! itself: it hands their marks to the [`ForwardGate`] with the place in
//! the first output (the forwarded one) where the commit left it. The
//! forwarder reports each position JetStream acknowledged (its cursor's),
//! and the gate releases, in commit order, every mark whose place lies at
//! or before it, through the same `written_through` a local commit uses:
//! one acknowledgement mechanism, gated.
//!
//! Places are compared through the files' order: the writer and the
//! forwarder walk the same chain of files (the output and, after each
//! rotation, the next one). A held place in file F is behind the
//! forwarder's position in file G ≠ F when the forwarder has been in F
//! before (it only moves forward), or when a later held place is in G (F
//! came before G in the writer's order); a file the forwarder skipped as
//! gone is passed the same way.

#![cfg_attr(not(feature = "nats"), allow(dead_code))] // only forwarding opens a gate

use super::AckMark;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Held commits past which the oldest are merged into fewer: memory stays
/// bounded however long NATS is away, and producers, whose buffers are
/// bounded, stop sending long before.
const MAX_HELD: usize = 4096;

/// Files the forwarder remembers having been in.
const MAX_PASSED: usize = 64;

/// A file of the output by identity (device, inode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileKey {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
}

/// A place in the output: a file and an offset (a length) in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Place {
    pub(crate) file: FileKey,
    pub(crate) offset: u64,
}

/// One commit's marks, released once the forwarder passes `until`.
struct Held {
    until: Place,
    marks: Vec<AckMark>,
}

#[derive(Default)]
struct State {
    held: VecDeque<Held>,
    /// The forwarder's last acknowledged position.
    forwarded: Option<Place>,
    /// The files the forwarder's positions were in, most recent last.
    passed: VecDeque<FileKey>,
}

/// Holds producers' acknowledgements until forwarding has passed their
/// records; shared by the writer's commit and the forwarder.
#[derive(Default)]
pub(crate) struct ForwardGate {
    state: Mutex<State>,
}

impl ForwardGate {
    /// A gate with nothing held.
    pub(crate) fn new() -> Arc<ForwardGate> {
        Arc::new(ForwardGate::default())
    }

    /// A commit left the first output at `until`: its `marks` are
    /// acknowledged once JetStream has the output up to there.
    pub(crate) fn hold(&self, until: Place, marks: Vec<AckMark>) {
        if marks.is_empty() {
            return;
        }
        let released = {
            let mut state = self.lock();
            if state.held.len() >= MAX_HELD
                && let Some(last) = state.held.back_mut()
                && last.until.file == until.file
            {
                // Later marks of a producer cover its earlier ones.
                last.until = until;
                for mark in marks {
                    match last
                        .marks
                        .iter_mut()
                        .find(|m| Arc::ptr_eq(&m.producer, &mark.producer))
                    {
                        Some(m) => m.next = m.next.max(mark.next),
                        None => last.marks.push(mark),
                    }
                }
            } else {
                state.held.push_back(Held { until, marks });
            }
            state.release()
        };
        acknowledge(released);
    }

    /// JetStream acknowledged the output up to `at`.
    pub(crate) fn forwarded(&self, at: Place) {
        let released = {
            let mut state = self.lock();
            if state.passed.back() != Some(&at.file) {
                if state.passed.len() == MAX_PASSED {
                    state.passed.pop_front();
                }
                state.passed.push_back(at.file);
            }
            state.forwarded = Some(at);
            state.release()
        };
        acknowledge(released);
    }

    /// Commits whose acknowledgements wait for forwarding.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.lock().held.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl State {
    /// Takes the held marks the forwarded position has passed, oldest
    /// first.
    fn release(&mut self) -> Vec<AckMark> {
        let Some(at) = self.forwarded else {
            return Vec::new();
        };
        let mut released = Vec::new();
        // Releasing commits of other files leaves this unchanged: asked
        // once, not for each commit released.
        let cursor_file_held = self.held.iter().any(|h| h.until.file == at.file);
        while let Some(front) = self.held.front() {
            let passed = if front.until.file == at.file {
                front.until.offset <= at.offset
            } else {
                self.passed.contains(&front.until.file) || cursor_file_held
            };
            if !passed {
                break;
            }
            if let Some(h) = self.held.pop_front() {
                released.extend(h.marks);
            }
        }
        released
    }
}

/// Raises the producers' written numbers, outside the gate's lock (it
/// wakes their connections).
fn acknowledge(marks: Vec<AckMark>) {
    for mark in marks {
        mark.producer.written_through(mark.next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acks::Producers;
    use std::sync::atomic::Ordering::Acquire;

    fn place(ino: u64, offset: u64) -> Place {
        Place {
            file: FileKey { dev: 1, ino },
            offset,
        }
    }

    #[test]
    fn marks_wait_for_the_forwarder_to_pass_their_place() {
        let producers = Producers::default();
        let (p, _, _) = producers.hello("p", "e", 0);
        let mark = |next| AckMark {
            producer: p.clone(),
            next,
        };
        let gate = ForwardGate::new();
        gate.hold(place(10, 100), vec![mark(5)]);
        gate.hold(place(10, 250), vec![mark(9)]);
        assert_eq!(p.written.load(Acquire), 0, "nothing forwarded yet");
        gate.forwarded(place(10, 99));
        assert_eq!(p.written.load(Acquire), 0, "one byte short");
        gate.forwarded(place(10, 100));
        assert_eq!(p.written.load(Acquire), 5);
        // The output rotates: file 11 follows file 10.
        gate.hold(place(11, 40), vec![mark(12)]);
        gate.forwarded(place(10, 249));
        assert_eq!(p.written.load(Acquire), 5);
        gate.forwarded(place(11, 10));
        assert_eq!(
            p.written.load(Acquire),
            9,
            "the forwarder in the next file passed the rest of file 10"
        );
        gate.forwarded(place(11, 40));
        assert_eq!(p.written.load(Acquire), 12);
        assert_eq!(gate.held(), 0);
    }

    /// The forwarder may be ahead of the commit that names its file (a
    /// rotated file is forwarded to its end at once): a later hold is
    /// released at once.
    #[test]
    fn a_forwarder_ahead_of_the_commit_releases_it_at_once() {
        let producers = Producers::default();
        let (p, _, _) = producers.hello("p", "e", 0);
        let gate = ForwardGate::new();
        gate.forwarded(place(10, 500));
        gate.forwarded(place(11, 20));
        gate.hold(
            place(10, 500),
            vec![AckMark {
                producer: p.clone(),
                next: 3,
            }],
        );
        assert_eq!(p.written.load(Acquire), 3);
        gate.hold(
            place(11, 30),
            vec![AckMark {
                producer: p.clone(),
                next: 4,
            }],
        );
        assert_eq!(p.written.load(Acquire), 3, "file 11 only up to 20");
    }

    #[test]
    fn held_commits_stay_bounded() {
        let producers = Producers::default();
        let (p, _, _) = producers.hello("p", "e", 0);
        let gate = ForwardGate::new();
        for n in 1..=3 * MAX_HELD as u64 {
            gate.hold(
                place(10, n * 10),
                vec![AckMark {
                    producer: p.clone(),
                    next: n,
                }],
            );
        }
        assert_eq!(gate.held(), MAX_HELD);
        gate.forwarded(place(10, 3 * MAX_HELD as u64 * 10));
        assert_eq!(p.written.load(Acquire), 3 * MAX_HELD as u64);
    }
}
