//! Unit tests per opcode family, limits, record mapping and property tests.
//! Byte strings marked "Python:" were produced by CPython 3.11's `pickle`.

use super::*;
use crate::{Fields, Level, Timestamp};
use proptest::prelude::*;

fn val(bytes: &[u8]) -> Value {
    match decode_value(bytes, false) {
        Ok(v) => v,
        Err(e) => panic!("{e} for {bytes:?}"),
    }
}

fn err(bytes: &[u8]) -> PickleError {
    match decode_value(bytes, false) {
        Ok(v) => panic!("expected an error for {bytes:?}, got {v:?}"),
        Err(e) => e,
    }
}

fn s(x: &str) -> Value {
    Value::from(x)
}

fn list(items: Vec<Value>) -> Value {
    Value::List(items)
}

// ---- numbers ----

#[test]
fn binary_ints() {
    assert_eq!(val(b"K\x07."), Value::Int(7));
    assert_eq!(val(b"M\x05\x1c."), Value::Int(7173));
    assert_eq!(val(b"J\xff\xff\xff\xff."), Value::Int(-1));
    assert_eq!(val(b"J\x00\x00\x00\x80."), Value::Int(i64::from(i32::MIN)));
}

#[test]
fn text_ints_bools_and_longs() {
    // Python: pickle.dumps(-5, 0), (True, 0), (2**70, 0).
    assert_eq!(val(b"I-5\n."), Value::Int(-5));
    assert_eq!(val(b"I01\n."), Value::Bool(true));
    assert_eq!(val(b"I00\n."), Value::Bool(false));
    assert_eq!(val(b"I0\n."), Value::Int(0));
    assert_eq!(
        val(b"L1180591620717411303424L\n."),
        Value::BigInt("1180591620717411303424".into())
    );
    // Python 2 sends big ints as INT text and longs without the suffix.
    assert_eq!(val(b"I140329834052480\n."), Value::Int(140_329_834_052_480));
    assert_eq!(
        val(b"I-99999999999999999999\n."),
        Value::BigInt("-99999999999999999999".into())
    );
    assert_eq!(val(b"L42\n."), Value::Int(42));
    assert!(matches!(
        err(b"I1x\n."),
        PickleError::Invalid { offset: 0, .. }
    ));
    assert!(matches!(err(b"LL\n."), PickleError::Invalid { .. }));
    let mut huge = b"I".to_vec();
    huge.extend(std::iter::repeat_n(b'9', 5000));
    huge.extend(b"\n.");
    assert_eq!(
        err(&huge),
        PickleError::IntegerTooLarge {
            offset: 0,
            limit: 4300
        }
    );
}

#[test]
fn long1_long4_twos_complement() {
    // Python: pickle.dumps(2**100, 2), pickle.dumps(-2**70, 2).
    assert_eq!(
        val(b"\x80\x02\x8a\r\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10."),
        Value::BigInt("1267650600228229401496703205376".into())
    );
    assert_eq!(
        val(b"\x80\x02\x8a\t\x00\x00\x00\x00\x00\x00\x00\x00\xc0."),
        Value::BigInt("-1180591620717411303424".into())
    );
    assert_eq!(val(b"\x80\x02\x8a\x00."), Value::Int(0));
    assert_eq!(val(b"\x80\x02\x8a\x02\x00\x80."), Value::Int(-32768));
    assert_eq!(val(b"\x8b\x01\x00\x00\x00\xff."), Value::Int(-1));
    assert!(matches!(
        err(b"\x8b\xff\xff\xff\xff."),
        PickleError::Invalid { .. }
    ));
    // A LONG4 claiming 2 GiB in a tiny payload: refused before any allocation.
    assert!(matches!(
        err(b"\x8b\xff\xff\xff\x7f."),
        PickleError::Truncated {
            opcode: 0x8b,
            offset: 0
        }
    ));
    let mut big = b"\x8b\x00\x10\x00\x00".to_vec();
    big.extend(std::iter::repeat_n(0x11, 0x1000));
    big.push(b'.');
    assert!(matches!(err(&big), PickleError::IntegerTooLarge { .. }));
}

#[test]
fn floats() {
    assert_eq!(val(b"G?\xd0\x00\x00\x00\x00\x00\x00."), Value::Float(0.25));
    assert_eq!(
        val(b"GA\xda\xc0\x92\xae\xb2J6."),
        Value::Float(1_795_312_314.785_779_5)
    );
    assert_eq!(val(b"F1.5\n."), Value::Float(1.5));
    assert_eq!(val(b"F-1e+16\n."), Value::Float(-1e16));
    assert_eq!(val(b"Finf\n."), Value::Float(f64::INFINITY));
    assert!(matches!(val(b"Fnan\n."), Value::Float(x) if x.is_nan()));
    assert!(matches!(err(b"F1.5.5\n."), PickleError::Invalid { .. }));
    assert!(matches!(
        err(b"G\x00\x00."),
        PickleError::Truncated { opcode: b'G', .. }
    ));
}

#[test]
fn none_and_new_bools() {
    assert_eq!(val(b"N."), Value::Null);
    assert_eq!(val(b"\x80\x02\x88."), Value::Bool(true));
    assert_eq!(val(b"\x80\x02\x89."), Value::Bool(false));
}

// ---- strings and bytes ----

