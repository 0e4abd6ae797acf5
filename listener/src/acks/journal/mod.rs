//! The acknowledgement journal: after each group of writes, one line
//! saying how far every output file reached and which producers' records
//! are in it. Acknowledgements go out only after that line is written, so
//! at start-up the journal tells a restarted listener exactly what it
//! acknowledged; whatever an output holds beyond its journaled length was
//! never acknowledged and is cut (the producers still hold those records
//! and send them again), so a `kill -9` gives neither loss nor duplicates.
//!
//! One JSON object per line; a torn last line (a crash while appending) is
//! ignored, which is safe for the same reason, and cut at recovery, as is
//! a line an append failed to finish (a full disk): a fragment left in
//! place would be glued to the next line. The file is rewritten as a
//! snapshot when it grows past [`COMPACT_AT`].

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
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
    /// `[producer, next unwritten number, epoch]` (no epoch: a pair), for
    /// producers that advanced (or all of them, in a snapshot).
    producers: Vec<Entry>,
}

/// A producer numbering: its id and epoch ("" for none).
pub(crate) type Numbering = (String, String);

/// One producer in a journal line; journals written before epochs hold
/// pairs, read as epoch "".
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Entry {
    WithEpoch(String, u64, String),
    Plain(String, u64),
}

impl Entry {
    fn new(((id, epoch), next): &(Numbering, u64)) -> Entry {
        if epoch.is_empty() {
            Entry::Plain(id.clone(), *next)
        } else {
            Entry::WithEpoch(id.clone(), *next, epoch.clone())
        }
    }

    fn into_parts(self) -> (Numbering, u64) {
        match self {
            Entry::WithEpoch(id, next, epoch) => ((id, epoch), next),
            Entry::Plain(id, next) => ((id, String::new()), next),
        }
    }
}

/// What start-up recovery found and did, for the diagnostics.
#[derive(Debug, Default)]
pub(crate) struct Recovery {
    /// One sentence per thing worth telling the operator.
    pub(crate) notes: Vec<String>,
    /// Producers known from the journal, with their next unwritten number.
    pub(crate) producers: Vec<(Numbering, u64)>,
}

