//! Native JSON record → `Record`.
//!
//! Lenient by design, since "anything that can send JSON" is a producer:
//! only `msg` is commonly present, common aliases are understood, a value of
//! an unexpected type is kept as a field instead of failing the record, and
//! unknown top-level keys become fields.

use super::parse::Reader;
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
    match std::str::from_utf8(payload) {
        Ok(text) => decode_text(text),
        Err(_) => decode_text(&String::from_utf8_lossy(payload)),
    }
}

fn decode_text(text: &str) -> Result<Record, DecodeError> {
    let syntax = |e: super::parse::SyntaxError| DecodeError::Json {
        offset: e.offset,
        reason: e.reason,
    };
    let mut reader = Reader::new(text);
    reader.begin_object().map_err(syntax)?;
    let mut r = Record::new_at(
        Timestamp::from_unix_nanos(0),
        Level::INFO,
        String::new(),
        String::new(),
    );
    let mut seen = [false; Key::Other as usize];
    let mut parts = Parts::default();
    let mut extra = Fields::new();
    let mut first = true;
    while let Some(key) = reader.next_key(first).map_err(syntax)? {
        first = false;
        let slot = classify(&key);
        // Unknown keys, and a second key for a slot already filled (an
        // alias after the native key), stay as fields.
        if slot == Key::Other || std::mem::replace(&mut seen[slot as usize], true) {
            let value = reader.value().map_err(syntax)?;
            extra.insert(key.into_owned(), value);
            continue;
        }
        match (slot, reader.peek_byte()) {
            // Read straight from the borrowed text: the level name and the
            // time are only looked at, never kept, so copying them into a
            // `String` first was a wasted allocation per record.
            (Key::Ts, Some(b'"')) => {
                let text = reader.string().map_err(syntax)?;
                match Timestamp::parse_rfc3339(&text) {
                    Some(ts) => parts.ts = Some(ts),
                    None => extra.insert(key.into_owned(), Value::Str(text.into_owned())),
                }
            }
            (Key::Level, Some(b'"')) => parts.level_name = Some(reader.string().map_err(syntax)?),
            // Text slots take the string as is, skipping the `Value` round trip.
            (_, Some(b'"')) if is_text(slot) => {
                let text = reader.string().map_err(syntax)?.into_owned();
                if let Some(dest) = text_slot(&mut r, slot) {
                    *dest = text;
                }
            }
            // Integer slots skip the general number reader for plain digits.
            (Key::LevelNo | Key::Pid | Key::Tid | Key::Line | Key::Seq, Some(b'0'..=b'9')) => {
                let value = match reader.small_uint() {
                    // Below 10^18, so it fits an i64.
                    Some(n) => Value::Int(n as i64),
                    None => reader.value().map_err(syntax)?,
                };
                if let Err(value) = apply(&mut r, &mut parts, slot, value) {
                    extra.insert(key.into_owned(), value);
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
                if let Err(value) = apply(&mut r, &mut parts, slot, value) {
                    extra.insert(key.into_owned(), value);
                }
            }
        }
    }
    reader.end().map_err(syntax)?;
    if r.logger.is_empty() {
        r.logger.push_str("root");
    }
    // In place: a `Record` is a few hundred bytes, and each move is a copy.
    finish(&mut r, parts, extra);
    Ok(r)
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
fn text_slot(r: &mut Record, slot: Key) -> Option<&mut String> {
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
    Some(optional.insert(String::new()))
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
        Key::Level => p.level_name = text(value)?.map(Cow::Owned),
        Key::LevelNo => p.level_no = Some(int(value)?),
        Key::Logger => r.logger = text(value)?.unwrap_or_default(),
        Key::Msg => {
            r.msg = match value {
                Value::Str(s) => s,
                Value::Null => String::new(),
                v @ (Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::BigInt(_)) => {
                    v.to_string()
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
