//! `JsonFormatter`: one JSON object per record, in one of several profiles.

use super::escape::write_str_body;
use super::escape::{write_i64, write_str, write_u64, write_value};
use crate::{Formatter, Record, Timestamp};
use std::cell::Cell;
use std::fmt;

/// Which key layout a [`JsonFormatter`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JsonProfile {
    /// Tributary's native profile (the record contract, `docs/contracts.md`): `ts`, `level`, `levelno`,
    /// `logger`, `msg`, … `fields`.
    Native,
    /// Elastic Common Schema: `@timestamp`, `log.level`, `message`,
    /// `ecs.version`, dotted `log.*`/`process.*` keys; extras under `labels`.
    Ecs,
    /// The OpenTelemetry log data model: `Timestamp` (ns), `SeverityText`,
    /// `SeverityNumber`, `Body`, `Resource`, `InstrumentationScope`,
    /// `Attributes` (semantic-convention names plus extras).
    Otel,
    /// `tracing-subscriber`'s JSON layout: `timestamp`, `level`, `fields`
    /// (with `message`), `target`, `filename`, `line_number`, `threadName`,
    /// `threadId`.
    Tracing,
}

impl JsonProfile {
    /// The profile's name as accepted by [`JsonProfile::from_name`].
    pub fn name(self) -> &'static str {
        match self {
            JsonProfile::Native => "native",
            JsonProfile::Ecs => "ecs",
            JsonProfile::Otel => "otel",
            JsonProfile::Tracing => "tracing",
        }
    }

    /// Parses `native`, `ecs`, `otel` or `tracing`.
    pub fn from_name(name: &str) -> Option<JsonProfile> {
        [
            JsonProfile::Native,
            JsonProfile::Ecs,
            JsonProfile::Otel,
            JsonProfile::Tracing,
        ]
        .into_iter()
        .find(|p| p.name().eq_ignore_ascii_case(name))
    }

    fn default_keys(self) -> &'static [&'static str] {
        match self {
            JsonProfile::Native => NATIVE_KEYS,
            JsonProfile::Ecs => ECS_KEYS,
            JsonProfile::Otel => OTEL_KEYS,
            JsonProfile::Tracing => TRACING_KEYS,
        }
    }
}

// Key tables: the index of each name is what the writers below use, so the
// order of these arrays is part of the code, not just data.
pub(crate) const NATIVE_KEYS: &[&str] = &[
    "ts", "level", "levelno", "logger", "msg", "host", "pid", "process", "tid", "thread", "file",
    "line", "func", "module", "seq", "exc", "stack", "fields",
];
const ECS_KEYS: &[&str] = &[
    "@timestamp",
    "log.level",
    "message",
    "ecs.version",
    "log.logger",
    "host.hostname",
    "process.pid",
    "process.name",
    "process.thread.id",
    "process.thread.name",
    "log.origin.file.name",
    "log.origin.file.line",
    "log.origin.function",
    "log.origin.module",
    "event.sequence",
    "error.stack_trace",
    "log.origin.stack",
    "labels",
];
const OTEL_KEYS: &[&str] = &[
    "Timestamp",
    "SeverityText",
    "SeverityNumber",
    "Body",
    "Resource",
    "host.name",
    "process.pid",
    "process.name",
    "InstrumentationScope",
    "name",
    "Attributes",
    "code.file.path",
    "code.line.number",
    "code.function.name",
    "code.namespace",
    "thread.id",
    "thread.name",
    "log.record.seq",
    "exception.stacktrace",
    "code.stacktrace",
    "log.record.levelno",
];
const TRACING_KEYS: &[&str] = &[
    "timestamp",
    "level",
    "fields",
    "message",
    "target",
    "filename",
    "line_number",
    "threadName",
    "threadId",
    "host",
    "pid",
    "process",
    "func",
    "module",
    "seq",
    "exc",
    "stack",
    "levelno",
];

/// The ECS version this profile follows.
pub const ECS_VERSION: &str = "8.11";

