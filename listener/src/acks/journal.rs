//! The acknowledgement journal: after each group of writes, one line
//! saying how far every output file reached and which producers' records
//! are in it. Acknowledgements go out only after that line is written, so
//! at start-up the journal tells a restarted listener exactly what it
//! acknowledged; whatever an output holds beyond its journaled length was
//! never acknowledged and is cut (the producers still hold those records
//! and send them again), so a `kill -9` gives neither loss nor duplicates.
//!
//! One JSON object per line; a torn last line (a crash while appending) is
//! ignored, which is safe for the same reason. The file is rewritten as a
//! snapshot when it grows past [`COMPACT_AT`].

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Journal size that triggers a rewrite as one snapshot line.
const COMPACT_AT: u64 = 4 << 20;

/// Producers remembered at most; the longest silent ones are forgotten
/// first (a forgotten producer's resend after a crash may duplicate).
const MAX_PRODUCERS: usize = 100_000;

/// Where an output file stood when a journal line was written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OutputPos {
    pub(crate) path: PathBuf,
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) len: u64,
}

impl OutputPos {
    /// The file at `path` now (after a flush, so its length is what was written).
    pub(crate) fn of(path: &Path) -> io::Result<OutputPos> {
        let m = fs::metadata(path)?;
        Ok(OutputPos {
            path: path.to_owned(),
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
        })
    }
}

#[derive(Serialize, Deserialize)]
struct Line {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    snapshot: bool,
    outputs: Vec<OutputPos>,
    /// `(producer, next unwritten number)`, for producers that advanced
    /// (or all of them, in a snapshot).
    producers: Vec<(String, u64)>,
}

/// What start-up recovery found and did, for the diagnostics.
#[derive(Debug, Default)]
pub(crate) struct Recovery {
    /// One sentence per thing worth telling the operator.
    pub(crate) notes: Vec<String>,
    /// Producers known from the journal, with their next unwritten number.
    pub(crate) producers: Vec<(String, u64)>,
}

/// The journal file and what it says.
pub(crate) struct Journal {
    path: PathBuf,
    file: Option<File>,
    size: u64,
    /// Producer → (next unwritten number, commit that last moved it).
    producers: HashMap<String, (u64, u64)>,
    commits: u64,
    last_outputs: Vec<OutputPos>,
    durable: bool,
    /// Length of the last snapshot: compaction waits until the file has
    /// doubled past it, or a journal of many producers would be rewritten
    /// (and fsynced) at every commit.
    snapshot_len: u64,
}