#[test]
fn unicode_strings() {
    assert_eq!(val(b"X\x03\x00\x00\x00abcq\x00."), s("abc"));
    assert_eq!(val(b"\x8c\x02\xc3\xa9."), s("é"));
    assert_eq!(
        val(b"\x8d\x04\x00\x00\x00\x00\x00\x00\x00\xf0\x9f\x98\x80."),
        s("😀")
    );
    // Python: pickle.dumps('é😀\n\\', 0): raw-unicode-escape, Latin-1 bytes.
    assert_eq!(val(b"V\xe9\\U0001f600\\u000a\\u005c\np0\n."), s("é😀\n\\"));
    assert!(matches!(err(b"V\\u12\n."), PickleError::Invalid { .. }));
}

#[test]
fn invalid_utf8_is_replaced_not_rejected() {
    // Python: pickle.dumps('\ud800x', 1) (surrogatepass).
    assert_eq!(
        val(b"X\x04\x00\x00\x00\xed\xa0\x80xq\x00."),
        s("\u{fffd}\u{fffd}\u{fffd}x")
    );
    assert_eq!(val(b"X\x03\x00\x00\x00a\xffb."), s("a\u{fffd}b"));
}

#[test]
fn python2_strings() {
    assert_eq!(val(b"U\x04root."), s("root"));
    assert_eq!(val(b"T\x05\x00\x00\x00hello."), s("hello"));
    // Python 2 `str` is bytes: UTF-8 when it is, `\xNN` for the rest.
    assert_eq!(val(b"U\x05caf\xc3\xa9."), s("café"));
    assert_eq!(val(b"U\x02\xff\x00."), s("\\xff\u{0}"));
    assert_eq!(val(b"S'it\\'s\\n\\x41'\n."), s("it's\nA"));
    assert_eq!(val(b"S\"plain\"\n."), s("plain"));
    assert!(matches!(err(b"Sunquoted\n."), PickleError::Invalid { .. }));
    assert!(matches!(err(b"S'x\\x4'\n."), PickleError::Invalid { .. }));
    assert!(matches!(
        err(b"T\xff\xff\xff\xff."),
        PickleError::Invalid { .. }
    ));
}

#[test]
fn bytes_render_as_escaped_text() {
    // Python: pickle.dumps(b'\x00\xff', 3) and bytearray(b'ab') at protocol 5.
    assert_eq!(val(b"\x80\x03C\x02\x00\xffq\x00."), s("\u{0}\\xff"));
    assert_eq!(val(b"B\x03\x00\x00\x00abc."), s("abc"));
    assert_eq!(val(b"\x8e\x01\x00\x00\x00\x00\x00\x00\x00z."), s("z"));
    assert_eq!(
        val(b"\x80\x05\x95\r\x00\x00\x00\x00\x00\x00\x00\x96\x02\x00\x00\x00\x00\x00\x00\x00ab\x94\x98."),
        s("ab")
    );
}

#[test]
fn lengths_are_checked_before_use() {
    for payload in [
        &b"X\xff\xff\xff\xffabc."[..],
        b"\x8d\xff\xff\xff\xff\xff\xff\xff\xffab.",
        b"\x8e\xff\xff\xff\xff\xff\xff\xff\x7fab.",
        b"B\x10\x00\x00\x00ab.",
        b"C\x05ab.",
        b"U\x05ab.",
        b"\x8c\x09ab.",
        b"\x95\xff\xff\xff\xff\xff\xff\xff\xffN.",
    ] {
        assert!(
            matches!(err(payload), PickleError::Truncated { offset: 0, .. }),
            "{payload:?}"
        );
    }
}

// ---- containers ----

#[test]
fn lists_tuples_dicts_sets() {
    // Python: pickle.dumps({'k': [1, 2.5, None, True]}, 0).
    let v = val(b"(dp0\nVk\np1\n(lp2\nI1\naF2.5\naNaI01\nas.");
    let want: Fields = [(
        "k",
        list(vec![
            Value::Int(1),
            Value::Float(2.5),
            Value::Null,
            Value::Bool(true),
        ]),
    )]
    .into_iter()
    .collect();
    assert_eq!(v, Value::Map(want));
    // Python: pickle.dumps(('a', 1), 0).
    assert_eq!(
        val(b"(Va\np0\nI1\ntp1\n."),
        list(vec![s("a"), Value::Int(1)])
    );
    assert_eq!(val(b")."), list(vec![]));
    assert_eq!(val(b"\x80\x02K\x01\x85."), list(vec![Value::Int(1)]));
    assert_eq!(
        val(b"\x80\x02K\x01K\x02\x86."),
        list(vec![Value::Int(1), Value::Int(2)])
    );
    assert_eq!(
        val(b"\x80\x02K\x01K\x02K\x03\x87."),
        list(vec![Value::Int(1), Value::Int(2), Value::Int(3)])
    );
    // Python: pickle.dumps({1, 2}, 4) and frozenset([1]).
    assert_eq!(
        val(b"\x80\x04\x95\t\x00\x00\x00\x00\x00\x00\x00\x8f\x94(K\x01K\x02\x90."),
        list(vec![Value::Int(1), Value::Int(2)])
    );
    assert_eq!(
        val(b"\x80\x04\x95\x06\x00\x00\x00\x00\x00\x00\x00(K\x01\x91\x94."),
        list(vec![Value::Int(1)])
    );
    // Python: pickle.dumps({"a": [1, 2, 3]}, 4).
    let v = val(
        b"\x80\x04\x95\x12\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94]\x94(K\x01K\x02K\x03es.",
    );
    let want: Fields = [("a", list(vec![Value::Int(1), Value::Int(2), Value::Int(3)]))]
        .into_iter()
        .collect();
    assert_eq!(v, Value::Map(want));
    assert_eq!(
        val(b"]K\x01aK\x02a."),
        list(vec![Value::Int(1), Value::Int(2)])
    );
    assert_eq!(
        val(b"(K\x01K\x02l."),
        list(vec![Value::Int(1), Value::Int(2)])
    );
}

