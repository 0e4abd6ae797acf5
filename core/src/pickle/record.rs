//! A LogRecord's `__dict__` → [`Record`].
//!
//! Keys follow `LogRecord.__init__` (reference §1.3). Like the JSON decoder,
//! a standard attribute of an unexpected type is kept as a field rather than
//! dropped, and every unknown key becomes a field.
//!
//! [`Attrs`] takes the dict one key and value at a time, so the machine's
//! dict (in its arena) and the flat path (straight from the payload, see
//! `flat`) fill a record by the same rules.

use super::PickleError;
use super::convert::{Converter, MAX_DICT_KEYS};
use super::item::{Item, Kind, type_name};
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
    let mut attrs = Attrs::start(r);
    for pair in items.chunks_exact(2) {
        attrs.pair(&pair[0], &pair[1], conv, r)?;
    }
    attrs.finish(conv, r)
}

fn not_a_dict(parsed: &Parsed<'_>) -> PickleError {
    PickleError::NotADict {
        found: type_name(&parsed.root, &parsed.arena),
    }
}

/// What the pairs of a LogRecord dict leave to be settled after the last
/// one: the time, logger and level are made of several keys (or defaults
/// when keys are missing), and `filename` is judged against `pathname`.
pub(crate) struct Attrs<'a> {
    ts: Option<Timestamp>,
    msecs: Option<f64>,
    /// Whether `r.logger` holds the `name` sent (else it becomes `root`).
    named: bool,
    /// The `levelname` item (text), kept as sent until the end.
    level_name: Option<Item<'a>>,
    level_no: Option<i32>,
    filename: Option<Item<'a>>,
    /// The previous record's `pathname` buffer, when it was on the heap:
    /// paths are often longer than a `CompactString` holds inline, and a
    /// connection's records come from the same few files, so the next
    /// path is written into it instead of a new allocation.
    spare_path: Option<CompactString>,
}

/// A spare path buffer larger than this is given back, not kept.
const KEEP_PATH_BYTES: usize = 4096;

