//! A LogRecord's `__dict__` → [`Record`].
//!
//! Keys follow `LogRecord.__init__` (reference §1.3). Like the JSON decoder,
//! a standard attribute of an unexpected type is kept as a field rather than
//! dropped, and every unknown key becomes a field.

use super::PickleError;
use super::convert::{Converter, MAX_DICT_KEYS};
use super::item::{Item, Kind, owned_str, type_name};
use super::machine::Parsed;
use crate::log_record::{self, Slot, slot};
use crate::{CompactString, Record, Timestamp};
use std::borrow::Cow;

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
    log_record::finish(r, ts, msecs, logger, level_name, level_no);
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

/// A number attribute (`created`, `relativeCreated`); ints are accepted.
fn float(item: &Item<'_>) -> Option<f64> {
    match item {
        Item::Float(x) => Some(*x),
        Item::Int(i) => Some(*i as f64),
        _ => None,
    }
}
