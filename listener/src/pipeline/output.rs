//! One output: a formatter and a sink, with a reusable line buffer.

use super::sink::open_sink;
use crate::ListenerError;
use crate::diag::Diag;
use crate::settings::{OutputFormat, OutputSpec};
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use tributary_core::{Formatter, JsonFormatter, PatternFormatter, Record};
use tributary_rotation::RotatingFile;

/// A formatter writing into a sink.
pub(crate) struct Output {
    pub(crate) path: PathBuf,
    formatter: Box<dyn Formatter>,
    sink: RotatingFile,
    line: Vec<u8>,
}

impl Output {
    /// Formats and appends one record; returns the bytes written.
    pub(crate) fn write(&mut self, record: &Record) -> io::Result<usize> {
        self.line.clear();
        self.formatter.format(record, &mut self.line);
        self.line.push(b'\n');
        self.sink.write_record(&self.line)?;
        Ok(self.line.len())
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

/// Builds the formatter for an output format.
pub(crate) fn formatter_for(spec: &OutputSpec) -> Result<Box<dyn Formatter>, ListenerError> {
    Ok(match &spec.format {
        OutputFormat::Json(profile) => Box::new(JsonFormatter::new(*profile)),
        OutputFormat::Text(text) => Box::new(
            PatternFormatter::new_with_fields(
                &text.pattern,
                text.fields.iter().map(String::as_str),
            )
            .map_err(|source| ListenerError::Pattern {
                path: spec.path.clone(),
                source,
            })?,
        ),
    })
}

/// Opens every output, so that a bad path or pattern fails at start.
pub(crate) fn open_outputs(
    specs: &[OutputSpec],
    diag: &Arc<Diag>,
) -> Result<Vec<Output>, ListenerError> {
    specs
        .iter()
        .map(|spec| {
            let formatter = formatter_for(spec)?;
            let sink = open_sink(&spec.path, &spec.rotation, diag).map_err(|source| {
                ListenerError::Output {
                    path: spec.path.clone(),
                    source,
                }
            })?;
            Ok(Output {
                path: spec.path.clone(),
                formatter,
                sink,
                line: Vec::with_capacity(1024),
            })
        })
        .collect()
}
