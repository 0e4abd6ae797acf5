//! Python `logging.Formatter` templates, in all three styles, formatted
//! byte for byte as Python would.
//!
//! ```
//! use tributary_core::{Fields, Formatter, Level, Record, Timestamp};
//! use tributary_core::pattern::{PatternFormatter, Style};
//!
//! let record = Record::builder(Level::WARNING, "disk almost full")
//!     .ts(Timestamp::from_unix_nanos(1_763_774_682_444_000_000))
//!     .logger("app.storage")
//!     .line(42)
//!     .field("user", "ann")
//!     .build();
//!
//! // Python's default `%` style; `asctime` in the given zone (local by default).
//! let text = PatternFormatter::new("%(asctime)s %(levelname)-8s %(name)s:%(lineno)d %(message)s")?
//!     .utc(true);
//! let mut out = Vec::new();
//! text.format(&record, &mut out);
//! assert_eq!(out, b"2025-11-22 01:24:42,444 WARNING  app.storage:42 disk almost full");
//!
//! // Extra fields are declared, so a typo fails here and not on every record…
//! assert!(PatternFormatter::with_style("{usr} {message}", Style::Brace).is_err());
//! // …or, as Python does, any name that is not standard is looked up in the
//! // record's fields; a record without it shows the `missing` text.
//! let any = PatternFormatter::builder("%(user)s %(request)s %(message)s")
//!     .allow_any_field()
//!     .missing("?")
//!     .build()?;
//! out.clear();
//! any.format(&record, &mut out);
//! assert_eq!(out, b"ann ? disk almost full");
//! assert_eq!(any.records_missing_fields(), 1);
//! let brace = PatternFormatter::builder("{user:>5}|{ip}|{message}")
//!     .style(Style::Brace)
//!     .allow_fields(["user"])
//!     .defaults([("ip", "n/a")].into_iter().collect::<Fields>())
//!     .build()?;
//! out.clear();
//! brace.format(&record, &mut out);
//! assert_eq!(out, b"  ann|n/a|disk almost full");
//! # Ok::<(), tributary_core::PatternError>(())
//! ```
//!
//! Where this differs from Python, because formatting here cannot fail:
//! an extra field missing from a record (and from the defaults) prints `-`
//! (or the [`missing`](PatternBuilder::missing) text) and is counted
//! ([`PatternFormatter::records_missing_fields`]) where Python raises
//! `KeyError` and loses the record; a value of the wrong type for its
//! conversion (`%(user)d` with a string, a spec on `None`) prints its
//! `str()` padded to the width where Python raises `TypeError`. Conversions
//! Python refuses on every record, like `%(levelname)d`, are refused when
//! the formatter is built.

mod asctime;
pub(crate) mod attrs;
mod error;
mod parse;
mod render;
pub(crate) mod spec;

use jiff::tz::TimeZone;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

pub use error::PatternError;

use crate::{Fields, Record, Timestamp};
use asctime::{Clock, DateFormat};
use attrs::Attr;
use parse::RawPart;
use spec::Spec;

/// The three template syntaxes of Python's `logging.Formatter(style=...)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Style {
    /// `%(levelname)-8s`: the `%` operator with a mapping (`style='%'`, Python's default).
    #[default]
    Percent,
    /// `{levelname:<8}`: `str.format` (`style='{'`).
    Brace,
    /// `$levelname` / `${levelname}`: `string.Template` (`style='$'`).
    Dollar,
}

/// Formats records with a Python logging template; see the [module docs](self).
///
/// The template is parsed once; formatting writes straight into the output
/// buffer and allocates nothing else. `asctime` is rendered once per second
/// and copied in between.
pub struct PatternFormatter {
    template: String,
    style: Style,
    parts: Vec<Part>,
    clock: Clock,
    defaults: Fields,
    allowed: Vec<String>,
    any_field: bool,
    /// What an absent extra field prints.
    missing: Box<str>,
    /// Records formatted with at least one absent extra field.
    missing_count: AtomicU64,
    /// Origin of `relativeCreated` for records that carry none.
    start_nanos: i64,
    /// Whether line breaks in what the record supplies are written as `\n`
    /// and `\r` (see [`PatternBuilder::escape_newlines`]).
    escape_newlines: bool,
}

#[derive(Clone, Debug)]
enum Part {
    Literal(Box<str>),
    Field { attr: Attr, spec: Spec },
}

impl PatternFormatter {
    /// A `%`-style formatter (Python's default style), with `asctime` in
    /// the local time zone (`TZ`, as Python's `time.localtime`).
    ///
    /// Fails on malformed templates and on attribute names that are not
    /// standard; declare extra fields with [`PatternFormatter::builder`].
    pub fn new(template: &str) -> Result<PatternFormatter, PatternError> {
        PatternFormatter::builder(template).build()
    }

