//! The reorder path must never change what is written: every payload it
//! accepts is written byte for byte as decoding and formatting would
//! write it, whatever its key order, whitespace, unknown keys or number
//! spelling; and the payloads foreign producers typically send are
//! accepted.

use super::*;
use crate::passthrough::tests::{edits, mutate, native, record, text, value};
use proptest::prelude::*;
use tributary_core::{Fields, Record, decode_json};

/// The peer's address the listener gives a record without `host`.
const PEER: &str = "10.1.2.3";

/// Asserts the property for one payload: accepted means written as the
/// decoder and formatter write it (with and without a peer's host), with
/// the decoded level number and logger for routing. Returns whether it
/// was accepted.
fn agrees(payload: &[u8]) -> bool {
    let mut scratch = Scratch::default();
    let Some(f) = parse(payload, &mut TsCache::default(), &mut scratch) else {
        return false;
    };
    let shown = String::from_utf8_lossy(payload);
    let mut record = decode_json(payload).unwrap_or_else(|e| panic!("accepted {shown}: {e}"));
    assert_eq!(f.level_no, record.level.no(), "{shown}");
    assert_eq!(f.logger, record.logger.as_bytes(), "{shown}");
    let mut out = Vec::new();
    f.write(None, &mut out);
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&native(&record)),
        "from {shown}"
    );
    out.clear();
    f.write(Some(PEER), &mut out);
    record.host.get_or_insert_with(|| PEER.into());
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&native(&record)),
        "from {shown} with the peer's host"
    );
    true
}

/// How a producer spaces and spells its JSON.
#[derive(Clone, Debug)]
struct Style {
    /// After `:` and `,` (Python's `json.dumps` writes a space).
    space: &'static str,
    /// Floats as `1.25e1` rather than the shortest decimal.
    exponent_floats: bool,
}

fn style() -> impl Strategy<Value = Style> {
    (
        prop::sample::select(vec!["", " ", "\n  ", "\t", " \r\n"]),
        any::<bool>(),
    )
        .prop_map(|(space, exponent_floats)| Style {
            space,
            exponent_floats,
        })
}

/// `v` as a producer's JSON library might write it.
fn render(v: &Value, style: &Style, out: &mut Vec<u8>) {
    match v {
        Value::Float(x) if style.exponent_floats && x.is_finite() => {
            out.extend_from_slice(format!("{x:e}").as_bytes());
        }
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                    out.extend_from_slice(style.space.as_bytes());
                }
                render(item, style, out);
            }
            out.push(b']');
        }
        Value::Map(fields) => object(fields.iter(), style, out),
        v => write_value(out, v),
    }
}

fn object<'v>(
    members: impl Iterator<Item = (&'v str, &'v Value)>,
    style: &Style,
    out: &mut Vec<u8>,
) {
    out.push(b'{');
    for (i, (k, v)) in members.enumerate() {
        if i > 0 {
            out.push(b',');
            out.extend_from_slice(style.space.as_bytes());
        }
        write_str(out, k);
        out.push(b':');
        out.extend_from_slice(style.space.as_bytes());
        render(v, style, out);
    }
    out.push(b'}');
}

/// How the standard keys are spelled beyond the native form.
#[derive(Clone, Debug)]
struct Shape {
    /// 0: `level` and `levelno`; 1: the name only; 2: the number only;
    /// 3: neither.
    level: u8,
    /// The time with nanoseconds and `+00:00` instead of six digits and `Z`.
    long_ts: bool,
    /// `logger` left out (the decoder's `root`).
    no_logger: bool,
    /// `msg` left out.
    no_msg: bool,
    /// `host: null`, as Python sends an absent attribute.
    null_host: bool,
}

fn shape() -> impl Strategy<Value = Shape> {
    (
        0u8..4,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(level, long_ts, no_logger, no_msg, null_host)| Shape {
            level,
            long_ts,
            no_logger,
            no_msg,
            null_host,
        })
}

