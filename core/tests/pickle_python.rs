//! Golden tests against the real CPython stdlib: `tests/python/make_records.py`
//! logs through `logging.handlers.SocketHandler.makePickle` (plain, typed
//! extras, exceptions, stacks, non-ASCII, huge ints, a thread, a child
//! process, datetime/bytes extras and a malicious `__reduce__`), and every
//! decoded attribute is compared with what the sender saw.
#![cfg(feature = "pickle")]
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;
use tributary_core::frame::StreamDecoder;
use tributary_core::pickle::{PickleError, decode_record};
use tributary_core::{DecodeOptions, Fields, Level, Record, Value, decode_payload};

struct Golden {
    dir: tempfile::TempDir,
    expect: HashMap<String, Json>,
}

impl Golden {
    /// Runs the script once per test. Without python3 the test fails with
    /// what to install: a golden test that skips proves nothing.
    fn run() -> Golden {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/make_records.py");
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("PWNED");
        let out = match Command::new("python3")
            .arg(&script)
            .arg(dir.path())
            .arg(&marker)
            .output()
        {
            Ok(out) => out,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "python3 is not installed; the pickle golden tests need CPython \
                 (apt-get install python3)"
            ),
            Err(e) => panic!("running python3: {e}"),
        };
        assert!(
            out.status.success(),
            "make_records.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let expect = std::fs::read(dir.path().join("expect.json")).unwrap();
        let expect = serde_json::from_slice(&expect).unwrap();
        Golden { dir, expect }
    }

    fn marker(&self) -> PathBuf {
        self.dir.path().join("PWNED")
    }

    /// The frame's payload, split off by the real stream decoder.
    fn payload(&self, case: &str) -> Vec<u8> {
        let bytes = std::fs::read(self.dir.path().join(format!("{case}.bin"))).unwrap();
        let mut decoder = StreamDecoder::new(1 << 20);
        // Feed it in awkward chunks, as a socket might.
        for chunk in bytes.chunks(7) {
            decoder.push(chunk);
        }
        let payload = decoder
            .next_payload()
            .unwrap()
            .expect("one whole frame")
            .to_vec();
        assert_eq!(decoder.next_payload().unwrap(), None);
        payload
    }

    fn record(&self, case: &str) -> Record {
        let payload = self.payload(case);
        let via_dispatch = decode_payload(&payload, DecodeOptions::default()).unwrap();
        let record = decode_record(&payload, false).unwrap();
        assert_eq!(via_dispatch, record);
        record
    }

    /// Asserts every standard attribute against what the sender saw.
    fn check_std(&self, case: &str, r: &Record) {
        let e = &self.expect[case];
        let s = |k: &str| e[k].as_str().map(tributary_core::CompactString::from);
        assert_eq!(Some(r.logger.clone()), s("name"), "{case}: name");
        assert_eq!(Some(r.msg.clone()), s("msg"), "{case}: msg");
        let level_no = e["levelno"].as_i64().unwrap() as i32;
        assert_eq!(
            r.level,
            Level::from_parts(e["levelname"].as_str().unwrap(), level_no),
            "{case}: level"
        );
        let created = e["created"].as_f64().unwrap();
        assert!(
            (r.ts.as_secs_f64() - created).abs() < 1e-6,
            "{case}: ts {:?} vs created {created}",
            r.ts
        );
        // serde_json parses floats fast rather than exactly: compare closely.
        let rel = e["relativeCreated"].as_f64().unwrap();
        assert!(
            (r.relative_created_ms.unwrap() - rel).abs() < 1e-9,
            "{case}: relativeCreated"
        );
        assert_eq!(r.pid.map(u64::from), e["process"].as_u64(), "{case}: pid");
        assert_eq!(r.process, s("processName"), "{case}: processName");
        assert_eq!(r.tid, e["thread"].as_u64(), "{case}: thread");
        assert_eq!(r.thread, s("threadName"), "{case}: threadName");
        assert_eq!(r.file, s("pathname"), "{case}: pathname");
        assert_eq!(
            r.line.map(u64::from),
            e["lineno"].as_u64(),
            "{case}: lineno"
        );
        assert_eq!(r.func, s("funcName"), "{case}: funcName");
        assert_eq!(r.module.as_deref(), Some("make_records"), "{case}: module");
        assert_eq!(r.exc, s("exc_text"), "{case}: exc_text");
        assert_eq!(r.stack, s("stack_info"), "{case}: stack_info");
    }
}

fn map(pairs: Vec<(&str, Value)>) -> Value {
    Value::Map(pairs.into_iter().collect())
}

