//! Python's `logging.handlers.HTTPHandler` records: the
//! `application/x-www-form-urlencoded` encoding of `record.__dict__` it
//! sends (in a POST body, or a GET query string) → [`Record`].
//!
//! Every value arrives as Python's `str()` of the attribute, so numbers and
//! times are converted here, `None` is read back, and the message is
//! rebuilt as `LogRecord.getMessage` would: `msg % args`, with `args` read
//! from its `repr()` by a parser of literals only (strings, numbers,
//! `None`/`True`/`False`, tuples, lists, dicts). Anything else in `args`
//! is refused with [`FormError::NotALiteral`]: it is never evaluated.
//! Attributes map to the record as for the pickled records of
//! `SocketHandler` (one table for both); unknown attributes become string
//! fields.
//!
//! ```
//! use tributary_core::{Record, form::decode_form_record};
//!
//! let mut record = Record::empty();
//! let body = b"name=app.db&msg=hello+%25s&args=%28%27world%27%2C%29&levelname=WARNING&levelno=30&created=1796475920.1266594&user=ann";
//! decode_form_record(body, &mut record)?;
//! assert_eq!(record.msg, "hello world");
//! assert_eq!(record.logger, "app.db");
//! assert_eq!(record.level.no(), 30);
//! assert_eq!(record.fields.get("user").and_then(|v| v.as_str()), Some("ann"));
//! # Ok::<(), tributary_core::form::FormError>(())
//! ```

mod literal;
mod percent;

use crate::log_record::{self, Slot, slot};
use crate::{CompactString, Record, Timestamp, Value};
use std::borrow::Cow;

/// A form record with more keys than this is refused (a LogRecord has
/// about 25; the bound keeps a hostile form from building a huge record).
pub const MAX_FORM_KEYS: usize = 1024;

/// Why a form record was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormError {
    /// `args` is not a Python literal; it was not evaluated.
    #[error(
        "args is not a Python literal (only literals are read, nothing is evaluated): {reason}"
    )]
    NotALiteral {
        /// Where and what.
        reason: String,
    },
    /// More keys than [`MAX_FORM_KEYS`].
    #[error("the form has more than {limit} keys")]
    TooManyKeys {
        /// The bound.
        limit: usize,
    },
}

/// Decodes one HTTPHandler record (the urlencoded form, without a leading
/// `?`) into `r`, which is cleared first.
///
/// A message whose `%` conversions do not fit its `args` (Python's
/// `getMessage` would raise) is kept as sent, with `args` as a field, so
/// nothing is lost.
pub fn decode_form_record(form: &[u8], r: &mut Record) -> Result<(), FormError> {
    r.clear();
    let mut keys = 0usize;
    let mut ts = None;
    let mut msecs = None;
    let mut logger = None;
    let mut level_name: Option<Cow<'_, str>> = None;
    let mut level_no: Option<i32> = None;
    let mut filename: Option<Cow<'_, str>> = None;
    let mut args: Option<Cow<'_, str>> = None;
    let mut exc_info: Option<Cow<'_, str>> = None;
    for (key, value) in form_urlencoded::parse(form) {
        keys += 1;
        if keys > MAX_FORM_KEYS {
            return Err(FormError::TooManyKeys {
                limit: MAX_FORM_KEYS,
            });
        }
        let kept = match slot(key.as_bytes()) {
            Slot::Logger => {
                logger = Some(CompactString::from(&*value));
                Ok(())
            }
            Slot::Msg => {
                r.msg = CompactString::from(&*value);
                Ok(())
            }
            Slot::LevelName => {
                level_name = Some(value.clone());
                Ok(())
            }
            Slot::LevelNo => value.parse().map(|n| level_no = Some(n)).map_err(drop),
            Slot::File => {
                r.file = text(&value);
                Ok(())
            }
            Slot::FileName => {
                filename = Some(value.clone());
                Ok(())
            }
            Slot::Module => {
                r.module = text(&value);
                Ok(())
            }
            Slot::Line => number(&value).map(|n| r.line = n),
            Slot::Func => {
                r.func = text(&value);
                Ok(())
            }
            Slot::Created => match value.parse().ok().and_then(Timestamp::from_secs_f64) {
                Some(stamp) => {
                    ts = Some(stamp);
                    Ok(())
                }
                None => Err(()),
            },
            Slot::Msecs => value.parse().map(|ms| msecs = Some(ms)).map_err(drop),
            Slot::RelativeCreated => value
                .parse()
                .map(|ms| r.relative_created_ms = Some(ms))
                .map_err(drop),
            Slot::Tid => number(&value).map(|n| r.tid = n),
            Slot::Thread => {
                r.thread = text(&value);
                Ok(())
            }
            Slot::Process => {
                r.process = text(&value);
                Ok(())
            }
            Slot::Pid => number(&value).map(|n| r.pid = n),
            Slot::Exc => {
                r.exc = text(&value);
                Ok(())
            }
            Slot::Stack => {
                r.stack = text(&value);
                Ok(())
            }
            Slot::TaskName if &*value == "None" => Ok(()),
            Slot::TaskName => Err(()),
            Slot::Consumed => {
                match &*key {
                    "args" => args = Some(value.clone()),
                    "exc_info" if &*value != "None" => exc_info = Some(value.clone()),
                    _ => {}
                }
                Ok(())
            }
            Slot::Field => Err(()),
        };
        if kept.is_err() {
            r.fields
                .insert(&*key, Value::Str(CompactString::from(&*value)));
        }
    }
    if let Some(name) = filename {
        let derived = match r.file.as_deref() {
            Some(path) => path.rsplit(['/', '\\']).next() == Some(&*name),
            None => &*name == "None",
        };
        if !derived {
            r.fields
                .insert("filename", Value::Str(CompactString::from(&*name)));
        }
    }
    // `exc_text` is set only when a formatter ran before HTTPHandler;
    // otherwise the repr of `exc_info` (type and message) is all there is.
    if r.exc.is_none()
        && let Some(info) = exc_info
    {
        r.exc = Some(CompactString::from(&*info));
    }
    if let Some(args) = args {
        let parsed = literal::parse(&args)?;
        // `getMessage` formats only when args is truthy.
        let truthy = !matches!(
            &parsed,
            literal::Literal::Tuple(v) | literal::Literal::List(v) if v.is_empty()
        ) && !matches!(&parsed, literal::Literal::Dict(v) if v.is_empty())
            && parsed != literal::Literal::None;
        if truthy {
            match percent::format(&r.msg, &parsed) {
                Ok(msg) => r.msg = msg.into(),
                Err(_) => r
                    .fields
                    .insert("args", Value::Str(CompactString::from(&*args))),
            }
        }
    }
    log_record::finish(r, ts, msecs, logger, level_name, level_no);
    Ok(())
}

/// A text attribute: Python's `str(None)` is `None`.
fn text(value: &str) -> Option<CompactString> {
    (value != "None").then(|| CompactString::from(value))
}

/// A number attribute Python may send as `None`.
fn number<T: std::str::FromStr>(value: &str) -> Result<Option<T>, ()> {
    if value == "None" {
        return Ok(None);
    }
    value.parse().map(Some).map_err(drop)
}

#[cfg(test)]
mod tests;
