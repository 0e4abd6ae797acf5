//! Filters: decide whether a handler sees a record, and optionally enrich
//! it, copy-on-write.
//!
//! A filter gets the record as a [`Cow`]: one that only looks at it costs
//! nothing, one that adds fields calls [`Cow::to_mut`], which copies the
//! record the first time, so other handlers of the same record never see
//! the change (Python's filters mutate the shared `LogRecord` instead).

use std::borrow::Cow;
use std::fmt;
use std::ops::RangeInclusive;
use tributary_core::{Fields, Level, Record, Value};

/// Decides whether a record goes on, and may enrich it.
///
/// ```
/// use std::borrow::Cow;
/// use tributary_handlers::filter::{Filter, LevelRange, LoggerPrefix};
/// use tributary_core::{Level, Record};
///
/// let record = Record::new(Level::WARNING, "app.db.pool", "slow query");
/// assert!(LoggerPrefix::new("app.db").filter(&mut Cow::Borrowed(&record)));
/// assert!(!LoggerPrefix::new("app.d").filter(&mut Cow::Borrowed(&record)));
/// assert!(!LevelRange::new(Level::DEBUG..=Level::INFO).filter(&mut Cow::Borrowed(&record)));
/// ```
pub trait Filter: Send + Sync {
    /// `false` drops the record for this handler. To change the record,
    /// modify `record.to_mut()`; that copies it once, leaving the caller's
    /// record untouched.
    fn filter(&self, record: &mut Cow<'_, Record>) -> bool;
}

impl<F: Filter + ?Sized> Filter for Box<F> {
    fn filter(&self, record: &mut Cow<'_, Record>) -> bool {
        (**self).filter(record)
    }
}

impl<F: Filter + ?Sized> Filter for std::sync::Arc<F> {
    fn filter(&self, record: &mut Cow<'_, Record>) -> bool {
        (**self).filter(record)
    }
}

/// Runs `filters` in order; `None` when one of them rejects the record.
/// The result borrows `record` unless a filter modified it.
pub fn apply<'r>(filters: &[Box<dyn Filter>], record: &'r Record) -> Option<Cow<'r, Record>> {
    let mut cow = Cow::Borrowed(record);
    for f in filters {
        if !f.filter(&mut cow) {
            return None;
        }
    }
    Some(cow)
}

/// Passes records whose level number lies in a range: the cookbook's
/// "INFO and below to stdout, ERROR and up to stderr".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LevelRange {
    min: i32,
    max: i32,
}

impl LevelRange {
    /// Levels from `range.start()` to `range.end()`, both included.
    pub fn new(range: RangeInclusive<Level>) -> LevelRange {
        LevelRange {
            min: range.start().no(),
            max: range.end().no(),
        }
    }

    /// `level` and everything more severe.
    pub fn at_least(level: Level) -> LevelRange {
        LevelRange {
            min: level.no(),
            max: i32::MAX,
        }
    }

    /// Everything strictly less severe than `level`.
    pub fn below(level: Level) -> LevelRange {
        LevelRange {
            min: i32::MIN,
            max: level.no().saturating_sub(1),
        }
    }
}

impl Filter for LevelRange {
    fn filter(&self, record: &mut Cow<'_, Record>) -> bool {
        (self.min..=self.max).contains(&record.level.no())
    }
}

/// Passes records from a logger and its descendants, with Python's
/// hierarchy: `app.db` matches `app.db` and `app.db.pool`, not `app.dbx`.
/// An empty prefix (or `root`) matches everything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggerPrefix {
    prefix: String,
    exclude: bool,
}

impl LoggerPrefix {
    /// Passes `prefix` and its descendants.
    pub fn new(prefix: impl Into<String>) -> LoggerPrefix {
        LoggerPrefix {
            prefix: prefix.into(),
            exclude: false,
        }
    }

    /// Drops `prefix` and its descendants, passes everything else.
    pub fn exclude(prefix: impl Into<String>) -> LoggerPrefix {
        LoggerPrefix {
            prefix: prefix.into(),
            exclude: true,
        }
    }

    /// Whether `logger` is `prefix` or one of its descendants.
    pub fn matches(&self, logger: &str) -> bool {
        tributary_core::logger_matches(&self.prefix, logger)
    }
}

impl Filter for LoggerPrefix {
    fn filter(&self, record: &mut Cow<'_, Record>) -> bool {
        self.matches(&record.logger) != self.exclude
    }
}

/// A filter from a predicate closure; see [`when`].
pub struct FnFilter<F>(F);

impl<F> fmt::Debug for FnFilter<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnFilter")
    }
}

impl<F: Fn(&Record) -> bool + Send + Sync> Filter for FnFilter<F> {
    fn filter(&self, record: &mut Cow<'_, Record>) -> bool {
        (self.0)(record)
    }
}

