//! `tail -f`: keep reading a live log across rotation, with nothing missed
//! and nothing twice, by polling the path's identity and size (as
//! `tail -F` does; a poll also catches truncation, which inotify does not
//! report as such).
//!
//! - **Rename** (Python's and this crate's rotation; gzip of the old file
//!   under it) and **delete + re-create**: the path names another file.
//!   The old one is read to its end through the handle still open (its
//!   bytes live while it is open, even unlinked), then any archives made
//!   after it — several rotations can happen between two polls — found by
//!   the hash of their first line, then the new file from its start.
//! - **Copy-truncate** (logrotate's `copytruncate`): same file, now shorter
//!   than what was read, or with another first line. The bytes written
//!   between the last poll and the truncation are in the copy (the newest
//!   archive whose first line is ours): read from there, then the file
//!   from its start.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::cat::stdout_error;
use super::cursor::Cursor;
use super::error::ReadError;
use super::lines::LineReader;
use super::position::{FileId, first_line_hash, first_line_hash_at, open_at};
use super::scan::Scan;

/// The longest wait between two checks of the path (`tail -f` checks
/// sooner, as soon as [`super::Wake`] sees its directory change): cheap
/// enough to leave running (one `stat` and one small `pread` per poll).
pub const POLL: Duration = Duration::from_millis(100);

/// How many rotated files are remembered as read (by first-line hash).
const REMEMBERED: usize = 1024;

/// The file being followed.
struct Current {
    file: File,
    id: FileId,
    lines: LineReader<Box<dyn Read + Send>>,
    /// Hash of its first line, once it has one.
    first: Option<u64>,
}

/// Follows one live log.
pub struct Follower {
    path: PathBuf,
    cur: Current,
    /// First-line hashes of rotated files already read to their end.
    read: VecDeque<u64>,
    /// Position after the last complete line, for `--cursor`: the file, the
    /// offset and the line (hashed only when asked: hashing every line
    /// would cost more than reading it).
    last: Option<(FileId, u64)>,
    last_line: Vec<u8>,
    /// The position given at the start, until a line is read.
    start: Option<Cursor>,
    /// Problems that did not stop following.
    warnings: Vec<String>,
}

impl Follower {
    /// Follows `path`, continuing in the already open `file` (the live file
    /// or one of its archives) at decoded `offset`.
    ///
    /// # Errors
    ///
    /// The file cannot be read.
    pub fn new(path: &Path, file: File, offset: u64) -> Result<Follower, ReadError> {
        let cursor = line_before(&file, offset).map(|line| {
            Cursor::after(
                FileId::of(&file).unwrap_or(FileId { dev: 0, ino: 0 }),
                offset,
                &line,
            )
        });
        let cur = Self::current(path, file, offset)?;
        Ok(Follower {
            path: path.to_path_buf(),
            cur,
            read: VecDeque::new(),
            last: None,
            last_line: Vec::new(),
            start: cursor,
            warnings: Vec::new(),
        })
    }

    fn current(path: &Path, file: File, offset: u64) -> Result<Current, ReadError> {
        let err = |e| ReadError::open(path, e);
        let id = FileId::of(&file).map_err(err)?;
        let first = first_line_of(&file).map_err(err)?;
        let reader_file = file.try_clone().map_err(err)?;
        let opened = super::position::open_file_at(reader_file, offset).map_err(err)?;
        Ok(Current {
            file,
            id,
            lines: LineReader::new(opened.reader, offset),
            first,
        })
    }

    /// The position after the last complete line shown or skipped.
    pub fn cursor(&self) -> Option<Cursor> {
        match self.last {
            Some((id, end)) => Some(Cursor::after(id, end, &self.last_line)),
            None => self.start,
        }
    }

