//! Counting a request before decoding it, so memory stays bounded.
//!
//! A few bytes on the wire can become a few hundred in memory (an empty
//! protobuf message is 2 bytes; decoded it is a struct and a vector slot),
//! so a body within the size bound could still decode into gigabytes. The
//! census walks the body without allocating, counts its records and nested
//! values (protobuf messages, JSON objects and arrays), checks nesting, and
//! refuses the body before anything is decoded when a count passes the
//! [`DecodeLimits`].

use super::{DecodeLimits, OtlpError};

/// Messages nested deeper than this are refused by the census; prost's own
/// recursion limit (100) would refuse them anyway, with a vaguer error.
pub(crate) const MAX_MESSAGE_DEPTH: usize = 96;

/// The message types the census knows, to find records and nested values.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Request,
    ResourceLogs,
    Resource,
    ScopeLogs,
    Scope,
    LogRecord,
    KeyValue,
    AnyValue,
    ArrayValue,
    KeyValueList,
}

impl Kind {
    /// The message type of field `field` of this message, if it is one.
    fn child(self, field: u64) -> Option<Kind> {
        use Kind::*;
        Some(match (self, field) {
            (Request, 1) => ResourceLogs,
            (ResourceLogs, 1) => Resource,
            (ResourceLogs, 2) => ScopeLogs,
            (Resource, 1) | (Scope, 3) | (LogRecord, 6) | (KeyValueList, 1) => KeyValue,
            (ScopeLogs, 1) => Scope,
            (ScopeLogs, 2) => LogRecord,
            (LogRecord, 5) | (KeyValue, 2) | (ArrayValue, 1) => AnyValue,
            (AnyValue, 5) => ArrayValue,
            (AnyValue, 6) => KeyValueList,
            _ => return None,
        })
    }
}

/// What a census found.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Census {
    /// Log records.
    pub records: usize,
    /// Nested values: protobuf messages, or JSON objects and arrays.
    pub values: usize,
}

impl Census {
    fn count(&mut self, is_record: bool, limits: &DecodeLimits) -> Result<(), OtlpError> {
        self.values += 1;
        if self.values > limits.max_values {
            return Err(OtlpError::TooManyValues {
                limit: limits.max_values,
            });
        }
        if is_record {
            self.records += 1;
            if self.records > limits.max_records {
                return Err(OtlpError::TooManyRecords {
                    limit: limits.max_records,
                });
            }
        }
        Ok(())
    }
}

/// Counts a protobuf `ExportLogsServiceRequest`, checking its wire format.
pub(crate) fn protobuf(body: &[u8], limits: &DecodeLimits) -> Result<Census, OtlpError> {
    let mut census = Census::default();
    walk(body, Kind::Request, 0, &mut census, limits)?;
    Ok(census)
}

fn walk(
    mut buf: &[u8],
    kind: Kind,
    depth: usize,
    census: &mut Census,
    limits: &DecodeLimits,
) -> Result<(), OtlpError> {
    while !buf.is_empty() {
        let key = varint(&mut buf)?;
        let field = key >> 3;
        match key & 7 {
            0 => {
                varint(&mut buf)?;
            }
            1 => buf = skip(buf, 8)?,
            5 => buf = skip(buf, 4)?,
            2 => {
                let len = usize::try_from(varint(&mut buf)?).map_err(|_| truncated())?;
                if len > buf.len() {
                    return Err(truncated());
                }
                let (inner, rest) = buf.split_at(len);
                buf = rest;
                if let Some(child) = kind.child(field) {
                    if depth + 1 > MAX_MESSAGE_DEPTH {
                        return Err(OtlpError::TooDeep {
                            limit: MAX_MESSAGE_DEPTH,
                            unit: "protobuf messages",
                        });
                    }
                    census.count(child == Kind::LogRecord, limits)?;
                    walk(inner, child, depth + 1, census, limits)?;
                }
            }
            wire => {
                return Err(OtlpError::Protobuf(format!(
                    "field {field} has wire type {wire}, which OTLP never uses (groups are not supported)"
                )));
            }
        }
    }
    Ok(())
}

fn truncated() -> OtlpError {
    OtlpError::Protobuf("a length or value runs past the end of the body".into())
}

fn skip(buf: &[u8], n: usize) -> Result<&[u8], OtlpError> {
    buf.get(n..).ok_or_else(truncated)
}

