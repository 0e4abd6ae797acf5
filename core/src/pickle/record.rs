//! A LogRecord's `__dict__` → [`Record`].
//!
//! Keys follow `LogRecord.__init__` (reference §1.3). Like the JSON decoder,
//! a standard attribute of an unexpected type is kept as a field rather than
//! dropped, and every unknown key becomes a field.

use super::PickleError;
use super::convert::{Converter, MAX_DICT_KEYS};
use super::item::{Item, Kind, owned_str, type_name};
use super::machine::Parsed;
use crate::{CompactString, Level, Record, Timestamp};
use std::borrow::Cow;

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
    /// Whole milliseconds Python computed from the exact clock reading.
    Msecs,
    RelativeCreated,
    Tid,
    Thread,
    Process,
    Pid,
    Exc,
    Stack,
    /// Kept only when not None (Python 3.12+ sends None outside asyncio).
    TaskName,
    /// Derived or always-None attributes: `args`, `exc_info`, `message`,
    /// `asctime`.
    Consumed,
    Field,
}

fn slot(key: &[u8]) -> Slot {
    // Dispatch on length first: a plain string match compares the key with
    // every arm in turn, and this runs for every key of every record.
    match (key.len(), key) {
        (3, b"msg") => Slot::Msg,
        (4, b"name") => Slot::Logger,
        (4, b"args") => Slot::Consumed,
        (5, b"msecs") => Slot::Msecs,
        (6, b"module") => Slot::Module,
        (6, b"lineno") => Slot::Line,
        (6, b"thread") => Slot::Tid,
        (7, b"levelno") => Slot::LevelNo,
        (7, b"created") => Slot::Created,
        (7, b"process") => Slot::Pid,
        (7, b"message" | b"asctime") => Slot::Consumed,
        (8, b"pathname") => Slot::File,
        (8, b"filename") => Slot::FileName,
        (8, b"funcName") => Slot::Func,
        (8, b"exc_text") => Slot::Exc,
        (8, b"taskName") => Slot::TaskName,
        (8, b"exc_info") => Slot::Consumed,
        (9, b"levelname") => Slot::LevelName,
        (10, b"threadName") => Slot::Thread,
        (10, b"stack_info") => Slot::Stack,
        (11, b"processName") => Slot::Process,
        (15, b"relativeCreated") => Slot::RelativeCreated,
        _ => Slot::Field,
    }
}

/// Builds the record from the pickled dict at the root of `parsed` into
/// `r`, which is cleared first (a reused record keeps its buffers).
pub(crate) fn to_record<'a>(
    parsed: &Parsed<'a>,
    conv: &mut Converter<'_, 'a>,
    r: &mut Record,
) -> Result<(), PickleError> {
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
    // Stamped and named after the loop: `Timestamp::now()` and "root" are
    // only needed when the dict lacks `created` or `name`.
    r.clear();
    let mut ts = None;
    let mut msecs = None;
    let mut logger = None;
    let owned = &parsed.owned[..];
    let mut level_name: Option<Cow<'_, str>> = None;
    let mut level_no: Option<i32> = None;
    let mut filename: Option<&Item<'a>> = None;
    for pair in items.chunks_exact(2) {
        let (key, value) = (&pair[0], &pair[1]);
        let Some(name) = key.text_bytes(owned) else {
            let key = conv.key(key, 1)?;
            let value = conv.value(value, 1)?;
            r.fields.insert(key, value);
            continue;
        };
        let kept = match slot(name) {
            Slot::Logger => set_text(&mut logger, value, owned),
            // A str message (the common case) goes straight into the
            // record's buffer; anything else is rendered as Python's str().
            Slot::Msg => match value.text(owned) {
                Some(msg) => {
                    conv.budget.spend(msg.len())?;
                    r.msg.clear();
                    r.msg.push_str(&msg);
                    Ok(())
                }
                None => {
                    let mut msg = String::new();
                    conv.py_str(value, &mut msg, 1)?;
                    r.msg = msg.into();
                    Ok(())
                }
            },
            Slot::LevelName => text(value, owned).map(|s| level_name = s),
            Slot::LevelNo => int(value).map(|n| level_no = Some(n)),
            Slot::File => set_text(&mut r.file, value, owned),
            Slot::FileName => {
                filename = Some(value);
                Ok(())
            }
            Slot::Module => set_text(&mut r.module, value, owned),
            Slot::Line => opt_int(value).map(|n| r.line = n),
            Slot::Func => set_text(&mut r.func, value, owned),
            Slot::Created => match float(value).map(Timestamp::from_secs_f64) {
                Some(Some(stamp)) => {
                    ts = Some(stamp);
                    Ok(())
                }
                _ => Err(()),
            },
            Slot::Msecs => float(value).map(|ms| msecs = Some(ms)).ok_or(()),
            Slot::RelativeCreated => float(value)
                .map(|ms| r.relative_created_ms = Some(ms))
                .ok_or(()),
            Slot::Tid => match value {
                Item::BigInt(i) => owned_str(owned, *i)
                    .parse()
                    .map(|n| r.tid = Some(n))
                    .map_err(|_| ()),
                _ => opt_int(value).map(|n| r.tid = n),
            },
            Slot::Thread => set_text(&mut r.thread, value, owned),
            Slot::Process => set_text(&mut r.process, value, owned),
            Slot::Pid => opt_int(value).map(|n| r.pid = n),
            Slot::Exc => set_text(&mut r.exc, value, owned),
            Slot::Stack => set_text(&mut r.stack, value, owned),
            Slot::TaskName => match value {
                Item::None => Ok(()),
                _ => Err(()),
            },
            Slot::Consumed => Ok(()),
            Slot::Field => Err(()),
        };
        if kept.is_err() {
            let value = conv.value(value, 1)?;
            let name = match crate::utf8::from_utf8(name) {
                Ok(name) => Cow::Borrowed(name),
                Err(_) => String::from_utf8_lossy(name),
            };
            r.fields.insert(name, value);
        }
    }
    // `filename` is `os.path.basename(pathname)`: noise when it is just
    // that, a field when a sender set something else.
    if let Some(item) = filename {
        let derived = match (item.text(owned), r.file.as_deref()) {
            (Some(f), Some(path)) => path.rsplit(['/', '\\']).next() == Some(&*f),
            (None, _) => matches!(item, Item::None),
            _ => false,
        };
        if !derived {
            let value = conv.value(item, 1)?;
            r.fields.insert("filename", value);
        }
    }
    r.ts = match (ts, msecs) {
        (Some(ts), Some(ms)) => within_millisecond(ts, ms),
        (ts, _) => ts.unwrap_or_else(Timestamp::now),
    };
    r.logger = logger.unwrap_or_else(|| "root".into());
    r.level = match (level_name, level_no) {
        (Some(name), Some(no)) => Level::from_parts(&name, no),
        (Some(name), None) => Level::from_name(&name)
            .unwrap_or_else(|| Level::custom(Level::INFO.no(), name.into_owned())),
        (None, Some(no)) => Level::from_no(no),
        (None, None) => Level::INFO,
    };
    Ok(())
}

