//! Where the written bytes end, and cutting back to such a point: the two
//! halves of a journal that records "written up to here" and, after a
//! crash, removes what was written past its last entry.

use std::io;

use super::RotatingFile;

/// A point in one particular file: which file (device and inode, so a
/// renamed or replaced file is told apart from the one meant) and how many
/// bytes of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FilePosition {
    /// The device holding the file (`st_dev`).
    pub dev: u64,
    /// The file's inode number (`st_ino`).
    pub ino: u64,
    /// Bytes up to the point, from the start of the file.
    pub len: u64,
}

/// What [`RotatingFile::truncate_to`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Truncation {
    /// The file was longer: this many bytes past the position were removed.
    Cut {
        /// Bytes removed.
        removed: u64,
    },
    /// The file ended exactly at the position; nothing changed.
    AlreadyThere,
    /// The open file is not the file the position names (it was rotated
    /// away or replaced since); nothing changed. See
    /// [`truncate_to`](RotatingFile::truncate_to) for what to do.
    OtherFile,
    /// The file is shorter than the position: bytes before it are gone
    /// (someone truncated the file). Nothing changed; the caller decides
    /// how to report the loss.
    Shorter {
        /// The file's length.
        len: u64,
    },
}

impl RotatingFile {
    /// Writes the buffered records out and returns where the current file
    /// ends: its identity and length.
    ///
    /// Everything accepted before this call lies before the position, in
    /// that file (opening it first if it was not open yet, e.g. with
    /// `delay`). The length is the last record boundary: if a failed write
    /// left bytes past it that could not be cut yet, they are not counted
    /// (the next write cuts them). The position is of the file that is
    /// open: after an external rename that has not been noticed yet, that
    /// is the renamed file, which is where the bytes are. `Err` means the
    /// buffer could not be written (it stays buffered). Only meaningful
    /// for regular files.
    pub fn position(&mut self) -> io::Result<FilePosition> {
        self.flush_buf()?;
        if self.file.is_none() {
            self.open_file()?;
        }
        let (dev, ino) = self
            .ident
            .ok_or_else(|| io::Error::other("file not open"))?;
        Ok(FilePosition {
            dev,
            ino,
            len: self.len,
        })
    }

