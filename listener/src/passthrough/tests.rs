//! The pass-through must never change what is written: every payload it
//! accepts is byte for byte what decoding and formatting would write.

use super::*;
use proptest::prelude::*;
use tributary_core::{Fields, Formatter, JsonFormatter, Level, Record, Value, decode_json};

/// What the decoder and formatter make of `payload`, if it decodes.
fn slow_path(payload: &[u8]) -> Option<Vec<u8>> {
    let record = decode_json(payload).ok()?;
    let mut out = Vec::new();
    JsonFormatter::native().format(&record, &mut out);
    Some(out)
}

pub(super) fn native(record: &Record) -> Vec<u8> {
    let mut out = Vec::new();
    JsonFormatter::native().format(record, &mut out);
    out
}

fn accepts(payload: &[u8]) -> Option<(i32, String)> {
    check(payload, &mut TsCache::default())
        .map(|c| (c.level_no, String::from_utf8(c.logger.to_vec()).unwrap()))
}

/// Asserts the property for one payload: accepted means unchanged by a
/// decode and format. Returns whether it was accepted.
fn agrees(payload: &[u8]) -> bool {
    let mut cache = TsCache::default();
    let Some(c) = check(payload, &mut cache) else {
        return false;
    };
    let record = decode_json(payload).expect("an accepted payload decodes");
    assert_eq!(c.level_no, record.level.no());
    assert_eq!(c.logger, record.logger.as_bytes());
    assert_eq!(
        String::from_utf8_lossy(&native(&record)),
        String::from_utf8_lossy(payload)
    );
    true
}

fn sample() -> Record {
    Record::builder(
        Level::WARNING,
        "disk \"almost\" full\n\tat 95%\u{1}\u{7f} é ✓",
    )
    .ts(Timestamp::from_unix_nanos(1_763_774_682_444_123_000))
    .logger("app.storage")
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
    .stack("Stack:\n  ...")
    .field("user", "ann")
    .field("n", Value::BigInt("123456789012345678901234567890".into()))
    .field("neg", -5)
    .field("ok", true)
    .field("none", Value::Null)
    .field("tags", vec!["a", "b"])
    .field(
        "ctx",
        Value::Map(Fields::from_iter([("k", Value::List(vec![]))])),
    )
    .build()
}

#[test]
fn what_the_native_formatter_writes_is_accepted_unchanged() {
    let payload = native(&sample());
    assert!(agrees(&payload));
    assert_eq!(accepts(&payload), Some((30, "app.storage".to_owned())));
    let minimal = native(&Record::new_at(
        Timestamp::from_unix_nanos(0),
        Level::custom(25, "NOTICE"),
        "a",
        "",
    ));
    assert!(agrees(&minimal));
}

#[test]
fn the_timestamp_cache_takes_other_microseconds_of_the_same_second_only() {
    let mut cache = TsCache::default();
    let at = |nanos: i64| {
        native(&Record::new_at(
            Timestamp::from_unix_nanos(nanos),
            Level::INFO,
            "a",
            "m",
        ))
    };
    assert!(check(&at(1_763_774_682_000_001_000), &mut cache).is_some());
    assert!(check(&at(1_763_774_682_999_999_000), &mut cache).is_some());
    let mut odd = at(1_763_774_682_000_001_000);
    odd[26] = b'x'; // inside the fraction
    assert!(check(&odd, &mut cache).is_none());
    assert!(check(&at(1_763_774_683_000_000_000), &mut cache).is_some());
}