fn varint(buf: &mut &[u8]) -> Result<u64, OtlpError> {
    let mut value = 0u64;
    for (i, &byte) in buf.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *buf = &buf[i + 1..];
            return Ok(value);
        }
    }
    Err(OtlpError::Protobuf(
        "a varint is longer than 10 bytes or cut off by the end of the body".into(),
    ))
}

/// Counts an OTLP/JSON body: objects and arrays as values, and the
/// objects directly inside a `"logRecords"` array as records. A byte scan
/// (strings skipped, escapes honoured), a fraction of a parse: it checks
/// nothing but the counts, serde_json refuses what is not JSON, and nesting
/// deeper than 128, when it decodes.
pub(crate) fn json(body: &[u8], limits: &DecodeLimits) -> Result<Census, OtlpError> {
    let mut census = Census::default();
    let mut depth = 0usize;
    // The depth of the open `logRecords` array, whose objects are records.
    let mut records_at: Option<usize> = None;
    // The last string closed was the key `logRecords`, and only white
    // space and a colon came after it.
    let mut after_key = false;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'"' => {
                let start = i + 1;
                i = start;
                while i < body.len() && body[i] != b'"' {
                    i += if body[i] == b'\\' { 2 } else { 1 };
                }
                after_key = body.get(start..i) == Some(b"logRecords".as_slice());
            }
            b'{' | b'[' => {
                depth += 1;
                let is_record = body[i] == b'{' && records_at == Some(depth - 1);
                if body[i] == b'[' && after_key {
                    records_at = Some(depth);
                }
                census.count(is_record, limits)?;
                after_key = false;
            }
            b'}' | b']' => {
                if records_at == Some(depth) {
                    records_at = None;
                }
                depth = depth.saturating_sub(1);
                after_key = false;
            }
            b':' | b' ' | b'\n' | b'\r' | b'\t' => {}
            _ => after_key = false,
        }
        i += 1;
    }
    Ok(census)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_counts_records_and_values() {
        let body = br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"a"}},{}]}]}]}"#;
        let census = json(body, &DecodeLimits::default()).expect("valid");
        // root, resourceLogs[], {}, scopeLogs[], {}, logRecords[], 2 records, 1 body
        assert_eq!(
            census,
            Census {
                records: 2,
                values: 9
            }
        );
        let limits = DecodeLimits {
            max_records: 1,
            ..DecodeLimits::default()
        };
        assert!(matches!(
            json(body, &limits),
            Err(OtlpError::TooManyRecords { limit: 1 })
        ));
        let limits = DecodeLimits {
            max_values: 5,
            ..DecodeLimits::default()
        };
        assert!(matches!(
            json(body, &limits),
            Err(OtlpError::TooManyValues { limit: 5 })
        ));
    }

    #[test]
    fn json_scan_skips_strings_and_finds_only_the_log_records_key() {
        // Brackets and quotes inside strings (escaped ones too) are text;
        // "logRecords" as a value opens nothing.
        let body = br#"{"resourceLogs":[{"scopeLogs":[{"scope":{"name":"a \"{[ logRecords"},
            "logRecords" : [{"body":{"stringValue":"logRecords"}}, {"attributes":[{"key":"[{"}]}]}]}]}"#;
        let census = json(body, &DecodeLimits::default()).expect("valid");
        assert_eq!(census.records, 2);
        // root, [, {, [, {, scope{, [, {rec, body{, {rec, attributes[, {kv
        assert_eq!(census.values, 12);
        let odd = br#"{"x":"logRecords","y":[{}],"logRecords":"[{"}"#;
        assert_eq!(
            json(odd, &DecodeLimits::default())
                .expect("scanned")
                .records,
            0
        );
        // Cut off inside a string or after an escape: scanned without a panic.
        assert!(json(br#"{"a":"\"#, &DecodeLimits::default()).is_ok());
    }

    #[test]
    fn protobuf_refuses_broken_wire_format() {
        let limits = DecodeLimits::default();
        // Field 1, length 5, but only 2 bytes follow.
        assert!(matches!(
            protobuf(&[0x0a, 5, 0, 0], &limits),
            Err(OtlpError::Protobuf(_))
        ));
        // A group start (wire type 3).
        assert!(matches!(
            protobuf(&[0x0b], &limits),
            Err(OtlpError::Protobuf(_))
        ));
        // A varint that never ends.
        assert!(matches!(
            protobuf(&[0x08, 0xff, 0xff], &limits),
            Err(OtlpError::Protobuf(_))
        ));
        assert_eq!(
            protobuf(&[], &limits).expect("empty request"),
            Census::default()
        );
    }
}
