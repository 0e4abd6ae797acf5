//! OTLP/JSON: how the protobuf messages read from JSON, following the
//! protocol's rules (<https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding>)
//! on top of the Protobuf JSON mapping:
//! - keys are lowerCamelCase field names; unknown keys are ignored;
//! - `traceId` and `spanId` are hex strings, not base64;
//! - enums (`severityNumber`) are integers (their names are accepted too);
//! - 64-bit integers may be strings or numbers, doubles may be `"NaN"`,
//!   `"Infinity"` or `"-Infinity"`, bytes are base64;
//! - `null` stands for the field's default.

use super::messages::{AnyValue, ArrayValue, KeyValueList, any_value};
use base64::Engine;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use std::fmt;

/// Any field whose `null` means its default (`""`, `[]`, `0`).
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A `fixed64` / `uint64`: a number or a decimal string.
pub(crate) fn uint64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(Option::<Integer<u64>>::deserialize(d)?.map_or(0, |n| n.0))
}

/// A `uint32` / `fixed32`: a number or a decimal string.
pub(crate) fn uint32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    Ok(Option::<Integer<u32>>::deserialize(d)?.map_or(0, |n| n.0))
}

/// `SeverityNumber`: its number, or its name (`SEVERITY_NUMBER_WARN`).
pub(crate) fn severity_number<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    struct SeverityVisitor;
    impl<'de> Visitor<'de> for SeverityVisitor {
        type Value = i32;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a severity number (0-24) or its name")
        }
        fn visit_unit<E: de::Error>(self) -> Result<i32, E> {
            Ok(0)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i32, E> {
            i32::try_from(v).map_err(|_| E::custom(format!("severity number {v} out of range")))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i32, E> {
            i32::try_from(v).map_err(|_| E::custom(format!("severity number {v} out of range")))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<i32, E> {
            super::severity::number_of_name(v)
                .ok_or_else(|| E::custom(format!("unknown severity number name {v:?}")))
        }
    }
    d.deserialize_any(SeverityVisitor)
}

/// `traceId` / `spanId`: a hex string (any case); empty or `null` = none.
pub(crate) fn hex_id<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let Some(text) = Option::<std::borrow::Cow<'de, str>>::deserialize(d)? else {
        return Ok(Vec::new());
    };
    decode_hex(&text).ok_or_else(|| {
        de::Error::custom(format!(
            "trace or span id {text:?} is not hex (OTLP/JSON ids are hex strings, not base64)"
        ))
    })
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16);
    digits
        .chunks_exact(2)
        .map(|pair| Some((nibble(pair[0])? << 4 | nibble(pair[1])?) as u8))
        .collect()
}

/// An unsigned integer from a JSON number or a decimal string.
struct Integer<T>(T);