#[test]
fn dict_keys_that_are_not_strings_become_python_str() {
    // {1: 'a', None: 'b', (1, 'x'): 'c', 2.5: 'd', True: 'e'}
    let v = val(b"}(K\x01X\x01\x00\x00\x00aNX\x01\x00\x00\x00bK\x01X\x01\x00\x00\x00x\x86X\x01\x00\x00\x00cG@\x04\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00d\x88X\x01\x00\x00\x00eu.");
    let Value::Map(m) = v else {
        panic!("not a map")
    };
    assert_eq!(
        m.keys().collect::<Vec<_>>(),
        ["1", "None", "(1, 'x')", "2.5", "True"]
    );
}

#[test]
fn duplicate_keys_keep_the_last_value_in_first_place() {
    let v = val(b"}(X\x01\x00\x00\x00aK\x01X\x01\x00\x00\x00bK\x02X\x01\x00\x00\x00aK\x03u.");
    let want: Fields = [("a", 3), ("b", 2)].into_iter().collect();
    assert_eq!(v, Value::Map(want));
}

#[test]
fn container_opcodes_check_their_target() {
    assert!(matches!(err(b"}K\x01a."), PickleError::Invalid { .. }));
    assert!(matches!(err(b"]K\x01K\x02s."), PickleError::Invalid { .. }));
    assert!(matches!(err(b"](K\x01u."), PickleError::Invalid { .. }));
    assert!(matches!(err(b"}(K\x01u."), PickleError::Invalid { .. }));
    assert!(matches!(err(b"(K\x01d."), PickleError::Invalid { .. }));
    assert!(matches!(err(b")K\x01a."), PickleError::Invalid { .. }));
    assert!(matches!(
        err(b"\x91(K\x01\x90."),
        PickleError::MarkNotFound { .. }
    ));
}

// ---- memo and stack ----

#[test]
fn memo_shares_strings_and_containers() {
    // The same list twice: the second is a GET of the first, filled after PUT.
    let v = val(b"](]q\x01K\x01ah\x01e.");
    assert_eq!(
        v,
        list(vec![list(vec![Value::Int(1)]), list(vec![Value::Int(1)])])
    );
    assert_eq!(
        val(b"(X\x01\x00\x00\x00ar\x00\x01\x00\x00j\x00\x01\x00\x00l."),
        list(vec![s("a"), s("a")])
    );
    assert_eq!(val(b"(Vx\np7\ng7\nl."), list(vec![s("x"), s("x")]));
    assert_eq!(
        val(b"\x80\x04(\x8c\x01x\x94h\x00l."),
        list(vec![s("x"), s("x")])
    );
    // Sparse ids far beyond the payload length do not size the memo.
    assert_eq!(
        val(b"(K\x05r\xff\xff\xff\xffj\xff\xff\xff\xffl."),
        list(vec![Value::Int(5), Value::Int(5)])
    );
    assert_eq!(err(b"h\x03."), PickleError::MemoMiss { id: 3, offset: 0 });
    assert_eq!(
        err(b"(q\x00."),
        PickleError::StackUnderflow {
            opcode: b'q',
            offset: 1
        }
    );
    assert!(matches!(err(b"K\x01p-1\n."), PickleError::Invalid { .. }));
}

#[test]
fn self_referencing_containers_render_like_python() {
    // l = []; l.append(l)
    assert_eq!(val(b"]q\x00h\x00a."), list(vec![s("[...]")]));
    // d = {}; d['me'] = d
    let v = val(b"}q\x00X\x02\x00\x00\x00meh\x00s.");
    let want: Fields = [("me", s("{...}"))].into_iter().collect();
    assert_eq!(v, Value::Map(want));
}

#[test]
fn stack_opcodes() {
    assert_eq!(val(b"K\x01K\x020."), Value::Int(1));
    assert_eq!(val(b"K\x01(K\x02K\x031."), Value::Int(1));
    assert_eq!(
        val(b"K\x012\x86."),
        list(vec![Value::Int(1), Value::Int(1)])
    );
    // POP on an empty segment drops the mark, as Python does.
    assert_eq!(val(b"K\x01(0."), Value::Int(1));
    // No opcode may reach below a MARK.
    assert_eq!(
        err(b"K\x01(."),
        PickleError::StackUnderflow {
            opcode: b'.',
            offset: 3
        }
    );
    assert_eq!(
        err(b"K\x01(\x85."),
        PickleError::StackUnderflow {
            opcode: 0x85,
            offset: 3
        }
    );
    assert_eq!(
        err(b"K\x01(2."),
        PickleError::StackUnderflow {
            opcode: b'2',
            offset: 3
        }
    );
    assert_eq!(
        err(b"K\x01t."),
        PickleError::MarkNotFound {
            opcode: b't',
            offset: 2
        }
    );
    assert_eq!(
        err(b"0."),
        PickleError::StackUnderflow {
            opcode: b'0',
            offset: 0
        }
    );
    assert_eq!(
        err(b"."),
        PickleError::StackUnderflow {
            opcode: b'.',
            offset: 0
        }
    );
}

#[test]
fn framing_opcodes() {
    assert_eq!(
        val(b"\x80\x05\x95\x02\x00\x00\x00\x00\x00\x00\x00K\x01."),
        Value::Int(1)
    );
    assert!(matches!(
        err(b"\x80\x06N."),
        PickleError::Invalid { offset: 0, .. }
    ));
    assert_eq!(
        err(b"\x97."),
        PickleError::UnknownOpcode {
            opcode: 0x97,
            offset: 0
        }
    );
    assert_eq!(
        err(b"N\xff."),
        PickleError::UnknownOpcode {
            opcode: 0xff,
            offset: 1
        }
    );
    assert_eq!(err(b"N"), PickleError::MissingStop { len: 1 });
    assert_eq!(err(b""), PickleError::MissingStop { len: 0 });
    assert_eq!(
        err(b"N.N"),
        PickleError::TrailingBytes {
            offset: 1,
            count: 1
        }
    );
}