/// Each of these decodes, but formatting it would change it.
#[test]
fn anything_the_formatter_would_rewrite_is_declined() {
    let good = String::from_utf8(native(&sample())).unwrap();
    let variants = [
        good.replacen("{\"ts\"", "{ \"ts\"", 1),
        good.replacen(",\"level\":\"WARNING\"", ",\"levelname\":\"WARNING\"", 1),
        good.replacen("\"host\":\"h1\"", "\"host\":null", 1),
        good.replacen("\"pid\":42", "\"pid\":-42", 1),
        good.replacen("\"pid\":42", "\"pid\":42.0", 1),
        good.replacen("\"pid\":42", "\"pid\":4294967296", 1),
        good.replacen("\"neg\":-5", "\"neg\":-0", 1),
        good.replacen("\"neg\":-5", "\"neg\":1e3", 1),
        good.replacen("\"neg\":-5", "\"neg\":0.5", 1),
        good.replacen("\"neg\":-5", "\"user\":\"bob\"", 1),
        good.replacen("\\u0001", "\\u0041", 1),
        good.replacen("\\u0001", "\\u000A", 1),
        good.replacen("\\u0001", "\u{1}", 1),
        good.replacen("\\n", "\\u000a", 1),
        good.replacen("/src/app", "\\/src/app", 1),
        good.replacen("app.storage", "", 1),
        good.replacen("app.storage", "app\\tstorage", 1),
        good.replacen(".444123Z", ".444Z", 1),
        good.replacen(".444123Z", ".444123+00:00", 1),
        good.replacen(",\"fields\":{", ",\"extra\":1,\"fields\":{", 1),
        good.replacen(",\"host\":\"h1\"", "", 1).replacen(
            ",\"pid\":42",
            ",\"pid\":42,\"host\":\"h1\"",
            1,
        ),
        format!("{good} "),
        good.replacen("\"ts\":\"2025-11-22T01:24:42.444123Z\",", "", 1),
    ];
    for v in &variants {
        assert_ne!(v, &good, "a variant did not apply");
        assert!(accepts(v.as_bytes()).is_none(), "accepted {v}");
        assert!(decode_json(v.as_bytes()).is_ok() || v.ends_with(' '), "{v}");
    }
    let empty_fields = native(&Record::new(Level::INFO, "a", "m"));
    let with_empty = String::from_utf8(empty_fields)
        .unwrap()
        .replacen('}', ",\"fields\":{}}", 1);
    assert!(accepts(with_empty.as_bytes()).is_none());
    let mut invalid_utf8 = native(&sample());
    let at = invalid_utf8.iter().position(|&b| b == b'\xc3').unwrap();
    invalid_utf8[at] = b'\xff';
    assert!(accepts(&invalid_utf8).is_none());
}

#[test]
fn utf8_is_validated_inside_strings() {
    let with = |msg: &[u8]| {
        let mut p = native(&Record::new_at(
            Timestamp::from_unix_nanos(0),
            Level::INFO,
            "a",
            "MSG",
        ));
        let at = p.windows(3).position(|w| w == b"MSG").unwrap();
        p.splice(at..at + 3, msg.iter().copied());
        p
    };
    assert!(agrees(&with("é ✓ 😀 \u{10ffff}".as_bytes())));
    for bad in [
        &b"\xc0\x80"[..],    // overlong
        b"\xed\xa0\x80",     // surrogate
        b"\xf4\x90\x80\x80", // beyond U+10FFFF
        b"\xe2\x9c",         // truncated before the quote
        b"\x80",             // continuation without a lead
    ] {
        assert!(accepts(&with(bad)).is_none(), "{bad:?}");
    }
}

pub(super) fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z._ ]{0,12}",
        "(?s).{0,24}",
        proptest::collection::vec(
            prop_oneof![
                Just('"'),
                Just('\\'),
                Just('/'),
                Just('\n'),
                Just('\u{1}'),
                Just('\u{7f}'),
                Just('é'),
                Just('\u{2028}'),
                Just('x')
            ],
            0..8
        )
        .prop_map(|v| v.into_iter().collect()),
    ]
}

pub(super) fn value(floats: bool) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        "-?[1-9][0-9]{19,25}".prop_map(|d| Value::big_int(&d).unwrap()),
        text().prop_map(Value::from),
        any::<f64>().prop_map(move |x| if floats { Value::Float(x) } else { Value::Null }),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
            proptest::collection::vec((text(), inner), 0..4)
                .prop_map(|kv| Value::Map(Fields::from_iter(kv))),
        ]
    })
}

