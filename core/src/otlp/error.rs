//! Why an OTLP request could not be decoded.

/// Why an OTLP request, or one of its records, was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OtlpError {
    /// The body is not a valid protobuf `ExportLogsServiceRequest`.
    #[error("invalid OTLP protobuf body: {0}")]
    Protobuf(String),
    /// The body is not a valid OTLP/JSON `ExportLogsServiceRequest`.
    #[error("invalid OTLP/JSON body: {0}")]
    Json(String),
    /// More records in one request than [`DecodeLimits::max_records`](super::DecodeLimits::max_records).
    #[error("more than {limit} log records in one request: export smaller batches")]
    TooManyRecords {
        /// The limit.
        limit: usize,
    },
    /// More nested values in one request than [`DecodeLimits::max_values`](super::DecodeLimits::max_values).
    #[error(
        "more than {limit} nested values (messages, objects, arrays) in one request: export smaller batches"
    )]
    TooManyValues {
        /// The limit.
        limit: usize,
    },
    /// Values nested deeper than the limit.
    #[error("values nested deeper than {limit} {unit}")]
    TooDeep {
        /// The limit.
        limit: usize,
        /// What is counted.
        unit: &'static str,
    },
}