// ---- code-executing opcodes ----

/// Each refused opcode, with a payload that reaches it.
const CODE_OPCODES: &[(&[u8], u8, usize)] = &[
    (b"cdatetime\ndatetime\n.", b'c', 0),
    (b"\x80\x04\x8c\x02os\x8c\x06system\x93.", 0x93, 14),
    (b"N)R.", b'R', 2),
    (b"N}b.", b'b', 2),
    (b"(ios\nsystem\n.", b'i', 1),
    (b"(No.", b'o', 2),
    (b"N)\x81.", 0x81, 2),
    (b"N)}\x92.", 0x92, 3),
    (b"\x82\x01.", 0x82, 0),
    (b"\x83\x01\x00.", 0x83, 0),
    (b"\x84\x01\x00\x00\x00.", 0x84, 0),
    (b"Pid\n.", b'P', 0),
    (b"NQ.", b'Q', 1),
];

#[test]
fn code_opcodes_are_refused_with_name_and_offset() {
    for &(payload, opcode, offset) in CODE_OPCODES {
        match err(payload) {
            PickleError::Forbidden {
                opcode: o,
                offset: at,
                ..
            } => {
                assert_eq!((o, at), (opcode, offset), "{payload:?}");
            }
            other => panic!("{payload:?}: {other}"),
        }
    }
    let e = err(b"\x80\x02cdatetime\ndatetime\nq\x00.");
    assert_eq!(
        e.to_string(),
        "refused opcode GLOBAL at byte 2 (datetime.datetime): it would run Python code; send only str, int, \
         float, bool, None, list and dict values in `extra`, or enable lenient pickle decoding to keep such \
         values as opaque strings"
    );
}

#[test]
fn lenient_mode_keeps_opaque_markers() {
    let lenient = |b: &[u8]| decode_value(b, true);
    // Python: pickle.dumps(b'ab', 1) is _codecs.encode('ab', 'latin1').
    assert_eq!(
        lenient(b"c_codecs\nencode\nq\x00(X\x02\x00\x00\x00abq\x01X\x06\x00\x00\x00latin1q\x02tq\x03Rq\x04."),
        Ok(s("<pickled object _codecs.encode>"))
    );
    assert_eq!(
        lenient(b"\x80\x04\x8c\x02os\x8c\x06system\x93)R."),
        Ok(s("<pickled object os.system>"))
    );
    // INST, OBJ, NEWOBJ, NEWOBJ_EX and BUILD keep the class marker.
    assert_eq!(lenient(b"(K\x01ia\nB\n."), Ok(s("<pickled object a.B>")));
    assert_eq!(lenient(b"(ca\nB\nK\x01o}b."), Ok(s("<pickled object a.B>")));
    assert_eq!(lenient(b"ca\nB\n)\x81}b."), Ok(s("<pickled object a.B>")));
    assert_eq!(lenient(b"ca\nB\n)}\x92."), Ok(s("<pickled object a.B>")));
    assert_eq!(lenient(b"\x82\x07."), Ok(s("<pickled extension 7>")));
    assert_eq!(lenient(b"Pk1\n."), Ok(s("<pickled persistent id k1>")));
    assert_eq!(lenient(b"NQ."), Ok(s("<pickled persistent object>")));
    // A list subclass (NEWOBJ then APPENDS) keeps its marker, items dropped.
    assert_eq!(
        lenient(b"ca\nL\n)\x81(K\x01e."),
        Ok(s("<pickled object a.L>"))
    );
    // Object opcodes on plain data are still malformed.
    assert!(matches!(lenient(b"N)R."), Err(PickleError::Invalid { .. })));
    assert!(matches!(
        lenient(b"NN\x93."),
        Err(PickleError::Invalid { .. })
    ));
}

// ---- limits ----

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let mut deep = b"\x80\x02".to_vec();
    deep.extend(std::iter::repeat_n(b']', 100_000));
    deep.extend(std::iter::repeat_n(b'a', 99_999));
    deep.push(b'.');
    assert_eq!(
        err(&deep),
        PickleError::TooDeep {
            limit: DEFAULT_MAX_DEPTH
        }
    );
    assert_eq!(
        decode_record(&deep, true).unwrap_err(),
        PickleError::NotADict { found: "list" }
    );
    // Deep in a message that must be rendered with str(): same bound.
    let mut msg = b"}X\x03\x00\x00\x00msg".to_vec();
    msg.extend(std::iter::repeat_n(b']', 1000));
    msg.extend(std::iter::repeat_n(b'a', 999));
    msg.extend(b"s.");
    assert_eq!(
        decode_record(&msg, false).unwrap_err(),
        PickleError::TooDeep {
            limit: DEFAULT_MAX_DEPTH
        }
    );
    // 256 levels are fine.
    let mut ok = b"\x80\x02".to_vec();
    ok.extend(std::iter::repeat_n(b']', 256));
    ok.extend(std::iter::repeat_n(b'a', 255));
    ok.push(b'.');
    assert!(decode_value(&ok, false).is_ok());
}