pub(super) fn record(floats: bool) -> impl Strategy<Value = Record> {
    let level = prop_oneof![
        Just(Level::INFO),
        Just(Level::ERROR),
        (any::<i32>(), text()).prop_map(|(n, s)| Level::custom(n, s)),
    ];
    (
        (
            0i64..4_102_444_800_000_000,
            level,
            "[a-z]{1,8}(\\.[a-z]{1,8}){0,2}",
            text(),
        ),
        (
            proptest::option::of(text()),
            proptest::option::of(any::<u32>()),
            proptest::option::of(any::<u64>()),
            proptest::option::of(text()),
            proptest::option::of(any::<u64>()),
        ),
        proptest::collection::vec((text(), value(floats)), 0..5),
    )
        .prop_map(
            |((micros, level, logger, msg), (host, pid, tid, exc, seq), fields)| {
                let mut r = Record::new_at(
                    Timestamp::from_unix_nanos(micros * 1000),
                    level,
                    logger,
                    msg,
                );
                (r.pid, r.tid, r.seq) = (pid, tid, seq);
                (r.host, r.exc) = (host.map(Into::into), exc.map(Into::into));
                r.fields = Fields::from_iter(fields);
                r
            },
        )
}

/// Bytes that matter to JSON, for mutations.
const INTERESTING: &[u8] = b"{}[]\":,\\ \t-.0159eEnu\x01\x7f\xc3\xff";

/// One to three edits of a payload, each replacing, inserting or removing
/// one byte that matters to JSON somewhere ([`mutate`]).
pub(super) fn edits() -> impl Strategy<Value = Vec<(prop::sample::Index, usize, u8)>> {
    proptest::collection::vec(
        (
            any::<prop::sample::Index>(),
            0usize..INTERESTING.len(),
            0u8..3,
        ),
        1..4,
    )
}

/// `payload` with [`edits`] applied (stopping if it becomes empty).
pub(super) fn mutate(mut payload: Vec<u8>, edits: &[(prop::sample::Index, usize, u8)]) -> Vec<u8> {
    for (at, byte, op) in edits {
        let i = at.index(payload.len());
        match op {
            0 => payload[i] = INTERESTING[*byte],
            1 => payload.insert(i, INTERESTING[*byte]),
            _ => {
                payload.remove(i);
            }
        }
        if payload.is_empty() {
            break;
        }
    }
    payload
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_formatted_record_without_floats_is_accepted_unchanged(r in record(false)) {
        let payload = native(&r);
        prop_assert!(agrees(&payload), "declined {}", String::from_utf8_lossy(&payload));
    }

    /// The collector's splice: `,"host":"H"` at `host_at` of a record
    /// without a host is what the formatter writes for it with host `H`.
    #[test]
    fn a_host_spliced_at_host_at_is_what_the_formatter_writes(
        mut r in record(false),
        host in "[a-zA-Z0-9.:/_-]{1,24}",
    ) {
        r.host = None;
        let payload = native(&r);
        let c = check(&payload, &mut TsCache::default()).expect("accepted");
        prop_assert!(!c.has_host);
        let spliced = [
            &payload[..c.host_at],
            format!(",\"host\":\"{host}\"").as_bytes(),
            &payload[c.host_at..],
        ]
        .concat();
        r.host = Some(host.as_str().into());
        let formatted = native(&r);
        prop_assert_eq!(String::from_utf8_lossy(&spliced), String::from_utf8_lossy(&formatted));
    }

    #[test]
    fn what_is_accepted_is_what_decode_and_format_write(r in record(true)) {
        agrees(&native(&r));
    }

    #[test]
    fn mutated_payloads_are_declined_or_unchanged_by_the_decoder(
        r in record(true),
        edits in edits(),
    ) {
        let payload = mutate(native(&r), &edits);
        if agrees(&payload) {
            prop_assert_eq!(slow_path(&payload), Some(payload));
        }
    }
}
