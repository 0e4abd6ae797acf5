//! Routing and formatting, shared by every input task: which outputs take
//! a record, and its line for each of them.

use super::Batch;
use super::batch::Lines;
use crate::ListenerError;
use crate::filter::{OutputMask, Router};
use crate::settings::{OutputFormat, OutputSpec};
use std::path::PathBuf;
use std::sync::Arc;
use tributary_core::{Formatter, JsonFormatter, JsonProfile, PatternFormatter, Record};

/// One output's formatter.
enum LineFormatter {
    Json(JsonFormatter),
    /// Kept as itself, not boxed, to read how many records lacked a field.
    Text(PatternFormatter),
}

impl LineFormatter {
    fn format(&self, record: &Record, out: &mut Vec<u8>) {
        match self {
            LineFormatter::Json(f) => f.format(record, out),
            LineFormatter::Text(f) => f.format(record, out),
        }
    }
}

/// The router and every output's formatter: one configuration's outputs.
pub(crate) struct Encoder {
    /// Each output's file, in output order: how the writer finds the
    /// output a batch's lines are for, whichever configuration made it.
    paths: Vec<PathBuf>,
    router: Router,
    formatters: Vec<LineFormatter>,
    /// Outputs writing native JSON lines: for them a payload that
    /// `passthrough::check` accepts is already the line.
    native: OutputMask,
}

impl Encoder {
    /// Builds every output's formatter, so a bad pattern fails at start.
    pub(crate) fn new(specs: &[OutputSpec]) -> Result<Encoder, ListenerError> {
        let formatters = specs.iter().map(formatter_for).collect::<Result<_, _>>()?;
        let native = specs
            .iter()
            .enumerate()
            .filter(|(_, s)| s.format == OutputFormat::Json(JsonProfile::Native))
            .fold(0, |mask, (i, _)| mask | (1 << i));
        Ok(Encoder {
            paths: specs.iter().map(|s| s.path.clone()).collect(),
            router: Router::new(specs.iter().map(|o| o.filter.clone()).collect()),
            formatters,
            native,
        })
    }

    /// Records written to a text output without a field its pattern uses
    /// (the placeholder printed the `missing` text), over all outputs;
    /// `None` when no output writes text.
    pub(crate) fn records_missing_fields(&self) -> Option<u64> {
        let mut text = self.formatters.iter().filter_map(|f| match f {
            LineFormatter::Text(p) => Some(p.records_missing_fields()),
            LineFormatter::Json(_) => None,
        });
        let first = text.next()?;
        Some(first + text.sum::<u64>())
    }

    /// Each output's file, in output order.
    pub(crate) fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// Number of outputs.
    pub(crate) fn outputs(&self) -> usize {
        self.formatters.len()
    }

    /// The outputs that take `record`.
    pub(crate) fn route(&self, record: &Record) -> OutputMask {
        self.router.route(record)
    }

    /// The outputs that take a record of this level and logger.
    pub(crate) fn route_parts(&self, level_no: i32, logger: &[u8]) -> OutputMask {
        self.router.route_parts(level_no, logger)
    }

    /// Every output.
    pub(crate) fn all(&self) -> OutputMask {
        self.router.all()
    }

    /// Whether every output in `mask` writes native JSON lines.
    pub(crate) fn all_native(&self, mask: OutputMask) -> bool {
        mask & !self.native == 0
    }

    /// Appends `record`, formatted for each output in `mask`, to that
    /// output's lines.
    pub(crate) fn format_into(
        &self,
        record: &Record,
        mask: OutputMask,
        outputs: &mut [Lines],
        reserve: usize,
    ) {
        for (i, (f, lines)) in self.formatters.iter().zip(outputs).enumerate() {
            if mask & (1 << i) != 0 {
                lines.push_with(reserve, |out| f.format(record, out));
            }
        }
    }

    /// A batch of one record, for the listener's own notices.
    pub(crate) fn one(self: &Arc<Self>, record: &Record, mask: OutputMask) -> Batch {
        let mut batch = Batch::new(self.clone(), 256);
        batch.push(record, mask);
        batch
    }
}

/// Builds the formatter for an output format.
fn formatter_for(spec: &OutputSpec) -> Result<LineFormatter, ListenerError> {
    Ok(match &spec.format {
        OutputFormat::Json(profile) => LineFormatter::Json(JsonFormatter::new(*profile)),
        OutputFormat::Text(text) => {
            let mut pattern = PatternFormatter::builder(&text.pattern)
                .missing(&*text.missing)
                .escape_newlines(text.escape_newlines);
            // Declared fields are a strictness check; without them any
            // name is looked up in the record's fields, as Python does.
            pattern = if text.fields.is_empty() {
                pattern.allow_any_field()
            } else {
                pattern.allow_fields(text.fields.iter().map(String::as_str))
            };
            LineFormatter::Text(pattern.build().map_err(|source| ListenerError::Pattern {
                path: spec.path.clone(),
                source,
            })?)
        }
    })
}
