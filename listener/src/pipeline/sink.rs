//! Output files: `tributary_rotation::RotatingFile` for every output, so
//! each write is record-aligned, a moved or deleted file is recreated, and
//! rotation (size, time, gzip, retention) follows Python's handlers.

use crate::diag::Diag;
use crate::settings::RotationSpec;
use std::io;
use std::path::Path;
use std::sync::Arc;
use tributary_rotation::RotatingFile;

/// Opens the file for one output with its rotation policy.
pub(crate) fn open_sink(
    path: &Path,
    rotation: &RotationSpec,
    diag: &Arc<Diag>,
) -> io::Result<RotatingFile> {
    let mut builder = RotatingFile::builder(path);
    if let Some(n) = rotation.max_bytes {
        builder = builder.max_bytes(n);
    }
    if let Some(when) = rotation.when {
        builder = builder.when(when);
    }
    if let Some(n) = rotation.interval {
        builder = builder.interval(n);
    }
    builder = builder.utc(rotation.utc);
    if let Some(n) = rotation.backup_count {
        builder = builder.backup_count(n as usize);
    }
    builder = builder.compression(rotation.compress);
    let diag = diag.clone();
    let shown = path.display().to_string();
    builder = builder.on_error(move |e| {
        diag.emit(
            &(),
            crate::diag::writer::BackgroundFailed {
                output: &shown,
                error: &e,
            },
        );
    });
    builder.open().map_err(io::Error::from)
}
