//! The journal and its recovery against a reference model: whatever
//! sequence of writes, commits (some failing part-way, as on a full disk),
//! compactions, restarts and crashes that leave a torn line, a restart
//! keeps exactly what was acknowledged and remembers exactly the producers'
//! acknowledged numbers.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
enum Op {
    /// `records` lines of producer `producer` written to the output.
    Write { producer: u8, records: u8 },
    /// A commit; when `fail_after` is set, its append writes that many
    /// bytes of the line and fails.
    Commit { fail_after: Option<usize> },
    /// The next commit rewrites the journal as a snapshot.
    Compact,
    /// The listener stops (or is killed between two commits) and starts.
    Restart,
    /// The listener is killed while appending a commit line: `torn` (taken
    /// modulo the line's length + 1) of its bytes are on disk.
    CrashTorn { torn: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..3, 1u8..5).prop_map(|(producer, records)| Op::Write { producer, records }),
        4 => proptest::option::weighted(0.3, 0usize..400)
            .prop_map(|fail_after| Op::Commit { fail_after }),
        1 => Just(Op::Compact),
        1 => Just(Op::Restart),
        2 => (0usize..400).prop_map(|torn| Op::CrashTorn { torn }),
    ]
}

/// What the listener promised, and what its files must say.
#[derive(Default)]
struct Reference {
    /// Every byte written to the output.
    output: Vec<u8>,
    /// Output length at the last acknowledged commit, once there is one.
    acked_len: Option<usize>,
    /// Each producer's acknowledged next number.
    acked: BTreeMap<String, u64>,
    /// Written since the last commit: each producer's next number.
    pending: BTreeMap<String, u64>,
    /// Each producer's next number to write (after a restart: its
    /// acknowledged one, as a producer resends what was not acknowledged).
    next: BTreeMap<String, u64>,
}

impl Reference {
    fn committed(&mut self) {
        self.acked_len = Some(self.output.len());
        for (id, next) in std::mem::take(&mut self.pending) {
            let acked = self.acked.entry(id).or_insert(0);
            *acked = (*acked).max(next);
        }
    }

    fn advanced(&self) -> Vec<(Numbering, u64)> {
        self.pending
            .iter()
            .map(|(id, next)| (numbering(id), *next))
            .collect()
    }
}

/// Producer p0 has no epoch (an older producer), the others have one.
fn numbering(id: &str) -> Numbering {
    let epoch = if id == "p0" { "" } else { "e-1" };
    (id.to_owned(), epoch.to_owned())
}

struct Run {
    _dir: tempfile::TempDir,
    out: PathBuf,
    jpath: PathBuf,
    journal: Journal,
    model: Reference,
    compact_next: bool,
}

impl Run {
    fn new() -> Run {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.log");
        let jpath = default_path(&out);
        // The listener opens (creates) its outputs before the first commit.
        File::create(&out).unwrap();
        let (journal, _) = Journal::recover(&jpath, std::slice::from_ref(&out), false).unwrap();
        Run {
            _dir: dir,
            out,
            jpath,
            journal,
            model: Reference::default(),
            compact_next: false,
        }
    }