impl Journal {
    /// Reads the journal at `path` (if there is one) and cuts every output
    /// back to its journaled length. Must run before the outputs are opened.
    pub(crate) fn recover(
        path: &Path,
        outputs: &[PathBuf],
        durable: bool,
    ) -> io::Result<(Journal, Recovery)> {
        let mut journal = Journal {
            path: path.to_owned(),
            file: None,
            size: 0,
            producers: HashMap::new(),
            commits: 0,
            last_outputs: Vec::new(),
            durable,
            snapshot_len: 0,
        };
        let mut recovery = Recovery::default();
        let text = match fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((journal, recovery)),
            Err(e) => return Err(e),
        };
        let mut lines = text.split_inclusive(|&b| b == b'\n').peekable();
        let mut bad = 0usize;
        while let Some(raw) = lines.next() {
            let last = lines.peek().is_none();
            let parsed = raw
                .strip_suffix(b"\n")
                .and_then(|l| serde_json::from_slice::<Line>(l).ok());
            let Some(line) = parsed else {
                if last {
                    recovery.notes.push(format!(
                        "{}: ignored a torn last line (the listener stopped while writing it)",
                        path.display()
                    ));
                } else {
                    bad += 1;
                }
                continue;
            };
            journal.commits += 1;
            if line.snapshot {
                journal.producers.clear();
            }
            for (id, next) in line.producers {
                journal.producers.insert(id, (next, journal.commits));
            }
            journal.last_outputs = line.outputs;
        }
        if bad > 0 {
            recovery.notes.push(format!(
                "{}: {bad} unreadable lines skipped (the file was damaged); producers named only there may see duplicates",
                path.display()
            ));
        }
        for output in outputs {
            if let Some(note) = journal.repair(output)? {
                recovery.notes.push(note);
            }
        }
        recovery.producers = journal
            .producers
            .iter()
            .map(|(id, (next, _))| (id.clone(), *next))
            .collect();
        journal.size = text.len() as u64;
        Ok((journal, recovery))
    }

    /// Cuts `path` back to its journaled length; says what it did.
    fn repair(&self, path: &Path) -> io::Result<Option<String>> {
        let Some(pos) = self.last_outputs.iter().find(|p| p.path == path) else {
            return Ok(None);
        };
        let now = match OutputPos::of(path) {
            Ok(now) => now,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Some(format!(
                    "{}: missing since the last journal entry; starting a new file",
                    path.display()
                )));
            }
            Err(e) => return Err(e),
        };
        if (now.dev, now.ino) != (pos.dev, pos.ino) {
            return Ok(Some(format!(
                "{}: replaced since the last journal entry (moved or rotated outside the listener); left as it is",
                path.display()
            )));
        }
        if now.len > pos.len {
            OpenOptions::new()
                .write(true)
                .open(path)?
                .set_len(pos.len)?;
            return Ok(Some(format!(
                "{}: cut {} bytes written after the last journal entry (never acknowledged: acknowledged producers send those records again)",
                path.display(),
                now.len - pos.len
            )));
        }
        if now.len < pos.len {
            return Ok(Some(format!(
                "{}: {} bytes shorter than journaled (truncated by someone else, or lost in a system crash: use --durable to fsync before acknowledging)",
                path.display(),
                pos.len - now.len
            )));
        }
        Ok(None)
    }

    /// Whether there is anything to keep a journal for: some producer
    /// asked for acknowledgements, now or before (the journal has a line).
    pub(crate) fn active(&self) -> bool {
        !self.producers.is_empty() || self.commits > 0
    }

    /// Records where `outputs` end before the first acknowledged record is
    /// written to them, unless the journal has a line already. Without it,
    /// a listener killed before its first commit would restart with no
    /// journal, keep records that were written but never acknowledged, and
    /// write them again when their producers resend them.
    pub(crate) fn begin(&mut self, outputs: Vec<OutputPos>) -> io::Result<()> {
        if self.active() {
            return Ok(());
        }
        let line = Line {
            snapshot: false,
            outputs,
            producers: Vec::new(),
        };
        // Only a line on disk counts: after a failed write the journal is
        // still unused, and the first commit starts it.
        self.append(&line)?;
        self.commits += 1;
        self.last_outputs = line.outputs;
        Ok(())
    }

    /// Records that `outputs` now hold everything written so far and that
    /// each producer in `advanced` is written below its number. Returns
    /// once the line is written (and fsynced, when durable).
    pub(crate) fn commit(
        &mut self,
        outputs: Vec<OutputPos>,
        advanced: &[(String, u64)],
    ) -> io::Result<()> {
        if advanced.is_empty() && (!self.active() || outputs == self.last_outputs) {
            return Ok(());
        }
        self.commits += 1;
        for (id, next) in advanced {
            let entry = self.producers.entry(id.clone()).or_insert((0, 0));
            entry.0 = entry.0.max(*next);
            entry.1 = self.commits;
        }
        self.last_outputs = outputs;
        if self.size >= COMPACT_AT.max(2 * self.snapshot_len) {
            return self.snapshot();
        }
        let line = Line {
            snapshot: false,
            outputs: self.last_outputs.clone(),
            producers: advanced.to_vec(),
        };
        self.append(&line)
    }

    fn append(&mut self, line: &Line) -> io::Result<()> {
        let mut bytes = serde_json::to_vec(line).map_err(io::Error::other)?;
        bytes.push(b'\n');
        if self.file.is_none() {
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::create_dir_all(dir)?;
            }
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            self.size = file.metadata()?.len();
            self.file = Some(file);
        }
        let Some(file) = self.file.as_mut() else {
            return Err(io::Error::other("journal not open"));
        };
        file.write_all(&bytes)?;
        if self.durable {
            file.sync_data()?;
        }
        self.size += bytes.len() as u64;
        Ok(())
    }

    /// Rewrites the journal as one line holding everything it knows.
    fn snapshot(&mut self) -> io::Result<()> {
        if self.producers.len() > MAX_PRODUCERS {
            let mut ages: Vec<u64> = self.producers.values().map(|(_, c)| *c).collect();
            ages.sort_unstable();
            let cutoff = ages[self.producers.len() - MAX_PRODUCERS];
            self.producers.retain(|_, (_, c)| *c >= cutoff);
        }
        let line = Line {
            snapshot: true,
            outputs: self.last_outputs.clone(),
            producers: self
                .producers
                .iter()
                .map(|(id, (next, _))| (id.clone(), *next))
                .collect(),
        };
        let mut bytes = serde_json::to_vec(&line).map_err(io::Error::other)?;
        bytes.push(b'\n');
        let tmp = self.path.with_extension("tmp");
        {
            let mut f = File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // The rename is durable once the directory is.
            File::open(dir)?.sync_all()?;
        }
        self.file = Some(OpenOptions::new().append(true).open(&self.path)?);
        self.size = bytes.len() as u64;
        self.snapshot_len = self.size;
        Ok(())
    }

    /// Whether commits fsync outputs and journal (`--durable`).
    pub(crate) fn durable(&self) -> bool {
        self.durable
    }

    /// The journal's path, for messages.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// The journal's default place: a hidden file beside the first output.
