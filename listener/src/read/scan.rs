//! One line's way from the file to the screen: the native prefix first
//! (level and time decide most lines unread), then the decoder, the
//! filters, and the printer or the stats.

use std::collections::BTreeMap;
use std::io::{self, Write};

use tributary_core::{Record, decode_json};

use super::filter::{Filter, Quick};
use super::output::{Broken, Printer};
use super::prefix::native_prefix;
use super::profiles::normalize;
use super::stats::Stats;

/// What to do with one line.
#[derive(Debug)]
pub enum Verdict {
    /// Filtered out (or blank).
    Skip,
    /// Show it; the record is decoded when the output or stats need it.
    Show(Option<Box<Record>>),
    /// Not a record: shown marked, and counted.
    Broken(Broken),
}

/// Filters lines and prints (or counts) the ones that pass.
pub struct Scan<W: Write> {
    filter: Filter,
    printer: Printer<W>,
    stats: Option<Stats>,
    broken: BTreeMap<Broken, u64>,
    shown: u64,
}

impl<W: Write> Scan<W> {
    /// Lines through `filter` to `printer`; with `stats`, counted instead.
    pub fn new(filter: Filter, printer: Printer<W>, stats: bool) -> Self {
        Scan {
            filter,
            printer,
            stats: stats.then(Stats::default),
            broken: BTreeMap::new(),
            shown: 0,
        }
    }

    /// Decides what to do with a line (`terminated`: it ended with `\n`).
    pub fn judge(&self, line: &[u8], terminated: bool) -> Verdict {
        let line = trim_end(line);
        if line.is_empty() {
            return Verdict::Skip;
        }
        let needs_record = self.stats.is_some() || self.printer.output().needs_record();
        let prefix = native_prefix(line);
        if let Some(prefix) = &prefix {
            match self.filter.quick(prefix) {
                Quick::Reject => return Verdict::Skip,
                Quick::Accept if !needs_record => {
                    // Not decoded: the two ways a crash or a stray byte breaks
                    // a native line are still caught.
                    if std::str::from_utf8(line).is_err() {
                        return Verdict::Broken(Broken::InvalidUtf8);
                    }
                    if !line.ends_with(b"}") {
                        return Verdict::Broken(broken_json(terminated));
                    }
                    return Verdict::Show(None);
                }
                Quick::Accept | Quick::Decode => {}
            }
        }
        let Ok(text) = std::str::from_utf8(line) else {
            return Verdict::Broken(Broken::InvalidUtf8);
        };
        if !text.starts_with('{') {
            return Verdict::Broken(broken_json(terminated));
        }
        match decode_json(text.as_bytes()) {
            Err(_) => Verdict::Broken(broken_json(terminated)),
            Ok(mut record) => {
                if prefix.is_none() {
                    // Not the native layout: perhaps another profile.
                    normalize(&mut record);
                }
                if self.filter.matches(&record) {
                    Verdict::Show(Some(Box::new(record)))
                } else {
                    Verdict::Skip
                }
            }
        }
    }

    /// Judges and then shows (or counts) one line.
    ///
    /// # Errors
    ///
    /// Writing the output failed.
    pub fn line(&mut self, line: &[u8], terminated: bool) -> io::Result<()> {
        let verdict = self.judge(line, terminated);
        self.emit(line, verdict)
    }

    /// Shows (or counts) a line already judged.
    ///
    /// # Errors
    ///
    /// Writing the output failed.
    pub fn emit(&mut self, line: &[u8], verdict: Verdict) -> io::Result<()> {
        match verdict {
            Verdict::Skip => Ok(()),
            Verdict::Show(record) => {
                self.shown += 1;
                match &mut self.stats {
                    Some(stats) => {
                        if let Some(r) = record {
                            stats.add(&r);
                        }
                        Ok(())
                    }
                    None => self.printer.record(trim_end(line), record.as_deref()),
                }
            }
            Verdict::Broken(why) => {
                *self.broken.entry(why).or_default() += 1;
                if self.stats.is_some() {
                    return Ok(());
                }
                self.printer.broken(trim_newline(line), why)
            }
        }
    }

    /// Records shown (or counted) so far.
    pub fn shown(&self) -> u64 {
        self.shown
    }

    /// Broken lines met so far, by kind.
    pub fn broken(&self) -> &BTreeMap<Broken, u64> {
        &self.broken
    }

    /// The stats gathered, with `--stats`.
    pub fn stats(&self) -> Option<&Stats> {
        self.stats.as_ref()
    }

    /// The printer.
    pub fn printer(&mut self) -> &mut Printer<W> {
        &mut self.printer
    }

    /// The summary of broken lines for stderr, `None` when there were none.
    pub fn broken_summary(&self) -> Option<String> {
        let total: u64 = self.broken.values().sum();
        if total == 0 {
            return None;
        }
        let kinds: Vec<String> = self
            .broken
            .iter()
            .map(|(k, n)| format!("{n} {}", k.describe()))
            .collect();
        Some(format!(
            "{total} broken line{} ({})",
            if total == 1 { "" } else { "s" },
            kinds.join(", ")
        ))
    }
}

fn broken_json(terminated: bool) -> Broken {
    if terminated {
        Broken::InvalidJson
    } else {
        Broken::Truncated
    }
}

fn trim_newline(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim_end(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &line[..end]
}