/// A key rename that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenameError {
    /// The key is not one this profile writes.
    #[error("the {profile} JSON profile has no key `{key}`; its keys are: {known}")]
    UnknownKey {
        /// The profile.
        profile: &'static str,
        /// The key asked for.
        key: String,
        /// The profile's keys, comma-separated.
        known: String,
    },
    /// Two keys would get the same name.
    #[error("renaming `{from}` to `{to}` collides with another key of the {profile} profile")]
    Collision {
        /// The profile.
        profile: &'static str,
        /// The key being renamed.
        from: String,
        /// The new name.
        to: String,
    },
    /// The new name is empty.
    #[error("cannot rename `{0}` to an empty key")]
    Empty(String),
}

/// Formats records as one JSON object per line (without the newline; the
/// handler adds it).
///
/// Key order is fixed per profile and absent values are omitted. Strings
/// are escaped so a record never spans lines. Extra fields never overwrite
/// a standard key: in flat layouts a colliding extra key is written with `_`
/// prepended until it is unique.
///
/// ```
/// use tributary_core::{Formatter, JsonFormatter, Level, Record, Timestamp};
/// let record = Record::builder(Level::INFO, "hello")
///     .ts(Timestamp::from_unix_nanos(0))
///     .logger("app")
///     .field("user", "ann")
///     .build();
/// let mut out = Vec::new();
/// JsonFormatter::native().format(&record, &mut out);
/// assert_eq!(
///     String::from_utf8(out).unwrap(),
///     r#"{"ts":"1970-01-01T00:00:00.000000Z","level":"INFO","levelno":20,"logger":"app","msg":"hello","fields":{"user":"ann"}}"#
/// );
/// let time_key = JsonFormatter::native().rename("ts", "time").unwrap();
/// # let _ = time_key;
/// ```
#[derive(Clone)]
pub struct JsonFormatter {
    profile: JsonProfile,
    /// Pre-rendered `,"key":"` for each key of the profile, by index. Its
    /// slices give `"key":`, `,"key":` and `,"key":"`, so each member
    /// starts with one copy instead of three or four tiny ones (measured:
    /// the tiny `memcpy` calls were an eighth of a record's format time).
    keys: Vec<RenderedKey>,
    /// The plain names, for collision checks.
    names: Vec<String>,
}

/// `YYYY-MM-DDTHH:MM:SS.` of one second.
#[derive(Clone, Copy)]
struct RenderedSecond {
    secs: Option<i64>,
    text: [u8; 20],
}

impl RenderedSecond {
    const EMPTY: RenderedSecond = RenderedSecond {
        secs: None,
        text: [0; 20],
    };
}

impl fmt::Debug for JsonFormatter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonFormatter")
            .field("profile", &self.profile)
            .field("keys", &self.names)
            .finish()
    }
}

impl Default for JsonFormatter {
    fn default() -> Self {
        JsonFormatter::native()
    }
}

/// `,"name":"` (see [`JsonFormatter::keys`]), zero-padded to at least
/// [`RenderedKey::PAD`] bytes.
#[derive(Clone, Debug)]
struct RenderedKey {
    bytes: Box<[u8]>,
    len: usize,
}

impl RenderedKey {
    /// Keys this long or shorter (every native key) are copied as one
    /// fixed-size block and the padding cut off again: a constant-size copy
    /// is two moves, where a variable one is a `memcpy` call (callgrind:
    /// -14 instructions per key).
    const PAD: usize = 16;

    fn new(name: &str) -> RenderedKey {
        let mut out = Vec::with_capacity(name.len() + 5);
        out.push(b',');
        write_str(&mut out, name);
        out.extend_from_slice(b":\"");
        let len = out.len();
        out.resize(len.max(Self::PAD), 0);
        RenderedKey {
            bytes: out.into_boxed_slice(),
            len,
        }
    }

    /// Appends the key's first `len - cut` bytes.
    #[inline(always)]
    fn put(&self, out: &mut Vec<u8>, cut: usize) {
        let end = self.len - cut;
        match self.bytes.first_chunk::<{ Self::PAD }>() {
            Some(block) if self.len <= Self::PAD => {
                let start = out.len();
                out.extend_from_slice(block);
                out.truncate(start + end);
            }
            _ => out.extend_from_slice(&self.bytes[..end]),
        }
    }