/// The journal file and what it says.
pub(crate) struct Journal {
    path: PathBuf,
    file: Option<File>,
    size: u64,
    /// Producer → (next unwritten number, commit that last moved it).
    producers: HashMap<Numbering, (u64, u64)>,
    commits: u64,
    last_outputs: Vec<OutputPos>,
    durable: bool,
    /// Length of the last snapshot: compaction waits until the file has
    /// doubled past it, or a journal of many producers would be rewritten
    /// (and fsynced) at every commit.
    snapshot_len: u64,
    /// Test hook: the next append writes only this many bytes of its line
    /// and then fails, as a write on a full disk does.
    /// The file was opened once: `size` is the end of its last complete
    /// line, which a reopen after a failed cut restores.
    opened: bool,
    #[cfg(test)]
    fail_after: Option<usize>,
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
            opened: false,
            #[cfg(test)]
            fail_after: None,
        };
        let mut recovery = Recovery::default();
        let text = match fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((journal, recovery)),
            Err(e) => return Err(e),
        };
        // Offset just past the last line that parsed: anything after it at
        // the end of the file is a torn or damaged tail, cut below.
        let mut good_end = 0usize;
        let mut offset = 0usize;
        let mut bad = 0usize;
        for raw in text.split_inclusive(|&b| b == b'\n') {
            offset += raw.len();
            let parsed = raw
                .strip_suffix(b"\n")
                .and_then(|l| serde_json::from_slice::<Line>(l).ok());
            let Some(line) = parsed else {
                bad += 1;
                continue;
            };
            // Lines that failed before this one were damage in the middle.
            good_end = offset;
            journal.commits += 1;
            if line.snapshot {
                journal.producers.clear();
            }
            for entry in line.producers {
                let (key, next) = entry.into_parts();
                journal.producers.insert(key, (next, journal.commits));
            }
            journal.last_outputs = line.outputs;
        }
        if good_end < text.len() {
            // The tail never counted (the commit it described acknowledged
            // nothing); left in place, the next append would be glued onto
            // it and lost with it at the following start-up.
            let torn = text.len() - good_end;
            bad -= text[good_end..].split_inclusive(|&b| b == b'\n').count();
            cut_to(path, good_end as u64, durable)?;
            recovery.notes.push(format!(
                "{}: cut {torn} bytes of a torn last line (the listener stopped while writing it; the commit it described acknowledged nothing)",
                path.display()
            ));
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
        journal.size = good_end as u64;
        if let Some(note) = restrict(path)? {
            recovery.notes.push(note);
        }
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
            cut_to(path, pos.len, self.durable)?;
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
        advanced: &[(Numbering, u64)],
    ) -> io::Result<()> {
        if advanced.is_empty() && (!self.active() || outputs == self.last_outputs) {
            return Ok(());
        }
        if self.size >= COMPACT_AT.max(2 * self.snapshot_len) {
            self.commits += 1;
            self.advance(advanced);
            self.last_outputs = outputs;
            return self.snapshot();
        }
        let line = Line {
            snapshot: false,
            outputs,
            producers: advanced.iter().map(Entry::new).collect(),
        };
        // What the journal knows moves only with a line on disk: after a
        // failed append the next commit writes these positions again.
        self.append(&line)?;
        self.commits += 1;
        self.advance(advanced);
        self.last_outputs = line.outputs;
        Ok(())
    }

    /// Raises each producer in `advanced` to its number, as of this commit.
    fn advance(&mut self, advanced: &[(Numbering, u64)]) {
        for (id, next) in advanced {
            let entry = self.producers.entry(id.clone()).or_insert((0, 0));
            entry.0 = entry.0.max(*next);
            entry.1 = self.commits;
        }
    }

    /// Appends one line. On any error the file is cut back to where the
    /// line began, so no fragment is left for the next line to be glued
    /// onto (which would make both unreadable at the next start-up).
    fn append(&mut self, line: &Line) -> io::Result<()> {
        let mut bytes = serde_json::to_vec(line).map_err(io::Error::other)?;
        bytes.push(b'\n');
        let durable = self.durable;
        let size = self.size;
        #[cfg(test)]
        let fail_after = self.fail_after.take();
        let file = self.open()?;
        let written = (|| -> io::Result<()> {
            #[cfg(test)]
            if let Some(n) = fail_after {
                file.write_all(&bytes[..n.min(bytes.len())])?;
                return Err(io::Error::from(io::ErrorKind::StorageFull));
            }
            file.write_all(&bytes)?;
            if durable {
                file.sync_data()?;
            }
            Ok(())
        })();
        if let Err(error) = written {
            if let Err(cut) = file.set_len(size) {
                // Reopened (and cut) before the next append.
                self.file = None;
                return Err(io::Error::new(
                    error.kind(),
                    format!("{error}; cutting the partial line back also failed: {cut}"),
                ));
            }
            return Err(error);
        }
        if durable {
            crate::test_hooks::synced(&self.path);
        }
        self.size += bytes.len() as u64;
        Ok(())
    }

    /// The open journal file, created (0600: it names the producers) when
    /// missing. After a failed cut it is reopened here and cut back to the
    /// end of its last complete line first.
    fn open(&mut self) -> io::Result<&mut File> {
        if self.file.is_none() {
            let dir = self.path.parent().filter(|d| !d.as_os_str().is_empty());
            if let Some(dir) = dir {
                fs::create_dir_all(dir)?;
            }
            let created = !self.path.exists();
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(&self.path)?;
            let len = file.metadata()?.len();
            if self.opened && len > self.size {
                file.set_len(self.size)?;
            } else {
                self.size = len;
            }
            if created && self.durable {
                // The new file's name is durable once its directory is.
                sync_dir(&self.path)?;
            }
            self.opened = true;
            self.file = Some(file);
        }
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("journal not open"))
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
                .map(|(key, (next, _))| Entry::new(&(key.clone(), *next)))
                .collect(),
        };
        let mut bytes = serde_json::to_vec(&line).map_err(io::Error::other)?;
        bytes.push(b'\n');
        let tmp = self.path.with_extension("tmp");
        {
            // A leftover of a crash is removed (a symlink itself, not what
            // it points to), and the new file is created exclusively, never
            // through a symlink: a local user who planted one must not get
            // the listener to write elsewhere.
            match fs::remove_file(&tmp) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, &self.path)?;
        // The rename is durable once the directory is.
        sync_dir(&self.path)?;
        crate::test_hooks::synced(&self.path);
        self.file = Some(OpenOptions::new().append(true).open(&self.path)?);
        self.size = bytes.len() as u64;
        self.snapshot_len = self.size;
        Ok(())
    }

    /// Whether the last journal line has this file (same path and inode):
    /// a file it does not have was created since.
    pub(crate) fn knows(&self, pos: &OutputPos) -> bool {
        self.last_outputs
            .iter()
            .any(|p| p.path == pos.path && (p.dev, p.ino) == (pos.dev, pos.ino))
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

/// Cuts the file at `path` to `len` bytes (fsynced when `durable`, so the
/// cut is not undone by a power cut).
fn cut_to(path: &Path, len: u64, durable: bool) -> io::Result<()> {
    let file = OpenOptions::new().write(true).open(path)?;
    file.set_len(len)?;
    if durable {
        file.sync_all()?;
    }
    Ok(())
}

/// Makes a name created or renamed in `path`'s directory durable.
pub(crate) fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// A journal readable by others (created 0644 by earlier versions) is made
/// 0600: it names every producer.
fn restrict(path: &Path) -> io::Result<Option<String>> {
    let mode = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_file() => m.permissions().mode(),
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if mode & 0o077 == 0 {
        return Ok(None);
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o700))?;
    Ok(Some(format!(
        "{}: was readable by other users (mode {:o}); now 0600, as it names every producer",
        path.display(),
        mode & 0o777
    )))
}

