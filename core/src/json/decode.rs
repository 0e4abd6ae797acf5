//! Native JSON record → `Record`.
//!
//! Lenient by design, since "anything that can send JSON" is a producer:
//! only `msg` is commonly present, common aliases are understood, a value of
//! an unexpected type is kept as a field instead of failing the record, and
//! unknown top-level keys become fields.

use super::parse::{Reader, compact};
use compact_str::CompactString;
use std::borrow::Cow;

use crate::{DecodeError, Fields, Level, Record, Timestamp, Value};

/// Decodes one native JSON record (`{"ts":…,"level":…,"msg":…}`).
///
/// A missing `ts` means now; a missing `logger` means `root`; `message`,
/// `timestamp`/`time`/`@timestamp`, `levelname`/`severity`, `name`/`target`
/// are accepted as aliases when the native key is absent. Invalid UTF-8 is
/// replaced with U+FFFD rather than rejecting the record.
///
/// ```
/// let r = tributary_core::decode_json(br#"{"msg":"hi","level":"warning","user":"ann"}"#).unwrap();
/// assert_eq!(r.msg, "hi");
/// assert_eq!(r.level, tributary_core::Level::WARNING);
/// assert_eq!(r.fields.get("user").and_then(|v| v.as_str()), Some("ann"));
/// ```
pub fn decode_json(payload: &[u8]) -> Result<Record, DecodeError> {
    let mut record = Record::empty();
    decode_json_into(payload, &mut record)?;
    Ok(record)
}

/// [`decode_json`] into a record the caller keeps, for one connection's
/// records one after the other: its message, logger and fields map keep
/// their room, so once warm a record costs no allocation but for strings
/// longer than 24 bytes. Whatever the record held before is replaced (it
/// is [`Record::clear`]ed first). On an error its contents are unspecified
/// (but valid): decode the next payload into it as usual.
///
/// ```
/// let mut r = tributary_core::Record::empty();
/// tributary_core::json::decode_json_into(br#"{"msg":"a","user":"ann"}"#, &mut r).unwrap();
/// tributary_core::json::decode_json_into(br#"{"msg":"b"}"#, &mut r).unwrap();
/// assert_eq!(r.msg, "b");
/// assert!(r.fields.is_empty());
/// ```
pub fn decode_json_into(payload: &[u8], record: &mut Record) -> Result<(), DecodeError> {
    match crate::utf8::from_utf8(payload) {
        Ok(text) => decode_text(text, record),
        Err(_) => decode_text(&String::from_utf8_lossy(payload), record),
    }
}

fn decode_text(text: &str, r: &mut Record) -> Result<(), DecodeError> {
    let syntax = |e: super::parse::SyntaxError| DecodeError::Json {
        offset: e.offset,
        reason: e.reason,
    };
    let mut reader = Reader::new(text);
    reader.begin_object().map_err(syntax)?;
    r.clear();
    let mut seen = [false; Key::Other as usize];
    let mut parts = Parts::default();
    // The record's own map, taken out while other parts of the record are
    // borrowed, so its room is reused; `finish` puts it back.
    let mut extra = std::mem::take(&mut r.fields);
    let mut first = true;
    // The slot the native formatter writes next, in `Key` order.
    let mut expected = 0;
    loop {
        // What the native formatter wrote is predicted: the next key in its
        // order (or one or two later, for absent optional keys) is tested
        // with one comparison each. Other short keys are recognised from one
        // word of the payload (`short_key`); anything else is read as a
        // string and matched.
        let (slot, key) = match predict(&reader, first, expected) {
            Some((slot, next)) => {
                reader.skip_to(next);
                (slot, KeyText::Before(next))
            }
            None => match reader.short_key(first) {
                Some((word, next)) if classify_word(word) != Key::Other => {
                    reader.skip_to(next);
                    (classify_word(word), KeyText::Before(next))
                }
                _ => match reader.next_key(first).map_err(syntax)? {
                    Some(key) => (classify(&key), KeyText::Read(key)),
                    None => break,
                },
            },
        };
        first = false;
        if slot != Key::Other {
            expected = slot as usize + 1;
        }
        // Unknown keys, and a second key for a slot already filled (an
        // alias after the native key), stay as fields.
        if slot == Key::Other || std::mem::replace(&mut seen[slot as usize], true) {
            let value = reader.value().map_err(syntax)?;
            extra.insert_key(key.into_key(text), value);
            continue;
        }
        match (slot, reader.peek()) {
            // Read straight from the borrowed text: the level name and the
            // time are only looked at, never kept, so copying them into a
            // `String` first was a wasted allocation per record.
            (Key::Ts, Some(b'"')) => {
                let ts = reader.string().map_err(syntax)?;
                match Timestamp::parse_rfc3339(&ts) {
                    Some(ts) => parts.ts = Some(ts),
                    None => extra.insert_key(key.into_key(text), Value::Str(compact(ts))),
                }
            }
            (Key::Level, Some(b'"')) => parts.level_name = Some(reader.string().map_err(syntax)?),
            // Text slots take the string as is, skipping the `Value` round trip.
            (_, Some(b'"')) if is_text(slot) => {
                let value = reader.string().map_err(syntax)?;
                if let Some(dest) = text_slot(r, slot) {
                    set_text(dest, value);
                }
            }
            // Integer slots take plain digits straight into the record,
            // skipping the general number reader and the `Value`.
            (Key::LevelNo | Key::Pid | Key::Tid | Key::Line | Key::Seq, Some(b'0'..=b'9')) => {
                let stored = match reader.small_uint() {
                    Some(n) => set_uint(r, &mut parts, slot, n),
                    None => {
                        let value = reader.value().map_err(syntax)?;
                        apply(r, &mut parts, slot, value)
                    }
                };
                if let Err(value) = stored {
                    extra.insert_key(key.into_key(text), value);
                }
            }
            // Members of `fields` go first in the record's map; while no
            // top-level extra has been seen they can go straight into it,
            // saving a map and its moves.
            (Key::Fields, Some(b'{')) if extra.is_empty() => {
                reader.object_into(&mut extra).map_err(syntax)?;
            }
            _ => {
                let value = reader.value().map_err(syntax)?;
                // A value of the wrong type is kept as a field, never dropped.
                if let Err(value) = apply(r, &mut parts, slot, value) {
                    extra.insert_key(key.into_key(text), value);
                }
            }
        }
    }
    reader.end().map_err(syntax)?;
    if r.logger.is_empty() {
        r.logger.push_str("root");
    }
    // In place: a `Record` is a few hundred bytes, and each move is a copy.
    finish(r, parts, extra);
    Ok(())
}