/// The top-level members of `r` as a foreign producer sends them.
fn members(r: &Record, shape: &Shape) -> Vec<(String, Value)> {
    let mut m: Vec<(String, Value)> = Vec::new();
    let mut ts = Vec::new();
    r.ts.write_rfc3339(&mut ts);
    let mut ts = String::from_utf8(ts).unwrap();
    if shape.long_ts {
        ts = ts.replacen('Z', "789+00:00", 1);
    }
    m.push(("ts".into(), Value::from(ts)));
    if shape.level < 2 {
        m.push(("level".into(), Value::from(r.level.name())));
    }
    if matches!(shape.level, 0 | 2) {
        m.push(("levelno".into(), Value::Int(i64::from(r.level.no()))));
    }
    if !shape.no_logger {
        m.push(("logger".into(), Value::from(r.logger.as_str())));
    }
    if !shape.no_msg {
        m.push(("msg".into(), Value::from(r.msg.as_str())));
    }
    let text = |k: &str, v: &Option<tributary_core::CompactString>| {
        v.as_ref().map(|v| (k.to_owned(), Value::from(v.as_str())))
    };
    m.extend(text("host", &r.host));
    if r.host.is_none() && shape.null_host {
        m.push(("host".into(), Value::Null));
    }
    m.extend(r.pid.map(|v| ("pid".into(), Value::from(v))));
    m.extend(r.tid.map(|v| ("tid".into(), Value::from(v))));
    m.extend(r.seq.map(|v| ("seq".into(), Value::from(v))));
    m.extend(text("exc", &r.exc));
    if !r.fields.is_empty() {
        m.push(("fields".into(), Value::Map(r.fields.clone())));
    }
    m
}

/// `members` in the order `seed` picks.
fn shuffled<T>(mut members: Vec<T>, seed: u64) -> Vec<T> {
    let mut x = seed | 1;
    for i in (1..members.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        members.swap(i, (x % (i as u64 + 1)) as usize);
    }
    members
}

prop_compose! {
    /// A foreign producer's record: any key order, spacing, spelling of
    /// the standard keys, unknown keys; and whether every part of it is
    /// one the reorder path should take.
    fn foreign()(
        r in record(true),
        shape in shape(),
        style in style(),
        seed in any::<u64>(),
        unknown in prop::collection::vec(("x_[a-z]{1,6}", value(true)), 0..4),
        odd in prop::collection::vec((prop_oneof![Just("message".to_owned()), Just("name".to_owned()),
            Just("pid".to_owned()), text()], value(true)), 0..2),
    ) -> (Vec<u8>, bool) {
        let mut m = members(&r, &shape);
        let mut unique = Fields::new();
        for (k, v) in &unknown {
            unique.insert(k.as_str(), v.clone());
        }
        let takes = unique.len() == unknown.len()
            && unique.keys().all(|k| r.fields.get(k).is_none());
        m.extend(unknown);
        // Aliases, duplicates, escaped keys: mostly declined, sometimes
        // taken (an unknown key of plain text).
        m.extend(odd.iter().cloned());
        // A lone level name is looked up as text: only a plain one is.
        let plain = |s: &str| s.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\');
        let takes = takes && odd.is_empty() && (shape.level != 1 || plain(r.level.name()));
        let m = shuffled(m, seed);
        let mut out = Vec::new();
        object(m.iter().map(|(k, v)| (k.as_str(), v)), &style, &mut out);
        (out, takes)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn foreign_records_are_taken_and_written_as_the_decoder_and_formatter_write_them(
        (payload, takes) in foreign(),
    ) {
        let accepted = agrees(&payload);
        prop_assert!(accepted || !takes, "declined {}", String::from_utf8_lossy(&payload));
    }

    #[test]
    fn native_records_are_taken_too(r in record(true)) {
        let payload = native(&r);
        prop_assert!(agrees(&payload), "declined {}", String::from_utf8_lossy(&payload));
    }

    #[test]
    fn mutated_payloads_are_declined_or_written_as_the_decoder_and_formatter_write_them(
        (payload, _) in foreign(),
        edits in edits(),
    ) {
        agrees(&mutate(payload, &edits));
    }
}

/// The benches' foreign record (`serde_json::json!`'s alphabetical keys)
/// and the same as Python's `json.dumps` writes it.
#[test]
fn the_bench_shapes_are_taken() {
    let serde = br#"{"fields":{"bytes":7,"method":"GET","ok":true,"user":"ann"},"level":"INFO","levelno":20,"logger":"bench.0","msg":"request 7 handled","pid":4242,"seq":7,"ts":"2025-11-22T01:24:42.444123Z"}"#;
    assert!(agrees(serde));
    let python = br#"{"ts": "2025-11-22T01:24:42.444123Z", "level": "INFO", "msg": "hi", "elapsed_ms": 12.5, "tags": ["a", "b"], "big": 123456789012345678901234567890}"#;
    assert!(agrees(python));
    let mut out = Vec::new();
    let mut scratch = Scratch::default();
    parse(python, &mut TsCache::default(), &mut scratch)
        .unwrap()
        .write(None, &mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"ts":"2025-11-22T01:24:42.444123Z","level":"INFO","levelno":20,"logger":"root","msg":"hi","fields":{"elapsed_ms":12.5,"tags":["a","b"],"big":123456789012345678901234567890}}"#
    );
}

