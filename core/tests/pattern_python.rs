//! Golden tests: the same records formatted by `PatternFormatter` and by
//! Python's own `logging.Formatter(fmt, datefmt, style, defaults=...)` must
//! be identical, byte for byte, in two time zones.
//!
//! All cases go to ONE `python3` process per zone (JSON in, JSON out).

#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::process::{Command, Stdio};

use jiff::tz::TimeZone;
use tributary_core::pattern::{PatternFormatter, Style};
use tributary_core::{Fields, Formatter, Level, PatternError, Record, Timestamp, Value};

/// Nov 22 2025 01:24:42.444 UTC: EST in New York.
const NOV: i64 = 1_763_774_682_444_123_456;
/// Jul 8 2025 18:40:00.999 UTC (EDT in New York), msecs 999.
const JUL_999: i64 = 1_752_000_000_999_500_000;
/// Jan 1 2026 00:00:00.000 UTC (Dec 31 in New York), msecs 000.
const NEW_YEAR: i64 = 1_767_225_600_000_000_000;

fn full() -> Record {
    let mut ctx = Fields::new();
    ctx.insert("k", "v");
    ctx.insert("n", 1);
    Record::builder(Level::WARNING, "disk almost full")
        .ts(Timestamp::from_unix_nanos(NOV))
        .logger("app.storage")
        .host("web-1")
        .pid(4242)
        .process("Worker-3")
        .tid(140_234_567_890_123)
        .thread("MainThread")
        .file("/srv/app/storage.py")
        .line(42)
        .func("check_disk")
        .module("storage")
        .seq(7)
        .field("taskName", "Task-1")
        .field("user", "ann")
        .field("attempt", 3)
        .field("code", 65)
        .field("ratio", 0.25)
        .field("ok", true)
        .field("nothing", Value::Null)
        .field(
            "tags",
            Value::List(vec![
                "a".into(),
                1.into(),
                Value::Null,
                2.5.into(),
                true.into(),
            ]),
        )
        .field("ctx", Value::Map(ctx))
        .field(
            "big",
            Value::big_int("123456789012345678901234567890").unwrap(),
        )
        .field("neg", -255)
        .field("negf", -2.5)
        .field("tiny", 1.5e-7)
        .field("huge", 1.5e22)
        .field("quote", "it's \"q\"\n\u{e9}\u{200b}")
        .build()
        .with_relative(1234.5678)
}

/// Custom level, non-ASCII text, a traceback and a stack, msecs 999.
fn edge() -> Record {
    Record::builder(Level::custom(25, "NOTICE"), "naïve café ☕ 日本")
        .ts(Timestamp::from_unix_nanos(JUL_999))
        .logger("app.ünï")
        .pid(7)
        .process("MainProcess")
        .tid(1)
        .thread("Thread-1 (worker)")
        .file("relative/path/mod.rs")
        .line(1)
        .func("<module>")
        .module("mod")
        .exc("Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\nValueError: boom")
        .stack("Stack (most recent call last):\n  File \"x.py\", line 9, in f")
        .field("user", "zoë")
        .build()
        .with_relative(0.0)
}

/// Every optional attribute absent: Python sees `None`. msecs 000.
fn sparse() -> Record {
    Record::builder(Level::ERROR, "")
        .ts(Timestamp::from_unix_nanos(NEW_YEAR))
        .build()
        .with_relative(5.0)
}

/// A message that already ends with a newline, then a traceback.
fn trailing_newline() -> Record {
    Record::builder(Level::CRITICAL, "line one\n")
        .ts(Timestamp::from_unix_nanos(NEW_YEAR))
        .exc("Traceback: boom")
        .stack("")
        .build()
        .with_relative(999_999.999_6)
}

trait WithRelative {
    fn with_relative(self, ms: f64) -> Record;
}

impl WithRelative for Record {
    fn with_relative(mut self, ms: f64) -> Record {
        self.relative_created_ms = Some(ms);
        self
    }
}