/// Stores a read string in a text slot: into the slot's own buffer when
/// it has one on the heap that is large enough (a reused record's long
/// message), else as a new `CompactString` (inline up to 24 bytes).
#[inline(always)]
fn set_text(dest: &mut CompactString, value: Cow<'_, str>) {
    if dest.is_heap_allocated() && dest.capacity() >= value.len() {
        dest.clear();
        dest.push_str(&value);
    } else {
        *dest = compact(value);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Ts,
    Level,
    LevelNo,
    Logger,
    Msg,
    Host,
    Pid,
    Process,
    Tid,
    Thread,
    File,
    Line,
    Func,
    Module,
    Seq,
    Exc,
    Stack,
    Fields,
    Other,
}

/// A key as the reader found it: only turned into text when the value
/// has to be kept as a field under it.
enum KeyText<'a> {
    /// A short key recognised in place; its text ends two bytes (`":`)
    /// before this offset and starts after the previous quote.
    Before(usize),
    /// A key read as a string.
    Read(Cow<'a, str>),
}

impl KeyText<'_> {
    fn into_key(self, text: &str) -> CompactString {
        match self {
            KeyText::Read(key) => compact(key),
            KeyText::Before(next) => {
                let end = next - 2;
                let start = text.as_bytes()[..end]
                    .iter()
                    .rposition(|&c| c == b'"')
                    .map_or(end, |quote| quote + 1);
                CompactString::new(text.get(start..end).unwrap_or_default())
            }
        }
    }
}

/// `,"key":` of each native key in `Key` order (the native formatter's
/// order), as little-endian bytes, the mask of its length, and its length.
const MEMBERS: [(u128, u128, usize); Key::Other as usize] = {
    const NAMES: [&[u8]; Key::Other as usize] = [
        b"ts", b"level", b"levelno", b"logger", b"msg", b"host", b"pid", b"process", b"tid",
        b"thread", b"file", b"line", b"func", b"module", b"seq", b"exc", b"stack", b"fields",
    ];
    let mut out = [(0u128, 0u128, 0usize); Key::Other as usize];
    let mut k = 0;
    while k < NAMES.len() {
        let name = NAMES[k];
        let len = name.len() + 4;
        let mut bytes = [0u8; 16];
        bytes[0] = b',';
        bytes[1] = b'"';
        let mut i = 0;
        while i < name.len() {
            bytes[2 + i] = name[i];
            i += 1;
        }
        bytes[2 + name.len()] = b'"';
        bytes[3 + name.len()] = b':';
        out[k] = (u128::from_le_bytes(bytes), (1u128 << (8 * len)) - 1, len);
        k += 1;
    }
    out
};

