//! Reading the local output as the forwarding buffer: whole lines, only as
//! far as the listener has committed them, following the file through
//! rotations by its identity (device and inode).
//!
//! "Committed": with acknowledged delivery in use, a restarted listener
//! cuts its output back to the length the acknowledgement journal names
//! (docs/protocol.md), so bytes beyond it may vanish and come back in
//! another order; forwarding them would publish records twice. So while
//! the journal has lines, the current file is read only up to the length
//! its last line gives. Without a journal nothing is ever cut, and every
//! complete line is fair game. A rotated file is complete.

use super::cursor::{FileId, Position};
use serde::Deserialize;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Bytes per batch at most; the server's `max_payload` can lower it
/// (see [`Source::next`]). Larger messages cost nats-server less per
/// record (s10: about 1.0 µs a record with 64 KiB, 0.95 with 256 KiB; with
/// huge pages off, 1.04–1.18 µs with 256 KiB against 0.84–1.0 with 960
/// KiB), and the collector too (fewer messages to pull and acknowledge).
/// Not larger: a collector pulls 200 messages at a time (bounding the
/// pull lower made a collector restarted after `kill -9` wait for
/// redeliveries past the tests' patience), so this also bounds what one
/// pull may hold (about 50 MiB).
pub(crate) const BATCH_BYTES: usize = 256 << 10;
/// Records per batch at most (a full 256 KiB batch of ~290-byte records
/// holds ~900).
pub(crate) const BATCH_RECORDS: u64 = 4000;
/// Buffers of published batches kept for the next reads.
const SPARE_BUFFERS: usize = 2;

/// A batch read from the output: whole lines.
pub(crate) struct Chunk {
    pub(crate) start: Position,
    pub(crate) end: u64,
    pub(crate) records: u64,
    /// The lines; empty for an oversize line, which is never read into
    /// memory (it could be as large as the file).
    pub(crate) bytes: Vec<u8>,
    /// One line longer than the batch limit: it cannot be published.
    pub(crate) oversize: bool,
}

/// What reading at a position found.
pub(crate) enum Next {
    /// Lines to publish.
    Lines(Chunk),
    /// Nothing committed beyond the position yet.
    Wait,
    /// The file at the position is complete (rotated) and fully read:
    /// continue at the start of the next one.
    Moved(Position),
    /// The file at the position cannot be found (removed by retention or
    /// compressed): continue here; `skipped` bytes of it are lost to
    /// forwarding, if known.
    Gone {
        next: Position,
        skipped: Option<u64>,
    },
}

/// The output being forwarded.
pub(crate) struct Source {
    path: PathBuf,
    journal: PathBuf,
    open: Option<(FileId, File)>,
    /// The journal's last line as read, keyed by the journal's length and
    /// modification time: polling an idle listener does not re-read it.
    journaled: Option<(JournalStamp, Option<Vec<JournalOutput>>)>,
    /// Buffers of batches JetStream acknowledged, read into again: a new
    /// one per batch is mapped afresh (the binary maps buffers from
    /// 64 KiB up), and faulting its pages in cost more than reading.
    spare: Vec<Vec<u8>>,
}

fn id_of(m: &fs::Metadata) -> FileId {
    FileId {
        dev: m.dev(),
        ino: m.ino(),
    }
}

/// The journal's length and modification time (seconds, nanoseconds):
/// when they are unchanged, so is its last line.
type JournalStamp = (u64, i64, i64);

#[derive(Deserialize)]
struct JournalLine {
    outputs: Vec<JournalOutput>,
}

#[derive(Deserialize)]
struct JournalOutput {
    dev: u64,
    ino: u64,
    len: u64,
}

impl Source {
    /// The output at `path`, whose acknowledgement journal is `journal`.
    pub(crate) fn new(path: &Path, journal: &Path) -> Source {
        Source {
            path: path.to_owned(),
            journal: journal.to_owned(),
            open: None,
            journaled: None,
            spare: Vec::new(),
        }
    }

