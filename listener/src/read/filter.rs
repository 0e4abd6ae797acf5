//! Which records to show: every filter given must hold (AND); repeated
//! `--logger` values are alternatives (OR).

use regex::Regex;
use tributary_core::{Level, Record, Timestamp, Value, logger_matches};

use super::error::ReadError;
use super::prefix::Prefix;

/// The filters of `cat` and `tail`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Minimum level number.
    pub min_level: Option<i32>,
    /// Logger prefixes in Python's hierarchy (`app` takes `app.db` and
    /// `app::db`); any may match.
    pub loggers: Vec<String>,
    /// Records at or after this time.
    pub since: Option<Timestamp>,
    /// Records at or before this time.
    pub until: Option<Timestamp>,
    /// A regular expression searched in the message.
    pub grep: Option<Regex>,
    /// Tests on fields; all must hold.
    pub fields: Vec<FieldTest>,
    /// The producer's host name.
    pub host: Option<String>,
    /// The producer's process id.
    pub pid: Option<u32>,
}

/// A test on one field of a record (`--field`).
#[derive(Debug, Clone, PartialEq)]
pub enum FieldTest {
    /// `KEY=VALUE`: the field's text (as a pattern's `%(KEY)s` prints it)
    /// equals VALUE.
    Equals(String, String),
    /// `KEY>N`: the field is a number (or a string holding one) above N.
    Above(String, f64),
    /// `KEY<N`: the field is a number (or a string holding one) below N.
    Below(String, f64),
}

/// What the line's native prefix alone decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quick {
    /// Excluded by level or time.
    Reject,
    /// Taken, and no other filter needs the decoded record.
    Accept,
    /// Decode the record and ask [`Filter::matches`].
    Decode,
}

impl Filter {
    /// True when only level and time filters are set, which the native
    /// prefix answers alone.
    pub fn prefix_decides(&self) -> bool {
        self.loggers.is_empty()
            && self.grep.is_none()
            && self.fields.is_empty()
            && self.host.is_none()
            && self.pid.is_none()
    }

    /// Decides from the native prefix where it can.
    pub fn quick(&self, prefix: &Prefix<'_>) -> Quick {
        if let Some(min) = self.min_level
            && prefix.levelno < min
        {
            return Quick::Reject;
        }
        if self.since.is_some() || self.until.is_some() {
            let Some(ts) = prefix.timestamp() else {
                return Quick::Decode;
            };
            if !self.time_ok(ts) {
                return Quick::Reject;
            }
        }
        if self.prefix_decides() {
            Quick::Accept
        } else {
            Quick::Decode
        }
    }

    fn time_ok(&self, ts: Timestamp) -> bool {
        self.since.is_none_or(|s| ts >= s) && self.until.is_none_or(|u| ts <= u)
    }

    /// True when `record` passes every filter.
    pub fn matches(&self, record: &Record) -> bool {
        self.min_level.is_none_or(|m| record.level.no() >= m)
            && self.time_ok(record.ts)
            && (self.loggers.is_empty()
                || self
                    .loggers
                    .iter()
                    .any(|l| logger_matches(l, record.logger.as_str())))
            && self
                .host
                .as_ref()
                .is_none_or(|h| record.host.as_deref() == Some(h))
            && self.pid.is_none_or(|p| record.pid == Some(p))
            && self.grep.as_ref().is_none_or(|re| re.is_match(&record.msg))
            && self.fields.iter().all(|t| t.holds(record))
    }
}

impl Filter {
    /// True when a text record passes: level and time as read from its
    /// first line (a record without them fails a level or time filter),
    /// loggers, host and pid as words of its first line, `--grep` on its
    /// whole text, `--field KEY=VALUE` as `KEY=VALUE` in the text (`>` and
    /// `<` need typed fields: no text record passes them).
    pub fn matches_text(
        &self,
        ts: Option<Timestamp>,
        level: Option<&Level>,
        first_line: &str,
        text: &str,
    ) -> bool {
        let words =
            || first_line.split(|c: char| c.is_whitespace() || c == ':' || c == '[' || c == ']');
        self.min_level
            .is_none_or(|m| level.is_some_and(|l| l.no() >= m))
            && ((self.since.is_none() && self.until.is_none())
                || ts.is_some_and(|t| self.time_ok(t)))
            && (self.loggers.is_empty()
                || words()
                    .any(|w| !w.is_empty() && self.loggers.iter().any(|l| logger_matches(l, w))))
            && self.host.as_ref().is_none_or(|h| words().any(|w| w == h))
            && self.pid.is_none_or(|p| words().any(|w| w == p.to_string()))
            && self.grep.as_ref().is_none_or(|re| re.is_match(text))
            && self.fields.iter().all(|t| match t {
                FieldTest::Equals(k, v) => text.contains(&format!("{k}={v}")),
                FieldTest::Above(..) | FieldTest::Below(..) => false,
            })
    }
}

impl FieldTest {
    /// Parses `KEY=VALUE`, `KEY>N` or `KEY<N`.
    ///
    /// # Errors
    ///
    /// No operator, an empty key, or a bound that is not a number.
    pub fn parse(text: &str) -> Result<FieldTest, ReadError> {
        let Some(at) = text.find(['=', '>', '<']) else {
            return Err(ReadError::Invalid(format!(
                "--field {text:?}: write KEY=VALUE, KEY>N or KEY<N"
            )));
        };
        let (key, rest) = text.split_at(at);
        if key.is_empty() {
            return Err(ReadError::Invalid(format!(
                "--field {text:?}: the field name before the operator is missing"
            )));
        }
        let value = &rest[1..];
        let number = || {
            value.trim().parse::<f64>().map_err(|_| {
                ReadError::Invalid(format!(
                    "--field {text:?}: {value:?} is not a number (> and < compare numbers)"
                ))
            })
        };
        Ok(match rest.as_bytes()[0] {
            b'=' => FieldTest::Equals(key.to_string(), value.to_string()),
            b'>' => FieldTest::Above(key.to_string(), number()?),
            _ => FieldTest::Below(key.to_string(), number()?),
        })
    }

    /// True when the record's field passes.
    pub fn holds(&self, record: &Record) -> bool {
        match self {
            FieldTest::Equals(key, want) => record.fields.get(key).is_some_and(|v| match v {
                Value::Str(s) => s == want,
                other => other.to_string() == *want,
            }),
            FieldTest::Above(key, bound) => number(record, key).is_some_and(|n| n > *bound),
            FieldTest::Below(key, bound) => number(record, key).is_some_and(|n| n < *bound),
        }
    }
}

fn number(record: &Record, key: &str) -> Option<f64> {
    match record.fields.get(key)? {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::BigInt(s) => s.parse().ok(),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Parses a level given as a name (`warning`, `WARN`) or a number (`30`).
///
/// # Errors
///
/// Neither a known name nor a number.
pub fn parse_level(text: &str) -> Result<i32, ReadError> {
    if let Ok(n) = text.trim().parse::<i32>() {
        return Ok(n);
    }
    Level::from_name(text.trim())
        .map(|l| l.no())
        .ok_or_else(|| {
            ReadError::Invalid(format!(
                "--level {text:?}: use TRACE, DEBUG, INFO, WARNING, ERROR, CRITICAL or a number"
            ))
        })
}