#[test]
fn shared_references_cannot_expand_without_bound() {
    // l0 = [x]; l(n+1) = [ln, ln]: 2**40 leaves from under 300 bytes.
    let mut bomb = b"\x80\x02]q\x00X\x04\x00\x00\x00spama".to_vec();
    for i in 0u8..40 {
        bomb.extend([b'0', b']', b'q', i + 1, b'h', i, b'h', i, b'\x86', b'a']);
    }
    bomb.push(b'.');
    assert!(matches!(err(&bomb), PickleError::TooLarge { .. }));
    // The same through str() of a message.
    let mut rec = b"}X\x03\x00\x00\x00msg".to_vec();
    rec.extend(&bomb[2..bomb.len() - 1]);
    rec.extend(b"s.");
    assert!(matches!(
        decode_record(&rec, false),
        Err(PickleError::TooLarge { .. })
    ));
}

#[test]
fn huge_dicts_are_refused() {
    let mut d = b"}(".to_vec();
    for i in 0..=convert::MAX_DICT_KEYS {
        d.push(b'V');
        d.extend(i.to_string().as_bytes());
        d.extend(b"\nN");
    }
    d.extend(b"u.");
    assert!(matches!(err(&d), PickleError::TooLarge { .. }));
}

// ---- records ----

/// Python: logging.makeLogRecord-style dict from SocketHandler.makePickle
/// (3.11, protocol 1), extras user='ann', attempt=3, ratio=0.25.
pub(crate) const PY3_RECORD: &[u8] = b"}q\x00(X\x04\x00\x00\x00nameq\x01X\x06\x00\x00\x00app.dbq\x02X\x03\x00\x00\x00msgq\x03X\x17\x00\x00\x00user ann failed 3 timesq\x04X\x04\x00\x00\x00argsq\x05NX\t\x00\x00\x00levelnameq\x06X\x07\x00\x00\x00WARNINGq\x07X\x07\x00\x00\x00levelnoq\x08K\x1eX\x08\x00\x00\x00pathnameq\tX\x0e\x00\x00\x00/src/app/db.pyq\nX\x08\x00\x00\x00filenameq\x0bX\x05\x00\x00\x00db.pyq\x0cX\x06\x00\x00\x00moduleq\rX\x02\x00\x00\x00dbq\x0eX\x08\x00\x00\x00exc_infoq\x0fNX\x08\x00\x00\x00exc_textq\x10NX\n\x00\x00\x00stack_infoq\x11NX\x06\x00\x00\x00linenoq\x12K*X\x08\x00\x00\x00funcNameq\x13X\x07\x00\x00\x00connectq\x14X\x07\x00\x00\x00createdq\x15GA\xda\xc0\x92\xae\xb2J6X\x05\x00\x00\x00msecsq\x16G@\x88\x88\x00\x00\x00\x00\x00X\x0f\x00\x00\x00relativeCreatedq\x17G@5\xeeB\x00\x00\x00\x00X\x06\x00\x00\x00threadq\x18L140329834052480L\nX\n\x00\x00\x00threadNameq\x19X\n\x00\x00\x00MainThreadq\x1aX\x0b\x00\x00\x00processNameq\x1bX\x0b\x00\x00\x00MainProcessq\x1cX\x07\x00\x00\x00processq\x1dM\x05\x1cX\x04\x00\x00\x00userq\x1eX\x03\x00\x00\x00annq\x1fX\x07\x00\x00\x00attemptq K\x03X\x05\x00\x00\x00ratioq!G?\xd0\x00\x00\x00\x00\x00\x00u.";

#[test]
fn python3_socket_handler_record() {
    let r = decode_record(PY3_RECORD, false).unwrap();
    assert_eq!(r.logger, "app.db");
    assert_eq!(r.msg, "user ann failed 3 times");
    assert_eq!(r.level, Level::WARNING);
    assert_eq!(r.file.as_deref(), Some("/src/app/db.py"));
    assert_eq!(r.module.as_deref(), Some("db"));
    assert_eq!(r.line, Some(42));
    assert_eq!(r.func.as_deref(), Some("connect"));
    assert_eq!(
        r.ts,
        Timestamp::from_secs_f64(1_795_312_314.785_779_5).unwrap()
    );
    assert_eq!(r.relative_created_ms, Some(21.930_694_580_078_125));
    assert_eq!(r.tid, Some(140_329_834_052_480));
    assert_eq!(r.thread.as_deref(), Some("MainThread"));
    assert_eq!(r.process.as_deref(), Some("MainProcess"));
    assert_eq!(r.pid, Some(7173));
    assert_eq!((r.exc.as_deref(), r.stack.as_deref()), (None, None));
    let want: Fields = [
        ("user", s("ann")),
        ("attempt", Value::Int(3)),
        ("ratio", Value::Float(0.25)),
    ]
    .into_iter()
    .collect();
    assert_eq!(r.fields, want);
}