/// The native key at the cursor if it is `expected` or one of the two
/// after it (optional keys the producer left out), with the position
/// after its `:`. Compact native JSON only; anything else is `None`.
#[inline(always)]
fn predict(reader: &Reader<'_>, first: bool, expected: usize) -> Option<(Key, usize)> {
    if first {
        return None;
    }
    let window = reader.window()?;
    let end = (expected + 3).min(MEMBERS.len());
    let at = (expected..end).find(|&k| window & MEMBERS[k].1 == MEMBERS[k].0)?;
    Some((KEYS[at], reader.pos() + MEMBERS[at].2))
}

/// `Key`s by discriminant.
const KEYS: [Key; Key::Other as usize] = [
    Key::Ts,
    Key::Level,
    Key::LevelNo,
    Key::Logger,
    Key::Msg,
    Key::Host,
    Key::Pid,
    Key::Process,
    Key::Tid,
    Key::Thread,
    Key::File,
    Key::Line,
    Key::Func,
    Key::Module,
    Key::Seq,
    Key::Exc,
    Key::Stack,
    Key::Fields,
];

/// The little-endian word of a key of at most eight bytes, as the decoder
/// reads a short key from a payload: a short key is classified by one
/// comparison of words per candidate, here and in the listener's
/// reorder path.
pub const fn key_word(key: &[u8]) -> u64 {
    let mut w = 0u64;
    let mut i = 0;
    while i < key.len() {
        w |= (key[i] as u64) << (8 * i);
        i += 1;
    }
    w
}

/// The [`key_word`]s of every native key and the short aliases the
/// decoder takes, for the classifiers that compare a short key by its
/// word (the decoder's and the listener's reorder path).
pub mod key_words {
    use super::key_word;

    /// `"ts"`.
    pub const TS: u64 = key_word(b"ts");
    /// `"time"`.
    pub const TIME: u64 = key_word(b"time");
    /// `"level"`.
    pub const LEVEL: u64 = key_word(b"level");
    /// `"levelno"`.
    pub const LEVELNO: u64 = key_word(b"levelno");
    /// `"logger"`.
    pub const LOGGER: u64 = key_word(b"logger");
    /// `"name"`.
    pub const NAME: u64 = key_word(b"name");
    /// `"target"`.
    pub const TARGET: u64 = key_word(b"target");
    /// `"msg"`.
    pub const MSG: u64 = key_word(b"msg");
    /// `"message"`.
    pub const MESSAGE: u64 = key_word(b"message");
    /// `"host"`.
    pub const HOST: u64 = key_word(b"host");
    /// `"pid"`.
    pub const PID: u64 = key_word(b"pid");
    /// `"process"`.
    pub const PROCESS: u64 = key_word(b"process");
    /// `"tid"`.
    pub const TID: u64 = key_word(b"tid");
    /// `"thread"`.
    pub const THREAD: u64 = key_word(b"thread");
    /// `"file"`.
    pub const FILE: u64 = key_word(b"file");
    /// `"line"`.
    pub const LINE: u64 = key_word(b"line");
    /// `"func"`.
    pub const FUNC: u64 = key_word(b"func");
    /// `"module"`.
    pub const MODULE: u64 = key_word(b"module");
    /// `"seq"`.
    pub const SEQ: u64 = key_word(b"seq");
    /// `"exc"`.
    pub const EXC: u64 = key_word(b"exc");
    /// `"stack"`.
    pub const STACK: u64 = key_word(b"stack");
    /// `"fields"`.
    pub const FIELDS: u64 = key_word(b"fields");
}

/// [`classify`] for keys of one to seven bytes, from their word: every
/// native key and most aliases; the longer aliases go through `classify`.
#[inline(always)]
fn classify_word(w: u64) -> Key {
    use key_words::*;
    match w {
        TS | TIME => Key::Ts,
        LEVEL => Key::Level,
        LEVELNO => Key::LevelNo,
        LOGGER | NAME | TARGET => Key::Logger,
        MSG | MESSAGE => Key::Msg,
        HOST => Key::Host,
        PID => Key::Pid,
        PROCESS => Key::Process,
        TID => Key::Tid,
        THREAD => Key::Thread,
        FILE => Key::File,
        LINE => Key::Line,
        FUNC => Key::Func,
        MODULE => Key::Module,
        SEQ => Key::Seq,
        EXC => Key::Exc,
        STACK => Key::Stack,
        FIELDS => Key::Fields,
        _ => Key::Other,
    }
}

