//! Records written in the listener's other JSON profiles (ECS,
//! OpenTelemetry, `tracing`) decode through the native decoder with their
//! keys left as fields; this puts them back where they belong, so filters
//! and outputs see the same record whichever profile wrote it.

use tributary_core::{CompactString, Level, Record, Timestamp, Value};

/// Moves profile keys found among `r`'s fields into the record's own slots.
pub fn normalize(r: &mut Record) {
    if r.fields.is_empty() {
        return;
    }
    // Containers first: their members are then handled like top-level keys.
    for container in ["labels", "Attributes", "Resource", "fields"] {
        if let Some(Value::Map(inner)) = r.fields.remove(container) {
            for (k, v) in inner.iter() {
                r.fields.insert(k, v.clone());
            }
        }
    }
    if let Some(Value::Map(scope)) = r.fields.remove("InstrumentationScope")
        && let Some(name) = scope.get("name").and_then(Value::as_str)
    {
        r.logger = name.into();
    }
    let _ = r.fields.remove("ecs.version");
    let text = |r: &mut Record, keys: &[&str]| -> Option<CompactString> {
        keys.iter().find_map(|k| match r.fields.remove(k) {
            Some(Value::Str(s)) => Some(s),
            Some(other) => Some(CompactString::from(other.to_string())),
            None => None,
        })
    };
    let number = |r: &mut Record, keys: &[&str]| -> Option<i64> {
        keys.iter().find_map(|k| match r.fields.remove(k) {
            Some(Value::Int(i)) => Some(i),
            Some(Value::Str(s)) => s.parse().ok(),
            _ => None,
        })
    };
    let levelno = number(r, &["log.record.levelno", "levelno"]);
    let severity = number(r, &["SeverityNumber"]);
    if let Some(name) = text(r, &["log.level", "SeverityText"]) {
        r.level = match (Level::from_name(&name), levelno) {
            (_, Some(no)) => Level::from_parts(&name, no as i32),
            (Some(level), None) => level,
            (None, None) => severity.map_or_else(|| Level::custom(0, name.to_string()), otel_level),
        };
    } else if let Some(no) = levelno {
        r.level = Level::from_parts(r.level.name(), no as i32);
    }
    if let Some(msg) = text(r, &["Body", "message"])
        && r.msg.is_empty()
    {
        r.msg = msg;
    }
    if let Some(ts) = text(r, &["Timestamp"])
        && let Ok(nanos) = ts.parse::<i64>()
    {
        r.ts = Timestamp::from_unix_nanos(nanos);
    }
    if let Some(logger) = text(r, &["log.logger", "name"]) {
        r.logger = logger;
    }
    macro_rules! slot {
        ($field:ident, text, $($key:literal),+) => {
            if let Some(v) = text(r, &[$($key),+]) { r.$field = Some(v); }
        };
        ($field:ident, num, $($key:literal),+) => {
            if let Some(v) = number(r, &[$($key),+]).and_then(|n| n.try_into().ok()) { r.$field = Some(v); }
        };
    }
    slot!(host, text, "host.hostname", "host.name", "host");
    slot!(pid, num, "process.pid", "pid");
    slot!(process, text, "process.name", "process");
    slot!(tid, num, "process.thread.id", "thread.id", "threadId");
    slot!(
        thread,
        text,
        "process.thread.name",
        "thread.name",
        "threadName"
    );
    slot!(
        file,
        text,
        "log.origin.file.name",
        "code.file.path",
        "filename"
    );
    slot!(
        line,
        num,
        "log.origin.file.line",
        "code.line.number",
        "line_number"
    );
    slot!(
        func,
        text,
        "log.origin.function",
        "code.function.name",
        "func"
    );
    slot!(
        module,
        text,
        "log.origin.module",
        "code.namespace",
        "module"
    );
    slot!(seq, num, "event.sequence", "log.record.seq", "seq");
    slot!(
        exc,
        text,
        "error.stack_trace",
        "exception.stacktrace",
        "exc"
    );
    slot!(stack, text, "log.origin.stack", "code.stacktrace", "stack");
}

/// OpenTelemetry's severity numbers (1-4 TRACE … 21-24 FATAL) as levels.
fn otel_level(n: i64) -> Level {
    match n {
        ..=4 => Level::TRACE,
        5..=8 => Level::DEBUG,
        9..=12 => Level::INFO,
        13..=16 => Level::WARNING,
        17..=20 => Level::ERROR,
        _ => Level::CRITICAL,
    }
}