    /// `"name":` (no comma, no opening quote of a value).
    fn bare(&self) -> &[u8] {
        &self.bytes[1..self.len - 1]
    }
}

impl JsonFormatter {
    /// A formatter for `profile` with its default key names.
    pub fn new(profile: JsonProfile) -> JsonFormatter {
        let names: Vec<String> = profile
            .default_keys()
            .iter()
            .map(|k| (*k).to_owned())
            .collect();
        JsonFormatter {
            profile,
            keys: names.iter().map(|n| RenderedKey::new(n)).collect(),
            names,
        }
    }

    /// The native profile.
    pub fn native() -> JsonFormatter {
        JsonFormatter::new(JsonProfile::Native)
    }

    /// The profile in use.
    pub fn profile(&self) -> JsonProfile {
        self.profile
    }

    /// Writes the key `from` (a default key name of this profile) as `to`.
    pub fn rename(mut self, from: &str, to: &str) -> Result<JsonFormatter, RenameError> {
        let profile = self.profile.name();
        let defaults = self.profile.default_keys();
        let Some(at) = defaults.iter().position(|k| *k == from) else {
            return Err(RenameError::UnknownKey {
                profile,
                key: from.to_owned(),
                known: defaults.join(", "),
            });
        };
        if to.is_empty() {
            return Err(RenameError::Empty(from.to_owned()));
        }
        if self
            .names
            .iter()
            .enumerate()
            .any(|(i, n)| i != at && n == to)
        {
            return Err(RenameError::Collision {
                profile,
                from: from.to_owned(),
                to: to.to_owned(),
            });
        }
        self.names[at] = to.to_owned();
        self.keys[at] = RenderedKey::new(to);
        Ok(self)
    }

    /// Writes `"key":` for key index `at`.
    fn key(&self, out: &mut Vec<u8>, at: usize) {
        out.extend_from_slice(self.keys[at].bare());
    }

    /// Writes `,"key":` for key index `at`.
    #[inline(always)]
    fn next_key(&self, out: &mut Vec<u8>, at: usize) {
        self.keys[at].put(out, 1);
    }

    /// Writes `,"key":"value"` for key index `at`.
    #[inline(always)]
    fn next_str(&self, out: &mut Vec<u8>, at: usize, v: &str) {
        self.keys[at].put(out, 0);
        write_str_body(out, v);
        out.push(b'"');
    }

    #[inline(always)]
    fn opt_str(&self, out: &mut Vec<u8>, at: usize, v: Option<&str>) {
        if let Some(v) = v {
            self.next_str(out, at, v);
        }
    }

    #[inline(always)]
    fn opt_u64(&self, out: &mut Vec<u8>, at: usize, v: Option<u64>) {
        if let Some(v) = v {
            self.next_key(out, at);
            write_u64(out, v);
        }
    }

    fn format_native(&self, r: &Record, out: &mut Vec<u8>) {
        self.ts_rfc3339(out, r);
        self.next_str(out, 1, r.level.name());
        self.next_key(out, 2);
        write_i64(out, i64::from(r.level.no()));
        self.next_str(out, 3, &r.logger);
        self.next_str(out, 4, &r.msg);
        self.flat_tail(r, out);
    }

    fn format_ecs(&self, r: &Record, out: &mut Vec<u8>) {
        self.ts_rfc3339(out, r);
        self.next_str(out, 1, r.level.name());
        self.next_str(out, 2, &r.msg);
        self.next_str(out, 3, ECS_VERSION);
        self.next_str(out, 4, &r.logger);
        self.flat_tail(r, out);
    }

    /// Room for a typical record up front, so the many small appends after
    /// it never stop to grow the buffer.
    fn reserve(out: &mut Vec<u8>, r: &Record) {
        out.reserve(256 + r.msg.len() + r.logger.len());
    }

    /// `{` and key 0 with the RFC 3339 timestamp.
    fn ts_rfc3339(&self, out: &mut Vec<u8>, r: &Record) {
        out.push(b'{');
        out.extend_from_slice(self.keys[0].bare());
        out.push(b'"');
        self.write_rfc3339(out, r.ts);
        out.push(b'"');
    }

