//! The attributes a template can name: Python's `LogRecord` names mapped
//! onto [`Record`], with the Python type each one has.

use crate::{Record, Value};

/// One attribute a placeholder names, resolved once when the template is parsed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Attr {
    Asctime,
    Created,
    Msecs,
    RelativeCreated,
    Levelname,
    Levelno,
    Name,
    Message,
    Msg,
    Process,
    ProcessName,
    Thread,
    ThreadName,
    Pathname,
    Filename,
    Module,
    FuncName,
    Lineno,
    ExcText,
    StackInfo,
    TaskName,
    Host,
    Seq,
    Ts,
    /// A structured field of the record (Python's `extra=`), by name.
    Extra(Box<str>),
}

/// The Python type an attribute has on every record, so conversions Python
/// would always refuse are caught when the template is parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PyType {
    Str,
    /// `str`, or `None` when the record lacks it.
    OptStr,
    Int,
    /// `int`, or `None` when the record lacks it.
    OptInt,
    Float,
    /// Whatever the producer sent.
    Any,
}

const STANDARD: &[(&str, Attr, PyType)] = &[
    ("asctime", Attr::Asctime, PyType::Str),
    ("created", Attr::Created, PyType::Float),
    ("msecs", Attr::Msecs, PyType::Float),
    ("relativeCreated", Attr::RelativeCreated, PyType::Float),
    ("levelname", Attr::Levelname, PyType::Str),
    ("levelno", Attr::Levelno, PyType::Int),
    ("name", Attr::Name, PyType::Str),
    ("message", Attr::Message, PyType::Str),
    ("msg", Attr::Msg, PyType::Str),
    ("process", Attr::Process, PyType::OptInt),
    ("processName", Attr::ProcessName, PyType::OptStr),
    ("thread", Attr::Thread, PyType::OptInt),
    ("threadName", Attr::ThreadName, PyType::OptStr),
    ("pathname", Attr::Pathname, PyType::OptStr),
    ("filename", Attr::Filename, PyType::OptStr),
    ("module", Attr::Module, PyType::OptStr),
    ("funcName", Attr::FuncName, PyType::OptStr),
    ("lineno", Attr::Lineno, PyType::OptInt),
    ("exc_text", Attr::ExcText, PyType::OptStr),
    ("stack_info", Attr::StackInfo, PyType::OptStr),
    ("taskName", Attr::TaskName, PyType::Any),
    ("host", Attr::Host, PyType::OptStr),
    ("seq", Attr::Seq, PyType::OptInt),
    ("ts", Attr::Ts, PyType::Str),
];

/// Every standard attribute name, for error messages.
pub(crate) const STANDARD_NAMES: [&str; 24] = {
    let mut names = [""; 24];
    let mut i = 0;
    while i < STANDARD.len() {
        names[i] = STANDARD[i].0;
        i += 1;
    }
    names
};

impl Attr {
    /// The standard attribute called `name`, with its Python type.
    pub(crate) fn standard(name: &str) -> Option<(Attr, PyType)> {
        STANDARD
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, attr, ty)| (attr.clone(), *ty))
    }
}

