//! OTLP log records → [`Record`]s: the mapping in `docs/contracts.md`.
//!
//! Attributes of the resource, then of the scope, then of the record become
//! fields, the later replacing the earlier on the same key. The attributes
//! the `otel` JSON profile writes for the record's own parts (`host.name`,
//! `process.pid`, `code.file.path`, `thread.id`, `exception.stacktrace`, ...)
//! go back into those parts, so a record written by that profile and sent
//! back over OTLP keeps its shape.

use super::messages::{AnyValue, ExportLogsServiceRequest, KeyValue, LogRecord, any_value};
use super::severity::level_of_severity;
use super::{DecodeLimits, Decoded, OtlpError};
use crate::{CompactString, Fields, Level, Record, Timestamp, Value};
use base64::Engine;

/// The logger of a record whose scope has no name and whose resource has
/// no `service.name`.
pub const DEFAULT_LOGGER: &str = "otlp";

/// Field names of the trace context, as OpenTelemetry's own JSON renderings
/// of a log record (the Python SDK's `LogRecord.to_json`) name them.
pub const TRACE_ID_FIELD: &str = "trace_id";
/// See [`TRACE_ID_FIELD`].
pub const SPAN_ID_FIELD: &str = "span_id";
/// See [`TRACE_ID_FIELD`].
pub const TRACE_FLAGS_FIELD: &str = "trace_flags";

/// Decodes every record of `request` into `out`; a record whose values
/// cannot be mapped (nested too deep) is counted as rejected instead.
pub(crate) fn map_request(
    request: ExportLogsServiceRequest,
    limits: &DecodeLimits,
    now: Timestamp,
    out: &mut Decoded,
) {
    for resource_logs in request.resource_logs {
        let count: usize = resource_logs
            .scope_logs
            .iter()
            .map(|s| s.log_records.len())
            .sum();
        let resource = match resource_logs.resource {
            Some(resource) => match ResourceParts::new(resource.attributes, limits) {
                Ok(parts) => parts,
                Err(e) => {
                    out.reject(count, e);
                    continue;
                }
            },
            None => ResourceParts::default(),
        };
        for scope_logs in resource_logs.scope_logs {
            let scope = scope_logs.scope.unwrap_or_default();
            let mut scope_fields = Fields::new();
            if let Err(e) = insert_attributes(&mut scope_fields, scope.attributes, limits) {
                out.reject(scope_logs.log_records.len(), e);
                continue;
            }
            if !scope.version.is_empty() {
                scope_fields.insert("otel.scope.version", scope.version);
            }
            let logger: CompactString = if !scope.name.is_empty() {
                scope.name.into()
            } else if let Some(service) = &resource.service {
                service.clone()
            } else {
                DEFAULT_LOGGER.into()
            };
            for log_record in scope_logs.log_records {
                match map_record(log_record, &resource, &scope_fields, &logger, limits, now) {
                    Ok(record) => out.records.push(record),
                    Err(e) => out.reject(1, e),
                }
            }
        }
    }
}

/// What every record of one resource shares.
#[derive(Default)]
struct ResourceParts {
    host: Option<CompactString>,
    pid: Option<u32>,
    process: Option<CompactString>,
    /// `service.name`, the logger when the scope has no name.
    service: Option<CompactString>,
    fields: Fields,
}

impl ResourceParts {
    fn new(attributes: Vec<KeyValue>, limits: &DecodeLimits) -> Result<ResourceParts, OtlpError> {
        let mut fields = Fields::new();
        insert_attributes(&mut fields, attributes, limits)?;
        let host = take_str(&mut fields, "host.name");
        let pid = take_int(&mut fields, "process.pid");
        let process = take_str(&mut fields, "process.name");
        // `service.name` stays a field: it names the program, which the logger may not.
        let service = fields
            .get("service.name")
            .and_then(Value::as_str)
            .map(CompactString::from);
        Ok(ResourceParts {
            host,
            pid,
            process,
            service,
            fields,
        })
    }
}

fn map_record(
    log_record: LogRecord,
    resource: &ResourceParts,
    scope_fields: &Fields,
    logger: &CompactString,
    limits: &DecodeLimits,
    now: Timestamp,
) -> Result<Record, OtlpError> {
    let ts = [
        log_record.time_unix_nano,
        log_record.observed_time_unix_nano,
    ]
    .into_iter()
    .find(|&t| t != 0)
    .and_then(|t| i64::try_from(t).ok())
    .map_or(now, Timestamp::from_unix_nanos);
    let msg = match log_record.body {
        Some(body) => body_text(body, limits)?,
        None => CompactString::default(),
    };
    let mut record = Record::new_at(ts, Level::INFO, logger.clone(), msg);
    record.host.clone_from(&resource.host);
    record.pid = resource.pid;
    record.process.clone_from(&resource.process);

    let mut fields = Fields::with_capacity(
        resource.fields.len() + scope_fields.len() + log_record.attributes.len() + 3,
    );
    for (k, v) in resource.fields.iter().chain(scope_fields.iter()) {
        fields.insert(k, v.clone());
    }
    // The `otel` profile writes a custom level's own number here, which
    // SeverityNumber cannot carry.
    let mut levelno: Option<i32> = None;
    for kv in log_record.attributes {
        let value = match kv.value {
            Some(v) => value_of(v, 1, limits)?,
            None => Value::Null,
        };
        if let Some(value) = into_part(&mut record, &mut levelno, &kv.key, value) {
            fields.insert(kv.key, value);
        }
    }
    record.fields = fields;
    let fields = &mut record.fields;

    let level = level_of_severity(log_record.severity_number, &log_record.severity_text);
    record.level = match levelno {
        Some(no) if no != level.no() => Level::custom(no, level.name().to_owned()),
        _ => level,
    };

    if let Some(id) = hex_id(&log_record.trace_id) {
        fields.insert(TRACE_ID_FIELD, id);
    }
    if let Some(id) = hex_id(&log_record.span_id) {
        fields.insert(SPAN_ID_FIELD, id);
    }
    if log_record.flags != 0 {
        fields.insert(TRACE_FLAGS_FIELD, i64::from(log_record.flags));
    }
    if !log_record.event_name.is_empty() {
        fields.insert("event.name", log_record.event_name);
    }
    Ok(record)
}

