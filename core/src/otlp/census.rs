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
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

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

/// Counts an OTLP/JSON body: objects and arrays as values, and the members
/// of every `logRecords` array as records. serde_json refuses nesting
/// deeper than 128 on its own.
pub(crate) fn json(body: &[u8], limits: &DecodeLimits) -> Result<Census, OtlpError> {
    let mut census = Census::default();
    let mut de = serde_json::Deserializer::from_slice(body);
    Node {
        census: &mut census,
        limits,
        records: false,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end())
    .map_err(|e| {
        // Our own refusals travel through serde as custom errors; give them back typed.
        let message = e.to_string();
        if message.starts_with(LIMIT_MARK) {
            if message.contains("records") {
                OtlpError::TooManyRecords {
                    limit: limits.max_records,
                }
            } else {
                OtlpError::TooManyValues {
                    limit: limits.max_values,
                }
            }
        } else {
            OtlpError::Json(message)
        }
    })?;
    Ok(census)
}

const LIMIT_MARK: &str = "census limit: ";

/// One JSON value; `records` says it is a member of a `logRecords` array.
struct Node<'a> {
    census: &'a mut Census,
    limits: &'a DecodeLimits,
    records: bool,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Node<'_> {
    fn count<E: de::Error>(&mut self, is_record: bool) -> Result<(), E> {
        self.census
            .count(is_record, self.limits)
            .map_err(|e| E::custom(format!("{LIMIT_MARK}{e}")))
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let members_are_records = std::mem::take(&mut self.records);
        self.count(false)?;
        loop {
            let node = Node {
                census: self.census,
                limits: self.limits,
                records: members_are_records,
            };
            if seq.next_element_seed(node)?.is_none() {
                return Ok(());
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let is_record = self.records;
        self.count(is_record)?;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let node = Node {
                census: self.census,
                limits: self.limits,
                records: key == "logRecords",
            };
            map.next_value_seed(node)?;
        }
        Ok(())
    }
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
