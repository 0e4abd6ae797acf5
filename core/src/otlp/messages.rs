//! The OTLP logs messages, declared by hand from the OpenTelemetry protocol's
//! `.proto` files (`opentelemetry/proto/collector/logs/v1/logs_service.proto`,
//! `logs/v1/logs.proto`, `common/v1/common.proto`, `resource/v1/resource.proto`,
//! <https://github.com/open-telemetry/opentelemetry-proto>).
//!
//! Declaring the dozen messages here, with prost's derive, needs neither
//! `protoc` nor the `opentelemetry-proto` crate, whose `logs` feature pulls
//! the whole OpenTelemetry SDK. The same types deserialize from OTLP/JSON
//! (lowerCamelCase keys, hex ids, 64-bit integers as strings or numbers,
//! `null` as the default; the helpers are in the `otlp::json` module). Fields this
//! decoder has no use for (`schema_url`, entity references) are left out:
//! both decoders skip what they do not know, as the protocol requires.

use super::json;
use serde::Deserialize;

/// `ExportLogsServiceRequest`: what an OTLP log exporter posts to `/v1/logs`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExportLogsServiceRequest {
    /// The records, grouped by the resource (process, host, service) that made them.
    #[prost(message, repeated, tag = "1")]
    #[serde(deserialize_with = "json::nullable")]
    pub resource_logs: Vec<ResourceLogs>,
}

/// `ResourceLogs`: the records of one resource.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResourceLogs {
    /// The resource; absent means unknown.
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    /// The records, grouped by instrumentation scope.
    #[prost(message, repeated, tag = "2")]
    #[serde(deserialize_with = "json::nullable")]
    pub scope_logs: Vec<ScopeLogs>,
}

/// `Resource`: the entity producing telemetry, as attributes
/// (`service.name`, `host.name`, `process.pid`, ...).
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Resource {
    /// The resource's attributes.
    #[prost(message, repeated, tag = "1")]
    #[serde(deserialize_with = "json::nullable")]
    pub attributes: Vec<KeyValue>,
    /// How many attributes the producer dropped.
    #[prost(uint32, tag = "2")]
    #[serde(deserialize_with = "json::uint32")]
    pub dropped_attributes_count: u32,
}

/// `ScopeLogs`: the records of one instrumentation scope (a logger).
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScopeLogs {
    /// The scope; absent means unknown.
    #[prost(message, optional, tag = "1")]
    pub scope: Option<InstrumentationScope>,
    /// The records.
    #[prost(message, repeated, tag = "2")]
    #[serde(deserialize_with = "json::nullable")]
    pub log_records: Vec<LogRecord>,
}

/// `InstrumentationScope`: the library or logger that emitted the records.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InstrumentationScope {
    /// The scope's name: a Python SDK sends the logger's name.
    #[prost(string, tag = "1")]
    #[serde(deserialize_with = "json::nullable")]
    pub name: String,
    /// The scope's version.
    #[prost(string, tag = "2")]
    #[serde(deserialize_with = "json::nullable")]
    pub version: String,
    /// The scope's attributes.
    #[prost(message, repeated, tag = "3")]
    #[serde(deserialize_with = "json::nullable")]
    pub attributes: Vec<KeyValue>,
    /// How many attributes the producer dropped.
    #[prost(uint32, tag = "4")]
    #[serde(deserialize_with = "json::uint32")]
    pub dropped_attributes_count: u32,
}