/// A filter that passes the records for which `predicate` returns `true`.
///
/// ```
/// let no_health_checks = tributary_handlers::filter::when(|r| !r.msg.contains("/healthz"));
/// # let _ = no_health_checks;
/// ```
pub fn when<F: Fn(&Record) -> bool + Send + Sync>(predicate: F) -> FnFilter<F> {
    FnFilter(predicate)
}

/// An enriching filter from a closure; see [`enrich`].
pub struct FnEnrich<F>(F);

impl<F> fmt::Debug for FnEnrich<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnEnrich")
    }
}

impl<F: Fn(&mut Record) + Send + Sync> Filter for FnEnrich<F> {
    fn filter(&self, record: &mut Cow<'_, Record>) -> bool {
        (self.0)(record.to_mut());
        true
    }
}

/// A filter that changes this handler's copy of every record with `f`
/// (Python's "filters that add contextual information").
///
/// ```
/// use tributary_handlers::filter::enrich;
/// let tag = enrich(|r| r.fields.insert("region", "eu-west-1"));
/// # let _ = tag;
/// ```
pub fn enrich<F: Fn(&mut Record) + Send + Sync>(f: F) -> FnEnrich<F> {
    FnEnrich(f)
}

/// Adds fixed context fields to this handler's copy of each record; fields
/// the record already has win, so context never hides what the call site
/// said.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Context {
    fields: Fields,
}

impl Context {
    /// No fields yet.
    pub fn new() -> Context {
        Context::default()
    }

    /// Adds a context field.
    #[must_use]
    pub fn field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Context {
        let key: String = key.into();
        self.fields.insert(key, value);
        self
    }
}

impl Filter for Context {
    fn filter(&self, record: &mut Cow<'_, Record>) -> bool {
        if self.fields.keys().all(|k| record.fields.contains_key(k)) {
            return true;
        }
        let fields = &mut record.to_mut().fields;
        for (k, v) in self.fields.iter() {
            if !fields.contains_key(k) {
                fields.insert(k, v.clone());
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(level: Level, logger: &str) -> Record {
        Record::new(level, logger, "m")
    }

    #[test]
    fn prefix_follows_python_hierarchy() {
        let f = LoggerPrefix::new("a.b");
        for (logger, want) in [
            ("a.b", true),
            ("a.b.c", true),
            ("a.bc", false),
            ("a", false),
            ("b.a.b", false),
        ] {
            assert_eq!(f.matches(logger), want, "{logger}");
        }
        assert!(LoggerPrefix::new("app").matches("app::db"));
        assert!(LoggerPrefix::new("").matches("anything"));
        let ex = LoggerPrefix::exclude("noisy");
        assert!(!ex.filter(&mut Cow::Owned(rec(Level::INFO, "noisy.sub"))));
        assert!(ex.filter(&mut Cow::Owned(rec(Level::INFO, "quiet"))));
    }

    #[test]
    fn level_ranges() {
        let low = LevelRange::below(Level::ERROR);
        let high = LevelRange::at_least(Level::ERROR);
        let info = rec(Level::INFO, "x");
        let err = rec(Level::ERROR, "x");
        assert!(low.filter(&mut Cow::Borrowed(&info)) && !low.filter(&mut Cow::Borrowed(&err)));
        assert!(!high.filter(&mut Cow::Borrowed(&info)) && high.filter(&mut Cow::Borrowed(&err)));
        let mid = LevelRange::new(Level::INFO..=Level::WARNING);
        assert!(mid.filter(&mut Cow::Borrowed(&info)) && !mid.filter(&mut Cow::Borrowed(&err)));
    }

    #[test]
    fn enrichment_copies_only_when_it_changes_something() {
        let original = rec(Level::INFO, "x");
        let looking: Vec<Box<dyn Filter>> = vec![Box::new(when(|r| r.level == Level::INFO))];
        assert!(matches!(apply(&looking, &original), Some(Cow::Borrowed(_))));

        let ctx: Vec<Box<dyn Filter>> = vec![
            Box::new(Context::new().field("region", "eu")),
            Box::new(enrich(|r| r.msg.push('!'))),
        ];
        let out = apply(&ctx, &original).unwrap();
        assert_eq!(out.fields.get("region").and_then(Value::as_str), Some("eu"));
        assert_eq!(out.msg, "m!");
        assert!(
            original.fields.is_empty() && original.msg == "m",
            "the shared record is untouched"
        );

        let mut own = rec(Level::INFO, "x");
        own.fields.insert("region", "us");
        let out = apply(&ctx[..1], &own).unwrap();
        assert!(
            matches!(out, Cow::Borrowed(_)),
            "record's own field wins, no copy"
        );
    }
}