struct Case {
    style: Style,
    fmt: &'static str,
    datefmt: Option<&'static str>,
    /// Extra field names declared to the formatter.
    allow: &'static [&'static str],
    defaults: &'static [(&'static str, &'static str)],
    /// Which of `records()` to format (templates that would make Python
    /// raise on a record, e.g. `%d` of `None`, skip that record).
    records: &'static [usize],
}

const ALL: &[usize] = &[0, 1, 2, 3];
const SET: &[usize] = &[0, 1];
const FULL: &[usize] = &[0];

const EXTRAS: &[&str] = &[
    "user", "attempt", "code", "ratio", "ok", "nothing", "tags", "ctx", "big", "neg", "negf",
    "tiny", "huge", "quote",
];

fn records() -> Vec<Record> {
    vec![full(), edge(), sparse(), trailing_newline()]
}

fn case(style: Style, fmt: &'static str, records: &'static [usize]) -> Case {
    Case {
        style,
        fmt,
        datefmt: None,
        allow: EXTRAS,
        defaults: &[],
        records,
    }
}

fn cases() -> Vec<Case> {
    use Style::{Brace, Dollar, Percent};
    let mut cases = vec![
        // The cookbook's multiprocessing format, on every record (msecs 444, 999, 000).
        case(
            Percent,
            "%(asctime)s %(processName)-10s %(name)s %(levelname)-8s %(message)s",
            ALL,
        ),
        // The socket listener's basicConfig format.
        case(
            Percent,
            "%(relativeCreated)5d %(name)-15s %(levelname)-8s %(message)s",
            ALL,
        ),
        case(
            Percent,
            "%(created)f %(msecs)03d %(msecs)d %(relativeCreated).3f %(created).2e %(created)g %(msecs)s",
            ALL,
        ),
        case(
            Percent,
            "%(process)x %(process)X %(process)#o %(thread)d %(levelno)+05d %(lineno)-6d| %(lineno)06.3d",
            SET,
        ),
        case(
            Percent,
            "%(pathname)s|%(filename)s|%(module)s|%(funcName)s|%(lineno)s|%(threadName)s|%(processName)s|%(taskName)s|%(exc_text)s|%(stack_info)s|%(process)s|%(thread)s",
            ALL,
        ),
        case(
            Percent,
            "%(message)r %(name)a %(levelname).3s|%(levelname)10.2s|%(msg)s|%(levelname)-10r|",
            ALL,
        ),
        case(
            Percent,
            "%(user)s %(attempt)d %(attempt)05.1f %(ratio)s %(ratio)e %(ratio)G %(ok)s %(ok)d %(ok)f %(nothing)s %(tags)s %(ctx)s %(tags)r %(ctx)a",
            FULL,
        ),
        case(
            Percent,
            "%(user)-6s|%(user)6s|%(user).1s|%(user)r|%(attempt)x|%(attempt)#X|%(code)c|%(code)5c|%(quote)r|%(quote)a|%(quote).4s",
            FULL,
        ),
        case(
            Percent,
            "%(msg)-24s|%(msg)24s|%(msg)r|%(msg)a|%(name)-10s|%(name).5s|%(user)-5s|",
            &[1],
        ),
        case(Percent, "%(levelname)s %(levelno)d %(levelname)-8s|", ALL),
        case(
            Percent,
            "%% %(message)s 100%% %(levelno) d %(levelno)+d",
            ALL,
        ),
        case(
            Percent,
            "%(ratio)#.0f %(ratio)#g %(big)d %(big)s %(big)x %(neg)d %(neg)x %(neg)#o %(negf)d %(negf).2f %(tiny)g %(huge)g %(huge)e %(huge)d %(huge)f %(negf)+08.2f %(attempt)-+6d|",
            FULL,
        ),
        case(Percent, "[%(levelname)s] %(message)s", ALL),
        case(Percent, "%(message)s", ALL),
        // host and seq are Tributary's; Python gets them as extras.
        case(Percent, "%(host)s %(seq)d %(seq)04x", FULL),
        // str.format style.
        // (Python raises for a spec on `None`, so only records with a processName.)
        case(
            Brace,
            "{asctime} {processName:<10} {name} {levelname:<8} {message}",
            SET,
        ),
        case(
            Brace,
            "{levelname:<8}|{lineno:>5d}|{created:.3f}|{msecs:03.0f}|{relativeCreated:>12.2f}|{msecs}|{created}",
            SET,
        ),
        case(
            Brace,
            "{levelname:*^11}|{levelno:+}|{levelno:=+6}|{process:#x}|{process:#010X}|{thread:b}|{levelno:o}|{levelno:^7}|",
            SET,
        ),
        case(
            Brace,
            "{message!r}|{name!s:>14}|{msg!a}|{funcName}|{lineno}|{taskName}|{exc_text!r:.10}|{levelname!r:^12}",
            ALL,
        ),
        case(
            Brace,
            "{user:>6}|{attempt:03}|{ratio:.1%}|{ratio:e}|{ratio}|{ratio:10}|{ok}|{ok:d}|{ok:>5}|{nothing}|{tags}|{ctx}|{big}|{neg:x}|{negf:.1f}|{negf}|{neg:#b}",
            FULL,
        ),
        case(
            Brace,
            "{created:.2}|{ratio:.3}|{huge:.3}|{attempt:.2f}|{attempt:n}|{ratio:n}|{ratio:g}|{code:c}|{huge}|{tiny}|{tiny:.2}|{attempt:e}|{negf:=+9.2f}|{ratio:010.4f}|{ratio:<010}|{user:0>5}|{user:05}",
            FULL,
        ),
        case(
            Brace,
            "{msg:<24}|{msg:>24}|{msg:.4}|{msg:^23}|{name:.3}|{user:_<6}",
            &[1],
        ),
        case(Brace, "{levelname} {message}", ALL),
        // string.Template style.
        case(Dollar, "$asctime $levelname ${name}: $message $$5", ALL),
        case(
            Dollar,
            "${processName}|$processName|$lineno|$created|$msecs|$funcName|$relativeCreated|$levelno|$threadName|$exc_text",
            ALL,
        ),
        case(
            Dollar,
            "$user|$tags|$ctx|$ratio|$ok|$nothing|$big|${quote}x",
            FULL,
        ),
    ];
    // Custom date formats: Python appends no milliseconds.
    for (style, fmt, datefmt) in [
        (
            Percent,
            "%(asctime)s %(message)s",
            "%Y-%m-%dT%H:%M:%S%z %Z %a %A %b %B %j %p %I %y",
        ),
        (
            Percent,
            "%(asctime)s|",
            "%-d/%-m/%y %_H:%M %^a %#Z %k|%l|%e|%C|%G-W%V-%u|%U|%W|%w|%s",
        ),
        (
            Percent,
            "%(asctime)s|",
            "%c|%x|%X|%D|%F|%T|%R|%r|%h|%%|%P|%10A|%-5d|%05H",
        ),
        (
            Brace,
            "{{literal}} {asctime} {asctime:>12} {message}",
            "%H:%M:%S",
        ),
        (Dollar, "$asctime $message", "%d.%m.%Y %H:%M"),
    ] {
        cases.push(Case {
            datefmt: Some(datefmt),
            ..case(style, fmt, ALL)
        });
    }
    // defaults= (Python 3.10+): the record's own field wins.
    cases.push(Case {
        allow: &[],
        defaults: &[("user", "nobody"), ("ip", "0.0.0.0")],
        ..case(Percent, "%(user)s %(ip)s %(ip)-9s|", SET)
    });
    cases.push(Case {
        allow: &[],
        defaults: &[("user", "nobody"), ("ip", "0.0.0.0")],
        ..case(Brace, "{user!r} {ip:>9}|", SET)
    });
    cases
}