    fn positions(&self) -> Vec<OutputPos> {
        vec![OutputPos::of(&self.out).unwrap()]
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match *op {
            Op::Write { producer, records } => {
                let id = format!("p{producer}");
                let next = self.model.next.entry(id.clone()).or_insert(0);
                let mut bytes = Vec::new();
                for _ in 0..records {
                    bytes.extend_from_slice(format!("{id} {next}\n").as_bytes());
                    *next += 1;
                }
                let mut f = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.out)
                    .unwrap();
                f.write_all(&bytes).unwrap();
                self.model.output.extend_from_slice(&bytes);
                self.model.pending.insert(id, *next);
            }
            Op::Commit { fail_after } => {
                if self.model.pending.is_empty() && self.model.acked_len.is_none() {
                    // Nothing acknowledged, nothing journaled yet.
                    return Ok(());
                }
                if std::mem::take(&mut self.compact_next) {
                    self.journal.size = COMPACT_AT;
                } else {
                    self.journal.fail_after = fail_after;
                }
                let before = fs::read(&self.jpath).unwrap_or_default();
                let result = self
                    .journal
                    .commit(self.positions(), &self.model.advanced());
                match result {
                    Ok(()) => self.model.committed(),
                    Err(_) => prop_assert_eq!(
                        fs::read(&self.jpath).unwrap_or_default(),
                        before,
                        "a failed append leaves the journal as it was"
                    ),
                }
            }
            Op::Compact => self.compact_next = true,
            Op::Restart => self.restart()?,
            Op::CrashTorn { torn } => {
                let line = Line {
                    snapshot: false,
                    outputs: self.positions(),
                    producers: self.model.advanced().iter().map(Entry::new).collect(),
                };
                let mut bytes = serde_json::to_vec(&line).unwrap();
                bytes.push(b'\n');
                let torn = torn % (bytes.len() + 1);
                let mut f = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.jpath)
                    .unwrap();
                f.write_all(&bytes[..torn]).unwrap();
                if torn == bytes.len() {
                    // The whole line reached the file: the commit counts
                    // (its acknowledgements may not have been sent, which
                    // the producers' resends make up for).
                    self.model.committed();
                }
                self.restart()?;
            }
        }
        Ok(())
    }

    /// Drops the journal as a killed listener would and recovers; checks
    /// the output and the producers against the model.
    fn restart(&mut self) -> Result<(), TestCaseError> {
        let (journal, recovery) =
            Journal::recover(&self.jpath, std::slice::from_ref(&self.out), false).unwrap();
        self.journal = journal;
        self.compact_next = false;
        if let Some(len) = self.model.acked_len {
            self.model.output.truncate(len);
        }
        let on_disk = fs::read(&self.out).unwrap_or_default();
        prop_assert_eq!(
            String::from_utf8_lossy(&on_disk),
            String::from_utf8_lossy(&self.model.output),
            "the output after recovery: {:?}",
            recovery.notes
        );
        let mut producers = recovery.producers;
        producers.sort();
        let expected: Vec<(Numbering, u64)> = self
            .model
            .acked
            .iter()
            .map(|(id, n)| (numbering(id), *n))
            .collect();
        prop_assert_eq!(producers, expected, "{:?}", recovery.notes);
        // The producers resend what was not acknowledged.
        self.model.pending.clear();
        self.model.next = self.model.acked.clone();
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn recovery_keeps_exactly_what_was_acknowledged(ops in proptest::collection::vec(op(), 1..40)) {
        let mut run = Run::new();
        for op in &ops {
            run.apply(op)?;
        }
        run.restart()?;
        // And once more: what recovery left must itself recover the same.
        run.restart()?;
    }
}

/// Every prefix of a commit line, from nothing to all of it, left by a
/// crash: the restart keeps the previous commit (or this one, when whole),
/// and a commit after it is read by the restart after that.
#[test]
fn every_torn_prefix_of_the_last_line_recovers() {
    let probe = {
        let mut run = Run::new();
        run.apply(&Op::Write {
            producer: 0,
            records: 2,
        })
        .unwrap();
        let line = Line {
            snapshot: false,
            outputs: run.positions(),
            producers: run.model.advanced().iter().map(Entry::new).collect(),
        };
        serde_json::to_vec(&line).unwrap().len() + 1
    };
    for torn in 0..=probe {
        let mut run = Run::new();
        let ops = [
            Op::Write {
                producer: 0,
                records: 1,
            },
            Op::Commit { fail_after: None },
            Op::Write {
                producer: 0,
                records: 1,
            },
            Op::CrashTorn { torn },
            Op::Write {
                producer: 1,
                records: 2,
            },
            Op::Commit { fail_after: None },
            Op::Restart,
        ];
        for op in &ops {
            if let Err(e) = run.apply(op) {
                panic!("torn at {torn} of {probe} bytes, {op:?}: {e}");
            }
        }
    }
}
