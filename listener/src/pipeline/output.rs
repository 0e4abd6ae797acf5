//! One output file, written by the writer thread only.

use super::batch::Lines;
use super::sink::open_sink;
use crate::ListenerError;
use crate::acks::OutputPos;
use crate::diag::Diag;
use crate::output_lock::OutputLocks;
use crate::settings::{OutputSpec, RotationSpec};
use crate::stats::OutputCounters;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use tributary_rotation::RotatingFile;

/// An output's file.
pub(crate) struct Output {
    pub(crate) path: PathBuf,
    /// The rotation it was opened with: a reload that changes it opens
    /// the file anew.
    pub(crate) rotation: RotationSpec,
    sink: RotatingFile,
    /// Its counters (records, bytes, rotations, errors): they stay with
    /// the file through a reload that reopens it with another rotation.
    pub(crate) counters: Arc<OutputCounters>,
    /// Rotations of the files this output had open before a reload
    /// reopened it with another rotation (its counters never go back).
    rotations_before: u64,
    /// Its `.NAME.lock` (see `output_lock`), held as long as the writer
    /// has the file open.
    _lock: Option<std::fs::File>,
}

/// Where writing a batch's lines stopped, and why.
#[derive(Debug)]
pub(crate) struct Stopped {
    /// Index of the first line not written: the next try starts there.
    pub(crate) next: usize,
    /// Bytes of the lines before it.
    pub(crate) bytes: u64,
    /// The error of line `next`.
    pub(crate) error: io::Error,
}

impl Output {
    /// Appends `lines[from..]`, each a record (rotation happens between
    /// them); returns their bytes. Stops at the first line that fails:
    /// nothing of it is in the file (the sink cuts a failed write back to
    /// the record boundary), and the lines before it are kept, in order, so
    /// a retry from [`Stopped::next`] neither loses nor repeats one.
    pub(crate) fn write_from(&mut self, lines: &Lines, from: usize) -> Result<u64, Stopped> {
        let mut bytes = 0;
        for (i, line) in lines.iter().enumerate().skip(from) {
            if let Err(error) = self.sink.write_record(line) {
                return Err(Stopped {
                    next: i,
                    bytes,
                    error,
                });
            }
            bytes += line.len() as u64;
        }
        Ok(bytes)
    }

    /// Drops the records accepted but still buffered (giving up on a file
    /// that cannot be written); returns how many.
    pub(crate) fn discard_buffered(&mut self) -> usize {
        self.sink.discard_buffered()
    }

    /// Rotations since the output was first opened (through reloads that
    /// reopened it with another rotation).
    pub(crate) fn rotations(&self) -> u64 {
        self.rotations_before + self.sink.rotations()
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.sink.flush()
    }

    /// Whether writing `bytes` more would rotate the file first.
    pub(crate) fn rotation_pending(&self, bytes: u64) -> bool {
        self.sink.rotation_pending(bytes)
    }

    /// Rotates now if writing `bytes` more would rotate first.
    pub(crate) fn rotate_if_due(&mut self, bytes: u64) -> io::Result<bool> {
        self.sink.rotate_if_due(bytes)
    }

    /// Writes `lines` whole into the current file, never rotating: with
    /// the acknowledgement journal, the writer rotates between batches
    /// only, after [`rotation_pending`](Self::rotation_pending) said so and
    /// a commit recorded the file's final length. A second look at the
    /// clock here could see a time boundary the first did not, and rotate
    /// with no journal line before it. All or nothing: on error none of
    /// the lines is in the file.
    pub(crate) fn write_whole(&mut self, lines: &Lines) -> io::Result<u64> {
        let bytes = lines.as_bytes();
        self.sink.write_batch_unrotated(bytes)?;
        Ok(bytes.len() as u64)
    }