/// The journal's default place: a hidden file beside the first output.
pub(crate) fn default_path(first_output: &Path) -> PathBuf {
    let name = first_output
        .file_name()
        .map_or_else(|| "tributary".into(), |n| n.to_string_lossy().into_owned());
    first_output.with_file_name(format!(".{name}.acks"))
}

#[cfg(test)]
mod model;

#[cfg(test)]
mod tests {
    use super::*;

    /// Producer `id` (no epoch) at `next`.
    fn k(id: &str, next: u64) -> (Numbering, u64) {
        ((id.to_owned(), String::new()), next)
    }

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
        j.commit(vec![OutputPos::of(&out).unwrap()], &[k("p", 2)])
            .unwrap();
        write(&out, b"three\n");
        j.commit(vec![OutputPos::of(&out).unwrap()], &[k("p", 3), k("q", 9)])
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
        assert_eq!(producers, [k("p", 3), k("q", 9)]);
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
        j.commit(vec![OutputPos::of(&out).unwrap()], &[k("p", 1)])
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
        assert_eq!(rec.producers, [k("p", 1)]);
    }

    /// A symlink planted where the snapshot's temp file goes is replaced,
    /// not followed: the file it points to is untouched.
    #[test]
    fn the_snapshot_does_not_follow_a_planted_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("app.log");
        let jpath = dir.path().join("j");
        let victim = dir.path().join("victim");
        fs::write(&victim, b"precious\n").unwrap();
        std::os::unix::fs::symlink(&victim, jpath.with_extension("tmp")).unwrap();
        let (mut j, _) = Journal::recover(&jpath, std::slice::from_ref(&out), false).unwrap();
        write(&out, b"a\n");
        j.commit(vec![OutputPos::of(&out).unwrap()], &[k("p", 1)])
            .unwrap();
        j.size = COMPACT_AT;
        j.commit(vec![OutputPos::of(&out).unwrap()], &[k("p", 2)])
            .unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious\n");
        assert!(
            !fs::symlink_metadata(&jpath)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            fs::metadata(&jpath).unwrap().permissions().mode() & 0o777,
            0o600
        );
        drop(j);
        let (_, rec) = Journal::recover(&jpath, std::slice::from_ref(&out), false).unwrap();
        assert_eq!(rec.producers, [k("p", 2)]);
    }

    /// Without `--durable`, a power cut can leave an output shorter than
    /// journaled: said, and nothing is cut.
    #[test]
    fn a_shorter_output_is_reported_and_not_cut() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("app.log");
        let jpath = dir.path().join("j");
        let (mut j, _) = Journal::recover(&jpath, std::slice::from_ref(&out), false).unwrap();
        write(&out, b"a\nb\n");
        j.commit(vec![OutputPos::of(&out).unwrap()], &[k("p", 2)])
            .unwrap();
        drop(j);
        OpenOptions::new()
            .write(true)
            .open(&out)
            .unwrap()
            .set_len(2)
            .unwrap();
        let (_, rec) = Journal::recover(&jpath, std::slice::from_ref(&out), false).unwrap();
        assert_eq!(fs::read(&out).unwrap(), b"a\n");
        assert!(
            rec.notes.iter().any(|n| n.contains("2 bytes shorter")),
            "{:?}",
            rec.notes
        );
        assert_eq!(rec.producers, [k("p", 2)]);
    }

    /// Epochs are kept; a journal written before them (pairs) reads as
    /// producers without one.
    #[test]
    fn epochs_are_journaled_and_old_lines_read_without_one() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("app.log");
        let jpath = dir.path().join("j");
        write(&out, b"a\nb\n");
        let len = fs::metadata(&out).unwrap().len();
        let meta = fs::metadata(&out).unwrap();
        write(
            &jpath,
            format!(
                "{{\"outputs\":[{{\"path\":{:?},\"dev\":{},\"ino\":{},\"len\":{len}}}],\"producers\":[[\"old\",4]]}}\n",
                out.display().to_string(),
                meta.dev(),
                meta.ino()
            )
            .as_bytes(),
        );
        let (mut j, rec) = Journal::recover(&jpath, std::slice::from_ref(&out), false).unwrap();
        assert_eq!(rec.producers, [k("old", 4)], "{:?}", rec.notes);
        j.commit(
            vec![OutputPos::of(&out).unwrap()],
            &[(("web-1".into(), "9f2c".into()), 7), k("web-1", 2)],
        )
        .unwrap();
        drop(j);
        let (_, rec) = Journal::recover(&jpath, std::slice::from_ref(&out), false).unwrap();
        let mut producers = rec.producers;
        producers.sort();
        assert_eq!(
            producers,
            [
                k("old", 4),
                k("web-1", 2),
                (("web-1".to_owned(), "9f2c".to_owned()), 7)
            ]
        );
        let mode = fs::metadata(&jpath).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode, 0o600,
            "the journal names producers: only its owner reads it"
        );
    }

    /// A torn last line is cut at recovery: the next line starts on a line
    /// of its own, so the restart after that one still reads it.
    #[test]
    fn a_line_appended_after_a_torn_one_is_read_at_the_next_restart() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("app.log");
        let jpath = dir.path().join("j");
        let (mut j, _) = Journal::recover(&jpath, std::slice::from_ref(&out), false).unwrap();
        write(&out, b"a\n");
        j.commit(vec![OutputPos::of(&out).unwrap()], &[k("p", 1)])
            .unwrap();
        drop(j);
        write(&jpath, b"{\"outputs\":[{\"pa");
        let (mut j, torn) = Journal::recover(&jpath, std::slice::from_ref(&out), false).unwrap();
        write(&out, b"b\n");
        j.commit(vec![OutputPos::of(&out).unwrap()], &[k("p", 2)])
            .unwrap();
        drop(j);
        let (_, rec) = Journal::recover(&jpath, std::slice::from_ref(&out), false).unwrap();
        assert_eq!(
            fs::read(&out).unwrap(),
            b"a\nb\n",
            "the acknowledged record b is kept: {:?}",
            rec.notes
        );
        assert_eq!(rec.producers, [k("p", 2)], "{:?}", rec.notes);
        assert!(
            torn.notes
                .iter()
                .any(|n| n.contains("cut") && n.contains("torn")),
            "recovery says it cut the torn line: {:?}",
            torn.notes
        );
    }

    /// An append that fails part-way (a full disk) leaves no fragment for
    /// the next line to be glued onto.
    #[test]
    fn a_failed_append_is_cut_back_and_the_next_one_counts() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("app.log");
        let jpath = dir.path().join("j");
        let (mut j, _) = Journal::recover(&jpath, std::slice::from_ref(&out), false).unwrap();
        write(&out, b"a\n");
        j.commit(vec![OutputPos::of(&out).unwrap()], &[k("p", 1)])
            .unwrap();
        let before = fs::metadata(&jpath).unwrap().len();
        assert_eq!(
            fs::metadata(&jpath).unwrap().permissions().mode() & 0o777,
            0o600,
            "created readable by its owner only: it names every producer"
        );
        write(&out, b"b\n");
        j.fail_after = Some(20);
        assert!(
            j.commit(vec![OutputPos::of(&out).unwrap()], &[k("p", 2)])
                .is_err()
        );
        assert_eq!(
            fs::metadata(&jpath).unwrap().len(),
            before,
            "the partial line is cut back"
        );
        j.commit(vec![OutputPos::of(&out).unwrap()], &[k("p", 2)])
            .unwrap();
        drop(j);
        let (_, rec) = Journal::recover(&jpath, std::slice::from_ref(&out), false).unwrap();
        assert_eq!(fs::read(&out).unwrap(), b"a\nb\n", "{:?}", rec.notes);
        assert_eq!(rec.producers, [k("p", 2)], "{:?}", rec.notes);
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
                &[k(&format!("p{i}"), i + 1)],
            )
            .unwrap();
        }
        j.size = COMPACT_AT;
        j.commit(vec![OutputPos::of(&out).unwrap()], &[k("p0", 5)])
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
        j.commit(vec![OutputPos::of(&out).unwrap()], &[k("p1", 2)])
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
        assert_eq!(producers, [k("p0", 5), k("p1", 2), k("p2", 3)]);
    }
}