impl<'a> Attrs<'a> {
    /// Clears `r` and starts reading a dict into it. Stamped and named at
    /// the end: `Timestamp::now()` and "root" are only needed when the dict
    /// lacks `created` or `name`.
    pub(crate) fn start(r: &mut Record) -> Attrs<'a> {
        let spare_path = r
            .file
            .take()
            .filter(|p| p.is_heap_allocated() && p.capacity() <= KEEP_PATH_BYTES);
        r.clear();
        Attrs {
            spare_path,
            ts: None,
            msecs: None,
            named: false,
            level_name: None,
            level_no: None,
            filename: None,
        }
    }

    /// One key and its value.
    pub(crate) fn pair(
        &mut self,
        key: &Item<'a>,
        value: &Item<'a>,
        conv: &mut Converter<'_, 'a>,
        r: &mut Record,
    ) -> Result<(), PickleError> {
        match key.text_bytes(conv.owned) {
            Some(name) => self.named_pair(name, value, conv, r),
            None => {
                let key = conv.key(key, 1)?;
                let value = conv.value(value, 1)?;
                r.fields.insert(key, value);
                Ok(())
            }
        }
    }

    /// One value under a string key (`name`, as sent). Inlined into the
    /// flat path's loop: left to the compiler, the listener's build called
    /// it per key, at about 45 instructions of overhead a key (callgrind).
    #[inline(always)]
    pub(crate) fn named_pair(
        &mut self,
        name: &[u8],
        value: &Item<'a>,
        conv: &mut Converter<'_, 'a>,
        r: &mut Record,
    ) -> Result<(), PickleError> {
        let owned = conv.owned;
        let kept = match slot(name) {
            Slot::Logger => match value {
                Item::None => {
                    self.named = false;
                    Ok(())
                }
                _ => match value.text_bytes(owned) {
                    Some(bytes) => {
                        r.logger.clear();
                        r.logger.push_str(&text_of(bytes));
                        self.named = true;
                        Ok(())
                    }
                    None => Err(()),
                },
            },
            // A str message (the common case) goes straight into the
            // record's buffer; anything else is rendered as Python's str().
            Slot::Msg => match value.text_bytes(owned) {
                Some(bytes) => {
                    let msg = text_of(bytes);
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
            Slot::LevelName => match value {
                Item::None => {
                    self.level_name = None;
                    Ok(())
                }
                Item::Text(_) | Item::Owned(_) => {
                    self.level_name = Some(*value);
                    Ok(())
                }
                _ => Err(()),
            },
            Slot::LevelNo => int(value).map(|n| self.level_no = Some(n)),
            Slot::File => match (value.text_bytes(owned), self.spare_path.take()) {
                (Some(bytes), Some(mut path)) => {
                    path.clear();
                    path.push_str(&text_of(bytes));
                    r.file = Some(path);
                    Ok(())
                }
                (_, spare) => {
                    self.spare_path = spare;
                    set_text(&mut r.file, value, owned)
                }
            },
            Slot::FileName => {
                self.filename = Some(*value);
                Ok(())
            }
            Slot::Module => set_text(&mut r.module, value, owned),
            Slot::Line => opt_int(value).map(|n| r.line = n),
            Slot::Func => set_text(&mut r.func, value, owned),
            Slot::Created => match float(value).map(Timestamp::from_secs_f64) {
                Some(Some(stamp)) => {
                    self.ts = Some(stamp);
                    Ok(())
                }
                _ => Err(()),
            },
            Slot::Msecs => float(value).map(|ms| self.msecs = Some(ms)).ok_or(()),
            Slot::RelativeCreated => float(value)
                .map(|ms| r.relative_created_ms = Some(ms))
                .ok_or(()),
            Slot::Tid => match value {
                Item::BigInt(i) => super::item::owned_str(owned, *i)
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
                Ok(name) => CompactString::new(name),
                Err(_) => String::from_utf8_lossy(name).into(),
            };
            r.fields.insert_key(name, value);
        }
        Ok(())
    }

    /// Settles what the pairs left: `filename`, time, logger and level.
    pub(crate) fn finish(
        self,
        conv: &mut Converter<'_, 'a>,
        r: &mut Record,
    ) -> Result<(), PickleError> {
        let owned = conv.owned;
        // `filename` is `os.path.basename(pathname)`: noise when it is just
        // that, a field when a sender set something else.
        if let Some(item) = self.filename {
            let derived = match (item.text_bytes(owned), r.file.as_deref()) {
                // The bytes as sent first: no UTF-8 check when they match.
                (Some(f), Some(path)) if base_name(path).as_bytes() == f => true,
                (Some(_), Some(path)) => item.text(owned).is_some_and(|f| base_name(path) == f),
                (None, _) => matches!(item, Item::None),
                _ => false,
            };
            if !derived {
                let value = conv.value(&item, 1)?;
                r.fields.insert("filename", value);
            }
        }
        r.ts = log_record::time(self.ts, self.msecs);
        if !self.named {
            r.logger.clear();
            r.logger.push_str("root");
        }
        r.level = match (self.level_name, self.level_no) {
            (Some(Item::Text(name)), Some(no)) => log_record::standard_level(name, no),
            _ => None,
        }
        .unwrap_or_else(|| {
            let name: Option<Cow<'_, str>> = self.level_name.as_ref().and_then(|i| i.text(owned));
            log_record::level(name, self.level_no)
        });
        Ok(())
    }
}

/// What follows the last `/` or `\\` of `path` (`os.path.basename` on
/// POSIX or Windows).
fn base_name(path: &str) -> &str {
    // memchr's reverse search: a byte loop cost about 3 instructions a byte.
    match memchr::memrchr2(b'/', b'\\', path.as_bytes()) {
        // Both are ASCII, so the byte after one starts a character.
        Some(at) => &path[at + 1..],
        None => path,
    }
}

/// `bytes` as text, invalid UTF-8 replaced (validated once: the ASCII
/// check passes nearly all of them).
fn text_of(bytes: &[u8]) -> Cow<'_, str> {
    match crate::utf8::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// A text attribute straight into its slot (`None` for Python's None):
/// `Err` for any other type (kept as a field), leaving the slot as it was.
#[inline]
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