    /// Warnings gathered since the last call.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// One poll: reads what was appended, and follows a rotation or a
    /// truncation if one happened. Returns true when lines were read.
    ///
    /// # Errors
    ///
    /// Writing the output failed, or the file cannot be read.
    pub fn poll<W: Write>(&mut self, scan: &mut Scan<W>) -> Result<bool, ReadError> {
        // The path is looked at before reading: bytes of a truncated and
        // rewritten file must not be read as if they followed ours.
        let (id, len) = match FileId::at(&self.path) {
            Ok(now) => now,
            // Renamed, not yet re-created: keep reading the old file.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return self.drain(scan, false),
            Err(e) => return Err(ReadError::open(&self.path, e)),
        };
        if id != self.cur.id {
            self.rotated(scan)?;
            self.drain(scan, false)?;
            return Ok(true);
        }
        let read_to = self.cur.lines.offset() + self.cur.lines.pending() as u64;
        let first_now =
            first_line_of(&self.cur.file).map_err(|e| ReadError::open(&self.path, e))?;
        let rewritten = self.cur.first.is_some() && first_now != self.cur.first;
        let mut progressed = false;
        if len < read_to || rewritten {
            self.truncated(scan)?;
            progressed = true;
        } else if self.cur.first.is_none() {
            self.cur.first = first_now;
        }
        Ok(self.drain(scan, false)? || progressed)
    }

    /// Reads complete lines up to the end; with `to_end`, also a last line
    /// without `\n` (the file is final).
    fn drain<W: Write>(&mut self, scan: &mut Scan<W>, to_end: bool) -> Result<bool, ReadError> {
        let mut any = false;
        loop {
            match self.cur.lines.next_complete() {
                Ok(Some(line)) => {
                    any = true;
                    if line.terminated {
                        self.last = Some((self.cur.id, line.end));
                        self.last_line.clear();
                        self.last_line.extend_from_slice(line.bytes);
                    }
                    scan.line(line.bytes, line.terminated)
                        .map_err(stdout_error)?;
                }
                Ok(None) => break,
                Err(e) => {
                    self.warnings.push(format!(
                        "{}: {e}; reading it stopped there",
                        self.path.display()
                    ));
                    break;
                }
            }
        }
        if to_end && let Some(rest) = self.cur.lines.take_rest() {
            scan.line(rest.bytes, false).map_err(stdout_error)?;
        }
        // A writer writes a text record's lines together: what a poll
        // read ends its last record.
        scan.finish_record().map_err(stdout_error)?;
        Ok(any)
    }

    fn remember(&mut self, first: Option<u64>) {
        if let Some(h) = first {
            if self.read.len() == REMEMBERED {
                self.read.pop_front();
            }
            self.read.push_back(h);
        }
    }