    /// Cuts the open file back to `at.len` if it is the file `at` names:
    /// for start-up recovery, to remove a tail that was written but never
    /// recorded as written (by a journal holding [`position`](Self::position)s).
    ///
    /// Why this shape: the cut is checked against the file's identity, not
    /// just a path, because the path may name another file by now (the
    /// journaled one was rotated to an archive, or moved by logrotate), and
    /// cutting that file would destroy records. The open file's own length
    /// is read (not what this value remembers), so a tail left by a crash
    /// is seen. Records still buffered are written first, so afterwards the
    /// file holds exactly its first `at.len` bytes.
    ///
    /// When the result is [`Truncation::OtherFile`], the journaled file was
    /// archived after its last entry and the open file was started after
    /// it: if the journal has no entry for the open file, all of it is the
    /// unrecorded tail, and `truncate_to` with the open file's identity
    /// (from [`position`](Self::position)) and `len: 0` removes it.
    ///
    /// The cut is not fsynced; call [`sync_all`](Self::sync_all) if it must
    /// survive a power loss. Refused with [`io::ErrorKind::InvalidInput`]
    /// for a file that is not regular (a FIFO, `/dev/stdout`).
    pub fn truncate_to(&mut self, at: FilePosition) -> io::Result<Truncation> {
        self.flush_buf()?;
        if self.file.is_none() {
            self.open_file()?;
        }
        if !self.regular {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is not a regular file: it cannot be cut",
                    self.path.display()
                ),
            ));
        }
        if self.ident != Some((at.dev, at.ino)) {
            return Ok(Truncation::OtherFile);
        }
        let Some(file) = &self.file else {
            return Err(io::Error::other("file not open"));
        };
        let actual = file.metadata()?.len();
        if actual < at.len {
            return Ok(Truncation::Shorter { len: actual });
        }
        if actual > at.len {
            file.set_len(at.len)?;
        }
        self.len = at.len;
        self.needs_truncate = false;
        Ok(if actual == at.len {
            Truncation::AlreadyThere
        } else {
            Truncation::Cut {
                removed: actual - at.len,
            }
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::fs;
    use std::io::Write;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn position_flushes_and_names_the_open_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.log");
        let mut f = RotatingFile::builder(&p).open().unwrap();
        f.write_record(b"one\n").unwrap();
        f.write_batch_unrotated(b"two\nthree\n").unwrap();
        let pos = f.position().unwrap();
        let md = fs::metadata(&p).unwrap();
        assert_eq!(
            pos,
            FilePosition {
                dev: md.dev(),
                ino: md.ino(),
                len: 14
            }
        );
        assert_eq!(md.len(), 14, "position wrote the buffer out");
    }

    #[test]
    fn position_follows_rotation_to_the_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.log");
        let mut f = RotatingFile::builder(&p).open().unwrap();
        f.write_record(b"one\n").unwrap();
        let before = f.position().unwrap();
        f.rotate_now().unwrap();
        let after = f.position().unwrap();
        assert_eq!(after.len, 0);
        assert_ne!(after.ino, before.ino);
        let archived = fs::metadata(dir.path().join("app.log.1")).unwrap();
        assert_eq!((archived.ino(), archived.len()), (before.ino, 4));
    }

    #[test]
    fn position_with_delay_creates_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.log");
        let mut f = RotatingFile::builder(&p).delay(true).open().unwrap();
        assert!(!p.exists());
        assert_eq!(f.position().unwrap().len, 0);
        assert!(p.exists());
    }

    #[test]
    fn truncate_to_cuts_a_tail_written_after_the_position() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.log");
        let mut f = RotatingFile::builder(&p).open().unwrap();
        f.write_record(b"journaled\n").unwrap();
        let pos = f.position().unwrap();
        f.write_record(b"not journaled\n").unwrap();
        f.flush().unwrap();
        drop(f);
        // A crash left half a record too.
        fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"{\"half")
            .unwrap();

        let mut f = RotatingFile::builder(&p).open().unwrap();
        assert_eq!(
            f.truncate_to(pos).unwrap(),
            Truncation::Cut { removed: 14 + 6 }
        );
        assert_eq!(f.truncate_to(pos).unwrap(), Truncation::AlreadyThere);
        f.write_record(b"after\n").unwrap();
        assert_eq!(f.position().unwrap().len, 16);
        assert_eq!(fs::read(&p).unwrap(), b"journaled\nafter\n");
    }

    #[test]
    fn truncate_to_writes_buffered_records_first_then_cuts_them_too() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.log");
        let mut f = RotatingFile::builder(&p).open().unwrap();
        f.write_record(b"kept\n").unwrap();
        let pos = f.position().unwrap();
        f.write_record(b"buffered\n").unwrap();
        assert_eq!(f.truncate_to(pos).unwrap(), Truncation::Cut { removed: 9 });
        assert_eq!(f.discard_buffered(), 0);
        assert_eq!(fs::read(&p).unwrap(), b"kept\n");
    }

    #[test]
    fn truncate_to_leaves_another_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.log");
        let mut f = RotatingFile::builder(&p).open().unwrap();
        f.write_record(b"old\n").unwrap();
        let old = f.position().unwrap();
        f.rotate_now().unwrap();
        f.write_record(b"new, never journaled\n").unwrap();
        let at_start = FilePosition { len: 0, ..old };
        assert_eq!(f.truncate_to(at_start).unwrap(), Truncation::OtherFile);
        assert_eq!(fs::read(dir.path().join("app.log.1")).unwrap(), b"old\n");
        // The open file is all tail: cut it with its own identity.
        let current = f.position().unwrap();
        assert_eq!(
            f.truncate_to(FilePosition { len: 0, ..current }).unwrap(),
            Truncation::Cut { removed: 21 }
        );
        assert_eq!(fs::read(&p).unwrap(), b"");
    }

    #[test]
    fn truncate_to_reports_a_file_shorter_than_the_position() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.log");
        let mut f = RotatingFile::builder(&p).open().unwrap();
        f.write_record(b"0123456789\n").unwrap();
        let pos = f.position().unwrap();
        fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(3)
            .unwrap();
        assert_eq!(f.truncate_to(pos).unwrap(), Truncation::Shorter { len: 3 });
        assert_eq!(fs::metadata(&p).unwrap().len(), 3, "nothing changed");
    }

    #[test]
    fn truncate_to_refuses_a_non_regular_file() {
        let mut f = RotatingFile::builder("/dev/null").open().unwrap();
        let pos = f.position().unwrap();
        let e = f.truncate_to(pos).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }
}