pub(crate) fn default_path(first_output: &Path) -> PathBuf {
    let name = first_output
        .file_name()
        .map_or_else(|| "tributary".into(), |n| n.to_string_lossy().into_owned());
    first_output.with_file_name(format!(".{name}.acks"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, bytes: &[u8]) {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(bytes).unwrap();
    }

    #[test]
    fn a_restart_cuts_what_was_never_journaled_and_remembers_producers() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("app.log");
        let jpath = default_path(&out);
        assert_eq!(jpath.file_name().unwrap(), ".app.log.acks");
        let (mut j, rec) = Journal::recover(&jpath, std::slice::from_ref(&out), false).unwrap();
        assert!(rec.notes.is_empty() && rec.producers.is_empty() && !j.active());
        write(&out, b"one\ntwo\n");
        j.commit(vec![OutputPos::of(&out).unwrap()], &[("p".into(), 2)])
            .unwrap();
        write(&out, b"three\n");
        j.commit(
            vec![OutputPos::of(&out).unwrap()],
            &[("p".into(), 3), ("q".into(), 9)],
        )
        .unwrap();
        // Written but the listener died before journaling: never acknowledged.
        write(&out, b"four\nfi");
        drop(j);
        let (j, rec) = Journal::recover(&jpath, std::slice::from_ref(&out), false).unwrap();
        assert_eq!(fs::read(&out).unwrap(), b"one\ntwo\nthree\n");
        assert_eq!(rec.notes.len(), 1, "{:?}", rec.notes);
        assert!(rec.notes[0].contains("cut 7 bytes"), "{:?}", rec.notes);
        let mut producers = rec.producers;
        producers.sort();
        assert_eq!(producers, [("p".to_owned(), 3), ("q".to_owned(), 9)]);
        assert!(j.active());
    }

    #[test]
    fn a_restart_before_the_first_commit_cuts_back_to_where_acknowledged_writes_began() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("app.log");
        let jpath = default_path(&out);
        let (mut j, _) = Journal::recover(&jpath, std::slice::from_ref(&out), false).unwrap();
        write(&out, b"from a producer without acknowledgements\n");
        j.begin(vec![OutputPos::of(&out).unwrap()]).unwrap();
        assert!(j.active());
        // A second call changes nothing: the journal has a line.
        j.begin(vec![OutputPos::of(&out).unwrap()]).unwrap();
        write(&out, b"acknowledged, never committed\n");
        drop(j);
        let (j, rec) = Journal::recover(&jpath, std::slice::from_ref(&out), false).unwrap();
        assert_eq!(
            fs::read(&out).unwrap(),
            b"from a producer without acknowledgements\n"
        );
        assert!(rec.notes[0].contains("cut 30 bytes"), "{:?}", rec.notes);
        assert!(rec.producers.is_empty());
        assert!(j.active(), "the journal goes on after a restart");
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_said() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("app.log");
        let jpath = dir.path().join("j");
        let (mut j, _) = Journal::recover(&jpath, std::slice::from_ref(&out), false).unwrap();
        write(&out, b"a\n");
        j.commit(vec![OutputPos::of(&out).unwrap()], &[("p".into(), 1)])
            .unwrap();
        write(&out, b"b\n");
        write(&jpath, b"{\"outputs\":[{\"path\"");
        let (_, rec) = Journal::recover(&jpath, std::slice::from_ref(&out), false).unwrap();
        assert_eq!(fs::read(&out).unwrap(), b"a\n");
        assert!(
            rec.notes.iter().any(|n| n.contains("torn")),
            "{:?}",
            rec.notes
        );
        assert_eq!(rec.producers, [("p".to_owned(), 1)]);
    }

    #[test]
    fn a_replaced_file_is_left_alone_and_compaction_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("app.log");
        let jpath = dir.path().join("j");
        let (mut j, _) = Journal::recover(&jpath, std::slice::from_ref(&out), true).unwrap();
        write(&out, b"a\n");
        for i in 0..3u64 {
            j.commit(
                vec![OutputPos::of(&out).unwrap()],
                &[(format!("p{i}"), i + 1)],
            )
            .unwrap();
        }
        j.size = COMPACT_AT;
        j.commit(vec![OutputPos::of(&out).unwrap()], &[("p0".into(), 5)])
            .unwrap();
        let lines = fs::read_to_string(&jpath).unwrap();
        assert_eq!(
            lines.lines().count(),
            1,
            "rewritten as one snapshot: {lines}"
        );
        // A snapshot as large as the threshold is not rewritten at every
        // commit: the file must double first.
        (j.size, j.snapshot_len) = (COMPACT_AT + 1, COMPACT_AT);
        j.commit(vec![OutputPos::of(&out).unwrap()], &[("p1".into(), 2)])
            .unwrap();
        let lines = fs::read_to_string(&jpath).unwrap();
        assert_eq!(lines.lines().count(), 2, "appended, not compacted: {lines}");
        fs::rename(&out, dir.path().join("app.log.1")).unwrap();
        write(&out, b"new\n");
        let (_, rec) = Journal::recover(&jpath, std::slice::from_ref(&out), false).unwrap();
        assert_eq!(fs::read(&out).unwrap(), b"new\n");
        assert!(
            rec.notes.iter().any(|n| n.contains("replaced")),
            "{:?}",
            rec.notes
        );
        let mut producers = rec.producers;
        producers.sort();
        assert_eq!(
            producers,
            [
                ("p0".to_owned(), 5),
                ("p1".to_owned(), 2),
                ("p2".to_owned(), 3)
            ]
        );
    }
}