    /// A formatter for a template in the given [`Style`].
    pub fn with_style(template: &str, style: Style) -> Result<PatternFormatter, PatternError> {
        PatternFormatter::builder(template).style(style).build()
    }

    /// A `%`-style formatter that may also name the given extra fields.
    pub fn new_with_fields<I, S>(
        template: &str,
        fields: I,
    ) -> Result<PatternFormatter, PatternError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        PatternFormatter::builder(template)
            .allow_fields(fields)
            .build()
    }

    /// Starts a formatter with every option: style, extra fields, defaults,
    /// date format and time zone.
    pub fn builder(template: &str) -> PatternBuilder {
        PatternBuilder {
            template: template.to_owned(),
            style: Style::Percent,
            allowed: Vec::new(),
            any_field: false,
            missing: attrs::MISSING_EXTRA.to_owned(),
            defaults: Fields::new(),
            datefmt: None,
            tz: None,
            escape_newlines: false,
        }
    }

    /// Formats `asctime` with `time.strftime(datefmt)`, as Python's
    /// `Formatter(datefmt=...)`: no milliseconds are appended. Fails on
    /// directives glibc does not know, such as `%f`.
    pub fn datefmt(mut self, datefmt: &str) -> Result<PatternFormatter, PatternError> {
        let format = DateFormat::parse(datefmt)?;
        self.clock = Clock::new(Some(format), self.clock.time_zone().clone());
        Ok(self)
    }

    /// `asctime` in UTC (Python's `converter = time.gmtime`) when `true`,
    /// in the local zone otherwise.
    pub fn utc(self, utc: bool) -> PatternFormatter {
        self.time_zone(if utc {
            TimeZone::UTC
        } else {
            TimeZone::system()
        })
    }

    /// `asctime` in the given time zone.
    pub fn time_zone(mut self, tz: TimeZone) -> PatternFormatter {
        self.clock = Clock::new(self.clock.datefmt().cloned(), tz);
        self
    }

    /// The template as given.
    pub fn template(&self) -> &str {
        &self.template
    }

    /// The template's style.
    pub fn style(&self) -> Style {
        self.style
    }

    /// How many records this formatter has formatted that lacked an extra
    /// field the template names (and had no default for it): each was
    /// written with the [`missing`](PatternBuilder::missing) text in its
    /// place, where Python's formatter would have raised.
    pub fn records_missing_fields(&self) -> u64 {
        self.missing_count.load(Relaxed)
    }
}

impl Clone for PatternFormatter {
    fn clone(&self) -> Self {
        PatternFormatter {
            template: self.template.clone(),
            style: self.style,
            parts: self.parts.clone(),
            clock: Clock::new(
                self.clock.datefmt().cloned(),
                self.clock.time_zone().clone(),
            ),
            defaults: self.defaults.clone(),
            allowed: self.allowed.clone(),
            any_field: self.any_field,
            missing: self.missing.clone(),
            // A clone counts its own records.
            missing_count: AtomicU64::new(0),
            start_nanos: self.start_nanos,
            escape_newlines: self.escape_newlines,
        }
    }
}

impl std::fmt::Debug for PatternFormatter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatternFormatter")
            .field("template", &self.template)
            .field("style", &self.style)
            .field("datefmt", &self.clock.datefmt().map(DateFormat::source))
            .field("time_zone", self.clock.time_zone())
            .field("allowed", &self.allowed)
            .field("any_field", &self.any_field)
            .field("missing", &self.missing)
            .field("defaults", &self.defaults)
            .field("escape_newlines", &self.escape_newlines)
            .finish_non_exhaustive()
    }
}

/// Options for a [`PatternFormatter`]; [`build`](PatternBuilder::build)
/// checks the template and the date format.
#[derive(Clone, Debug)]
#[must_use = "call .build() to get the formatter"]
pub struct PatternBuilder {
    template: String,
    style: Style,
    allowed: Vec<String>,
    any_field: bool,
    missing: String,
    defaults: Fields,
    datefmt: Option<String>,
    tz: Option<TimeZone>,
    escape_newlines: bool,
}

impl PatternBuilder {
    /// The template syntax (default [`Style::Percent`]).
    pub fn style(mut self, style: Style) -> Self {
        self.style = style;
        self
    }

