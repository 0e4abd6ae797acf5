//! The writer stopped at each step of a commit, as `kill -9` would stop
//! it: after the batch is written (still in the output's buffer), after
//! the flush, after the fsync, after the journal line, after the
//! acknowledgement. Each time the restarted listener recovers, the
//! producer resends what it was not told is written, and every record is
//! in the file exactly once, acknowledged ones included. And the same
//! across an external rename of the output (logrotate before its SIGHUP).

use super::Commits;
use crate::acks::{AckMark, Journal, Producers, default_journal_path};
use crate::diag::Diag;
use crate::pipeline::batch::Lines;
use crate::pipeline::{Output, open_outputs};
use crate::settings::{DiagnosticsMode, OutputSpec};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering::Acquire;

/// Where [`Commits::commit`] stops when told to (the steps before it are
/// the writer's own: write, flush).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Outputs flushed and (durable) fsynced, positions taken.
    Synced,
    /// The journal line is written; no acknowledgement yet.
    Journaled,
}

/// Where the writer is killed.
#[derive(Clone, Copy, Debug)]
enum Kill {
    AfterWrite,
    AfterFlush,
    In(Step),
    AfterAck,
}

const PRODUCER: &str = "p";
const EPOCH: &str = "e";

/// One incarnation of the listener's writing side.
struct Writer {
    outputs: Vec<Output>,
    commits: Commits,
    producers: Producers,
}

impl Writer {
    fn start(dir: &Path, durable: bool) -> Writer {
        let out = dir.join("out.log");
        let (journal, recovery) = Journal::recover(
            &default_journal_path(&out),
            std::slice::from_ref(&out),
            durable,
        )
        .unwrap();
        let producers = Producers::recovered(recovery.producers);
        let outputs = open_outputs(
            &[OutputSpec::file(&out)],
            &Arc::new(Diag::new(DiagnosticsMode::Stderr)),
            &mut Default::default(),
        )
        .unwrap();
        Writer {
            outputs,
            commits: Commits::new(journal),
            producers,
        }
    }

    /// Says hello with `held` (the oldest record the producer holds) and
    /// writes records from the welcome's number to `to`, stopping at
    /// `kill`. Returns what the producer was told is written.
    fn send(&mut self, held: u64, to: u64, kill: Option<Kill>) -> u64 {
        let (producer, _, start) = self.producers.hello(PRODUCER, EPOCH, held);
        let mut lines = Lines::default();
        for n in start..to {
            assert!(producer.accept(n));
            lines.push_with(16, |out| out.extend_from_slice(format!("{n}").as_bytes()));
        }
        if self.commits.needs_begin() {
            self.outputs[0].flush().unwrap();
            self.commits.begin(&mut self.outputs).unwrap();
        }
        self.outputs[0].write_whole(&lines).unwrap();
        self.commits.written(
            Some(AckMark {
                producer: producer.clone(),
                next: to,
            }),
            lines.len() as u64,
        );
        let told = |p: &crate::acks::Producer| p.written.load(Acquire);
        if matches!(kill, Some(Kill::AfterWrite)) {
            return told(&producer);
        }
        self.outputs[0].flush().unwrap();
        if matches!(kill, Some(Kill::AfterFlush)) {
            return told(&producer);
        }
        if let Some(Kill::In(step)) = kill {
            self.commits.crash_after = Some(step);
            assert!(self.commits.commit(&mut self.outputs).is_err());
            return told(&producer);
        }
        self.commits.commit(&mut self.outputs).unwrap();
        told(&producer)
    }

    /// `kill -9`: nothing more reaches the files, not even what is
    /// buffered.
    fn kill(self) {
        std::mem::forget(self);
    }
}

#[test]
fn a_kill_at_any_step_of_a_commit_keeps_what_was_acknowledged_once() {
    let kills = [
        Kill::AfterWrite,
        Kill::AfterFlush,
        Kill::In(Step::Synced),
        Kill::In(Step::Journaled),
        Kill::AfterAck,
    ];
    for durable in [false, true] {
        for kill in kills {
            let dir = tempfile::tempdir().unwrap();
            let mut writer = Writer::start(dir.path(), durable);
            let told = writer.send(0, 10, None);
            assert_eq!(told, 10);
            let told = writer.send(told, 25, Some(kill));
            writer.kill();
            // The producer still holds everything from `told` on.
            let mut writer = Writer::start(dir.path(), durable);
            let told_after = writer.send(told, 40, None);
            assert_eq!(told_after, 40, "{kill:?}");
            drop(writer);
            let text = std::fs::read_to_string(dir.path().join("out.log")).unwrap();
            let numbers: Vec<u64> = text.lines().map(|l| l.parse().unwrap()).collect();
            assert_eq!(
                numbers,
                (0..40).collect::<Vec<_>>(),
                "killed {kill:?} (durable: {durable}; told {told}): each record once, in order"
            );
        }
    }
}

/// logrotate renames the output (and creates a new one) between a write
/// and the commit that follows it: the commit journals the file the
/// records are in (the open descriptor's), not whatever the path names by
/// then, so the journal's length is never a length of another file.
#[test]
fn a_commit_after_an_external_rename_journals_the_open_file() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.log");
    let mut writer = Writer::start(dir.path(), false);
    assert_eq!(writer.send(0, 10, None), 10);
    let (producer, _, start) = writer.producers.hello(PRODUCER, EPOCH, 10);
    let mut lines = Lines::default();
    for n in start..20 {
        assert!(producer.accept(n));
        lines.push_with(16, |out| out.extend_from_slice(format!("{n}").as_bytes()));
    }
    writer.outputs[0].write_whole(&lines).unwrap();
    writer.commits.written(
        Some(AckMark {
            producer: producer.clone(),
            next: 20,
        }),
        lines.len() as u64,
    );
    writer.outputs[0].flush().unwrap();
    let archive = dir.path().join("out.log.1");
    std::fs::rename(&out, &archive).unwrap();
    std::fs::File::create(&out).unwrap();
    writer.commits.commit(&mut writer.outputs).unwrap();
    let journal = std::fs::read_to_string(default_journal_path(&out)).unwrap();
    let last: serde_json::Value = serde_json::from_str(journal.lines().last().unwrap()).unwrap();
    let archived = std::fs::metadata(&archive).unwrap();
    assert_eq!(
        (
            last["outputs"][0]["ino"].as_u64(),
            last["outputs"][0]["len"].as_u64()
        ),
        (Some(archived.ino()), Some(archived.len())),
        "the journal names the file the records are in: {journal}"
    );
}
