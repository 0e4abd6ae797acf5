//! Forms as Python 3's `urllib.parse.urlencode(record.__dict__)` printed
//! them (captured from CPython, not written by hand).

use super::*;
use crate::Level;

const WARNING: &[u8] = b"name=app.db&msg=query+%25s+took+%25.2f+ms+%28%25d+rows%29&args=%28%27select+1%27%2C+3.14159%2C+7%29&levelname=WARNING&levelno=30&pathname=%2Fsrv%2Fapp%2Fdb.py&filename=db.py&module=db&exc_info=None&exc_text=None&stack_info=None&lineno=42&funcName=run&created=1796559587.219906&msecs=219.0&relativeCreated=0.9949207305908203&thread=139698174081920&threadName=MainThread&processName=MainProcess&process=1918";

const WITH_EXCEPTION: &[u8] = b"name=app&msg=boom+%25r&args=%7B%27k%27%3A+%5B1%2C+None%5D%7D&levelname=ERROR&levelno=40&pathname=%2Fsrv%2Fapp%2Fx.py&filename=x.py&module=x&exc_info=%28%3Cclass+%27ZeroDivisionError%27%3E%2C+ZeroDivisionError%28%27division+by+zero%27%29%2C+%3Ctraceback+object+at+0x7f0e034015c0%3E%29&exc_text=Traceback+%28most+recent+call+last%29%3A%0A++File+%22%3Cstdin%3E%22%2C+line+4%2C+in+%3Cmodule%3E%0AZeroDivisionError%3A+division+by+zero&stack_info=None&lineno=7&funcName=None&created=1796559587.219945&msecs=219.0&relativeCreated=1.033782958984375&thread=139698174081920&threadName=MainThread&processName=MainProcess&process=1918&message=boom+%7B%27k%27%3A+%5B1%2C+None%5D%7D";

#[test]
fn a_warning_is_rebuilt_as_get_message_would() {
    let mut r = Record::empty();
    decode_form_record(WARNING, &mut r).unwrap();
    assert_eq!(r.msg, "query select 1 took 3.14 ms (7 rows)");
    assert_eq!(r.logger, "app.db");
    assert_eq!(r.level, Level::WARNING);
    assert_eq!(r.file.as_deref(), Some("/srv/app/db.py"));
    assert_eq!(r.module.as_deref(), Some("db"));
    assert_eq!(r.func.as_deref(), Some("run"));
    assert_eq!(r.line, Some(42));
    assert_eq!(r.pid, Some(1918));
    assert_eq!(r.tid, Some(139_698_174_081_920));
    assert_eq!(r.thread.as_deref(), Some("MainThread"));
    assert_eq!(r.process.as_deref(), Some("MainProcess"));
    assert_eq!(r.exc, None);
    assert_eq!(r.stack, None);
    assert_eq!(r.ts.unix_nanos() / 1_000_000, 1_796_559_587_219);
    assert!(r.fields.is_empty(), "{:?}", r.fields);
}

#[test]
fn exc_text_is_the_exception_and_a_dict_argument_formats() {
    let mut r = Record::empty();
    decode_form_record(WITH_EXCEPTION, &mut r).unwrap();
    assert_eq!(r.msg, "boom {'k': [1, None]}");
    assert_eq!(r.level, Level::ERROR);
    assert_eq!(r.func, None);
    assert_eq!(
        r.exc.as_deref(),
        Some(
            "Traceback (most recent call last):\n  File \"<stdin>\", line 4, in <module>\nZeroDivisionError: division by zero"
        )
    );
    assert!(r.fields.is_empty(), "{:?}", r.fields);
}

#[test]
fn code_in_args_is_refused() {
    let mut r = Record::empty();
    let body = b"msg=%25s&args=__import__%28%27os%27%29.system%28%27x%27%29";
    let e = decode_form_record(body, &mut r).unwrap_err();
    assert!(matches!(e, FormError::NotALiteral { .. }), "{e}");
    assert!(e.to_string().contains("nothing is evaluated"), "{e}");
}

#[test]
fn unknown_attributes_are_fields_and_bad_formats_keep_the_message() {
    let mut r = Record::empty();
    decode_form_record(
        b"msg=%25s+and+%25s&args=%28%27one%27%2C%29&user=ann&lineno=x",
        &mut r,
    )
    .unwrap();
    assert_eq!(r.msg, "%s and %s");
    assert_eq!(
        r.fields.get("args").and_then(Value::as_str),
        Some("('one',)")
    );
    assert_eq!(r.fields.get("user").and_then(Value::as_str), Some("ann"));
    assert_eq!(r.fields.get("lineno").and_then(Value::as_str), Some("x"));
    assert_eq!(r.logger, "root");
    assert_eq!(r.level, Level::INFO);
}

#[test]
fn too_many_keys_are_refused() {
    let form: String = (0..=MAX_FORM_KEYS).map(|i| format!("k{i}=v&")).collect();
    let mut r = Record::empty();
    assert_eq!(
        decode_form_record(form.as_bytes(), &mut r),
        Err(FormError::TooManyKeys {
            limit: MAX_FORM_KEYS
        })
    );
}