    /// Takes back the buffer of a batch that was published, for the next
    /// read.
    pub(crate) fn recycle(&mut self, buf: Vec<u8>) {
        if self.spare.len() < SPARE_BUFFERS {
            self.spare.push(buf);
        }
    }

    /// The output file's path, for messages.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The current file at the output's path, from its start.
    pub(crate) fn current_start(&self) -> io::Result<Option<Position>> {
        match fs::metadata(&self.path) {
            Ok(m) => Ok(Some(Position {
                file: id_of(&m),
                offset: 0,
            })),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The file `id`: the output itself, or an archive beside it.
    fn file(&mut self, id: FileId) -> io::Result<Option<&File>> {
        if self.open.as_ref().is_some_and(|(open, _)| *open == id) {
            return Ok(self.open.as_ref().map(|(_, f)| f));
        }
        self.open = None;
        let found = self.candidates()?.into_iter().find(|(_, m)| id_of(m) == id);
        if let Some((path, _)) = found {
            let f = File::open(&path)?;
            // Opened by name: make sure it is still the same file.
            if id_of(&f.metadata()?) == id {
                self.open = Some((id, f));
            }
        }
        Ok(self.open.as_ref().map(|(_, f)| f))
    }

    /// The output and the files beside it whose names start with its name
    /// (its archives), uncompressed, with their metadata.
    fn candidates(&self) -> io::Result<Vec<(PathBuf, fs::Metadata)>> {
        let mut out = Vec::new();
        if let Ok(m) = fs::metadata(&self.path) {
            out.push((self.path.clone(), m));
        }
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        let Some(name) = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
        else {
            return Ok(out);
        };
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let file_name = entry.file_name().to_string_lossy().into_owned();
            if file_name == name
                || !file_name.starts_with(&name)
                || file_name.ends_with(".gz")
                || file_name.ends_with(".tmp")
            {
                continue;
            }
            if let Ok(m) = entry.metadata()
                && m.is_file()
            {
                out.push((entry.path(), m));
            }
        }
        Ok(out)
    }

    /// How far the file `id` may be read: its length if it is no longer
    /// the output (rotated), else what the journal says was committed.
    fn limit(&mut self, id: FileId, len: u64) -> io::Result<u64> {
        let current = match fs::metadata(&self.path) {
            Ok(m) => Some(id_of(&m)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        if current != Some(id) {
            return Ok(len);
        }
        let key = match fs::metadata(&self.journal) {
            Ok(m) => (m.len(), m.mtime(), m.mtime_nsec()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(len),
            Err(e) => return Err(e),
        };
        if self.journaled.as_ref().is_none_or(|(k, _)| *k != key) {
            self.journaled = Some((key, self.read_journal()?));
        }
        match self
            .journaled
            .as_ref()
            .and_then(|(_, outputs)| outputs.as_ref())
        {
            None => Ok(len),
            Some(outputs) => Ok(outputs
                .iter()
                .find(|o| o.dev == id.dev && o.ino == id.ino)
                // The journal names an older file: the commit after the
                // rotation has not happened yet.
                .map_or(0, |o| o.len.min(len))),
        }
    }

    /// The outputs of the journal's last complete line, if it has one.
    fn read_journal(&self) -> io::Result<Option<Vec<JournalOutput>>> {
        let mut f = match File::open(&self.journal) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let len = f.metadata()?.len();
        let mut window = 64u64 << 10;
        loop {
            let from = len.saturating_sub(window);
            f.seek(SeekFrom::Start(from))?;
            let mut tail = Vec::new();
            f.by_ref().take(len - from).read_to_end(&mut tail)?;
            let Some(last_nl) = tail.iter().rposition(|&b| b == b'\n') else {
                if from == 0 {
                    return Ok(None);
                }
                window *= 4;
                continue;
            };
            let body = &tail[..last_nl];
            match body.iter().rposition(|&b| b == b'\n') {
                Some(prev) => {
                    let line = &body[prev + 1..];
                    return Ok(serde_json::from_slice::<JournalLine>(line)
                        .ok()
                        .map(|l| l.outputs));
                }
                None if from == 0 => {
                    return Ok(serde_json::from_slice::<JournalLine>(body)
                        .ok()
                        .map(|l| l.outputs));
                }
                None => window *= 4,
            }
        }
    }

    /// Reads the lines `start..end` of file `id` exactly (a planned batch
    /// published again); `None` if the file is gone.
    pub(crate) fn read_exact(
        &mut self,
        id: FileId,
        start: u64,
        end: u64,
    ) -> io::Result<Option<Vec<u8>>> {
        let Some(f) = self.file(id)? else {
            return Ok(None);
        };
        let mut buf = vec![0u8; usize::try_from(end - start).map_err(io::Error::other)?];
        f.read_exact_at(&mut buf, start)?;
        Ok(Some(buf))
    }

    /// The next batch at `at`: whole lines, at most `max_bytes` of them
    /// (the server's `max_payload` less room for headers) and
    /// [`BATCH_RECORDS`]. A line longer than `max_bytes` is a chunk of its
    /// own, marked oversize and not read.
    pub(crate) fn next(&mut self, at: Position, max_bytes: usize) -> io::Result<Next> {
        let Some(f) = self.file(at.file)? else {
            let next = self.current_start()?;
            return Ok(match next {
                Some(next) if next.file != at.file => Next::Gone {
                    next,
                    skipped: None,
                },
                _ => Next::Wait,
            });
        };
        let len = f.metadata()?.len();
        let f = f.try_clone()?;
        let limit = self.limit(at.file, len)?;
        if at.offset < limit {
            let want = usize::try_from(limit - at.offset)
                .unwrap_or(usize::MAX)
                .min(max_bytes.max(1));
            // Not cleared first: `read_exact_at` fills every byte, and a
            // reused batch buffer would be zeroed again for nothing.
            let mut buf = self.spare.pop().unwrap_or_default();
            buf.resize(want, 0);
            f.read_exact_at(&mut buf, at.offset)?;
            let cut = memchr::memrchr(b'\n', &buf).map(|i| i + 1);
            if cut.is_none() && (want as u64) < limit - at.offset {
                self.recycle(buf);
                // One line longer than a batch may be: find its end
                // without holding it.
                return match line_end(&f, at.offset + want as u64, limit)? {
                    Some(end) => Ok(Next::Lines(Chunk {
                        start: at,
                        end,
                        records: 1,
                        bytes: Vec::new(),
                        oversize: true,
                    })),
                    None => self.unfinished(at.file, limit, len),
                };
            }
            let Some(mut cut) = cut else {
                self.recycle(buf);
                return self.unfinished(at.file, limit, len);
            };
            buf.truncate(cut);
            let mut records = memchr_count(&buf);
            if records > BATCH_RECORDS {
                if let Some(i) = newline_at(&buf, BATCH_RECORDS) {
                    cut = i + 1;
                }
                buf.truncate(cut);
                records = BATCH_RECORDS;
            }
            return Ok(Next::Lines(Chunk {
                start: at,
                end: at.offset + buf.len() as u64,
                records,
                bytes: buf,
                oversize: false,
            }));
        }
        if self.rotated(at.file)? {
            return self.after(at.file);
        }
        Ok(Next::Wait)
    }

    /// What follows a line that has no end yet: nothing will complete it
    /// in a rotated file read to its end, so the next file; else wait.
    fn unfinished(&mut self, id: FileId, limit: u64, len: u64) -> io::Result<Next> {
        if self.rotated(id)? && limit == len {
            self.after(id)
        } else {
            Ok(Next::Wait)
        }
    }

    /// Bytes committed after `at`, over the file at `at` and the current
    /// one (an estimate while more archives lie between them).
    pub(crate) fn lag(&mut self, at: Position) -> io::Result<u64> {
        let Some(f) = self.file(at.file)? else {
            return Ok(0);
        };
        let len = f.metadata()?.len();
        let mut lag = self.limit(at.file, len)?.saturating_sub(at.offset);
        if self.rotated(at.file)?
            && let Ok(m) = fs::metadata(&self.path)
        {
            lag += self.limit(id_of(&m), m.len())?;
        }
        Ok(lag)
    }

    fn rotated(&self, id: FileId) -> io::Result<bool> {
        match fs::metadata(&self.path) {
            Ok(m) => Ok(id_of(&m) != id),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The file written after `id` (last modified next), from its start.
    fn after(&mut self, id: FileId) -> io::Result<Next> {
        let candidates = self.candidates()?;
        let mtime = |m: &fs::Metadata| m.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        let Some(own) = candidates
            .iter()
            .find(|(_, m)| id_of(m) == id)
            .map(|(_, m)| mtime(m))
        else {
            return Ok(Next::Wait);
        };
        let next = candidates
            .iter()
            .filter(|(_, m)| id_of(m) != id && mtime(m) >= own)
            .min_by_key(|(_, m)| mtime(m));
        Ok(match next {
            Some((_, m)) => Next::Moved(Position {
                file: id_of(m),
                offset: 0,
            }),
            None => Next::Wait,
        })
    }
}

/// The offset just after the first newline in `from..limit` of `f`.
fn line_end(f: &File, from: u64, limit: u64) -> io::Result<Option<u64>> {
    let mut block = [0u8; 8192];
    let mut pos = from;
    while pos < limit {
        let take = usize::try_from(limit - pos).map_or(block.len(), |n| n.min(block.len()));
        let n = f.read_at(&mut block[..take], pos)?;
        if n == 0 {
            break;
        }
        if let Some(i) = memchr::memchr(b'\n', &block[..n]) {
            return Ok(Some(pos + i as u64 + 1));
        }
        pos += n as u64;
    }
    Ok(None)
}

/// The lines in `buf`: memchr's vectorised count (a byte-wise filter
/// compiles to four bytes a turn, more than the rest of reading a batch).
fn memchr_count(buf: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', buf).count() as u64
}

/// Where the `nth` newline (from 1) of `buf` is.
fn newline_at(buf: &[u8], nth: u64) -> Option<usize> {
    let skip = usize::try_from(nth.checked_sub(1)?).ok()?;
    memchr::memchr_iter(b'\n', buf).nth(skip)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(n: usize, tag: &str) -> Vec<u8> {
        (0..n)
            .flat_map(|i| format!("{{\"msg\":\"{tag} {i}\"}}\n").into_bytes())
            .collect()
    }

    fn chunk(next: Next) -> Chunk {
        match next {
            Next::Lines(c) => c,
            _ => panic!("expected lines"),
        }
    }

    #[test]
    fn reads_only_what_the_journal_committed_of_the_current_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.log");
        let journal = dir.path().join(".out.log.acks");
        let committed = lines(3, "committed");
        let mut all = committed.clone();
        all.extend(lines(2, "not yet journaled"));
        all.extend_from_slice(b"{\"msg\":\"half a li");
        fs::write(&out, &all).unwrap();
        let m = fs::metadata(&out).unwrap();
        let mut source = Source::new(&out, &journal);
        let start = source.current_start().unwrap().unwrap();

        // No journal: every complete line, never the unfinished one.
        let c = chunk(source.next(start, BATCH_BYTES).unwrap());
        assert_eq!(c.records, 5);
        assert!(c.bytes.ends_with(b"\n"));

        // A journal: only up to its last line's length for this file,
        // even with a torn line after it.
        fs::write(
            &journal,
            format!(
                "{{\"outputs\":[{{\"path\":\"out.log\",\"dev\":{},\"ino\":{},\"len\":{}}}],\"producers\":[]}}\n{{\"outputs\":[{{\"pa",
                m.dev(),
                m.ino(),
                committed.len()
            ),
        )
        .unwrap();
        let c = chunk(source.next(start, BATCH_BYTES).unwrap());
        assert_eq!((c.records, c.end), (3, committed.len() as u64));
        assert_eq!(c.bytes, committed);
        let at = Position {
            file: start.file,
            offset: c.end,
        };
        assert!(matches!(source.next(at, BATCH_BYTES).unwrap(), Next::Wait));

        // Rotated away: the file is complete, read to its end, then the
        // next file.
        fs::rename(&out, dir.path().join("out.log.1")).unwrap();
        fs::write(&out, lines(1, "new file")).unwrap();
        let c = chunk(source.next(at, BATCH_BYTES).unwrap());
        assert_eq!(c.records, 2);
        let end = Position {
            file: start.file,
            offset: all.len() as u64,
        };
        let Next::Moved(next) = source.next(end, BATCH_BYTES).unwrap() else {
            panic!("expected the next file")
        };
        assert_eq!(next.file, id_of(&fs::metadata(&out).unwrap()));
    }

    /// A batch holds at most BATCH_RECORDS lines, cut right after the
    /// last of them, whatever room the byte limit leaves.
    #[test]
    fn a_batch_holds_at_most_the_record_limit() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.log");
        let all = lines(2 * BATCH_RECORDS as usize + 500, "short");
        fs::write(&out, &all).unwrap();
        let mut source = Source::new(&out, &dir.path().join(".out.log.acks"));
        let mut at = source.current_start().unwrap().unwrap();
        let mut got = Vec::new();
        while let Next::Lines(c) = source.next(at, BATCH_BYTES).unwrap() {
            assert!(c.bytes.ends_with(b"\n"));
            assert_eq!(c.bytes.len() as u64, c.end - c.start.offset);
            got.push(c.records);
            at.offset = c.end;
        }
        assert_eq!(got, [BATCH_RECORDS, BATCH_RECORDS, 500]);
        assert_eq!(at.offset, all.len() as u64);
        assert_eq!(newline_at(b"a\nb\nc\n", 2), Some(3));
        assert_eq!(newline_at(b"a\n", 2), None);
    }

    /// Batches never exceed the limit; a line over it is a chunk of its
    /// own, marked and not read, and the next batch starts after it.
    #[test]
    fn batches_stay_under_the_limit_and_an_oversize_line_stands_alone() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.log");
        let line = |tag: &str, len: usize| {
            let mut l = format!("{{\"msg\":\"{tag}");
            l.extend(std::iter::repeat_n('x', len - l.len() - 3));
            l.push_str("\"}\n");
            l.into_bytes()
        };
        let mut all = Vec::new();
        for i in 0..10 {
            all.extend(line(&format!("small {i} "), 900));
        }
        all.extend(line("big ", 5000));
        all.extend(line("after ", 900));
        fs::write(&out, &all).unwrap();
        let mut source = Source::new(&out, &dir.path().join(".out.log.acks"));
        let mut at = source.current_start().unwrap().unwrap();
        let mut sizes = Vec::new();
        loop {
            match source.next(at, 4000).unwrap() {
                Next::Lines(c) => {
                    sizes.push((c.records, c.end - c.start.offset, c.oversize, c.bytes.len()));
                    at.offset = c.end;
                }
                Next::Wait => break,
                _ => panic!("one file"),
            }
        }
        assert_eq!(
            sizes,
            [
                (4, 3600, false, 3600),
                (4, 3600, false, 3600),
                (2, 1800, false, 1800),
                (1, 5000, true, 0),
                (1, 900, false, 900),
            ]
        );
        assert_eq!(at.offset, all.len() as u64);
    }
}
