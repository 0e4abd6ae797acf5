//! A LogRecord's `__dict__` → [`Record`].
//!
//! Keys follow `LogRecord.__init__` (reference §1.3). Like the JSON decoder,
//! a standard attribute of an unexpected type is kept as a field rather than
//! dropped, and every unknown key becomes a field.

use super::PickleError;
use super::convert::{Converter, MAX_DICT_KEYS};
use super::item::{Item, Kind, type_name};
use super::machine::Parsed;
use crate::{Level, Record, Timestamp};

/// Where a LogRecord attribute goes.
enum Slot {
    Logger,
    Msg,
    LevelName,
    LevelNo,
    File,
    FileName,
    Module,
    Line,
    Func,
    Created,
    RelativeCreated,
    Tid,
    Thread,
    Process,
    Pid,
    Exc,
    Stack,
    /// Kept only when not None (Python 3.12+ sends None outside asyncio).
    TaskName,
    /// Derived or always-None attributes: `args`, `exc_info`, `msecs`,
    /// `message`, `asctime`.
    Consumed,
    Field,
}

fn slot(key: &str) -> Slot {
    match key {
        "name" => Slot::Logger,
        "msg" => Slot::Msg,
        "levelname" => Slot::LevelName,
        "levelno" => Slot::LevelNo,
        "pathname" => Slot::File,
        "filename" => Slot::FileName,
        "module" => Slot::Module,
        "lineno" => Slot::Line,
        "funcName" => Slot::Func,
        "created" => Slot::Created,
        "relativeCreated" => Slot::RelativeCreated,
        "thread" => Slot::Tid,
        "threadName" => Slot::Thread,
        "processName" => Slot::Process,
        "process" => Slot::Pid,
        "exc_text" => Slot::Exc,
        "stack_info" => Slot::Stack,
        "taskName" => Slot::TaskName,
        "args" | "exc_info" | "msecs" | "message" | "asctime" => Slot::Consumed,
        _ => Slot::Field,
    }
}

/// Builds the record from the pickled dict at the root of `parsed`.
pub(crate) fn to_record<'a>(
    parsed: &Parsed<'a>,
    conv: &mut Converter<'_, 'a>,
) -> Result<Record, PickleError> {
    let items = match &parsed.root {
        Item::Container(i) => match parsed.arena.get(*i) {
            Some(c) if c.kind == Kind::Dict => &c.items,
            _ => return Err(not_a_dict(parsed)),
        },
        _ => return Err(not_a_dict(parsed)),
    };
    if items.len() / 2 > MAX_DICT_KEYS {
        return Err(PickleError::TooLarge {
            limit: MAX_DICT_KEYS,
        });
    }
    let mut r = Record::new(Level::INFO, "root", "");
    let mut level_name: Option<&str> = None;
    let mut level_no: Option<i32> = None;
    let mut filename: Option<&Item<'a>> = None;
    for pair in items.chunks_exact(2) {
        let (key, value) = (&pair[0], &pair[1]);
        let Some(name) = key.as_str() else {
            let key = conv.key(key, 1)?;
            let value = conv.value(value, 1)?;
            r.fields.insert(key, value);
            continue;
        };
        let kept = match slot(name) {
            Slot::Logger => {
                text(value).map(|s| r.logger = s.map_or_else(|| "root".to_owned(), str::to_owned))
            }
            Slot::Msg => {
                let mut msg = String::new();
                conv.py_str(value, &mut msg, 1)?;
                r.msg = msg;
                Ok(())
            }
            Slot::LevelName => text(value).map(|s| level_name = s),
            Slot::LevelNo => int(value).map(|n| level_no = Some(n)),
            Slot::File => text(value).map(|s| r.file = s.map(str::to_owned)),
            Slot::FileName => {
                filename = Some(value);
                Ok(())
            }
            Slot::Module => text(value).map(|s| r.module = s.map(str::to_owned)),
            Slot::Line => opt_int(value).map(|n| r.line = n),
            Slot::Func => text(value).map(|s| r.func = s.map(str::to_owned)),
            Slot::Created => match float(value).map(Timestamp::from_secs_f64) {
                Some(Some(ts)) => {
                    r.ts = ts;
                    Ok(())
                }
                _ => Err(()),
            },
            Slot::RelativeCreated => float(value)
                .map(|ms| r.relative_created_ms = Some(ms))
                .ok_or(()),
            Slot::Tid => match value {
                Item::BigInt(digits) => digits.parse().map(|n| r.tid = Some(n)).map_err(|_| ()),
                _ => opt_int(value).map(|n| r.tid = n),
            },
            Slot::Thread => text(value).map(|s| r.thread = s.map(str::to_owned)),
            Slot::Process => text(value).map(|s| r.process = s.map(str::to_owned)),
            Slot::Pid => opt_int(value).map(|n| r.pid = n),
            Slot::Exc => text(value).map(|s| r.exc = s.map(str::to_owned)),
            Slot::Stack => text(value).map(|s| r.stack = s.map(str::to_owned)),
            Slot::TaskName => match value {
                Item::None => Ok(()),
                _ => Err(()),
            },
            Slot::Consumed => Ok(()),
            Slot::Field => Err(()),
        };
        if kept.is_err() {
            let value = conv.value(value, 1)?;
            r.fields.insert(name, value);
        }
    }
    // `filename` is `os.path.basename(pathname)`: noise when it is just
    // that, a field when a sender set something else.
    if let Some(item) = filename {
        let derived = match (item.as_str(), r.file.as_deref()) {
            (Some(f), Some(path)) => path.rsplit(['/', '\\']).next() == Some(f),
            (None, _) => matches!(item, Item::None),
            _ => false,
        };
        if !derived {
            let value = conv.value(item, 1)?;
            r.fields.insert("filename", value);
        }
    }
    r.level = match (level_name, level_no) {
        (Some(name), Some(no)) => Level::from_parts(name, no),
        (Some(name), None) => Level::from_name(name)
            .unwrap_or_else(|| Level::custom(Level::INFO.no(), name.to_owned())),
        (None, Some(no)) => Level::from_no(no),
        (None, None) => Level::INFO,
    };
    Ok(r)
}

fn not_a_dict(parsed: &Parsed<'_>) -> PickleError {
    PickleError::NotADict {
        found: type_name(&parsed.root, &parsed.arena),
    }
}

/// A text attribute: `Some` text, `None` for Python's None, `Err` for any
/// other type (kept as a field).
fn text<'i>(item: &'i Item<'_>) -> Result<Option<&'i str>, ()> {
    match item {
        Item::None => Ok(None),
        _ => item.as_str().map(Some).ok_or(()),
    }
}

/// An integer attribute that must fit `T`.
fn int<T: TryFrom<i64>>(item: &Item<'_>) -> Result<T, ()> {
    match item {
        Item::Int(i) => T::try_from(*i).map_err(|_| ()),
        _ => Err(()),
    }
}

/// An integer attribute that Python may send as None.
fn opt_int<T: TryFrom<i64>>(item: &Item<'_>) -> Result<Option<T>, ()> {
    match item {
        Item::None => Ok(None),
        _ => int(item).map(Some),
    }
}

/// A number attribute (`created`, `relativeCreated`); ints are accepted.
fn float(item: &Item<'_>) -> Option<f64> {
    match item {
        Item::Float(x) => Some(*x),
        Item::Int(i) => Some(*i as f64),
        _ => None,
    }
}
