//! OpenTelemetry logs in: an OTLP `ExportLogsServiceRequest`, protobuf or
//! OTLP/JSON, decoded into [`Record`]s.
//!
//! What an OpenTelemetry SDK's OTLP/HTTP log exporter posts to `/v1/logs`
//! (<https://opentelemetry.io/docs/specs/otlp/#otlphttp>). Decoding goes in
//! three steps:
//! 1. a census walks the body without allocating and refuses it when it
//!    holds more records or nested values than [`DecodeLimits`] allow, so a
//!    small body cannot decode into gigabytes;
//! 2. prost (protobuf) or serde_json (OTLP/JSON) decodes the messages;
//! 3. each log record is mapped to a [`Record`] (the table is in
//!    `docs/contracts.md`): severity → level (the reverse of the `otel`
//!    JSON profile's mapping), body → `msg`, time → `ts`, scope name →
//!    logger, resource `host.name` / `process.pid` → `host` / `pid`,
//!    attributes → fields, trace and span ids → the fields `trace_id` and
//!    `span_id` in hex. A record whose values nest deeper than
//!    [`DecodeLimits::max_depth`] is rejected alone and counted in
//!    [`Decoded::rejected`]; the others are kept.
//!
//! ```
//! use tributary_core::otlp::{DecodeLimits, Encoding, decode};
//! let body = br#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}}]},
//!   "scopeLogs":[{"scope":{"name":"shop.cart"},"logRecords":[{"timeUnixNano":"1700000000000000000",
//!   "severityNumber":13,"severityText":"WARN","body":{"stringValue":"cart is full"},
//!   "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"}]}]}]}"#;
//! let decoded = decode(body, Encoding::Json, &DecodeLimits::default()).unwrap();
//! let record = &decoded.records[0];
//! assert_eq!((record.level.name(), record.logger.as_str(), record.msg.as_str()), ("WARNING", "shop.cart", "cart is full"));
//! assert_eq!(record.fields.get("trace_id").and_then(|v| v.as_str()), Some("5b8efff798038103d269b633813fc60c"));
//! assert_eq!(record.fields.get("service.name").and_then(|v| v.as_str()), Some("shop"));
//! ```

mod census;
mod error;
mod json;
mod mapping;
pub mod messages;
mod response;
mod severity;

pub use error::OtlpError;
pub use mapping::{DEFAULT_LOGGER, SPAN_ID_FIELD, TRACE_FLAGS_FIELD, TRACE_ID_FIELD};
pub use response::{
    CODE_INVALID_ARGUMENT, CODE_RESOURCE_EXHAUSTED, CODE_UNAVAILABLE, encode_response,
    encode_status,
};
pub use severity::{level_of_severity, levelno_of_severity};

use crate::{Record, Timestamp};
use messages::ExportLogsServiceRequest;
use prost::Message;

/// The two encodings of OTLP/HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// `application/x-protobuf`: binary protobuf.
    Protobuf,
    /// `application/json`: OTLP/JSON.
    Json,
}

impl Encoding {
    /// The encoding a `Content-Type` names, parameters (`; charset=utf-8`)
    /// and case ignored; `None` for any other media type.
    pub fn from_content_type(content_type: &str) -> Option<Encoding> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case("application/x-protobuf")
            || media.eq_ignore_ascii_case("application/protobuf")
        {
            Some(Encoding::Protobuf)
        } else if media.eq_ignore_ascii_case("application/json") {
            Some(Encoding::Json)
        } else {
            None
        }
    }

    /// The `Content-Type` of an answer in this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// Bounds on one request, checked before it is decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Log records in one request. OpenTelemetry SDKs export batches of 512
    /// by default; collectors forward a few thousand.
    pub max_records: usize,
    /// Nested values in one request: protobuf messages, or JSON objects
    /// and arrays. Each costs up to a few hundred bytes decoded.
    pub max_values: usize,
    /// Nesting of one attribute's or body's value (an array in an array is
    /// depth 2). A record past it is rejected alone.
    pub max_depth: usize,
}

impl Default for DecodeLimits {
    /// 65,536 records, 524,288 nested values, depth 16.
    fn default() -> Self {
        DecodeLimits {
            max_records: 65_536,
            max_values: 524_288,
            max_depth: 16,
        }
    }
}

/// The records of one request, and how many were rejected.
#[derive(Debug, Default)]
pub struct Decoded {
    /// The records, in request order.
    pub records: Vec<Record>,
    /// How many log records were rejected (their values nested too deep).
    pub rejected: usize,
    /// Why the first rejected record was rejected.
    pub rejection: Option<OtlpError>,
}

impl Decoded {
    fn reject(&mut self, count: usize, why: OtlpError) {
        if count == 0 {
            return;
        }
        self.rejected += count;
        self.rejection.get_or_insert(why);
    }
}

/// Decodes an `ExportLogsServiceRequest` in `encoding`. An error means the
/// whole body was refused; records refused alone are in [`Decoded::rejected`].
pub fn decode(
    body: &[u8],
    encoding: Encoding,
    limits: &DecodeLimits,
) -> Result<Decoded, OtlpError> {
    let (census, request) = match encoding {
        Encoding::Protobuf => (
            census::protobuf(body, limits)?,
            ExportLogsServiceRequest::decode(body)
                .map_err(|e| OtlpError::Protobuf(e.to_string()))?,
        ),
        Encoding::Json => (
            census::json(body, limits)?,
            serde_json::from_slice(body).map_err(|e| OtlpError::Json(e.to_string()))?,
        ),
    };
    let mut decoded = Decoded {
        // The census counted them: no regrowth (and copying) of the records.
        records: Vec::with_capacity(census.records),
        ..Decoded::default()
    };
    mapping::map_request(request, limits, Timestamp::now(), &mut decoded);
    Ok(decoded)
}

#[cfg(test)]
mod tests;
