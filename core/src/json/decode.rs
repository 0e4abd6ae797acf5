//! Native JSON record → `Record`.
//!
//! Lenient by design, since "anything that can send JSON" is a producer:
//! only `msg` is commonly present, common aliases are understood, a value of
//! an unexpected type is kept as a field instead of failing the record, and
//! unknown top-level keys become fields.

use crate::{DecodeError, Fields, Level, Record, Timestamp, Value};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

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
    match decode_strict(payload) {
        Ok(r) => Ok(r),
        Err(e) => match std::str::from_utf8(payload) {
            Ok(_) => Err(e),
            // serde_json rejects invalid UTF-8 inside strings; repair and retry.
            Err(_) => decode_strict(String::from_utf8_lossy(payload).as_bytes()),
        },
    }
}

fn decode_strict(payload: &[u8]) -> Result<Record, DecodeError> {
    let mut de = serde_json::Deserializer::from_slice(payload);
    let record = de
        .deserialize_map(RecordVisitor)
        .map_err(DecodeError::Json)?;
    de.end().map_err(DecodeError::Json)?;
    Ok(record)
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

struct RecordVisitor;

/// A top-level key: its slot, and its text only when it has to be kept
/// (standard keys are matched without allocating).
struct ParsedKey {
    slot: Key,
    text: Option<String>,
    alias: &'static str,
}

impl ParsedKey {
    fn name(self) -> String {
        self.text.unwrap_or_else(|| self.alias.to_owned())
    }
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = ParsedKey;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<ParsedKey, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = ParsedKey;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<ParsedKey, E> {
        let slot = classify(v);
        Ok(match slot {
            Key::Other => ParsedKey {
                slot,
                text: Some(v.to_owned()),
                alias: "",
            },
            // A standard key is re-created from its text only if it ends up a field.
            _ => ParsedKey {
                slot,
                text: None,
                alias: static_name(v),
            },
        })
    }
}

/// The `&'static str` for a standard key or alias accepted by [`classify`].
fn static_name(k: &str) -> &'static str {
    const NAMES: &[&str] = &[
        "ts",
        "timestamp",
        "time",
        "@timestamp",
        "level",
        "levelname",
        "severity",
        "levelno",
        "logger",
        "name",
        "target",
        "msg",
        "message",
        "host",
        "pid",
        "process",
        "tid",
        "thread",
        "file",
        "line",
        "func",
        "module",
        "seq",
        "exc",
        "stack",
        "fields",
    ];
    NAMES.iter().copied().find(|n| *n == k).unwrap_or("")
}

/// What the visitor collects before the level and fields can be resolved.
#[derive(Default)]
struct Parts {
    ts: Option<Timestamp>,
    level_name: Option<String>,
    level_no: Option<i32>,
    nested: Option<Fields>,
}

impl<'de> Visitor<'de> for RecordVisitor {
    type Value = Record;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object (one log record)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Record, A::Error> {
        let mut r = Record::new_at(Timestamp::from_unix_nanos(0), Level::INFO, "root", "");
        let mut seen = [false; Key::Other as usize];
        let mut parts = Parts::default();
        let mut extra = Fields::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let value = map.next_value_seed(ValueSeed)?;
            let slot = key.slot;
            // Unknown keys, and a second key for a slot already filled (an
            // alias after the native key), stay as fields.
            if slot == Key::Other || std::mem::replace(&mut seen[slot as usize], true) {
                extra.insert(key.name(), value);
                continue;
            }
            // A value of the wrong type is kept as a field, never dropped.
            if let Err(value) = apply(&mut r, &mut parts, slot, value) {
                extra.insert(key.name(), value);
            }
        }
        if parts.ts.is_none() {
            parts.ts = Some(Timestamp::now());
        }
        Ok(finish(r, parts, extra))
    }
}

fn int<T: TryFrom<i64>>(v: Value) -> Result<T, Value> {
    match v {
        Value::Int(i) => T::try_from(i).map_err(|_| Value::Int(i)),
        v => Err(v),
    }
}

fn apply(r: &mut Record, p: &mut Parts, slot: Key, value: Value) -> Result<(), Value> {
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
        Key::Level => p.level_name = text(value)?,
        Key::LevelNo => p.level_no = Some(int(value)?),
        Key::Logger => r.logger = text(value)?.unwrap_or_else(|| "root".to_owned()),
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
        Key::Tid => {
            r.tid = Some(match value {
                Value::BigInt(s) => s.parse().map_err(|_| Value::BigInt(s))?,
                v => int(v)?,
            })
        }
        Key::Thread => r.thread = text(value)?,
        Key::File => r.file = text(value)?,
        Key::Line => r.line = Some(int(value)?),
        Key::Func => r.func = text(value)?,
        Key::Module => r.module = text(value)?,
        Key::Seq => r.seq = Some(int(value)?),
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

fn finish(mut r: Record, p: Parts, extra: Fields) -> Record {
    if let Some(ts) = p.ts {
        r.ts = ts;
    }
    r.level = match (p.level_name, p.level_no) {
        (Some(name), Some(no)) => Level::from_parts(&name, no),
        (Some(name), None) => {
            Level::from_name(&name).unwrap_or_else(|| Level::custom(Level::INFO.no(), name))
        }
        (None, Some(no)) => Level::from_no(no),
        (None, None) => Level::INFO,
    };
    r.fields = p.nested.unwrap_or_default();
    r.fields.extend(extra);
    r
}

/// Deserializes any JSON value into a [`Value`], keeping integers exact up
/// to `u64` (beyond `i64` they become [`Value::BigInt`]) and map order.
/// Integers beyond `u64` arrive as floats: serde_json only keeps their
/// digits with its global `arbitrary_precision` feature, which would slow
/// every number in the workspace for a case native producers do not send.
struct ValueSeed;

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(ValueSeed)? {
            items.push(item);
        }
        Ok(Value::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut fields = Fields::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(ValueSeed)?;
            fields.insert(key, value);
        }
        Ok(Value::Map(fields))
    }
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
            .field("n", u64::MAX)
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