/// A borrowed view of one attribute's value as the Python object it would be.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Py<'a> {
    None,
    Bool(bool),
    Int(i128),
    /// An int beyond 64 bits, as its decimal digits (optional leading `-`).
    BigInt(&'a str),
    Float(f64),
    Str(&'a str),
    /// A list or dict: only ever shown through `str()`/`repr()`.
    Container(&'a Value),
    /// `asctime`: text made on demand by the formatter's clock.
    Asctime,
    /// `ts`: RFC 3339 text made on demand.
    Ts,
}

impl<'a> Py<'a> {
    pub(crate) fn from_value(v: &'a Value) -> Py<'a> {
        match v {
            Value::Null => Py::None,
            Value::Bool(b) => Py::Bool(*b),
            Value::Int(i) => Py::Int(i128::from(*i)),
            Value::BigInt(digits) => Py::BigInt(digits),
            Value::Float(x) => Py::Float(*x),
            Value::Str(s) => Py::Str(s),
            Value::List(_) | Value::Map(_) => Py::Container(v),
        }
    }

    fn opt_str(s: &'a Option<crate::CompactString>) -> Py<'a> {
        s.as_deref().map_or(Py::None, Py::Str)
    }

    fn opt_int(n: Option<impl Into<i128>>) -> Py<'a> {
        n.map_or(Py::None, |n| Py::Int(n.into()))
    }
}

/// What an extra field missing from a record shows by default, when no
/// default value was given for it: Python would raise, and `-` is what
/// logging users usually give as the default.
pub(crate) const MISSING_EXTRA: &str = "-";

/// The value of `attr` on `record`, as Python's `LogRecord` would hold it;
/// `None` for an extra field the record lacks and `defaults` do not give.
///
/// `start_nanos` is when the formatter was made, the origin of
/// `relativeCreated` for records that do not carry one; `defaults` fill in
/// extras the record lacks.
pub(crate) fn resolve<'a>(
    attr: &'a Attr,
    record: &'a Record,
    start_nanos: i64,
    defaults: &'a crate::Fields,
) -> Option<Py<'a>> {
    Some(match attr {
        Attr::Asctime => Py::Asctime,
        // Python computes `time_ns() / 1e9`: the int is rounded to a double first.
        Attr::Created => Py::Float(record.ts.unix_nanos() as f64 / 1e9),
        Attr::Msecs => Py::Float(f64::from(record.ts.subsec_nanos() / 1_000_000)),
        Attr::RelativeCreated => Py::Float(record.relative_created_ms.unwrap_or_else(|| {
            (i128::from(record.ts.unix_nanos()) - i128::from(start_nanos)) as f64 / 1e6
        })),
        Attr::Levelname => Py::Str(record.level.name()),
        Attr::Levelno => Py::Int(i128::from(record.level.no())),
        Attr::Name => Py::Str(&record.logger),
        Attr::Message | Attr::Msg => Py::Str(&record.msg),
        Attr::Process => Py::opt_int(record.pid),
        Attr::ProcessName => Py::opt_str(&record.process),
        Attr::Thread => Py::opt_int(record.tid),
        Attr::ThreadName => Py::opt_str(&record.thread),
        Attr::Pathname => Py::opt_str(&record.file),
        // `os.path.basename` on POSIX splits on `/` only.
        Attr::Filename => record.file.as_deref().map_or(Py::None, |path| {
            Py::Str(path.rsplit('/').next().unwrap_or(path))
        }),
        Attr::Module => Py::opt_str(&record.module),
        Attr::FuncName => Py::opt_str(&record.func),
        Attr::Lineno => Py::opt_int(record.line),
        Attr::ExcText => Py::opt_str(&record.exc),
        Attr::StackInfo => Py::opt_str(&record.stack),
        Attr::TaskName => record
            .fields
            .get("taskName")
            .map_or(Py::None, Py::from_value),
        Attr::Host => Py::opt_str(&record.host),
        Attr::Seq => Py::opt_int(record.seq),
        Attr::Ts => Py::Ts,
        Attr::Extra(name) => {
            Py::from_value(record.fields.get(name).or_else(|| defaults.get(name))?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Level, Timestamp};

    #[test]
    fn names_are_unique_and_complete() {
        for (i, name) in STANDARD_NAMES.iter().enumerate() {
            assert!(!name.is_empty());
            assert!(!STANDARD_NAMES[..i].contains(name), "{name} twice");
            assert!(Attr::standard(name).is_some());
        }
        assert_eq!(Attr::standard("usr"), None);
    }

    #[test]
    fn record_maps_to_python_values() {
        let record = Record::builder(Level::WARNING, "m")
            .ts(Timestamp::from_unix_nanos(1_763_774_682_999_400_000))
            .file("/srv/app/main.py")
            .line(7)
            .field("taskName", "t1")
            .field("n", 3)
            .build();
        let defaults = crate::Fields::new();
        let get =
            |attr: Attr| match resolve(&attr, &record, 0, &defaults).unwrap_or(Py::Str("absent")) {
                Py::Str(s) => s.to_owned(),
                Py::Int(i) => i.to_string(),
                Py::Float(x) => x.to_string(),
                Py::None => "None".to_owned(),
                other => format!("{other:?}"),
            };
        assert_eq!(get(Attr::Filename), "main.py");
        assert_eq!(get(Attr::Msecs), "999");
        assert_eq!(get(Attr::Levelno), "30");
        assert_eq!(get(Attr::Lineno), "7");
        assert_eq!(get(Attr::FuncName), "None");
        assert_eq!(get(Attr::TaskName), "t1");
        assert_eq!(get(Attr::Extra("n".into())), "3");
        assert_eq!(get(Attr::Extra("absent".into())), "absent");
    }
}