    /// [`Timestamp::write_rfc3339`], copying the date and time from the
    /// last record this thread rendered when it was made in the same second.
    /// Per thread rather than per formatter: no lock to take (a `Mutex`
    /// here cost two atomic operations per record) and no contention
    /// between threads sharing one formatter.
    fn write_rfc3339(&self, out: &mut Vec<u8>, ts: Timestamp) {
        thread_local! {
            static SECOND: Cell<RenderedSecond> = const { Cell::new(RenderedSecond::EMPTY) };
        }
        let secs = ts.unix_secs();
        let mut cached = SECOND.get();
        if cached.secs != Some(secs) {
            let mut text = Vec::with_capacity(27);
            ts.write_rfc3339(&mut text);
            cached.text.copy_from_slice(&text[..20]);
            cached.secs = Some(secs);
            SECOND.set(cached);
        }
        let micros = ts.subsec_nanos() / 1000;
        let mut buf = [0u8; 27];
        buf[..20].copy_from_slice(&cached.text);
        // Two digits per step from a table: half the divisions of a digit loop.
        const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
            20212223242526272829303132333435363738394041424344454647484950515253545556575859\
            60616263646566676869707172737475767778798081828384858687888990919293949596979899";
        for (at, pair) in [
            (20, micros / 10_000),
            (22, micros / 100 % 100),
            (24, micros % 100),
        ] {
            let p = (pair as usize % 100) * 2;
            buf[at..at + 2].copy_from_slice(&PAIRS[p..p + 2]);
        }
        buf[26] = b'Z';
        out.extend_from_slice(&buf);
    }

    /// Keys 5-17 and the closing brace: the native and ECS profiles share
    /// this order (host … stack, then the extras as one nested object), so
    /// only their key names differ.
    fn flat_tail(&self, r: &Record, out: &mut Vec<u8>) {
        self.opt_str(out, 5, r.host.as_deref());
        self.opt_u64(out, 6, r.pid.map(u64::from));
        self.opt_str(out, 7, r.process.as_deref());
        self.opt_u64(out, 8, r.tid);
        self.opt_str(out, 9, r.thread.as_deref());
        self.opt_str(out, 10, r.file.as_deref());
        self.opt_u64(out, 11, r.line.map(u64::from));
        self.opt_str(out, 12, r.func.as_deref());
        self.opt_str(out, 13, r.module.as_deref());
        self.opt_u64(out, 14, r.seq);
        self.opt_str(out, 15, r.exc.as_deref());
        self.opt_str(out, 16, r.stack.as_deref());
        if !r.fields.is_empty() {
            self.next_key(out, 17);
            out.push(b'{');
            self.write_fields(out, r, &[], false);
            out.push(b'}');
        }
        out.push(b'}');
    }

    fn format_otel(&self, r: &Record, out: &mut Vec<u8>) {
        out.push(b'{');
        self.key(out, 0);
        out.push(b'"');
        write_i64(out, r.ts.unix_nanos());
        out.push(b'"');
        self.next_key(out, 1);
        write_str(out, r.level.name());
        self.next_key(out, 2);
        write_i64(out, i64::from(otel_severity(r.level.no())));
        self.next_key(out, 3);
        write_str(out, &r.msg);
        if r.host.is_some() || r.pid.is_some() || r.process.is_some() {
            self.next_key(out, 4);
            out.push(b'{');
            let mut first = true;
            let mut sep = |out: &mut Vec<u8>, at| {
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
                self.key(out, at);
            };
            if let Some(h) = &r.host {
                sep(out, 5);
                write_str(out, h);
            }
            if let Some(p) = r.pid {
                sep(out, 6);
                write_u64(out, u64::from(p));
            }
            if let Some(p) = &r.process {
                sep(out, 7);
                write_str(out, p);
            }
            out.push(b'}');
        }
        self.next_key(out, 8);
        out.push(b'{');
        self.key(out, 9);
        write_str(out, &r.logger);
        out.push(b'}');
        self.next_key(out, 10);
        out.push(b'{');
        let start = out.len();
        self.opt_str(out, 11, r.file.as_deref());
        self.opt_u64(out, 12, r.line.map(u64::from));
        self.opt_str(out, 13, r.func.as_deref());
        self.opt_str(out, 14, r.module.as_deref());
        self.opt_u64(out, 15, r.tid);
        self.opt_str(out, 16, r.thread.as_deref());
        self.opt_u64(out, 17, r.seq);
        self.opt_str(out, 18, r.exc.as_deref());
        self.opt_str(out, 19, r.stack.as_deref());
        if r.level.name() != crate::Level::from_no(r.level.no()).name() {
            // A custom level keeps its Python number, which SeverityNumber cannot carry.
            self.next_key(out, 20);
            write_i64(out, i64::from(r.level.no()));
        }
        let any = out.len() > start;
        if any {
            // Every optional writer above led with a comma; drop the first.
            out.remove(start);
        }
        self.write_fields(out, r, &self.names[11..=20], any);
        out.push(b'}');
        out.push(b'}');
    }

