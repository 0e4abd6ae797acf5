//! `--stats`: what a log holds, instead of its records.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use tributary_core::{Record, Timestamp};

/// Counts of the records that passed the filters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Records counted.
    pub records: u64,
    /// Per level number: its name and count.
    pub levels: BTreeMap<i32, (String, u64)>,
    /// Per logger: count.
    pub loggers: BTreeMap<String, u64>,
    /// The earliest record time.
    pub first: Option<Timestamp>,
    /// The latest record time.
    pub last: Option<Timestamp>,
}

impl Stats {
    /// Counts one record.
    pub fn add(&mut self, r: &Record) {
        self.records += 1;
        self.levels
            .entry(r.level.no())
            .or_insert_with(|| (r.level.name().to_string(), 0))
            .1 += 1;
        match self.loggers.get_mut(r.logger.as_str()) {
            Some(n) => *n += 1,
            None => {
                self.loggers.insert(r.logger.to_string(), 1);
            }
        }
        self.first = Some(self.first.map_or(r.ts, |f| f.min(r.ts)));
        self.last = Some(self.last.map_or(r.ts, |l| l.max(r.ts)));
    }

    /// Counts one text record (its level and time when it showed them; its
    /// logger is not known).
    pub fn add_text(&mut self, ts: Option<Timestamp>, level: Option<&tributary_core::Level>) {
        self.records += 1;
        let (no, name) = level.map_or((0, "(none)"), |l| (l.no(), l.name()));
        self.levels
            .entry(no)
            .or_insert_with(|| (name.to_string(), 0))
            .1 += 1;
        *self.loggers.entry("(text)".to_string()).or_default() += 1;
        if let Some(ts) = ts {
            self.first = Some(self.first.map_or(ts, |f| f.min(ts)));
            self.last = Some(self.last.map_or(ts, |l| l.max(ts)));
        }
    }

    /// Records per second between the first and the last record (`None`
    /// for fewer than two distinct times).
    pub fn rate(&self) -> Option<f64> {
        let span = (self.last?.unix_nanos() - self.first?.unix_nanos()) as f64 / 1e9;
        (span > 0.0).then(|| self.records as f64 / span)
    }

    /// The report: totals, then one line per level and per logger.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "records: {}", self.records);
        if let (Some(f), Some(l)) = (self.first, self.last) {
            let _ = writeln!(s, "first: {}", f.to_rfc3339());
            let _ = writeln!(s, "last: {}", l.to_rfc3339());
        }
        if let Some(rate) = self.rate() {
            let _ = writeln!(s, "records/s: {rate:.3}");
        }
        let _ = writeln!(s, "levels:");
        for (no, (name, n)) in self.levels.iter().rev() {
            let _ = writeln!(s, "  {name:<10} {no:>3} {n:>12}");
        }
        let _ = writeln!(s, "loggers:");
        let mut loggers: Vec<_> = self.loggers.iter().collect();
        loggers.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (name, n) in loggers {
            let _ = writeln!(s, "  {name:<30} {n:>12}");
        }
        s
    }
}