/// Each of these decodes, but taking it would need the decoder's rules
/// for aliases, duplicates, types or escapes: declined.
#[test]
fn what_needs_the_decoders_rules_is_declined() {
    let good = r#"{"fields":{"a":1,"b":[1,{"c":null}]},"level":"INFO","levelno":20,"logger":"app","msg":"m","pid":42,"ts":"2025-11-22T01:24:42.444123Z","x":"y"}"#;
    assert!(agrees(good.as_bytes()));
    let deep = format!("{}1{}", "[".repeat(16), "]".repeat(16));
    let keys: String = (0..33).map(|i| format!(",\"k{i}\":1")).collect();
    let variants = [
        good.replacen("\"msg\"", "\"message\"", 1),
        good.replacen("\"logger\"", "\"name\"", 1),
        good.replacen("\"ts\"", "\"time\"", 1),
        good.replacen("\"msg\"", "\"m\\u0073g\"", 1),
        good.replacen("\"x\"", "\"\\u0078\"", 1),
        good.replacen("\"x\":\"y\"", "\"x\":\"y\",\"x\":1", 1),
        good.replacen("\"x\":\"y\"", "\"x\":\"y\",\"pid\":1", 1),
        good.replacen("\"x\":\"y\"", "\"a\":2", 1),
        good.replacen("\"a\":1,", "\"a\":1,\"a\":2,", 1),
        good.replacen("\"x\":\"y\"", "\"x\":{\"a\":1,\"a\":2}", 1),
        good.replacen("\"pid\":42", "\"pid\":-42", 1),
        good.replacen("\"pid\":42", "\"pid\":42.0", 1),
        good.replacen("\"pid\":42", "\"pid\":4294967296", 1),
        good.replacen("\"pid\":42", "\"pid\":null", 1),
        good.replacen("\"pid\":42", "\"pid\":\"42\"", 1),
        good.replacen("\"a\":1", "\"a\":-0", 1),
        good.replacen("\"level\":\"INFO\"", "\"level\":null", 1),
        good.replacen("\"levelno\":20", "\"levelno\":2147483648", 1),
        good.replacen("\"levelno\":20", "\"levelno\":20.0", 1),
        good.replacen("\"fields\":{", "\"fields\":null,\"f\":{", 1),
        good.replacen("\"logger\":\"app\"", "\"logger\":\"\"", 1),
        good.replacen("\"logger\":\"app\"", "\"logger\":\"a\\tb\"", 1),
        good.replacen("\"msg\":\"m\"", "\"msg\":7", 1),
        good.replacen("\"msg\":\"m\"", "\"msg\":\"\\u0041\"", 1),
        good.replacen("\"msg\":\"m\"", "\"msg\":\"\\/\"", 1),
        good.replacen("\"msg\":\"m\"", "\"msg\":\"\u{7f}\"", 1),
        good.replacen(",\"ts\":\"2025-11-22T01:24:42.444123Z\"", "", 1),
        good.replacen("2025-11-22T01:24:42.444123Z", "yesterday", 1),
        good.replacen("\"x\":\"y\"", &format!("\"x\":{deep}"), 1),
        good.replacen("\"x\":\"y\"", &format!("\"x\":\"y\"{keys}"), 1),
    ];
    for v in &variants {
        assert_ne!(v, good, "a variant did not apply");
        assert!(
            parse(
                v.as_bytes(),
                &mut TsCache::default(),
                &mut Scratch::default()
            )
            .is_none(),
            "accepted {v}"
        );
        assert!(decode_json(v.as_bytes()).is_ok(), "{v}");
    }
}

/// One connection's scratch serves each record afresh, and gives back
/// what one large record grew.
#[test]
fn the_scratch_forgets_the_previous_record_and_large_records_room() {
    let mut scratch = Scratch::default();
    let mut cache = TsCache::default();
    let big = format!(
        r#"{{"ts":"2025-11-22T01:24:42.444123Z","msg":"m","fields":{{"a": "{}"}},"b":1}}"#,
        "x".repeat(10_000)
    );
    // The space makes the fields object rewritten into the scratch.
    assert!(parse(big.as_bytes(), &mut cache, &mut scratch).is_some());
    assert!(scratch.fields.capacity() > KEEP_SCRATCH_BYTES);
    let small = br#"{"msg":"n","ts":"2025-11-22T01:24:42.444123Z"}"#;
    let mut out = Vec::new();
    parse(small, &mut cache, &mut scratch)
        .unwrap()
        .write(None, &mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"ts":"2025-11-22T01:24:42.444123Z","level":"INFO","levelno":20,"logger":"root","msg":"n"}"#
    );
    assert!(scratch.fields.capacity() <= KEEP_SCRATCH_BYTES);
}