    fn format_tracing(&self, r: &Record, out: &mut Vec<u8>) {
        self.ts_rfc3339(out, r);
        self.next_str(out, 1, r.level.name());
        self.next_key(out, 2);
        out.push(b'{');
        self.key(out, 3);
        write_str(out, &r.msg);
        self.opt_str(out, 9, r.host.as_deref());
        self.opt_u64(out, 10, r.pid.map(u64::from));
        self.opt_str(out, 11, r.process.as_deref());
        self.opt_str(out, 12, r.func.as_deref());
        self.opt_str(out, 13, r.module.as_deref());
        self.opt_u64(out, 14, r.seq);
        self.opt_str(out, 15, r.exc.as_deref());
        self.opt_str(out, 16, r.stack.as_deref());
        if r.level.name() != crate::Level::from_no(r.level.no()).name() {
            self.next_key(out, 17);
            write_i64(out, i64::from(r.level.no()));
        }
        self.write_fields(out, r, &self.names[3..=17], true);
        out.push(b'}');
        self.next_key(out, 4);
        write_str(out, &r.logger);
        self.opt_str(out, 5, r.file.as_deref());
        self.opt_u64(out, 6, r.line.map(u64::from));
        self.opt_str(out, 7, r.thread.as_deref());
        if let Some(tid) = r.tid {
            self.next_key(out, 8);
            out.extend_from_slice(b"\"ThreadId(");
            write_u64(out, tid);
            out.extend_from_slice(b")\"");
        }
        out.push(b'}');
    }

    /// Writes the record's extra fields as object members. `reserved` are
    /// the keys already used in the same object; an extra with such a name
    /// gets `_` prepended until it is unique, so it never shadows them.
    fn write_fields(&self, out: &mut Vec<u8>, r: &Record, reserved: &[String], mut comma: bool) {
        for (k, v) in r.fields.iter() {
            if comma {
                out.push(b',');
            }
            comma = true;
            if reserved.iter().any(|n| n == k) {
                let mut key = format!("_{k}");
                while reserved.contains(&key) || r.fields.contains_key(&key) {
                    key.insert(0, '_');
                }
                write_str(out, &key);
            } else {
                write_str(out, k);
            }
            out.push(b':');
            write_value(out, v);
        }
    }
}

/// Python level number → OpenTelemetry `SeverityNumber`, as the OpenTelemetry
/// Python SDK's `std_to_otel` maps it, except that levels 1-9 (TRACE) map to
/// TRACE (1) rather than UNSPECIFIED.
pub fn otel_severity(levelno: i32) -> i32 {
    match levelno {
        i32::MIN..=0 => 0,
        // TRACE (5) and other sub-DEBUG levels: the SDK says UNSPECIFIED; TRACE is closer.
        1..=9 => 1,
        10..=19 => 5 + (levelno - 10).min(3),
        20..=29 => 9 + (levelno - 20).min(3),
        30..=39 => 13 + (levelno - 30).min(3),
        40..=49 => 17 + (levelno - 40).min(3),
        _ => 21 + (levelno - 50).min(3),
    }
}