fn json_value(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::BigInt(digits) => digits.to_string(),
        Value::Float(x) => format!("{x:?}"),
        Value::Str(s) => serde_json::to_string(s.as_str()).unwrap(),
        Value::List(items) => format!(
            "[{}]",
            items.iter().map(json_value).collect::<Vec<_>>().join(",")
        ),
        Value::Map(fields) => format!(
            "{{{}}}",
            fields
                .iter()
                .map(|(k, v)| format!("{}:{}", serde_json::to_string(k).unwrap(), json_value(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

/// The `LogRecord` attribute dict Python builds the record from.
fn python_record(r: &Record) -> String {
    let s = |o: &Option<tributary_core::CompactString>| {
        o.as_ref().map_or(Value::Null, |s| Value::from(s.as_str()))
    };
    let n = |o: Option<u64>| o.map_or(Value::Null, Value::from);
    let mut d = Fields::new();
    d.insert("name", r.logger.as_str());
    d.insert("msg", r.msg.as_str());
    d.insert("levelname", r.level.name());
    d.insert("levelno", r.level.no());
    d.insert("pathname", s(&r.file));
    d.insert(
        "filename",
        r.file.as_deref().map(|f| f.rsplit('/').next().unwrap()),
    );
    d.insert("module", s(&r.module));
    d.insert("funcName", s(&r.func));
    d.insert("lineno", n(r.line.map(u64::from)));
    d.insert("process", n(r.pid.map(u64::from)));
    d.insert("processName", s(&r.process));
    d.insert("thread", n(r.tid));
    d.insert("threadName", s(&r.thread));
    d.insert("exc_text", s(&r.exc));
    d.insert("stack_info", s(&r.stack));
    d.insert("relativeCreated", r.relative_created_ms.unwrap());
    d.insert(
        "taskName",
        r.fields.get("taskName").cloned().unwrap_or(Value::Null),
    );
    d.insert("host", s(&r.host));
    d.insert("seq", n(r.seq));
    for (k, v) in r.fields.iter() {
        d.insert(k, v.clone());
    }
    json_value(&Value::Map(d))
}

const PYTHON: &str = r#"
import json, logging, sys
out = []
for c in json.load(sys.stdin):
    d = c["record"]
    ns = c["ns"]
    d["created"] = ns / 1e9
    d["msecs"] = (ns % 10**9) // 10**6 + 0.0
    record = logging.makeLogRecord(d)
    f = logging.Formatter(c["fmt"], c["datefmt"], c["style"], defaults=c["defaults"])
    try:
        out.append(f.format(record))
    except Exception as e:
        out.append("!! Python raised " + repr(e))
json.dump(out, sys.stdout)
"#;

fn run_python(zone: &str, input: &str) -> Vec<String> {
    let mut child = Command::new("python3")
        .args(["-c", PYTHON])
        .env("TZ", zone)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("python3 is needed for the Python golden tests (CI installs it): {e}")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "python3 failed");
    serde_json::from_slice(&output.stdout).unwrap()
}

fn style_char(style: Style) -> &'static str {
    match style {
        Style::Percent => "%",
        Style::Brace => "{",
        Style::Dollar => "$",
    }
}

#[test]
fn formats_like_python_logging() {
    let cases = cases();
    assert!(cases.len() >= 25);
    let records = records();
    for zone in ["America/New_York", "UTC"] {
        let tz = TimeZone::get(zone).unwrap();
        let mut inputs = Vec::new();
        let mut ours = Vec::new();
        for case in &cases {
            let defaults: Fields = case.defaults.iter().copied().collect();
            let mut builder = PatternFormatter::builder(case.fmt)
                .style(case.style)
                .allow_fields(case.allow.iter().copied())
                .defaults(defaults)
                .time_zone(tz.clone());
            if let Some(datefmt) = case.datefmt {
                builder = builder.datefmt(datefmt);
            }
            let formatter = builder
                .build()
                .unwrap_or_else(|e| panic!("{}: {e}", case.fmt));
            for &i in case.records {
                let record = &records[i];
                let mut out = Vec::new();
                formatter.format(record, &mut out);
                ours.push((case.fmt, i, String::from_utf8(out).unwrap()));
                let defaults = if case.defaults.is_empty() {
                    "null".to_owned()
                } else {
                    serde_json::to_string(
                        &case
                            .defaults
                            .iter()
                            .copied()
                            .collect::<std::collections::BTreeMap<_, _>>(),
                    )
                    .unwrap()
                };
                inputs.push(format!(
                    r#"{{"fmt":{},"datefmt":{},"style":"{}","defaults":{},"ns":{},"record":{}}}"#,
                    serde_json::to_string(case.fmt).unwrap(),
                    serde_json::to_string(&case.datefmt).unwrap(),
                    style_char(case.style),
                    defaults,
                    record.ts.unix_nanos(),
                    python_record(record),
                ));
            }
        }
        let python = run_python(zone, &format!("[{}]", inputs.join(",")));
        assert_eq!(python.len(), ours.len());
        let mismatches: Vec<String> = ours
            .iter()
            .zip(&python)
            .filter(|((_, _, rust), py)| rust != *py)
            .map(|((fmt, i, rust), py)| {
                format!("TZ={zone} record {i} `{fmt}`\n  rust:   {rust:?}\n  python: {py:?}")
            })
            .collect();
        assert!(
            mismatches.is_empty(),
            "{} of {} differ:\n{}",
            mismatches.len(),
            ours.len(),
            mismatches.join("\n")
        );
    }
}

#[test]
fn ts_is_rfc3339_utc() {
    let f = PatternFormatter::new("%(ts)s|%(ts).10s|%(ts)30s").unwrap();
    let mut out = Vec::new();
    f.format(&full(), &mut out);
    let ts = jiff::Timestamp::from_nanosecond(i128::from(NOV))
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%S.%6fZ")
        .to_string();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!("{ts}|{}|{ts:>30}", &ts[..10])
    );
}

#[test]
fn unknown_attributes_fail_at_construction_and_say_what_to_do() {
    let err = PatternFormatter::new("%(usr)s %(message)s").unwrap_err();
    assert_eq!(err, PatternError::UnknownAttribute { name: "usr".into() });
    let text = err.to_string();
    assert!(text.contains("unknown attribute `usr`"), "{text}");
    assert!(
        text.contains("levelname") && text.contains("allow_fields") && text.contains("defaults"),
        "{text}"
    );
    assert!(PatternFormatter::with_style("{usr}", Style::Brace).is_err());
    assert!(PatternFormatter::with_style("$usr", Style::Dollar).is_err());
    assert!(PatternFormatter::new_with_fields("%(usr)s", ["usr"]).is_ok());
}

#[test]
fn conversions_python_always_refuses_fail_at_construction() {
    for (style, t) in [
        (Style::Percent, "%(levelname)d"),
        (Style::Percent, "%(created)x"),
        (Style::Percent, "%(funcName)f"),
        (Style::Brace, "{msecs:03d}"),
        (Style::Brace, "{levelname:+}"),
        (Style::Brace, "{lineno:.2}"),
        (Style::Brace, "{lineno:s}"),
        (Style::Brace, "{message!r:d}"),
    ] {
        match PatternFormatter::with_style(t, style) {
            Err(PatternError::Conversion { placeholder, .. }) => assert_eq!(placeholder, t),
            other => panic!("{t}: {other:?}"),
        }
    }
    let hint = PatternFormatter::with_style("{msecs:03d}", Style::Brace)
        .unwrap_err()
        .to_string();
    assert!(hint.contains(".0f"), "{hint}");
}

#[test]
fn bad_datefmt_fails_on_both_paths() {
    assert!(matches!(
        PatternFormatter::builder("%(asctime)s")
            .datefmt("%H:%M:%S.%f")
            .build(),
        Err(PatternError::Datefmt { at: 9, .. })
    ));
    assert!(
        PatternFormatter::new("%(asctime)s")
            .unwrap()
            .datefmt("%Q")
            .is_err()
    );
    let f = PatternFormatter::new("%(asctime)s")
        .unwrap()
        .datefmt("%H:%M")
        .unwrap()
        .utc(true);
    let mut out = Vec::new();
    f.format(&full(), &mut out);
    assert_eq!(out, b"01:24");
}

#[test]
fn missing_extras_print_dash_unless_defaulted() {
    let f = PatternFormatter::builder("%(user)s|%(ip)s|%(ip)5s|{%(region)r}")
        .allow_fields(["user", "ip"])
        .defaults([("region", "eu")].into_iter().collect())
        .build()
        .unwrap();
    let mut out = Vec::new();
    f.format(&sparse(), &mut out);
    assert_eq!(out, b"-|-|    -|{'eu'}");
    out.clear();
    f.format(
        &Record::builder(Level::INFO, "m")
            .field("user", "ann")
            .field("region", "us")
            .build(),
        &mut out,
    );
    assert_eq!(out, b"ann|-|    -|{'us'}");
}

#[test]
fn any_field_is_looked_up_and_absent_ones_are_counted_in_every_style() {
    for (template, style, with, without) in [
        (
            "%(user)s|%(ip)4s|%(message)s",
            Style::Percent,
            "ann|   -|m",
            "?|   ?|m",
        ),
        (
            "{user}|{ip:>4}|{message}",
            Style::Brace,
            "ann|   -|m",
            "?|   ?|m",
        ),
        ("$user|${ip}|$message", Style::Dollar, "ann|-|m", "?|?|m"),
    ] {
        let f = PatternFormatter::builder(template)
            .style(style)
            .allow_any_field()
            .missing("?")
            .build()
            .unwrap();
        let mut out = Vec::new();
        let ann = Record::builder(Level::INFO, "m")
            .field("user", "ann")
            .field("ip", "-")
            .build();
        f.format(&ann, &mut out);
        assert_eq!(String::from_utf8_lossy(&out), with, "{template}");
        assert_eq!(f.records_missing_fields(), 0, "{template}");
        out.clear();
        f.format(&Record::builder(Level::INFO, "m").build(), &mut out);
        assert_eq!(String::from_utf8_lossy(&out), without, "{template}");
        out.clear();
        f.format(&Record::builder(Level::INFO, "m").build(), &mut out);
        assert_eq!(f.records_missing_fields(), 2, "{template}");
    }
}

#[test]
fn values_of_the_wrong_type_print_their_str_padded() {
    // Python raises TypeError for these; formatting here never fails.
    let f = PatternFormatter::builder("%(user)05d|%(lineno)4d|{x}")
        .allow_fields(["user", "x"])
        .build()
        .unwrap();
    let mut out = Vec::new();
    f.format(
        &Record::builder(Level::INFO, "m")
            .field("user", "ann")
            .build(),
        &mut out,
    );
    assert_eq!(out, b"  ann|None|{x}");
    let f = PatternFormatter::with_style("{funcName:>6}|{lineno:>4d}", Style::Brace).unwrap();
    out.clear();
    f.format(&sparse(), &mut out);
    assert_eq!(out, b"  None|None");
}

#[test]
fn empty_template_is_pythons_default_and_relative_created_has_an_origin() {
    let f = PatternFormatter::new("").unwrap();
    let mut out = Vec::new();
    f.format(&full(), &mut out);
    assert_eq!(out, b"disk almost full");
    // A record without relativeCreated counts from when the formatter was made.
    let f = PatternFormatter::new("%(relativeCreated)d").unwrap();
    let mut record = Record::new(Level::INFO, "root", "m");
    record.ts = Timestamp::from_unix_nanos(record.ts.unix_nanos() + 3_600_000_000_000);
    out.clear();
    f.format(&record, &mut out);
    let ms: i64 = String::from_utf8(out).unwrap().parse().unwrap();
    assert!((3_600_000..3_700_000).contains(&ms), "{ms}");
}

#[test]
fn formatter_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<PatternFormatter>();
    let f = std::sync::Arc::new(
        PatternFormatter::new("%(asctime)s %(message)s")
            .unwrap()
            .utc(true),
    );
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let f = f.clone();
            std::thread::spawn(move || {
                let mut out = Vec::new();
                for i in 0..2000i64 {
                    out.clear();
                    let ns = NOV + (i % 3) * 1_000_000_000 + t;
                    let record = Record::builder(Level::INFO, "m")
                        .ts(Timestamp::from_unix_nanos(ns))
                        .build();
                    f.format(&record, &mut out);
                    let want = format!("2025-11-22 01:24:{},444 m", 42 + i % 3);
                    assert_eq!(String::from_utf8_lossy(&out), want);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}