    /// Where the open file ends (its buffer written out first): what a
    /// commit journals. The open descriptor's file, not the path's: after
    /// an external rename (logrotate before its SIGHUP) the records are in
    /// the renamed file, and the path may name another file or none.
    pub(crate) fn position(&mut self) -> io::Result<OutputPos> {
        let at = self.sink.position()?;
        Ok(OutputPos {
            path: self.path.clone(),
            dev: at.dev,
            ino: at.ino,
            len: at.len,
        })
    }

    /// Flushes and fsyncs the file (durable acknowledgements).
    pub(crate) fn sync(&mut self) -> io::Result<()> {
        self.sink.sync_all()?;
        crate::test_hooks::synced(&self.path);
        Ok(())
    }

    pub(crate) fn reopen(&mut self) -> io::Result<()> {
        self.sink.reopen()
    }

    /// Takes back the lock [`reopen_with`](Self::reopen_with) gave `other`
    /// (a reload that does not happen after all).
    pub(crate) fn take_lock_from(&mut self, other: &mut Output) {
        self._lock = other._lock.take();
    }

    /// The same file opened with another rotation (a reload changed it);
    /// this one must be flushed already and is closed by the caller.
    pub(crate) fn reopen_with(
        &mut self,
        rotation: &RotationSpec,
        diag: &Arc<Diag>,
    ) -> io::Result<Output> {
        Ok(Output {
            path: self.path.clone(),
            rotation: rotation.clone(),
            sink: open_sink(&self.path, rotation, diag)?,
            counters: self.counters.clone(),
            rotations_before: self.rotations(),
            _lock: self._lock.take(),
        })
    }

    /// Flushes and waits for background compression, so the archives are
    /// complete when the listener exits.
    pub(crate) fn close(self) -> io::Result<Vec<io::Error>> {
        self.sink.close()
    }
}

/// Opens every output, so that a bad path fails at start (or a reload is
/// refused); each takes its lock from `locks`.
pub(crate) fn open_outputs(
    specs: &[OutputSpec],
    diag: &Arc<Diag>,
    locks: &mut OutputLocks,
) -> Result<Vec<Output>, ListenerError> {
    specs
        .iter()
        .map(|spec| {
            let sink = open_sink(&spec.path, &spec.rotation, diag).map_err(|source| {
                ListenerError::Output {
                    path: spec.path.clone(),
                    source,
                }
            })?;
            Ok(Output {
                path: spec.path.clone(),
                rotation: spec.rotation.clone(),
                sink,
                counters: Arc::new(OutputCounters::for_path(&spec.path)),
                rotations_before: 0,
                _lock: locks.take(&spec.path),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tributary_rotation::{ManualClock, When, jiff::Timestamp};

    /// A time boundary passed since the writer asked whether to rotate:
    /// the batch still goes whole into the current file, and the rotation
    /// waits for the next batch, where the journal brackets it.
    #[test]
    fn a_whole_batch_never_rotates_on_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        let clock = Arc::new(ManualClock::new(Timestamp::from_second(1_000).unwrap()));
        let sink = RotatingFile::builder(&path)
            .when(When::Seconds)
            .interval(1)
            .clock(clock.clone())
            .open()
            .unwrap();
        let mut output = Output {
            path: path.clone(),
            rotation: RotationSpec::default(),
            sink,
            counters: Arc::default(),
            rotations_before: 0,
            _lock: None,
        };
        let mut lines = Lines::default();
        lines.push_with(8, |out| out.extend_from_slice(b"a"));
        output.write_whole(&lines).unwrap();
        assert!(!output.rotation_pending(lines.len() as u64));
        clock.advance(Duration::from_secs(5));
        output.write_whole(&lines).unwrap();
        output.flush().unwrap();
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["out.log"], "no rotation inside a batch");
        assert_eq!(std::fs::read(&path).unwrap(), b"a\na\n");
        assert!(
            output.rotation_pending(lines.len() as u64),
            "due next batch"
        );
    }
}