/// A Python 2.7 SocketHandler record, written opcode by opcode: `U` strings,
/// `I` text ints, a unicode message, no stack_info or taskName.
#[test]
fn python2_socket_handler_record() {
    let mut p = b"}q\x01(".to_vec();
    let mut kv = |k: &str, v: &[u8]| {
        p.push(b'U');
        p.push(k.len() as u8);
        p.extend(k.as_bytes());
        p.extend(v);
    };
    kv("name", b"U\x04root");
    kv("msg", b"X\x06\x00\x00\x00caf\xc3\xa9!");
    kv("args", b"N");
    kv("levelname", b"U\x05ERROR");
    kv("levelno", b"K(");
    kv("pathname", b"U\x0bC:\\app\\x.py");
    kv("filename", b"U\x04x.py");
    kv("module", b"U\x01x");
    kv("exc_info", b"N");
    kv("exc_text", b"U\x09Traceback");
    kv("lineno", b"K\x07");
    kv("funcName", b"U\x08<module>");
    kv("created", b"GA\xd6\x00\x00\x00\x00\x00\x00");
    kv("msecs", b"G\x00\x00\x00\x00\x00\x00\x00\x00");
    kv("relativeCreated", b"G@\x00\x00\x00\x00\x00\x00\x00");
    kv("thread", b"I140329834052480\n");
    kv("threadName", b"U\nMainThread");
    kv("processName", b"U\x0bMainProcess");
    kv("process", b"J\xa0\x86\x01\x00");
    kv("flag", b"I01\n");
    p.extend(b"u.");
    let r = decode_record(&p, false).unwrap();
    assert_eq!((r.logger.as_str(), r.msg.as_str()), ("root", "café!"));
    assert_eq!(r.level, Level::ERROR);
    assert_eq!(r.file.as_deref(), Some("C:\\app\\x.py"));
    assert_eq!(r.exc.as_deref(), Some("Traceback"));
    assert_eq!(r.func.as_deref(), Some("<module>"));
    assert_eq!(r.ts.unix_secs(), 1_476_395_008);
    assert_eq!(r.tid, Some(140_329_834_052_480));
    assert_eq!(r.pid, Some(100_000));
    // `filename` is the base name of a Windows path: dropped as derived.
    let want: Fields = [("flag", Value::Bool(true))].into_iter().collect();
    assert_eq!(r.fields, want);
}

#[test]
fn record_mapping_edge_cases() {
    let dict = |body: &[u8]| {
        let mut p = b"}(".to_vec();
        p.extend(body);
        p.extend(b"u.");
        decode_record(&p, false).unwrap()
    };
    // None for optional attributes means absent; taskName None is dropped.
    let r = dict(b"Vname\nNVfuncName\nNVthread\nNVprocess\nNVlineno\nNVtaskName\nN");
    assert_eq!(
        (r.logger.as_str(), r.func.clone(), r.tid, r.pid, r.line),
        ("root", None, None, None, None)
    );
    assert!(r.fields.is_empty());
    // taskName set is a field; filename not derived from pathname is a field.
    let r = dict(b"VtaskName\nVTask-1\nVpathname\nV/a/b.py\nVfilename\nVother.py\n");
    assert_eq!(r.fields.get("taskName"), Some(&s("Task-1")));
    assert_eq!(r.fields.get("filename"), Some(&s("other.py")));
    // Wrong types are kept as fields, never dropped.
    let r = dict(b"Vprocess\nVabc\nVlineno\nI-1\nVcreated\nVyesterday\nVthread\nF1.5\n");
    assert_eq!((r.pid, r.line, r.tid), (None, None, None));
    assert_eq!(r.fields.get("process"), Some(&s("abc")));
    assert_eq!(r.fields.get("lineno"), Some(&Value::Int(-1)));
    assert_eq!(r.fields.get("created"), Some(&s("yesterday")));
    assert_eq!(r.fields.get("thread"), Some(&Value::Float(1.5)));
    // A thread id beyond i64 (LONG) still fits u64.
    let r = dict(b"Vthread\nL18446744073709551615L\n");
    assert_eq!(r.tid, Some(u64::MAX));
    // Custom levels, and levels from one half.
    assert_eq!(
        dict(b"Vlevelname\nVNOTICE\nVlevelno\nK\x19").level,
        Level::custom(25, "NOTICE")
    );
    assert_eq!(dict(b"Vlevelno\nK\x28").level, Level::ERROR);
    assert_eq!(dict(b"Vlevelname\nVdebug\n").level, Level::DEBUG);
    // Derived and noise keys are consumed.
    let r = dict(b"Vargs\n(K\x01tVexc_info\nNVmsecs\nF1.0\nVmessage\nVm\nVasctime\nVt\n");
    assert!(r.fields.is_empty());
    // Non-string keys become their str().
    let r = dict(b"K\x01Vone\n");
    assert_eq!(r.fields.get("1"), Some(&s("one")));
}

#[test]
fn non_string_messages_use_python_str() {
    let msg = |v: &[u8]| {
        let mut p = b"}Vmsg\n".to_vec();
        p.extend(v);
        p.extend(b"s.");
        decode_record(&p, true).unwrap().msg
    };
    assert_eq!(msg(b"N"), "None");
    assert_eq!(msg(b"K\x05"), "5");
    assert_eq!(msg(b"F0.1\n"), "0.1");
    assert_eq!(msg(b"\x88"), "True");
    assert_eq!(msg(b"(K\x01Vit's\nt"), "(1, \"it's\")");
    assert_eq!(msg(b"(K\x01\x85t"), "((1,),)");
    assert_eq!(msg(b"]"), "[]");
    assert_eq!(msg(b"(Va\nK\x01d"), "{'a': 1}");
    assert_eq!(msg(b"\x8f"), "set()");
    assert_eq!(msg(b"(K\x01\x91"), "frozenset({1})");
    assert_eq!(msg(b"C\x02a\xff"), "b'a\\xff'");
    assert_eq!(
        msg(b"cdatetime\ndate\n(tR"),
        "<pickled object datetime.date>"
    );
}

#[test]
fn records_must_be_dicts() {
    assert_eq!(
        decode_record(b"N.", false),
        Err(PickleError::NotADict { found: "None" })
    );
    assert_eq!(
        decode_record(b"].", false),
        Err(PickleError::NotADict { found: "list" })
    );
    assert_eq!(
        decode_record(b"Va\n.", false),
        Err(PickleError::NotADict { found: "str" })
    );
}