    /// Extra fields (Python's `extra=`) the template may name. A record
    /// without one prints its default, else `-`.
    pub fn allow_fields<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed.extend(names.into_iter().map(Into::into));
        self
    }

    /// Looks up every name that is not a standard attribute in the record's
    /// fields, as Python looks up `extra=` attributes on its `LogRecord`:
    /// any template is accepted, and [`allow_fields`](Self::allow_fields)
    /// is not needed (a typo then prints the [`missing`](Self::missing)
    /// text on every record instead of failing here).
    pub fn allow_any_field(mut self) -> Self {
        self.any_field = true;
        self
    }

    /// What an extra field prints on a record that lacks it and has no
    /// [`defaults`](Self::defaults) value for it (default `-`).
    pub fn missing(mut self, text: impl Into<String>) -> Self {
        self.missing = text.into();
        self
    }

    /// Values for extra fields that a record lacks, as Python 3.10's
    /// `Formatter(defaults=...)`: a record's own field wins. Naming a field
    /// here also allows it in the template.
    pub fn defaults(mut self, defaults: Fields) -> Self {
        self.defaults.extend(defaults);
        self
    }

    /// `time.strftime` format for `asctime`, as Python's `datefmt`.
    pub fn datefmt(mut self, datefmt: impl Into<String>) -> Self {
        self.datefmt = Some(datefmt.into());
        self
    }

    /// `asctime` in UTC when `true`, in the local zone (`TZ`) otherwise.
    pub fn utc(mut self, utc: bool) -> Self {
        self.tz = Some(if utc {
            TimeZone::UTC
        } else {
            TimeZone::system()
        });
        self
    }

    /// `asctime` in the given time zone.
    pub fn time_zone(mut self, tz: TimeZone) -> Self {
        self.tz = Some(tz);
        self
    }

    /// Writes line feeds and carriage returns in what a record supplies (its message, logger
    /// and other attributes, fields, traceback and stack, and the line
    /// breaks Python puts before the traceback and the stack) as the two
    /// characters `\n` and `\r`, so every record is one line and a
    /// producer cannot write lines that look like another producer's
    /// records. Off by default, as in Python, whose `Formatter` writes them
    /// as they are. The template's own text is never changed.
    pub fn escape_newlines(mut self, escape: bool) -> Self {
        self.escape_newlines = escape;
        self
    }

    /// Parses and checks the template and date format.
    pub fn build(self) -> Result<PatternFormatter, PatternError> {
        // Python's `Formatter` uses its default format for an empty one.
        let template = match (self.template.is_empty(), self.style) {
            (false, _) => self.template.as_str(),
            (true, Style::Percent) => "%(message)s",
            (true, Style::Brace) => "{message}",
            (true, Style::Dollar) => "${message}",
        };
        let mut parts = Vec::new();
        for raw in parse::parse(template, self.style)? {
            parts.push(match raw {
                RawPart::Literal(text) => Part::Literal(text.into()),
                RawPart::Field {
                    name,
                    spec,
                    placeholder,
                } => {
                    let (attr, ty) = match Attr::standard(&name) {
                        Some(found) => found,
                        None if self.any_field
                            || self.allowed.contains(&name)
                            || self.defaults.contains_key(&name) =>
                        {
                            (Attr::Extra(name.as_str().into()), attrs::PyType::Any)
                        }
                        None => return Err(PatternError::UnknownAttribute { name }),
                    };
                    if let Some(reason) = spec.refusal(ty) {
                        return Err(PatternError::Conversion {
                            placeholder,
                            name,
                            reason,
                        });
                    }
                    Part::Field { attr, spec }
                }
            });
        }
        let datefmt = self.datefmt.as_deref().map(DateFormat::parse).transpose()?;
        Ok(PatternFormatter {
            template: template.to_owned(),
            style: self.style,
            parts,
            clock: Clock::new(datefmt, self.tz.unwrap_or_else(TimeZone::system)),
            defaults: self.defaults,
            allowed: self.allowed,
            any_field: self.any_field,
            missing: self.missing.into(),
            missing_count: AtomicU64::new(0),
            start_nanos: Timestamp::now().unix_nanos(),
            escape_newlines: self.escape_newlines,
        })
    }
}

impl crate::Formatter for PatternFormatter {
    fn format(&self, record: &Record, out: &mut Vec<u8>) {
        let start = out.len();
        let ctx = render::Ctx {
            record,
            clock: &self.clock,
        };
        let mut lacking = false;
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.extend_from_slice(text.as_bytes()),
                Part::Field { attr, spec } => {
                    let value = attrs::resolve(attr, record, self.start_nanos, &self.defaults)
                        .unwrap_or_else(|| {
                            lacking = true;
                            attrs::Py::Str(&self.missing)
                        });
                    let at = out.len();
                    render::render(out, value, spec, &ctx);
                    if self.escape_newlines {
                        render::escape_newlines(out, at);
                    }
                }
            }
        }
        if lacking {
            self.missing_count.fetch_add(1, Relaxed);
        }
        // Python's `Formatter.format` appends the traceback, then the stack,
        // each on a new line.
        for appended in [&record.exc, &record.stack] {
            if let Some(text) = appended.as_deref().filter(|t| !t.is_empty()) {
                let at = out.len();
                if out.len() == start || out.last() != Some(&b'\n') {
                    out.push(b'\n');
                }
                out.extend_from_slice(text.as_bytes());
                if self.escape_newlines {
                    render::escape_newlines(out, at);
                }
            }
        }
    }
}