fn big(digits: &str) -> Value {
    Value::big_int(digits).unwrap()
}

#[test]
fn python_socket_handler_records_decode_exactly() {
    let g = Golden::run();

    let plain = g.record("plain");
    g.check_std("plain", &plain);
    assert_eq!(plain.msg, "user ann logged in");
    assert_eq!(plain.level, Level::INFO);
    assert!(plain.fields.is_empty(), "{:?}", plain.fields);

    let extras = g.record("extras");
    g.check_std("extras", &extras);
    let want: Fields = [
        ("s", Value::from("text")),
        ("i", Value::Int(42)),
        ("neg", Value::Int(-7)),
        ("f", Value::Float(3.25)),
        ("t", Value::Bool(true)),
        ("fa", Value::Bool(false)),
        ("n", Value::Null),
        (
            "l",
            Value::List(vec![
                Value::Int(1),
                Value::from("two"),
                Value::Float(3.0),
                Value::Null,
            ]),
        ),
        ("empty_l", Value::List(vec![])),
        ("empty_d", map(vec![])),
        (
            "d",
            map(vec![
                ("k", Value::from("v")),
                (
                    "nested",
                    map(vec![(
                        "deep",
                        Value::List(vec![Value::Int(1), map(vec![("x", Value::Int(2))])]),
                    )]),
                ),
            ]),
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(extras.fields, want);

    let exc = g.record("exc");
    g.check_std("exc", &exc);
    let text = exc.exc.as_deref().unwrap();
    assert!(
        text.starts_with("Traceback (most recent call last):"),
        "{text}"
    );
    assert!(
        text.ends_with("ZeroDivisionError: division by zero"),
        "{text}"
    );
    assert_eq!(exc.level, Level::ERROR);

    let stack = g.record("stack");
    g.check_std("stack", &stack);
    assert!(
        stack
            .stack
            .as_deref()
            .unwrap()
            .starts_with("Stack (most recent call last):")
    );

    let uni = g.record("unicode");
    g.check_std("unicode", &uni);
    assert_eq!(
        (uni.logger.as_str(), uni.msg.as_str()),
        ("app.ünï", "café 😀 日本語 ß")
    );
    let want: Fields = [("città", "Zürich"), ("emoji", "🎉"), ("cjk", "漢字")]
        .into_iter()
        .collect();
    assert_eq!(uni.fields, want);

    let bigs = g.record("bigints");
    g.check_std("bigints", &bigs);
    let want: Fields = [
        ("big", big("1267650600228229401496703205376")),
        ("negbig", big("-1180591620717411303424")),
        ("i64max", Value::Int(i64::MAX)),
        ("u64max", big("18446744073709551615")),
        ("i64min", Value::Int(i64::MIN)),
    ]
    .into_iter()
    .collect();
    assert_eq!(bigs.fields, want);

    let custom = g.record("custom_level");
    g.check_std("custom_level", &custom);
    assert_eq!(custom.level, Level::custom(25, "NOTICE"));

    let thread = g.record("thread");
    g.check_std("thread", &thread);
    assert_eq!(thread.thread.as_deref(), Some("worker-1"));
    assert_ne!(thread.tid, plain.tid);

    let child = g.record("child");
    g.check_std("child", &child);
    assert_eq!(child.process.as_deref(), Some("child-7"));
    assert_ne!(child.pid, plain.pid);
    assert_eq!(child.msg, format!("from child {}", child.pid.unwrap()));
}

#[test]
fn every_pickle_protocol_decodes_to_the_same_record() {
    let g = Golden::run();
    let reference = g.record("extras");
    for proto in 0..=5 {
        let r = g.record(&format!("extras_p{proto}"));
        assert_eq!(r, reference, "protocol {proto}");
    }
    let reference = g.record("bigints");
    for proto in [0, 2, 5] {
        assert_eq!(
            g.record(&format!("bigints_p{proto}")),
            reference,
            "protocol {proto}"
        );
    }
}

#[test]
fn datetime_and_bytes_extras_are_refused_unless_lenient() {
    let g = Golden::run();
    for (case, key, marker) in [
        ("datetime", "when", "<pickled object datetime.datetime>"),
        ("bytes", "raw", "<pickled object _codecs.encode>"),
    ] {
        let payload = g.payload(case);
        match decode_record(&payload, false) {
            Err(PickleError::Forbidden {
                opcode: b'c',
                target: Some(_),
                ..
            }) => {}
            other => panic!("{case}: expected a refused GLOBAL, got {other:?}"),
        }
        let r = decode_record(&payload, true).unwrap();
        g.check_std(case, &r);
        assert_eq!(r.fields.get(key), Some(&Value::from(marker)), "{case}");
        assert_eq!(r.fields.get("ok"), Some(&Value::Int(1)), "{case}");
        // The listener's entry point honours the option.
        // Written to survive new options being added.
        #[allow(clippy::needless_update)]
        let lenient = DecodeOptions {
            lenient_pickle: true,
            ..Default::default()
        };
        assert_eq!(decode_payload(&payload, lenient).unwrap(), r);
        assert!(decode_payload(&payload, DecodeOptions::default()).is_err());
    }
}

#[test]
fn malicious_reduce_is_refused_and_never_runs() {
    let g = Golden::run();
    let payload = g.payload("evil");
    // Sanity: the payload really is an os.system call (pickle names it posix.system).
    assert!(payload.windows(13).any(|w| w == b"posix\nsystem\n"));
    let err = decode_record(&payload, false).unwrap_err();
    match &err {
        PickleError::Forbidden {
            opcode,
            offset,
            target,
        } => {
            assert_eq!(*opcode, b'c');
            assert_eq!(target.as_deref(), Some("posix.system"));
            assert_eq!(payload[*offset], b'c');
        }
        other => panic!("expected Forbidden, got {other:?}"),
    }
    assert!(err.to_string().contains("GLOBAL"), "{err}");
    let r = decode_record(&payload, true).unwrap();
    assert_eq!(
        r.fields.get("payload"),
        Some(&Value::from("<pickled object posix.system>"))
    );
    assert_eq!(r.msg, "evil");
    assert!(!g.marker().exists(), "the pickled command ran");
}

/// Python 2.7's SocketHandler (no python2 here, so written by hand from a
/// 2.7.18 pickletools dump): `U`/`T` strings, `I` text ints, `I01` bools,
/// `L` longs with their suffix, a unicode `X` message.
#[test]
fn python27_socket_handler_frame() {
    let mut p = b"}q\x01(".to_vec();
    let mut put = |k: &[u8], v: &[u8]| {
        p.push(b'U');
        p.push(k.len() as u8);
        p.extend(k);
        p.extend(v);
    };
    put(b"name", b"U\x07py2.appq\x02");
    put(b"msg", b"X\x08\x00\x00\x00hello \xc3\xa9q\x03");
    put(b"args", b"N");
    put(b"levelname", b"U\x07WARNINGq\x04");
    put(b"levelno", b"K\x1e");
    put(b"pathname", b"T\x0b\x00\x00\x00/srv/app.py");
    put(b"filename", b"U\x06app.py");
    put(b"module", b"U\x03app");
    put(b"exc_info", b"N");
    put(b"exc_text", b"N");
    put(b"lineno", b"K\x0c");
    put(b"funcName", b"U\x04main");
    put(b"created", b"GA\xd6\x00\x00\x00\x00\x00\x00");
    put(b"msecs", b"G@\x00\x00\x00\x00\x00\x00\x00");
    put(b"relativeCreated", b"G@\x10\x00\x00\x00\x00\x00\x00");
    put(b"thread", b"I139872394585856\n");
    put(b"threadName", b"h\x02");
    put(b"processName", b"U\x0bMainProcess");
    put(b"process", b"M\xd2\x04");
    put(b"debug", b"I01\n");
    put(b"count", b"L12345678901234567890L\n");
    p.extend(b"u.");
    let mut frame = Vec::new();
    tributary_core::frame::encode(&p, &mut frame).unwrap();
    let mut decoder = StreamDecoder::new(1 << 20);
    decoder.push(&frame);
    let r = decode_payload(
        decoder.next_payload().unwrap().unwrap(),
        DecodeOptions::default(),
    )
    .unwrap();
    assert_eq!((r.logger.as_str(), r.msg.as_str()), ("py2.app", "hello é"));
    assert_eq!(r.level, Level::WARNING);
    assert_eq!(r.file.as_deref(), Some("/srv/app.py"));
    assert_eq!(
        (r.line, r.func.as_deref(), r.module.as_deref()),
        (Some(12), Some("main"), Some("app"))
    );
    assert_eq!(r.ts.unix_secs(), 1_476_395_008);
    assert_eq!(r.relative_created_ms, Some(4.0));
    assert_eq!(r.tid, Some(139_872_394_585_856));
    // threadName is a memo reference to the logger name string.
    assert_eq!(r.thread.as_deref(), Some("py2.app"));
    assert_eq!(r.pid, Some(1234));
    let want: Fields = [
        ("debug", Value::Bool(true)),
        ("count", big("12345678901234567890")),
    ]
    .into_iter()
    .collect();
    assert_eq!(r.fields, want);
}