/// A trace or span id as lowercase hex; none when empty or all zeros (the
/// protocol's "invalid id").
fn hex_id(bytes: &[u8]) -> Option<CompactString> {
    if bytes.iter().all(|&b| b == 0) {
        return None;
    }
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = Vec::with_capacity(bytes.len() * 2);
    for b in bytes {
        hex.push(DIGITS[usize::from(b >> 4)]);
        hex.push(DIGITS[usize::from(b & 15)]);
    }
    // Hex digits are ASCII.
    Some(CompactString::from_utf8_lossy(&hex))
}

/// The message of a body: a string as it is, any other value as its JSON.
fn body_text(body: AnyValue, limits: &DecodeLimits) -> Result<CompactString, OtlpError> {
    Ok(match value_of(body, 1, limits)? {
        Value::Str(s) => s,
        Value::Null => CompactString::default(),
        other => {
            let mut json = Vec::new();
            crate::json::write_value(&mut json, &other);
            String::from_utf8_lossy(&json).into()
        }
    })
}

fn insert_attributes(
    fields: &mut Fields,
    attributes: Vec<KeyValue>,
    limits: &DecodeLimits,
) -> Result<(), OtlpError> {
    for kv in attributes {
        let value = match kv.value {
            Some(v) => value_of(v, 1, limits)?,
            None => Value::Null,
        };
        fields.insert(kv.key, value);
    }
    Ok(())
}

/// An `AnyValue` as a field value, `depth` levels down (the attribute's own
/// value is level 1).
fn value_of(value: AnyValue, depth: usize, limits: &DecodeLimits) -> Result<Value, OtlpError> {
    use any_value::Value as Any;
    if depth > limits.max_depth {
        return Err(OtlpError::TooDeep {
            limit: limits.max_depth,
            unit: "levels of attribute or body values",
        });
    }
    Ok(match value.value {
        None => Value::Null,
        Some(Any::StringValue(s)) => Value::Str(s.into()),
        Some(Any::BoolValue(b)) => Value::Bool(b),
        Some(Any::IntValue(i)) => Value::Int(i),
        Some(Any::DoubleValue(x)) => Value::Float(x),
        Some(Any::BytesValue(b)) => {
            Value::Str(base64::engine::general_purpose::STANDARD.encode(b).into())
        }
        Some(Any::ArrayValue(array)) => Value::List(
            array
                .values
                .into_iter()
                .map(|v| value_of(v, depth + 1, limits))
                .collect::<Result<_, _>>()?,
        ),
        Some(Any::KvlistValue(list)) => {
            let mut map = Fields::with_capacity(list.values.len());
            for kv in list.values {
                let v = match kv.value {
                    Some(v) => value_of(v, depth + 1, limits)?,
                    None => Value::Null,
                };
                map.insert(kv.key, v);
            }
            Value::Map(map)
        }
    })
}

fn take_str(fields: &mut Fields, key: &str) -> Option<CompactString> {
    match fields.get(key)? {
        Value::Str(_) => match fields.remove(key) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

/// Takes an integer attribute that fits `T`; any other value stays a field.
fn take_int<T: TryFrom<i64>>(fields: &mut Fields, key: &str) -> Option<T> {
    let n = T::try_from(fields.get(key)?.as_i64()?).ok()?;
    fields.remove(key);
    Some(n)
}

/// Puts a record attribute the `otel` profile writes for a part of the
/// record (`code.file.path` → `file`, ...) into that part; gives the value
/// back when the key is no such attribute or the value is not of the
/// part's type (it stays a field then).
fn into_part(
    record: &mut Record,
    levelno: &mut Option<i32>,
    key: &str,
    value: Value,
) -> Option<Value> {
    match (key, value) {
        ("code.file.path" | "code.filepath", Value::Str(s)) => record.file = Some(s),
        ("code.function.name" | "code.function", Value::Str(s)) => record.func = Some(s),
        ("code.namespace", Value::Str(s)) => record.module = Some(s),
        ("thread.name", Value::Str(s)) => record.thread = Some(s),
        ("exception.stacktrace", Value::Str(s)) => record.exc = Some(s),
        ("code.stacktrace", Value::Str(s)) => record.stack = Some(s),
        ("code.line.number" | "code.lineno", Value::Int(i)) if u32::try_from(i).is_ok() => {
            record.line = u32::try_from(i).ok();
        }
        ("thread.id", Value::Int(i)) if i >= 0 => record.tid = u64::try_from(i).ok(),
        ("log.record.seq", Value::Int(i)) if i >= 0 => record.seq = u64::try_from(i).ok(),
        ("log.record.levelno", Value::Int(i)) if i32::try_from(i).is_ok() => {
            *levelno = i32::try_from(i).ok();
        }
        (_, value) => return Some(value),
    }
    None
}
