//! One line's way from the file to the screen: the native prefix first
//! (level and time decide most lines unread), then the decoder, the
//! filters, and the printer or the stats.

use std::collections::BTreeMap;
use std::io::{self, Write};

use jiff::tz::TimeZone;
use tributary_core::{Level, Record, Timestamp, decode_json};

use super::filter::{Filter, Quick};
use super::lines::MAX_LINE;
use super::output::{Broken, Printer};
use super::prefix::native_prefix;
use super::profiles::normalize;
use super::stats::Stats;
use super::text;

/// What to do with one line.
#[derive(Debug)]
pub enum Verdict {
    /// Filtered out (or blank).
    Skip,
    /// Show it; the record is decoded when the output or stats need it.
    Show(Option<Box<Record>>),
    /// A text record (a Python pattern's output) to show as it is, with
    /// the time and level read from it.
    Text(Option<Timestamp>, Option<Level>),
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
    /// The text record being assembled (its first line started with a
    /// timestamp; the lines after it that do not are its continuation).
    text: Option<Vec<u8>>,
    /// The zone of text logs' civil timestamps.
    tz: TimeZone,
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
            text: None,
            tz: TimeZone::system(),
        }
    }

    /// Reads text logs' civil timestamps in `tz` (default: the system's).
    pub fn with_time_zone(mut self, tz: TimeZone) -> Self {
        self.tz = tz;
        self
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
        if !line.starts_with(b"{") && text::leading_time(line).is_some() {
            return self.judge_text(line);
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

    /// A text record (lines joined by `\n`): time and level from its first
    /// line, the other filters on its text.
    fn judge_text(&self, record: &[u8]) -> Verdict {
        let text = String::from_utf8_lossy(record);
        let first = text.lines().next().unwrap_or_default();
        let end = text::leading_time(first.as_bytes()).unwrap_or(0);
        let ts = first.get(..end).and_then(|s| text::parse_time(s, &self.tz));
        let level = first.get(end..).and_then(text::level_of);
        if self.filter.matches_text(ts, level.as_ref(), first, &text) {
            Verdict::Text(ts, level)
        } else {
            Verdict::Skip
        }
    }

    /// Judges and then shows (or counts) one line; lines of a text log are
    /// gathered into records first (shown when the next record starts, or
    /// at [`Scan::finish_record`]).
    ///
    /// # Errors
    ///
    /// Writing the output failed.
    pub fn line(&mut self, line: &[u8], terminated: bool) -> io::Result<()> {
        let body = trim_newline(line);
        if !body.starts_with(b"{") {
            if text::leading_time(body).is_some() {
                self.finish_record()?;
                self.text = Some(body.to_vec());
                return Ok(());
            }
            if let Some(record) = &mut self.text {
                // A traceback line: it stays with its record (bounded).
                if record.len() < MAX_LINE {
                    record.push(b'\n');
                    record.extend_from_slice(body);
                }
                return Ok(());
            }
        } else {
            self.finish_record()?;
        }
        let verdict = self.judge(line, terminated);
        self.emit(line, verdict)
    }

    /// Shows the text record being gathered, if any (at the end of a file,
    /// or of a follower's poll).
    ///
    /// # Errors
    ///
    /// Writing the output failed.
    pub fn finish_record(&mut self) -> io::Result<()> {
        let Some(record) = self.text.take() else {
            return Ok(());
        };
        let verdict = self.judge_text(&record);
        self.emit(&record, verdict)
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
            Verdict::Text(ts, level) => {
                self.shown += 1;
                match &mut self.stats {
                    Some(stats) => {
                        stats.add_text(ts, level.as_ref());
                        Ok(())
                    }
                    None => self.printer.record(line, None),
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

    /// The filter lines go through.
    pub fn filter(&self) -> &Filter {
        &self.filter
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