    fn rotated<W: Write>(&mut self, scan: &mut Scan<W>) -> Result<(), ReadError> {
        // Nothing more will be written to the old file: the writer opened
        // the new one after it let go of the old.
        self.drain(scan, true)?;
        if self.cur.first.is_none() {
            self.cur.first = first_line_of(&self.cur.file).ok().flatten();
        }
        let old_first = self.cur.first;
        self.remember(old_first);
        // Open the new live file before listing archives: anything rotated
        // after this open is behind it, and is met again on a later poll.
        let next = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // Gone again; read what the archives hold on the next poll.
                return Ok(());
            }
            Err(e) => return Err(ReadError::open(&self.path, e)),
        };
        let next_id = FileId::of(&next).map_err(|e| ReadError::open(&self.path, e))?;
        let between = self.archives_between(old_first, &next, next_id)?;
        for (path, file) in between {
            let opened = match super::position::open_file_at(file, 0) {
                Ok(o) => o,
                Err(e) => {
                    self.warnings.push(format!(
                        "{}: {e}; records rotated into it were not shown",
                        path.display()
                    ));
                    continue;
                }
            };
            let mut lines = LineReader::new(opened.reader, 0);
            let mut first = None;
            loop {
                match lines.next_line() {
                    Ok(Some(line)) => {
                        if first.is_none() && line.terminated {
                            let h = super::position::line_hash_nl(line.bytes);
                            // Listed twice (a rename during the listing).
                            if self.read.contains(&h) {
                                break;
                            }
                            first = Some(h);
                        }
                        if line.terminated {
                            self.last = Some((opened.id, line.end));
                            self.last_line.clear();
                            self.last_line.extend_from_slice(line.bytes);
                        }
                        scan.line(line.bytes, line.terminated)
                            .map_err(stdout_error)?;
                    }
                    Ok(None) => break,
                    Err(e) => {
                        self.warnings.push(format!("{}: {e}", path.display()));
                        break;
                    }
                }
            }
            self.remember(first);
        }
        self.cur = Self::current(&self.path, next, 0)?;
        Ok(())
    }

    /// The archives rotated after the file whose first line is `old_first`
    /// and before `next` (the new live file), oldest first, each opened
    /// once (a name may move on under Python's renames; the handle keeps
    /// the file).
    ///
    /// One `readdir` is a consistent picture of the directory, and every
    /// archive has a name at every moment (renames are atomic; gzip renames
    /// the `.gz` in before it removes the plain file), so a listing taken
    /// after `next` was opened holds every file rotated before it. Opening
    /// the names comes later, though, and a rotation meanwhile shifts them:
    /// `.3` then opens what the listing saw as `.2`, and the file that was
    /// `.3` is opened under no name at all. So each opened file is checked
    /// against the inode its directory entry named, and the whole listing
    /// is taken again when one differs or is gone.
    fn archives_between(
        &mut self,
        old_first: Option<u64>,
        next: &File,
        next_id: FileId,
    ) -> Result<Vec<(PathBuf, File)>, ReadError> {
        const ATTEMPTS: usize = 200;
        let mut listed = Vec::new();
        for attempt in 0..ATTEMPTS {
            let archives = tributary_rotation::find_archives(&self.path)
                .map_err(|e| ReadError::open(&self.path, e))?;
            // A gap in the numbers: a file system whose `readdir` is not
            // one picture may have hidden a renamed file. List again
            // shortly; a gap that stays (archives deleted by hand) is
            // accepted at last.
            let last = attempt + 1 == ATTEMPTS;
            if has_gap(&archives) && !last {
                std::thread::sleep(std::time::Duration::from_millis(1));
                continue;
            }
            match open_listed(&archives) {
                Some(opened) => {
                    listed = opened;
                    break;
                }
                None if last => {
                    self.warnings.push(format!(
                        "{}: its archives kept moving while they were listed: records rotated just now may be missing",
                        self.path.display()
                    ));
                    // The names as they are now, unchecked: better than none.
                    listed = archives
                        .iter()
                        .filter_map(|a| Some((a.path.clone(), File::open(&a.path).ok()?)))
                        .collect();
                }
                None => std::thread::sleep(std::time::Duration::from_millis(1)),
            }
        }
        // First lines read from the handles, after the check: the names may
        // have moved on again, the files have not.
        let listed: Vec<(PathBuf, File, Option<FileId>, Option<u64>)> = listed
            .into_iter()
            .map(|(path, file)| {
                let id = FileId::of(&file).ok();
                let first = first_line_of(&file).ok().flatten();
                (path, file, id, first)
            })
            .collect();
        let Some(old_at) =
            old_first.and_then(|h| listed.iter().rposition(|(_, _, _, f)| *f == Some(h)))
        else {
            // Deleted and re-created (or retention took it): nothing was
            // rotated after it that can be told apart.
            if old_first.is_some() && !listed.is_empty() {
                self.warnings.push(format!(
                    "{}: the file being read is not among its archives any more (deleted?): records rotated after it may be missing",
                    self.path.display()
                ));
            }
            return Ok(Vec::new());
        };
        let next_first = first_line_of(next).ok().flatten();
        let mut between = Vec::new();
        for (path, file, id, first) in listed.into_iter().skip(old_at + 1) {
            if id == Some(next_id) || (next_first.is_some() && first == next_first) {
                break;
            }
            if first.is_some_and(|h| self.read.contains(&h)) {
                continue;
            }
            between.push((path, file));
        }
        Ok(between)
    }

    fn truncated<W: Write>(&mut self, scan: &mut Scan<W>) -> Result<(), ReadError> {
        let from = self.cur.lines.offset();
        if let Some(first) = self.cur.first
            && let Ok(archives) = tributary_rotation::find_archives(&self.path)
        {
            // The copy: the newest archive that starts as our file did.
            let copy = archives.iter().rev().find(|a| {
                open_at(&a.path, 0)
                    .ok()
                    .and_then(|mut o| first_line_hash(&mut o.reader).ok().flatten())
                    == Some(first)
            });
            if let Some(copy) = copy {
                match open_at(&copy.path, from) {
                    Ok(opened) => {
                        let mut lines = LineReader::new(opened.reader, from);
                        while let Ok(Some(line)) = lines.next_line() {
                            scan.line(line.bytes, line.terminated)
                                .map_err(stdout_error)?;
                        }
                    }
                    Err(e) => self
                        .warnings
                        .push(format!("{e}; the copy is shorter than what was read")),
                }
            } else {
                self.warnings.push(format!(
                    "{} was truncated and no copy of it was found: records written just before may be missing",
                    self.path.display()
                ));
            }
        }
        let file2 = self
            .cur
            .file
            .try_clone()
            .map_err(|e| ReadError::open(&self.path, e))?;
        self.cur = Self::current(&self.path, file2, 0)?;
        Ok(())
    }
}