fn classify(k: &str) -> Key {
    match k {
        "ts" | "timestamp" | "time" | "@timestamp" => Key::Ts,
        "level" | "levelname" | "severity" => Key::Level,
        "levelno" => Key::LevelNo,
        "logger" | "name" | "target" => Key::Logger,
        "msg" | "message" => Key::Msg,
        "host" => Key::Host,
        "pid" => Key::Pid,
        "process" => Key::Process,
        "tid" => Key::Tid,
        "thread" => Key::Thread,
        "file" => Key::File,
        "line" => Key::Line,
        "func" => Key::Func,
        "module" => Key::Module,
        "seq" => Key::Seq,
        "exc" => Key::Exc,
        "stack" => Key::Stack,
        "fields" => Key::Fields,
        _ => Key::Other,
    }
}

/// The slots that keep a string value as text (see [`text_slot`]).
fn is_text(slot: Key) -> bool {
    use Key::*;
    matches!(
        slot,
        Logger | Msg | Host | Process | Thread | File | Func | Module | Exc | Stack
    )
}

/// Where a string value of `slot` goes, for the slots that keep text.
fn text_slot(r: &mut Record, slot: Key) -> Option<&mut CompactString> {
    let optional = match slot {
        Key::Logger => return Some(&mut r.logger),
        Key::Msg => return Some(&mut r.msg),
        Key::Host => &mut r.host,
        Key::Process => &mut r.process,
        Key::Thread => &mut r.thread,
        Key::File => &mut r.file,
        Key::Func => &mut r.func,
        Key::Module => &mut r.module,
        Key::Exc => &mut r.exc,
        Key::Stack => &mut r.stack,
        _ => return None,
    };
    Some(optional.insert(CompactString::default()))
}

/// What is collected before the level and fields can be resolved.
#[derive(Default)]
struct Parts<'a> {
    ts: Option<Timestamp>,
    /// Borrowed from the payload when it had no escapes.
    level_name: Option<Cow<'a, str>>,
    level_no: Option<i32>,
    nested: Option<Fields>,
}

/// Stores plain digits read for an integer slot; a number too large for
/// the slot comes back as a `Value` to keep as a field. `n` is below 10^18.
fn set_uint(r: &mut Record, p: &mut Parts<'_>, slot: Key, n: u64) -> Result<(), Value> {
    let stored = match slot {
        Key::LevelNo => i32::try_from(n).map(|no| p.level_no = Some(no)).is_ok(),
        Key::Pid => u32::try_from(n).map(|pid| r.pid = Some(pid)).is_ok(),
        Key::Line => u32::try_from(n).map(|line| r.line = Some(line)).is_ok(),
        Key::Tid => {
            r.tid = Some(n);
            true
        }
        Key::Seq => {
            r.seq = Some(n);
            true
        }
        _ => false,
    };
    if stored {
        Ok(())
    } else {
        Err(Value::Int(n as i64))
    }
}

fn int<T: TryFrom<i64>>(v: Value) -> Result<T, Value> {
    match v {
        Value::Int(i) => T::try_from(i).map_err(|_| Value::Int(i)),
        v => Err(v),
    }
}

/// A u64 arrives as `Int` up to `i64::MAX` and as `BigInt` above it.
fn uint64(v: Value) -> Result<u64, Value> {
    match v {
        Value::BigInt(s) => s.parse().map_err(|_| Value::BigInt(s)),
        v => int(v),
    }
}

fn apply(r: &mut Record, p: &mut Parts<'_>, slot: Key, value: Value) -> Result<(), Value> {
    let text = |v: Value| match v {
        Value::Str(s) => Ok(Some(s)),
        // Python sends None for absent attributes; absent it is.
        Value::Null => Ok(None),
        v => Err(v),
    };
    match slot {
        Key::Ts => {
            p.ts = match value {
                Value::Str(s) => Some(Timestamp::parse_rfc3339(&s).ok_or(Value::Str(s))?),
                Value::Int(i) => Some(Timestamp::from_secs_f64(i as f64).ok_or(Value::Int(i))?),
                Value::Float(x) => Some(Timestamp::from_secs_f64(x).ok_or(Value::Float(x))?),
                v => return Err(v),
            }
        }
        Key::Level => p.level_name = text(value)?.map(|s| Cow::Owned(s.into_string())),
        Key::LevelNo => p.level_no = Some(int(value)?),
        Key::Logger => r.logger = text(value)?.unwrap_or_default(),
        Key::Msg => {
            r.msg = match value {
                Value::Str(s) => s,
                Value::Null => CompactString::default(),
                v @ (Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::BigInt(_)) => {
                    v.to_string().into()
                }
                v => return Err(v),
            }
        }
        Key::Host => r.host = text(value)?,
        Key::Pid => r.pid = Some(int(value)?),
        Key::Process => r.process = text(value)?,
        Key::Tid => r.tid = Some(uint64(value)?),
        Key::Thread => r.thread = text(value)?,
        Key::File => r.file = text(value)?,
        Key::Line => r.line = Some(int(value)?),
        Key::Func => r.func = text(value)?,
        Key::Module => r.module = text(value)?,
        Key::Seq => r.seq = Some(uint64(value)?),
        Key::Exc => r.exc = text(value)?,
        Key::Stack => r.stack = text(value)?,
        Key::Fields => match value {
            Value::Map(f) => p.nested = Some(f),
            v => return Err(v),
        },
        Key::Other => return Err(value),
    }
    Ok(())
}

