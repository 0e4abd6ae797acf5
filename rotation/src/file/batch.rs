//! Rotation held to batch boundaries: a caller that records "batch N ends
//! at byte X of file F" (an acknowledgement journal) needs every batch to
//! land whole in one file, so it asks for rotation between batches and
//! writes each batch without the per-record check.

use std::io;

use super::RotatingFile;

impl RotatingFile {
    /// Rotates now if a policy says so before `upcoming_bytes` more bytes
    /// (the size of the next batch), exactly as
    /// [`write_record`](Self::write_record) would before a record of that
    /// size; returns whether it rotated.
    ///
    /// Buffered records count toward the current size and are written to
    /// the old file before it is archived. As with `write_record`, a failed
    /// rotation is no error: it is reported through
    /// [`Builder::on_error`](crate::Builder::on_error) and retried a little
    /// later, and writing goes on in the current file. `Err` means the file
    /// could not be (re)opened at all. An empty file never rotates, so a
    /// batch larger than `max_bytes` goes whole into a fresh file.
    pub fn rotate_if_due(&mut self, upcoming_bytes: u64) -> io::Result<bool> {
        self.rotate_before(upcoming_bytes)
    }

    /// Whether [`rotate_if_due`](Self::rotate_if_due) would rotate before
    /// `upcoming_bytes` more bytes, without rotating: a journaling caller
    /// records where the current file ends before it is archived.
    pub fn rotation_pending(&self, upcoming_bytes: u64) -> bool {
        self.rotation_due(upcoming_bytes).is_some()
    }

    /// Writes a batch of whole lines (each line one record, each ending in
    /// `\n`) without checking the rotation policies between them: call
    /// [`rotate_if_due`](Self::rotate_if_due) first, so the batch lands in
    /// one file.
    ///
    /// All or nothing, like `write_record`: `Ok` means every line was
    /// accepted (it may still sit in the buffer; [`flush`](Self::flush) or
    /// [`position`](Self::position) writes it out); `Err` means none was,
    /// and the file was cut back to where it ended before the batch. A
    /// batch that does not end in `\n` is refused with
    /// [`io::ErrorKind::InvalidInput`]: its last record would be glued to
    /// the next one.
    pub fn write_batch_unrotated(&mut self, bytes: &[u8]) -> io::Result<()> {
        let Some(&last) = bytes.last() else {
            return Ok(());
        };
        if last != b'\n' {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a batch for {} must end with a newline (it holds whole lines)",
                    self.path.display()
                ),
            ));
        }
        if self.file.is_none() {
            self.open_file()?;
        }
        // memchr's vectorised count: a byte-wise filter compiles to a
        // loop of four bytes a turn, which was a third of a collector's CPU.
        let records = memchr::memchr_iter(b'\n', bytes).count() as u64;
        self.accept(bytes, records)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::RotatingFile;
    use std::fs;

    fn names(dir: &std::path::Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn rotation_pending_says_what_rotate_if_due_will_do() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.log");
        let mut f = RotatingFile::builder(&p).max_bytes(10).open().unwrap();
        f.write_batch_unrotated(b"12345678\n").unwrap();
        assert!(!f.rotation_pending(1));
        assert!(f.rotation_pending(5));
        assert_eq!(f.rotations(), 0, "asking does not rotate");
        assert!(f.rotate_if_due(5).unwrap());
        assert!(!f.rotation_pending(5), "a fresh file takes the batch");
    }

    #[test]
    fn a_batch_is_never_split_by_size_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.log");
        let mut f = RotatingFile::builder(&p).max_bytes(10).open().unwrap();
        // 12 bytes in one batch: past max_bytes, yet in one file.
        assert!(!f.rotate_if_due(12).unwrap(), "an empty file never rotates");
        f.write_batch_unrotated(b"aaa\nbbb\nccc\n").unwrap();
        assert_eq!(f.rotations(), 0);
        // The next batch would take the file past the limit: rotate first.
        assert!(f.rotate_if_due(4).unwrap());
        f.write_batch_unrotated(b"ddd\n").unwrap();
        assert!(!f.rotate_if_due(4).unwrap(), "8 bytes fit in 10");
        f.write_batch_unrotated(b"eee\n").unwrap();
        f.flush().unwrap();
        assert_eq!(names(dir.path()), ["app.log", "app.log.1"]);
        assert_eq!(
            fs::read(dir.path().join("app.log.1")).unwrap(),
            b"aaa\nbbb\nccc\n"
        );
        assert_eq!(fs::read(&p).unwrap(), b"ddd\neee\n");
    }

    #[test]
    fn rotate_if_due_counts_buffered_records_and_writes_them_to_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.log");
        let mut f = RotatingFile::builder(&p).max_bytes(8).open().unwrap();
        f.write_batch_unrotated(b"123\n456\n").unwrap();
        assert_eq!(fs::metadata(&p).unwrap().len(), 0, "still buffered");
        assert!(f.rotate_if_due(1).unwrap());
        f.flush().unwrap();
        assert_eq!(
            fs::read(dir.path().join("app.log.1")).unwrap(),
            b"123\n456\n"
        );
        assert_eq!(fs::read(&p).unwrap(), b"");
    }

    #[test]
    fn a_batch_must_end_with_a_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.log");
        let mut f = RotatingFile::builder(&p).open().unwrap();
        let e = f.write_batch_unrotated(b"whole\nhalf").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        f.write_batch_unrotated(b"").unwrap();
        f.write_batch_unrotated(b"next\n").unwrap();
        f.flush().unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"next\n");
    }

    #[test]
    fn a_batch_larger_than_the_buffer_goes_straight_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.log");
        let mut f = RotatingFile::builder(&p).buffer_size(4).open().unwrap();
        f.write_batch_unrotated(b"ab\n").unwrap();
        f.write_batch_unrotated(b"cdef\nghij\n").unwrap();
        // The buffered batch went first: order is kept.
        assert_eq!(fs::read(&p).unwrap(), b"ab\ncdef\nghij\n");
    }

    #[test]
    fn discard_buffered_counts_the_lines_of_batches_and_records() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.log");
        let mut f = RotatingFile::builder(&p).open().unwrap();
        f.write_record(b"one\n").unwrap();
        f.write_batch_unrotated(b"two\nthree\n").unwrap();
        assert_eq!(f.discard_buffered(), 3);
        assert_eq!(f.discard_buffered(), 0);
        f.write_record(b"four\n").unwrap();
        f.flush().unwrap();
        assert_eq!(f.discard_buffered(), 0, "flushed records are not buffered");
        assert_eq!(fs::read(&p).unwrap(), b"four\n");
    }
}