/// `LogRecord`: one log record.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LogRecord {
    /// When the event happened, in nanoseconds since the epoch; 0 = unknown.
    #[prost(fixed64, tag = "1")]
    #[serde(deserialize_with = "json::uint64")]
    pub time_unix_nano: u64,
    /// When the record was observed by the collection system; 0 = unknown.
    #[prost(fixed64, tag = "11")]
    #[serde(deserialize_with = "json::uint64")]
    pub observed_time_unix_nano: u64,
    /// `SeverityNumber`: 0 unspecified, 1-4 TRACE .. 21-24 FATAL.
    #[prost(int32, tag = "2")]
    #[serde(deserialize_with = "json::severity_number")]
    pub severity_number: i32,
    /// The severity as the source named it (`WARN`, `NOTICE`, ...).
    #[prost(string, tag = "3")]
    #[serde(deserialize_with = "json::nullable")]
    pub severity_text: String,
    /// The message: usually a string, possibly any value.
    #[prost(message, optional, tag = "5")]
    pub body: Option<AnyValue>,
    /// The record's attributes.
    #[prost(message, repeated, tag = "6")]
    #[serde(deserialize_with = "json::nullable")]
    pub attributes: Vec<KeyValue>,
    /// How many attributes the producer dropped.
    #[prost(uint32, tag = "7")]
    #[serde(deserialize_with = "json::uint32")]
    pub dropped_attributes_count: u32,
    /// W3C trace flags (the low byte; bit 0 = sampled).
    #[prost(fixed32, tag = "8")]
    #[serde(deserialize_with = "json::uint32")]
    pub flags: u32,
    /// The trace id: 16 bytes, hex in OTLP/JSON; empty = none.
    #[prost(bytes = "vec", tag = "9")]
    #[serde(deserialize_with = "json::hex_id")]
    pub trace_id: Vec<u8>,
    /// The span id: 8 bytes, hex in OTLP/JSON; empty = none.
    #[prost(bytes = "vec", tag = "10")]
    #[serde(deserialize_with = "json::hex_id")]
    pub span_id: Vec<u8>,
    /// The event's name, for records that are events.
    #[prost(string, tag = "12")]
    #[serde(deserialize_with = "json::nullable")]
    pub event_name: String,
}

/// `KeyValue`: one attribute.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KeyValue {
    /// The attribute's name.
    #[prost(string, tag = "1")]
    #[serde(deserialize_with = "json::nullable")]
    pub key: String,
    /// Its value; absent means empty.
    #[prost(message, optional, tag = "2")]
    pub value: Option<AnyValue>,
}

/// `AnyValue`: a string, bool, integer, double, bytes, array or map.
/// Its OTLP/JSON form (`{"stringValue": "x"}`, ...) is read by hand in
/// the `otlp::json` module.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AnyValue {
    /// Which value; `None` is the empty value.
    #[prost(oneof = "any_value::Value", tags = "1, 2, 3, 4, 5, 6, 7")]
    pub value: Option<any_value::Value>,
}

/// The variants of [`AnyValue`].
pub mod any_value {
    /// One of the kinds an [`AnyValue`](super::AnyValue) holds.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        /// A UTF-8 string.
        #[prost(string, tag = "1")]
        StringValue(String),
        /// A boolean.
        #[prost(bool, tag = "2")]
        BoolValue(bool),
        /// A signed 64-bit integer.
        #[prost(int64, tag = "3")]
        IntValue(i64),
        /// A double.
        #[prost(double, tag = "4")]
        DoubleValue(f64),
        /// A list of values.
        #[prost(message, tag = "5")]
        ArrayValue(super::ArrayValue),
        /// A map of values.
        #[prost(message, tag = "6")]
        KvlistValue(super::KeyValueList),
        /// Raw bytes (base64 in OTLP/JSON).
        #[prost(bytes = "vec", tag = "7")]
        BytesValue(Vec<u8>),
    }
}

/// `ArrayValue`: a list of values.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ArrayValue {
    /// The values.
    #[prost(message, repeated, tag = "1")]
    #[serde(deserialize_with = "json::nullable")]
    pub values: Vec<AnyValue>,
}

/// `KeyValueList`: a map of values (keys need not be unique on the wire).
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KeyValueList {
    /// The entries.
    #[prost(message, repeated, tag = "1")]
    #[serde(deserialize_with = "json::nullable")]
    pub values: Vec<KeyValue>,
}

/// `ExportLogsServiceResponse`: the answer to an export; empty on full success.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExportLogsServiceResponse {
    /// Set when the server accepted only part of the request.
    #[prost(message, optional, tag = "1")]
    pub partial_success: Option<ExportLogsPartialSuccess>,
}

/// `ExportLogsPartialSuccess`: how many records were refused, and why.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExportLogsPartialSuccess {
    /// The number of records refused.
    #[prost(int64, tag = "1")]
    pub rejected_log_records: i64,
    /// Why, for the producer's operator.
    #[prost(string, tag = "2")]
    pub error_message: String,
}

/// `google.rpc.Status`: the body of an OTLP/HTTP error answer (4xx, 5xx).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Status {
    /// A `google.rpc.Code` (3 = INVALID_ARGUMENT, 8 = RESOURCE_EXHAUSTED, 14 = UNAVAILABLE).
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// What went wrong, for the producer's operator.
    #[prost(string, tag = "2")]
    pub message: String,
}