fn not_a_dict(parsed: &Parsed<'_>) -> PickleError {
    PickleError::NotADict {
        found: type_name(&parsed.root, &parsed.arena),
    }
}

/// A text attribute: `Some` text, `None` for Python's None, `Err` for any
/// other type (kept as a field).
fn text<'i>(item: &'i Item<'_>, owned: &'i [Box<str>]) -> Result<Option<Cow<'i, str>>, ()> {
    match item {
        Item::None => Ok(None),
        _ => item.text(owned).map(Some).ok_or(()),
    }
}

/// A text attribute straight into its slot (`None` for Python's None),
/// without the `Cow` of [`text`]: `Err` for any other type (kept as a
/// field), leaving the slot as it was.
fn set_text(
    slot: &mut Option<CompactString>,
    item: &Item<'_>,
    owned: &[Box<str>],
) -> Result<(), ()> {
    if let Item::None = item {
        *slot = None;
        return Ok(());
    }
    let bytes = item.text_bytes(owned).ok_or(())?;
    *slot = Some(match crate::utf8::from_utf8(bytes) {
        Ok(s) => CompactString::new(s),
        Err(_) => String::from_utf8_lossy(bytes).into(),
    });
    Ok(())
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

/// `created` is a float of about 1.7e9 s, so it cannot hold nanoseconds: read
/// back, it can land a few hundred nanoseconds on the wrong side of a
/// millisecond boundary, and `%(msecs)03d` would then print one less than
/// Python's own formatter. Python computed `msecs` from the exact clock
/// reading, so the time is moved, by at most that rounding, into the
/// millisecond `msecs` names. A `msecs` that disagrees by more (a hand-made
/// dict) leaves the time as `created` says.
fn within_millisecond(ts: Timestamp, msecs: f64) -> Timestamp {
    const MS: i64 = 1_000_000;
    const SLACK: i64 = 1_000; // far above the float's rounding, far below 1 ms
    if !(0.0..1000.0).contains(&msecs) {
        return ts;
    }
    let ms = msecs as i64;
    let nanos = ts.unix_nanos();
    let second = nanos.div_euclid(1_000_000_000) * 1_000_000_000;
    // The named millisecond in this second, or in a neighbour when the
    // rounding crossed a second boundary.
    [second - 1_000_000_000, second, second + 1_000_000_000]
        .into_iter()
        .map(|s| (s + ms * MS, s + ms * MS + MS - 1))
        .map(|(lo, hi)| nanos.clamp(lo, hi))
        .filter(|at| (at - nanos).abs() <= SLACK)
        .min_by_key(|at| (at - nanos).abs())
        .map_or(ts, Timestamp::from_unix_nanos)
}

/// A number attribute (`created`, `relativeCreated`); ints are accepted.
fn float(item: &Item<'_>) -> Option<f64> {
    match item {
        Item::Float(x) => Some(*x),
        Item::Int(i) => Some(*i as f64),
        _ => None,
    }
}

#[cfg(test)]
mod msecs_tests {
    use super::within_millisecond;
    use crate::Timestamp;

    #[test]
    fn created_rounding_is_pulled_into_pythons_millisecond() {
        // 549 ms exactly, read back from the float as 548.999_9xx ms.
        let ts = Timestamp::from_unix_nanos(1_763_784_384_548_999_900);
        let fixed = within_millisecond(ts, 549.0);
        assert_eq!(fixed.unix_nanos(), 1_763_784_384_549_000_000);
        // Across a second boundary.
        let ts = Timestamp::from_unix_nanos(1_763_784_384_999_999_950);
        assert_eq!(
            within_millisecond(ts, 0.0).unix_nanos(),
            1_763_784_385_000_000_000
        );
        // Already consistent: unchanged.
        let ts = Timestamp::from_unix_nanos(1_763_784_384_549_123_456);
        assert_eq!(within_millisecond(ts, 549.0), ts);
        // A msecs that disagrees by more than rounding is not trusted.
        assert_eq!(within_millisecond(ts, 100.0), ts);
        assert_eq!(within_millisecond(ts, f64::NAN), ts);
    }
}