#[test]
fn every_truncation_of_a_real_record_is_an_error() {
    for n in 0..PY3_RECORD.len() {
        assert!(
            decode_record(&PY3_RECORD[..n], false).is_err(),
            "prefix {n}"
        );
    }
}

// ---- property tests ----

/// A tiny protocol-1/2 pickler for [`Value`] trees, memoizing strings the
/// way CPython does so that GETs are exercised.
struct Pickler {
    out: Vec<u8>,
    proto2: bool,
    strings: std::collections::HashMap<String, u32>,
    next_id: u32,
}

impl Pickler {
    fn dumps(v: &Value, proto2: bool) -> Vec<u8> {
        let mut p = Pickler {
            out: Vec::new(),
            proto2,
            strings: Default::default(),
            next_id: 0,
        };
        if proto2 {
            p.out.extend([0x80, 2]);
        }
        p.value(v);
        p.out.push(b'.');
        p.out
    }

    fn put(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        if id < 256 {
            self.out.extend([b'q', id as u8]);
        } else {
            self.out.push(b'r');
            self.out.extend(id.to_le_bytes());
        }
        id
    }

    fn value(&mut self, v: &Value) {
        match v {
            Value::Null => self.out.push(b'N'),
            Value::Bool(b) if self.proto2 => self.out.push(if *b { 0x88 } else { 0x89 }),
            Value::Bool(b) => self.out.extend(if *b { b"I01\n" } else { b"I00\n" }),
            Value::Int(i) => match *i {
                0..=0xff => self.out.extend([b'K', *i as u8]),
                0x100..=0xffff => {
                    self.out.push(b'M');
                    self.out.extend((*i as u16).to_le_bytes());
                }
                _ if i32::try_from(*i).is_ok() => {
                    self.out.push(b'J');
                    self.out.extend((*i as i32).to_le_bytes());
                }
                _ if self.proto2 => {
                    let bytes = i.to_le_bytes();
                    self.out.extend([0x8a, 8]);
                    self.out.extend(bytes);
                }
                _ => self.out.extend(format!("L{i}L\n").as_bytes()),
            },
            Value::BigInt(d) if self.proto2 => self.out.extend(format!("I{d}\n").as_bytes()),
            Value::BigInt(d) => self.out.extend(format!("L{d}L\n").as_bytes()),
            Value::Float(x) => {
                self.out.push(b'G');
                self.out.extend(x.to_be_bytes());
            }
            Value::Str(s) => self.string(s),
            Value::List(items) => {
                self.out.push(b']');
                self.put();
                if !items.is_empty() {
                    self.out.push(b'(');
                    for item in items {
                        self.value(item);
                    }
                    self.out.push(b'e');
                }
            }
            Value::Map(fields) => {
                self.out.push(b'}');
                self.put();
                if !fields.is_empty() {
                    self.out.push(b'(');
                    for (k, v) in fields.iter() {
                        self.string(k);
                        self.value(v);
                    }
                    self.out.push(b'u');
                }
            }
        }
    }

    fn string(&mut self, s: &str) {
        if let Some(&id) = self.strings.get(s) {
            if id < 256 {
                self.out.extend([b'h', id as u8]);
            } else {
                self.out.push(b'j');
                self.out.extend(id.to_le_bytes());
            }
            return;
        }
        self.out.push(b'X');
        self.out.extend((s.len() as u32).to_le_bytes());
        self.out.extend(s.as_bytes());
        let id = self.put();
        self.strings.insert(s.to_owned(), id);
    }
}

fn arb_value() -> impl Strategy<Value = Value> {
    arb_leaf().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::List),
            prop::collection::vec(("[a-e]{0,2}", inner), 0..8)
                .prop_map(|kv| Value::Map(kv.into_iter().collect::<Fields>())),
        ]
    })
}

/// Values that are not containers.
fn arb_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        (0i64..300).prop_map(Value::Int),
        any::<i128>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("NaN never compares equal", |x| !x.is_nan())
            .prop_map(Value::Float),
        "[a-c]{0,3}".prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_value(&bytes, false);
        let _ = decode_value(&bytes, true);
        let _ = decode_record(&bytes, true);
    }

    #[test]
    fn mutated_records_never_panic(edits in prop::collection::vec((0..PY3_RECORD.len(), any::<u8>()), 1..6)) {
        let mut bytes = PY3_RECORD.to_vec();
        for (at, b) in edits {
            bytes[at] = b;
        }
        let _ = decode_record(&bytes, false);
        let _ = decode_record(&bytes, true);
    }

    #[test]
    fn opcode_soup_never_panics(ops in prop::collection::vec(prop::sample::select(
        b"().012FIJKLMNPQRSTUVXabcdeghijlopqrstu}]G\x80\x81\x82\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8f\x90\x91\x92\x93\x94\x95\x98".to_vec()
    ).prop_flat_map(|op| (Just(op), prop::collection::vec(prop_oneof![Just(b'\n'), Just(0u8), Just(1u8), any::<u8>()], 0..6))), 0..64)) {
        let mut bytes = Vec::new();
        for (op, args) in ops {
            bytes.push(op);
            bytes.extend(args);
        }
        bytes.push(b'.');
        let _ = decode_value(&bytes, false);
        let _ = decode_value(&bytes, true);
    }

    #[test]
    fn values_round_trip_protocol_1_and_2(v in arb_value()) {
        for proto2 in [false, true] {
            let bytes = Pickler::dumps(&v, proto2);
            prop_assert_eq!(decode_value(&bytes, false), Ok(v.clone()));
        }
    }
}

/// LogRecord-like dicts: standard attribute names over-represented, any
/// value under each (so wrong types become fields too).
fn arb_log_dict() -> impl Strategy<Value = Value> {
    prop::collection::vec((arb_log_key(), arb_value()), 0..10)
        .prop_map(|kv| Value::Map(kv.into_iter().collect()))
}