/// The line whose `\n` ends just before `offset` of a plain file (without
/// that `\n`), for the starting cursor; `None` at offset 0, in a gzip file,
/// or for a line longer than 64 KiB.
fn line_before(file: &File, offset: u64) -> Option<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    if offset == 0 || super::position::is_gzip(file).unwrap_or(true) {
        return None;
    }
    let len = offset.min(64 * 1024);
    let mut buf = vec![0; len as usize];
    file.read_exact_at(&mut buf, offset - len).ok()?;
    if buf.pop() != Some(b'\n') {
        return None;
    }
    match memchr::memrchr(b'\n', &buf) {
        Some(i) => Some(buf[i + 1..].to_vec()),
        None if len == offset => Some(buf),
        None => None,
    }
}

/// Opens every listed archive, or returns `None` when a name no longer
/// names the file the listing saw there (renamed on, gzipped, or deleted
/// since): the listing is stale and must be taken again.
fn open_listed(archives: &[tributary_rotation::ArchiveFile]) -> Option<Vec<(PathBuf, File)>> {
    let mut opened = Vec::with_capacity(archives.len());
    for a in archives {
        let file = File::open(&a.path).ok()?;
        let ino = FileId::of(&file).ok()?.ino;
        if a.inode != Some(ino) {
            return None;
        }
        opened.push((a.path.clone(), file));
    }
    Some(opened)
}

/// True when the numbered archives do not run without gaps.
fn has_gap(archives: &[tributary_rotation::ArchiveFile]) -> bool {
    let mut numbers: Vec<u64> = archives.iter().filter_map(|a| a.number).collect();
    numbers.sort_unstable();
    numbers.windows(2).any(|w| w[1] != w[0] + 1)
}

/// The first-line hash of an open file, decoded if it is gzip.
fn first_line_of(file: &File) -> io::Result<Option<u64>> {
    if super::position::is_gzip(file)? {
        let mut o = super::position::open_file_at(file.try_clone()?, 0)?;
        first_line_hash(&mut o.reader)
    } else {
        first_line_hash_at(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(opened: &[(PathBuf, File)]) -> Vec<String> {
        opened
            .iter()
            .map(|(_, f)| {
                let mut s = String::new();
                (&*f).read_to_string(&mut s).expect("read");
                s
            })
            .collect()
    }

    #[test]
    fn a_listing_whose_names_moved_before_the_opens_is_taken_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let live = dir.path().join("app.log");
        let at = |n: u32| dir.path().join(format!("app.log.{n}"));
        std::fs::write(at(2), "b\n").expect("write");
        std::fs::write(at(1), "c\n").expect("write");
        let listing = tributary_rotation::find_archives(&live).expect("list");
        assert_eq!(listing.len(), 2);
        // Python's cascade between the listing and the opens: `.2` now
        // names what was `.1`, and the old `.2` is `.3`, a name the
        // listing never saw.
        std::fs::rename(at(2), at(3)).expect("rename");
        std::fs::rename(at(1), at(2)).expect("rename");
        std::fs::write(at(1), "d\n").expect("write");
        assert!(
            open_listed(&listing).is_none(),
            "a stale listing was trusted"
        );
        let listing = tributary_rotation::find_archives(&live).expect("list");
        let opened = open_listed(&listing).expect("a fresh listing is trusted");
        let mut got = contents(&opened);
        got.sort();
        assert_eq!(got, ["b\n", "c\n", "d\n"]);
    }

    #[test]
    fn a_listed_archive_gone_before_its_open_makes_the_listing_stale() {
        let dir = tempfile::tempdir().expect("tempdir");
        let live = dir.path().join("app.log");
        std::fs::write(dir.path().join("app.log.1"), "a\n").expect("write");
        let listing = tributary_rotation::find_archives(&live).expect("list");
        // The gzip worker renamed `.1.gz` in and removed the plain `.1`.
        std::fs::remove_file(dir.path().join("app.log.1")).expect("remove");
        assert!(
            open_listed(&listing).is_none(),
            "a gone archive was skipped"
        );
    }
}
