//! One output file, written by the writer thread only.

use super::batch::Lines;
use super::sink::open_sink;
use crate::ListenerError;
use crate::diag::Diag;
use crate::settings::OutputSpec;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tributary_rotation::RotatingFile;

/// An output's file.
pub(crate) struct Output {
    pub(crate) path: PathBuf,
    sink: RotatingFile,
}

impl Output {
    /// Appends lines, each a record (rotation happens between them).
    /// Returns the bytes written and the error of each line that was not.
    pub(crate) fn write(&mut self, lines: &Lines, mut failed: impl FnMut(&Path, io::Error)) -> u64 {
        let mut bytes = 0;
        for line in lines.iter() {
            match self.sink.write_record(line) {
                Ok(()) => bytes += line.len() as u64,
                Err(e) => failed(&self.path, e),
            }
        }
        bytes
    }

    /// Rotations of this file since it was opened.
    pub(crate) fn rotations(&self) -> u64 {
        self.sink.rotations()
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.sink.flush()
    }

    pub(crate) fn reopen(&mut self) -> io::Result<()> {
        self.sink.reopen()
    }

    /// Flushes and waits for background compression, so the archives are
    /// complete when the listener exits.
    pub(crate) fn close(self) -> io::Result<Vec<io::Error>> {
        self.sink.close()
    }
}

/// Opens every output, so that a bad path fails at start.
pub(crate) fn open_outputs(
    specs: &[OutputSpec],
    diag: &Arc<Diag>,
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
                sink,
            })
        })
        .collect()
}