fn finish(r: &mut Record, p: Parts<'_>, extra: Fields) {
    // Producers that send no time get the time of receipt.
    r.ts = p.ts.unwrap_or_else(Timestamp::now);
    r.level = match (p.level_name, p.level_no) {
        (Some(name), Some(no)) => Level::from_parts(&name, no),
        (Some(name), None) => Level::from_name(&name)
            .unwrap_or_else(|| Level::custom(Level::INFO.no(), name.into_owned())),
        (None, Some(no)) => Level::from_no(no),
        (None, None) => Level::INFO,
    };
    r.fields = match p.nested {
        Some(mut nested) => {
            nested.extend(extra);
            nested
        }
        None => extra,
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Formatter, JsonFormatter};
    use proptest::prelude::*;

    /// The decoder's key tables are written out by hand in `Key` order;
    /// they must follow the formatter's native key order exactly.
    #[test]
    fn the_key_tables_follow_the_native_formatters_order() {
        let native = crate::json::formatter::NATIVE_KEYS;
        assert_eq!(native.len(), Key::Other as usize);
        for (k, name) in native.iter().enumerate() {
            assert_eq!(KEYS[k] as usize, k, "{name}");
            let member = format!(",\"{name}\":");
            let (word, mask, len) = MEMBERS[k];
            assert_eq!(len, member.len(), "{name}");
            let mut bytes = [0u8; 16];
            bytes[..len].copy_from_slice(member.as_bytes());
            assert_eq!(
                (word, mask),
                (u128::from_le_bytes(bytes), (1u128 << (8 * len)) - 1),
                "{name}"
            );
        }
    }

    fn arb_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z._:/ -]{0,30}",
            "(?s).{0,12}",
            "[\"\\\\\u{0}-\u{1f}é😀]{0,6}"
        ]
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            any::<u64>().prop_map(Value::from),
            (-1e300f64..1e300).prop_map(Value::Float),
            (0u32..100_000, 0u32..4)
                .prop_map(|(m, k)| Value::Float(f64::from(m) / 10f64.powi(k as i32))),
            arb_text().prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
                prop::collection::vec((arb_key(), inner), 0..4)
                    .prop_map(|kv| Value::Map(kv.into_iter().collect())),
            ]
        })
    }

    /// Field names, with the native keys and their aliases over-represented.
    fn arb_key() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "ts",
                "time",
                "timestamp",
                "level",
                "levelno",
                "logger",
                "name",
                "msg",
                "message",
                "pid",
                "tid",
                "seq",
                "line",
                "fields",
                "exc",
                "method",
                "status",
            ])
            .prop_map(str::to_owned),
            arb_text(),
        ]
    }

    prop_compose! {
        fn arb_record()(
            nanos in any::<i64>(),
            level in prop_oneof![
                Just(Level::INFO), Just(Level::ERROR), Just(Level::custom(25, "NOTICE")),
                (any::<i32>(), "[A-Za-z]{1,8}").prop_map(|(no, name)| Level::custom(no, name)),
            ],
            logger in "[a-z.]{1,20}",
            msg in arb_text(),
            texts in prop::collection::vec(prop::option::of(arb_text()), 8),
            nums in (prop::option::of(any::<u32>()), prop::option::of(any::<u64>()),
                     prop::option::of(any::<u32>()), prop::option::of(any::<u64>())),
            fields in prop::collection::vec((arb_key(), arb_value()), 0..6),
        ) -> Record {
            let mut r = Record::new_at(Timestamp::from_unix_nanos(nanos).truncate_to_micros(), level, logger, msg);
            let mut texts = texts.into_iter();
            for slot in [&mut r.host, &mut r.process, &mut r.thread, &mut r.file,
                         &mut r.func, &mut r.module, &mut r.exc, &mut r.stack] {
                *slot = texts.next().flatten().map(CompactString::from);
            }
            (r.pid, r.tid, r.line, r.seq) = nums;
            r.fields = fields.into_iter().collect();
            r
        }
    }

    /// The record's JSON with a space after every `:` and `,` outside
    /// strings: the same document, read by the general path.
    fn spaced(line: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(line.len() * 2);
        let (mut in_str, mut escaped) = (false, false);
        for &c in line {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                b'\\' if in_str => escaped = true,
                b'"' => in_str = !in_str,
                b':' | b',' if !in_str => out.push(b' '),
                _ => {}
            }
        }
        out
    }

    proptest! {
        #[test]
        fn decode_inverts_native_format(record in arb_record()) {
            let mut line = Vec::new();
            JsonFormatter::native().format(&record, &mut line);
            prop_assert_eq!(&decode_json(&line).unwrap(), &record);
            prop_assert_eq!(decode_json(&spaced(&line)).unwrap(), record);
        }

        #[test]
        fn fast_and_general_key_paths_agree(
            members in prop::collection::vec((arb_key(), arb_value()), 0..10),
        ) {
            // Any object, duplicates and aliases included: compact JSON goes
            // through the short-key path, spaced JSON through the general one.
            let line = object(members.iter().map(|(k, v)| (k.as_str(), v)));
            let before = Timestamp::now();
            let compact = decode_json(&line);
            let general = decode_json(&spaced(&line));
            prop_assert_eq!(compact.is_ok(), general.is_ok());
            if let (Ok(a), Ok(mut b)) = (compact, general) {
                // A record without a usable time is stamped on receipt.
                if a.ts != b.ts {
                    prop_assert!(a.ts >= before && b.ts >= before);
                    b.ts = a.ts;
                }
                prop_assert_eq!(a, b);
            }
        }
    }

    /// `line`'s top-level members and the `unknown` ones, all in the order
    /// `seed` picks (a foreign producer's order: alphabetical, struct
    /// order, insertion order are all among them); with the unknown members
    /// in the order they ended up in.
    fn reordered(
        line: &[u8],
        seed: u64,
        unknown: &[(String, Value)],
    ) -> (Vec<u8>, Vec<(CompactString, Value)>) {
        let text = std::str::from_utf8(line).unwrap();
        let Value::Map(members) = super::super::parse::parse_value(text).unwrap() else {
            panic!("not an object: {text}");
        };
        let mut members: Vec<(CompactString, Value)> = members
            .into_iter()
            .chain(unknown.iter().map(|(k, v)| (k.as_str().into(), v.clone())))
            .collect();
        // Fisher-Yates with a xorshift: the order is a function of the seed.
        let mut x = seed | 1;
        for i in (1..members.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            members.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let line = object(members.iter().map(|(k, v)| (k.as_str(), v)));
        let unknown = members
            .into_iter()
            .filter(|(k, _)| unknown.iter().any(|(u, _)| u == k.as_str()))
            .collect();
        (line, unknown)
    }

    /// A compact JSON object of `members`, in order, duplicates kept.
    fn object<'v>(members: impl Iterator<Item = (&'v str, &'v Value)>) -> Vec<u8> {
        let mut out = b"{".to_vec();
        for (i, (k, v)) in members.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            crate::json::escape::write_str(&mut out, k);
            out.push(b':');
            crate::json::write_value(&mut out, v);
        }
        out.push(b'}');
        out
    }

    /// Integers beyond 64 bits, as Python sends them.
    fn arb_big_int() -> impl Strategy<Value = Value> {
        "-?[1-9][0-9]{19,40}".prop_map(|d| Value::big_int(&d).unwrap())
    }

    /// One payload of a connection's stream: a record in native order, the
    /// same in a foreign order with unknown keys, any object, or garbage.
    fn arb_payload() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            arb_record().prop_map(|r| {
                let mut line = Vec::new();
                JsonFormatter::native().format(&r, &mut line);
                line
            }),
            (
                arb_record(),
                any::<u64>(),
                prop::collection::vec(("x_[a-z]{1,8}", arb_value()), 0..3)
            )
                .prop_map(|(r, seed, unknown)| {
                    let mut line = Vec::new();
                    JsonFormatter::native().format(&r, &mut line);
                    reordered(&line, seed, &unknown).0
                }),
            prop::collection::vec((arb_key(), arb_value()), 0..6)
                .prop_map(|members| object(members.iter().map(|(k, v)| (k.as_str(), v)))),
            prop::collection::vec(any::<u8>(), 0..40),
        ]
    }

    proptest! {
        #[test]
        fn foreign_key_orders_and_unknown_keys_decode_alike(
            mut record in arb_record(),
            big in prop::collection::vec(("[a-z]{1,6}", arb_big_int()), 0..2),
            seed in any::<u64>(),
            unknown in prop::collection::vec(("x_[a-z]{1,8}", arb_value()), 0..4),
        ) {
            for (k, v) in big {
                record.fields.insert(k, v);
            }
            let mut line = Vec::new();
            JsonFormatter::native().format(&record, &mut line);
            let (foreign, unknown) = reordered(&line, seed, &unknown);
            // Unknown keys become fields after the record's own, in the
            // order they came, wherever `fields` stood.
            let mut expected = record;
            for (k, v) in unknown {
                expected.fields.insert(k, v);
            }
            prop_assert_eq!(&decode_json(&foreign).unwrap(), &expected);
            prop_assert_eq!(decode_json(&spaced(&foreign)).unwrap(), expected);
        }

        #[test]
        fn a_reused_record_decodes_each_payload_as_a_fresh_one(
            payloads in prop::collection::vec(arb_payload(), 1..12),
        ) {
            crate::record::decodes_like_fresh(
                payloads.iter().map(Vec::as_slice),
                decode_json,
                decode_json_into,
            )?;
        }
    }

    #[test]
    fn a_reused_record_forgets_the_previous_ones_parts() {
        let mut r = Record::empty();
        let long = "m".repeat(100);
        let first = format!(
            r#"{{"level":"NOTICE","levelno":25,"msg":"{long}","exc":"boom","pid":7,"fields":{{"a":1}},"b":"x"}}"#
        );
        decode_json_into(first.as_bytes(), &mut r).unwrap();
        assert_eq!(
            (r.level.clone(), r.exc.as_deref(), r.fields.len()),
            (Level::custom(25, "NOTICE"), Some("boom"), 2)
        );
        decode_json_into(br#"{"ts":"2026-01-01T00:00:00Z","msg":"short"}"#, &mut r).unwrap();
        let mut expected = Record::empty();
        expected.ts = Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        expected.logger = "root".into();
        expected.msg = "short".into();
        assert_eq!(r, expected);
        // A failed payload leaves a record the next payload can use.
        assert!(decode_json_into(br#"{"msg":"half"#, &mut r).is_err());
        decode_json_into(first.as_bytes(), &mut r).unwrap();
        assert_eq!(r.msg, long);
    }

    #[test]
    fn native_output_decodes_to_the_same_record() {
        let record = Record::builder(Level::ERROR, "boom\nsecond line")
            .ts(Timestamp::from_unix_nanos(1_763_774_682_444_123_000))
            .logger("app.db")
            .host("h1")
            .pid(42)
            .process("MainProcess")
            .tid(u64::MAX)
            .thread("worker-1")
            .file("/src/app/db.py")
            .line(17)
            .func("connect")
            .module("db")
            .seq(9)
            .exc("Traceback (most recent call last):\n  ...")
            .stack("Stack (most recent call last):\n  ...")
            .field("user", "ann")
            .field("n", Value::BigInt("123456789012345678901234567890".into()))
            .field("u", u64::MAX)
            .field("ok", true)
            .field("ratio", 0.5)
            .field("tags", vec!["a", "b"])
            .field("none", Value::Null)
            .build();
        let mut out = Vec::new();
        JsonFormatter::native().format(&record, &mut out);
        let back = decode_json(&out).unwrap();
        assert_eq!(back, record);
    }

    #[test]
    fn aliases_unknown_keys_and_wrong_types() {
        let r = decode_json(br#"{"message":"m","timestamp":"2026-01-01T00:00:00Z","name":"n","pid":"x","k":1,"msg":"second"}"#)
            .unwrap();
        assert_eq!(r.msg, "m");
        assert_eq!(r.logger, "n");
        assert_eq!(r.ts.to_rfc3339(), "2026-01-01T00:00:00.000000Z");
        assert_eq!(r.pid, None);
        assert_eq!(r.fields.get("pid"), Some(&Value::from("x")));
        assert_eq!(r.fields.get("k"), Some(&Value::Int(1)));
        assert_eq!(r.fields.get("msg"), Some(&Value::from("second")));
    }

    #[test]
    fn levels_resolve_from_name_and_number() {
        let lvl = |j: &str| decode_json(j.as_bytes()).unwrap().level;
        assert_eq!(lvl(r#"{"level":"error"}"#), Level::ERROR);
        assert_eq!(lvl(r#"{"levelno":40}"#), Level::ERROR);
        assert_eq!(
            lvl(r#"{"level":"NOTICE","levelno":25}"#),
            Level::custom(25, "NOTICE")
        );
        assert_eq!(lvl(r#"{}"#), Level::INFO);
    }

    #[test]
    fn nested_fields_come_first_whatever_the_key_order() {
        let keys = |j: &str| {
            let r = decode_json(j.as_bytes()).unwrap();
            let keys: Vec<String> = r.fields.keys().map(str::to_owned).collect();
            (keys, r.fields.get("a").cloned())
        };
        let expected = (
            vec!["a".to_owned(), "b".to_owned(), "x".to_owned()],
            Some(Value::Int(9)),
        );
        assert_eq!(keys(r#"{"fields":{"a":1,"b":2},"x":3,"a":9}"#), expected);
        assert_eq!(keys(r#"{"x":3,"a":9,"fields":{"a":1,"b":2}}"#), expected);
        let r = decode_json(br#"{"fields":[1],"x":3}"#).unwrap();
        assert_eq!(r.fields.get("fields"), Some(&Value::from(vec![1])));
    }

    #[test]
    fn borrowed_and_escaped_standard_strings() {
        let r = decode_json(
            br#"{"level":"NOT\u0049CE","levelno":25,"ts":"yesterday","logger":"a\"b","host":null,"thread":7}"#,
        )
        .unwrap();
        assert_eq!(r.level, Level::custom(25, "NOTICE"));
        assert_eq!(r.fields.get("ts"), Some(&Value::from("yesterday")));
        assert_eq!(r.logger, "a\"b");
        assert_eq!(r.host, None);
        assert_eq!(r.fields.get("thread"), Some(&Value::Int(7)));
        let r = decode_json(br#"{"level":"w\u0061rn"}"#).unwrap();
        assert_eq!(r.level, Level::WARNING);
    }

    #[test]
    fn integer_slots_take_only_integers_that_fit() {
        let r = decode_json(
            br#"{"pid":12.0,"line":0,"seq":123456789012345678901,"tid":18446744073709551615,"levelno":1e1}"#,
        )
        .unwrap();
        assert_eq!(r.fields.get("pid"), Some(&Value::Float(12.0)));
        assert_eq!(r.line, Some(0));
        assert_eq!(
            r.fields.get("seq"),
            Some(&Value::BigInt("123456789012345678901".into()))
        );
        assert_eq!(r.tid, Some(u64::MAX));
        assert_eq!(r.fields.get("levelno"), Some(&Value::Float(10.0)));
        assert!(decode_json(br#"{"pid":007}"#).is_err());
        assert!(decode_json(br#"{"pid":-1}"#).unwrap().fields.get("pid") == Some(&Value::Int(-1)));
    }

    #[test]
    fn invalid_utf8_is_repaired_not_rejected() {
        let r = decode_json(b"{\"msg\":\"caf\xe9\"}").unwrap();
        assert_eq!(r.msg, "caf\u{fffd}");
    }

    #[test]
    fn short_keys_that_only_look_native_are_fields() {
        // A NUL after a native key, an escape spelling one, a key cut off
        // by the end of the payload, and whitespace before the colon.
        let r = decode_json(br#"{"ts\u0000":1,"m\u0073g":"hi","pid" :7,"a\"":2,"b":3}"#).unwrap();
        assert_eq!(r.fields.get("ts\u{0}"), Some(&Value::Int(1)));
        assert_eq!(r.msg, "hi");
        assert_eq!(r.pid, Some(7));
        assert_eq!(r.fields.get("a\""), Some(&Value::Int(2)));
        assert_eq!(r.fields.get("b"), Some(&Value::Int(3)));
        // Raw NUL bytes (not valid JSON, but accepted like other raw bytes)
        // must not make `ts\0` look like `ts`.
        let r = decode_json(b"{\"ts\0\":5,\"msg\":\"m\"}").unwrap();
        assert_eq!(r.fields.get("ts\u{0}"), Some(&Value::Int(5)));
        // A short key duplicated or of the wrong type keeps its own name.
        let r = decode_json(br#"{"pid":1,"pid":2,"line":"x","time":"2026-01-01T00:00:00Z","ts":"late","tid":99999999999999999}"#).unwrap();
        assert_eq!(r.pid, Some(1));
        assert_eq!(r.fields.get("pid"), Some(&Value::Int(2)));
        assert_eq!(r.fields.get("line"), Some(&Value::from("x")));
        assert_eq!(r.fields.get("ts"), Some(&Value::from("late")));
        assert_eq!(r.tid, Some(99_999_999_999_999_999));
        let r =
            decode_json(br#"{"pid":4294967296,"levelno":2147483648,"line":4294967295}"#).unwrap();
        assert_eq!(r.pid, None);
        assert_eq!(r.fields.get("pid"), Some(&Value::Int(4_294_967_296)));
        assert_eq!(r.fields.get("levelno"), Some(&Value::Int(2_147_483_648)));
        assert_eq!(r.line, Some(u32::MAX));
    }

    #[test]
    fn garbage_is_an_error() {
        for bad in [
            &b"{"[..],
            b"[1,2]",
            b"{\"msg\":\"a\"} trailing",
            b"",
            b"\"str\"",
        ] {
            assert!(
                decode_json(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