impl Formatter for JsonFormatter {
    fn format(&self, record: &Record, out: &mut Vec<u8>) {
        JsonFormatter::reserve(out, record);
        match self.profile {
            JsonProfile::Native => self.format_native(record, out),
            JsonProfile::Ecs => self.format_ecs(record, out),
            JsonProfile::Otel => self.format_otel(record, out),
            JsonProfile::Tracing => self.format_tracing(record, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse::Reader;
    use crate::{Level, Timestamp, Value};

    fn full() -> Record {
        Record::builder(Level::ERROR, "boom")
            .ts(Timestamp::from_unix_nanos(1_763_774_682_444_123_456))
            .logger("app.db")
            .host("h1")
            .pid(42)
            .process("MainProcess")
            .tid(7)
            .thread("worker-1")
            .file("db.py")
            .line(17)
            .func("connect")
            .module("db")
            .seq(9)
            .exc("Traceback")
            .stack("Stack")
            .field("user", "ann")
            .build()
    }

    fn render(f: &JsonFormatter, r: &Record) -> String {
        let mut out = Vec::new();
        f.format(r, &mut out);
        String::from_utf8(out).unwrap()
    }

    /// Every object in `text` has unique keys; returns the top-level keys.
    fn unique_keys(text: &str) -> Vec<String> {
        fn walk(r: &mut Reader<'_>, keys: &mut Vec<String>) {
            let mut first = true;
            while let Some(k) = r.next_key(first).unwrap() {
                first = false;
                assert!(!keys.contains(&k.to_string()), "duplicate key {k}");
                keys.push(k.into_owned());
                let save = r.pos();
                if r.peek() == Some(b'{') {
                    r.begin_object().unwrap();
                    walk(r, &mut Vec::new());
                } else {
                    r.skip_to(save);
                    r.value().unwrap();
                }
            }
        }
        let mut r = Reader::new(text);
        r.begin_object().unwrap();
        let mut keys = Vec::new();
        walk(&mut r, &mut keys);
        r.end().unwrap();
        keys
    }

    #[test]
    fn native_profile_is_exactly_the_design_schema() {
        assert_eq!(
            render(&JsonFormatter::native(), &full()),
            concat!(
                r#"{"ts":"2025-11-22T01:24:42.444123Z","level":"ERROR","levelno":40,"logger":"app.db","msg":"boom","#,
                r#""host":"h1","pid":42,"process":"MainProcess","tid":7,"thread":"worker-1","file":"db.py","line":17,"#,
                r#""func":"connect","module":"db","seq":9,"exc":"Traceback","stack":"Stack","fields":{"user":"ann"}}"#
            )
        );
        let minimal = Record::builder(Level::INFO, "m")
            .ts(Timestamp::from_unix_nanos(0))
            .build();
        assert_eq!(
            render(&JsonFormatter::native(), &minimal),
            r#"{"ts":"1970-01-01T00:00:00.000000Z","level":"INFO","levelno":20,"logger":"root","msg":"m"}"#
        );
    }

    #[test]
    fn ecs_profile() {
        let line = render(&JsonFormatter::new(JsonProfile::Ecs), &full());
        assert!(line.starts_with(r#"{"@timestamp":"2025-11-22T01:24:42.444123Z","log.level":"ERROR","message":"boom","ecs.version":"8.11","log.logger":"app.db","#));
        assert!(line.ends_with(r#""labels":{"user":"ann"}}"#));
        assert!(
            line.contains(r#""process.thread.id":7"#)
                && line.contains(r#""error.stack_trace":"Traceback""#)
        );
        unique_keys(&line);
    }

    #[test]
    fn otel_profile_and_severity() {
        let mut r = full();
        r.fields.insert("thread.id", "collides");
        let line = render(&JsonFormatter::new(JsonProfile::Otel), &r);
        assert!(line.starts_with(r#"{"Timestamp":"1763774682444123456","SeverityText":"ERROR","SeverityNumber":17,"Body":"boom","Resource":{"host.name":"h1","process.pid":42,"process.name":"MainProcess"},"InstrumentationScope":{"name":"app.db"},"Attributes":{"code.file.path":"db.py""#), "{line}");
        assert!(
            line.contains(r#""thread.id":7"#) && line.contains(r#""_thread.id":"collides""#),
            "{line}"
        );
        unique_keys(&line);
        assert_eq!(
            [0, 5, 10, 13, 20, 25, 30, 40, 50, 60].map(otel_severity),
            [0, 1, 5, 8, 9, 12, 13, 17, 21, 24]
        );
        let minimal = Record::builder(Level::INFO, "m")
            .ts(Timestamp::from_unix_nanos(0))
            .build();
        let line = render(&JsonFormatter::new(JsonProfile::Otel), &minimal);
        assert!(line.ends_with(r#""Attributes":{}}"#), "{line}");
    }

    #[test]
    fn tracing_profile_matches_tracing_subscriber_layout() {
        let mut r = full();
        r.fields.insert("message", "user field named message");
        let line = render(&JsonFormatter::new(JsonProfile::Tracing), &r);
        assert!(line.starts_with(r#"{"timestamp":"2025-11-22T01:24:42.444123Z","level":"ERROR","fields":{"message":"boom","#), "{line}");
        assert!(line.contains(r#""_message":"user field named message""#));
        assert!(line.ends_with(r#""target":"app.db","filename":"db.py","line_number":17,"threadName":"worker-1","threadId":"ThreadId(7)"}"#), "{line}");
        unique_keys(&line);
    }

    #[test]
    fn custom_levels_keep_their_number() {
        let r = Record::builder(Level::custom(25, "NOTICE"), "n").build();
        let native = render(&JsonFormatter::native(), &r);
        assert!(native.contains(r#""level":"NOTICE","levelno":25"#));
        let tracing = render(&JsonFormatter::new(JsonProfile::Tracing), &r);
        assert!(tracing.contains(r#""levelno":25"#), "{tracing}");
    }

    #[test]
    fn renaming() {
        let f = JsonFormatter::native()
            .rename("ts", "time")
            .unwrap()
            .rename("msg", "message")
            .unwrap();
        let line = render(&f, &full());
        assert!(line.starts_with(r#"{"time":"#) && line.contains(r#""message":"boom""#));
        assert!(matches!(
            JsonFormatter::native().rename("nope", "x"),
            Err(RenameError::UnknownKey { .. })
        ));
        assert!(matches!(
            JsonFormatter::native().rename("ts", "msg"),
            Err(RenameError::Collision { .. })
        ));
        assert!(matches!(
            JsonFormatter::native().rename("ts", ""),
            Err(RenameError::Empty(_))
        ));
        let escaped = JsonFormatter::native().rename("msg", "m\"sg").unwrap();
        assert!(render(&escaped, &full()).contains(r#""m\"sg":"boom""#));
        // Rendered keys up to 16 bytes (`,"` + name + `":"`) are copied as
        // one padded block, longer ones as a slice: both cut exactly.
        for name in ["hostname12", "hostname123", "hostname1234", "h"] {
            let f = JsonFormatter::native()
                .rename("host", name)
                .unwrap()
                .rename("pid", &name.to_uppercase())
                .unwrap();
            let line = render(&f, &full());
            let upper = name.to_uppercase();
            assert!(
                line.contains(&format!(r#","{name}":"h1","{upper}":42,"#)),
                "{line}"
            );
        }
    }

    #[test]
    fn hostile_field_names_and_values_never_corrupt_a_record() {
        let mut r = full();
        for k in ["ts", "fields", "\"}", "a\nb", ""] {
            r.fields.insert(k, Value::from("x\n\u{0}y"));
        }
        r.fields.insert("_thread.id", 1);
        r.fields.insert("thread.id", 2);
        for profile in [
            JsonProfile::Native,
            JsonProfile::Ecs,
            JsonProfile::Otel,
            JsonProfile::Tracing,
        ] {
            let line = render(&JsonFormatter::new(profile), &r);
            assert!(!line.contains('\n'), "{profile:?}: {line}");
            unique_keys(&line);
        }
    }

    #[test]
    fn profile_names() {
        for p in [
            JsonProfile::Native,
            JsonProfile::Ecs,
            JsonProfile::Otel,
            JsonProfile::Tracing,
        ] {
            assert_eq!(JsonProfile::from_name(p.name()), Some(p));
        }
        assert_eq!(JsonProfile::from_name("OTEL"), Some(JsonProfile::Otel));
        assert_eq!(JsonProfile::from_name("gelf"), None);
    }
}