impl<'de, T: TryFrom<u64> + TryFrom<i64>> Deserialize<'de> for Integer<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct IntegerVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: TryFrom<u64> + TryFrom<i64>> Visitor<'de> for IntegerVisitor<T> {
            type Value = Integer<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer, as a number or a decimal string")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Integer<T>, E> {
                T::try_from(v)
                    .map(Integer)
                    .map_err(|_| E::custom(format!("integer {v} out of range")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Integer<T>, E> {
                T::try_from(v)
                    .map(Integer)
                    .map_err(|_| E::custom(format!("integer {v} out of range")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Integer<T>, E> {
                if v.fract() == 0.0 && v.abs() < 9.0e18 {
                    self.visit_i64(v as i64)
                } else {
                    Err(E::custom(format!("{v} is not an integer")))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Integer<T>, E> {
                if let Ok(n) = v.parse::<u64>() {
                    self.visit_u64(n)
                } else if let Ok(n) = v.parse::<i64>() {
                    self.visit_i64(n)
                } else {
                    Err(E::custom(format!("{v:?} is not an integer")))
                }
            }
        }
        d.deserialize_any(IntegerVisitor(std::marker::PhantomData))
    }
}

/// A double from a JSON number or `"NaN"`, `"Infinity"`, `"-Infinity"`.
struct Double(f64);

impl<'de> Deserialize<'de> for Double {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct DoubleVisitor;
        impl<'de> Visitor<'de> for DoubleVisitor {
            type Value = Double;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, \"NaN\", \"Infinity\" or \"-Infinity\"")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Double, E> {
                Ok(Double(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Double, E> {
                Ok(Double(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Double, E> {
                Ok(Double(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Double, E> {
                match v {
                    "NaN" => Ok(Double(f64::NAN)),
                    "Infinity" => Ok(Double(f64::INFINITY)),
                    "-Infinity" => Ok(Double(f64::NEG_INFINITY)),
                    _ => v
                        .parse()
                        .map(Double)
                        .map_err(|_| E::custom(format!("{v:?} is not a number"))),
                }
            }
        }
        d.deserialize_any(DoubleVisitor)
    }
}

/// Bytes from a base64 string (standard or URL-safe alphabet, padded or not).
struct Base64(Vec<u8>);

impl<'de> Deserialize<'de> for Base64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        let trimmed = text.trim_end_matches('=');
        base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(trimmed)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(trimmed))
            .map(Base64)
            .map_err(|_| de::Error::custom(format!("bytesValue {text:?} is not base64")))
    }
}

impl<'de> Deserialize<'de> for AnyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_option(AnyValueVisitor)
    }
}

struct AnyValueVisitor;

impl<'de> Visitor<'de> for AnyValueVisitor {
    type Value = AnyValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an AnyValue object such as {\"stringValue\": \"text\"}")
    }

    fn visit_none<E: de::Error>(self) -> Result<AnyValue, E> {
        Ok(AnyValue::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<AnyValue, E> {
        Ok(AnyValue::default())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<AnyValue, D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyValue, A::Error> {
        use any_value::Value;
        let mut value = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            // A `null` member is the same as an absent one.
            let next = match &*key {
                "stringValue" => map.next_value::<Option<String>>()?.map(Value::StringValue),
                "boolValue" => map.next_value::<Option<bool>>()?.map(Value::BoolValue),
                "intValue" => map
                    .next_value::<Option<SignedInteger>>()?
                    .map(|n| Value::IntValue(n.0)),
                "doubleValue" => map
                    .next_value::<Option<Double>>()?
                    .map(|n| Value::DoubleValue(n.0)),
                "arrayValue" => map
                    .next_value::<Option<ArrayValue>>()?
                    .map(Value::ArrayValue),
                "kvlistValue" => map
                    .next_value::<Option<KeyValueList>>()?
                    .map(Value::KvlistValue),
                "bytesValue" => map
                    .next_value::<Option<Base64>>()?
                    .map(|b| Value::BytesValue(b.0)),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    None
                }
            };
            if next.is_some() {
                value = next;
            }
        }
        Ok(AnyValue { value })
    }
}

/// A signed 64-bit integer from a JSON number or a decimal string.
struct SignedInteger(i64);

impl<'de> Deserialize<'de> for SignedInteger {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Integer::<i64>::deserialize(d).map(|n| SignedInteger(n.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp::messages::ExportLogsServiceRequest;

    #[test]
    fn hex_ids_any_case_and_bad_ones_named() {
        assert_eq!(decode_hex("0aFf"), Some(vec![0x0a, 0xff]));
        assert_eq!(decode_hex("0a0"), None);
        assert_eq!(decode_hex("zz"), None);
        let bad = r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"AAECAwQFBgcICQoLDA0ODw=="}]}]}]}"#;
        let err = serde_json::from_str::<ExportLogsServiceRequest>(bad)
            .expect_err("base64 id")
            .to_string();
        assert!(err.contains("not hex"), "{err}");
    }

    #[test]
    fn numbers_as_strings_nulls_and_unknown_keys() {
        let text = r#"{"resourceLogs":[{"resource":null,"scopeLogs":[{"logRecords":[
            {"timeUnixNano":"1700000000000000001","observedTimeUnixNano":5,"severityNumber":"SEVERITY_NUMBER_WARN",
             "severityText":null,"flags":"1","someFutureField":{"x":[1,2]},
             "attributes":[{"key":"i","value":{"intValue":"-9007199254740993"}},
                           {"key":"d","value":{"doubleValue":"-Infinity"}},
                           {"key":"b","value":{"bytesValue":"AQID"}},
                           {"key":"n","value":null},
                           {"key":"e","value":{}}]}]}]}]}"#;
        let request: ExportLogsServiceRequest =
            serde_json::from_str(text).expect("valid OTLP/JSON");
        let record = &request.resource_logs[0].scope_logs[0].log_records[0];
        assert_eq!(record.time_unix_nano, 1_700_000_000_000_000_001);
        assert_eq!(record.observed_time_unix_nano, 5);
        assert_eq!(record.severity_number, 13);
        assert_eq!(record.flags, 1);
        use any_value::Value;
        let values: Vec<_> = record
            .attributes
            .iter()
            .map(|kv| kv.value.clone().and_then(|v| v.value))
            .collect();
        assert_eq!(values[0], Some(Value::IntValue(-9_007_199_254_740_993)));
        assert_eq!(values[1], Some(Value::DoubleValue(f64::NEG_INFINITY)));
        assert_eq!(values[2], Some(Value::BytesValue(vec![1, 2, 3])));
        assert_eq!(values[3], None);
        assert_eq!(values[4], None);
    }
}