/// Flat LogRecord-like dicts, as `SocketHandler` sends them: no
/// containers, keys in any order, unknown keys among the standard ones.
fn arb_flat_log_dict() -> impl Strategy<Value = Value> {
    prop::collection::vec((arb_log_key(), arb_leaf()), 0..24)
        .prop_map(|kv| Value::Map(kv.into_iter().collect()))
}

/// A LogRecord attribute name, or another key.
fn arb_log_key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "name",
            "msg",
            "levelname",
            "levelno",
            "created",
            "msecs",
            "exc_text",
            "stack_info",
            "pathname",
            "filename",
            "lineno",
            "funcName",
            "process",
            "processName",
            "thread",
            "threadName",
            "user",
            "n",
        ])
        .prop_map(str::to_owned),
        "[a-z]{1,6}",
    ]
}

proptest! {
    #[test]
    fn a_reused_record_decodes_each_pickle_as_a_fresh_one(
        dicts in prop::collection::vec(prop_oneof![arb_log_dict(), arb_flat_log_dict()], 1..8),
    ) {
        let pickles: Vec<Vec<u8>> = dicts.iter().map(|d| Pickler::dumps(d, true)).collect();
        crate::record::decodes_like_fresh(
            pickles.iter().map(Vec::as_slice),
            |p| decode_record(p, false),
            |p, r| super::decode_record_into(p, false, r),
        )?;
    }
}

/// Decodes `payload` with and without the flat path: both succeed with the
/// same record (the time aside when both were stamped on receipt) or fail
/// with the same error.
fn flat_agrees_with_the_machine(payload: &[u8], lenient: bool) -> Result<(), TestCaseError> {
    let decoder = PickleDecoder::new().lenient(lenient);
    let before = crate::Timestamp::now();
    let by_machine = decoder.decode_record_by_machine(payload);
    let fast = decoder.decode_record(payload);
    match (by_machine, fast) {
        (Ok(mut slow), Ok(fast)) => {
            if slow.ts != fast.ts {
                prop_assert!(slow.ts >= before && fast.ts >= before);
                slow.ts = fast.ts;
            }
            prop_assert_eq!(slow, fast);
        }
        (slow, fast) => prop_assert_eq!(slow.map(|_| ()), fast.map(|_| ())),
    }
    Ok(())
}

#[test]
fn real_records_take_the_flat_path() {
    let decoder = PickleDecoder::new();
    assert!(decoder.takes_flat(PY3_RECORD));
    flat_agrees_with_the_machine(PY3_RECORD, false).unwrap();
    // A GET (a string shared by two keys) is left to the machine.
    let shared = b"}q\x00(X\x01\x00\x00\x00aq\x01h\x01u.";
    assert!(!decoder.takes_flat(shared));
    assert_eq!(
        decode_record(shared, false).unwrap().fields.get("a"),
        Some(&Value::from("a"))
    );
    // Two memo stores after one item (Python writes one) and a key that is
    // not a string: declined too, and decoded by the machine.
    let doubled = b"}q\x00(X\x01\x00\x00\x00aq\x01q\x02K\x01u.";
    assert!(!decoder.takes_flat(doubled));
    flat_agrees_with_the_machine(doubled, false).unwrap();
    assert_eq!(
        decode_record(doubled, false).unwrap().fields.get("a"),
        Some(&Value::Int(1))
    );
    let int_key = b"}q\x00(K\x07X\x01\x00\x00\x00au.";
    assert!(!decoder.takes_flat(int_key));
    assert_eq!(
        decode_record(int_key, false).unwrap().fields.get("7"),
        Some(&Value::from("a"))
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_flat_path_decodes_like_the_machine(
        flat in arb_flat_log_dict(),
        nested in arb_log_dict(),
        proto2 in any::<bool>(),
    ) {
        flat_agrees_with_the_machine(&Pickler::dumps(&flat, proto2), false)?;
        flat_agrees_with_the_machine(&Pickler::dumps(&nested, proto2), false)?;
    }

    #[test]
    fn the_flat_path_declines_what_the_machine_refuses(
        edits in prop::collection::vec((0..PY3_RECORD.len(), any::<u8>()), 1..6),
        cut in 0..=PY3_RECORD.len(),
    ) {
        let mut bytes = PY3_RECORD.to_vec();
        for (at, b) in edits {
            bytes[at] = b;
        }
        flat_agrees_with_the_machine(&bytes, false)?;
        flat_agrees_with_the_machine(&bytes, true)?;
        flat_agrees_with_the_machine(&PY3_RECORD[..cut], false)?;
    }
}

#[test]
fn text_attributes_of_another_type_are_kept_as_fields() {
    let mut dict = Fields::new();
    dict.insert("msg", "m");
    dict.insert("name", 3);
    dict.insert("module", true);
    dict.insert("exc_text", 1.5);
    dict.insert("threadName", Value::Null);
    dict.insert("funcName", "f");
    let r = decode_record(&Pickler::dumps(&Value::Map(dict), true), false).unwrap();
    assert_eq!(r.logger, "root");
    assert_eq!((r.module.as_deref(), r.exc.as_deref()), (None, None));
    assert_eq!((r.thread.as_deref(), r.func.as_deref()), (None, Some("f")));
    let fields: Vec<_> = r.fields.iter().collect();
    assert_eq!(
        fields,
        [
            ("name", &Value::Int(3)),
            ("module", &Value::Bool(true)),
            ("exc_text", &Value::Float(1.5)),
        ]
    );
}
