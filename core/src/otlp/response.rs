//! The answers to an export, in the request's encoding: an
//! `ExportLogsServiceResponse` on success, a `google.rpc.Status` on failure
//! (<https://opentelemetry.io/docs/specs/otlp/#failures-1>).

use super::Encoding;
use super::messages::{ExportLogsPartialSuccess, ExportLogsServiceResponse, Status};
use prost::Message;

/// The body of a successful answer: empty when every record was accepted,
/// otherwise `partial_success` with the number rejected and why.
pub fn encode_response(encoding: Encoding, rejected: usize, error_message: &str) -> Vec<u8> {
    let rejected = i64::try_from(rejected).unwrap_or(i64::MAX);
    match encoding {
        Encoding::Protobuf => ExportLogsServiceResponse {
            partial_success: (rejected > 0 || !error_message.is_empty()).then(|| {
                ExportLogsPartialSuccess {
                    rejected_log_records: rejected,
                    error_message: error_message.to_owned(),
                }
            }),
        }
        .encode_to_vec(),
        Encoding::Json if rejected == 0 && error_message.is_empty() => b"{}".to_vec(),
        Encoding::Json => {
            // int64 is a decimal string in the Protobuf JSON mapping.
            let mut out = br#"{"partialSuccess":{"rejectedLogRecords":""#.to_vec();
            out.extend_from_slice(rejected.to_string().as_bytes());
            out.extend_from_slice(br#"","errorMessage":"#);
            crate::json::write_str(&mut out, error_message);
            out.extend_from_slice(b"}}");
            out
        }
    }
}

/// `google.rpc.Code` for a request that cannot be decoded (HTTP 400).
pub const CODE_INVALID_ARGUMENT: i32 = 3;
/// `google.rpc.Code` for a full queue (HTTP 429).
pub const CODE_RESOURCE_EXHAUSTED: i32 = 8;
/// `google.rpc.Code` for a listener that cannot take records now (HTTP 503).
pub const CODE_UNAVAILABLE: i32 = 14;

/// The body of a failed answer: a `google.rpc.Status` with `code` (one of
/// the `CODE_*` constants) and `message`.
pub fn encode_status(encoding: Encoding, code: i32, message: &str) -> Vec<u8> {
    match encoding {
        Encoding::Protobuf => Status {
            code,
            message: message.to_owned(),
        }
        .encode_to_vec(),
        Encoding::Json => {
            let mut out = br#"{"code":"#.to_vec();
            out.extend_from_slice(code.to_string().as_bytes());
            out.extend_from_slice(br#","message":"#);
            crate::json::write_str(&mut out, message);
            out.push(b'}');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_on_success_partial_success_otherwise() {
        assert!(encode_response(Encoding::Protobuf, 0, "").is_empty());
        assert_eq!(encode_response(Encoding::Json, 0, ""), b"{}");
        let body = encode_response(Encoding::Protobuf, 2, "too deep");
        let decoded = ExportLogsServiceResponse::decode(body.as_slice()).expect("valid response");
        let partial = decoded.partial_success.expect("partial success");
        assert_eq!(
            (partial.rejected_log_records, partial.error_message.as_str()),
            (2, "too deep")
        );
        let json: serde_json::Value =
            serde_json::from_slice(&encode_response(Encoding::Json, 2, "too \"deep\""))
                .expect("JSON");
        assert_eq!(json["partialSuccess"]["rejectedLogRecords"], "2");
        assert_eq!(json["partialSuccess"]["errorMessage"], "too \"deep\"");
    }

    #[test]
    fn status_in_both_encodings() {
        let body = encode_status(Encoding::Protobuf, CODE_INVALID_ARGUMENT, "bad body");
        let status = Status::decode(body.as_slice()).expect("valid status");
        assert_eq!((status.code, status.message.as_str()), (3, "bad body"));
        let json: serde_json::Value =
            serde_json::from_slice(&encode_status(Encoding::Json, CODE_UNAVAILABLE, "full"))
                .expect("JSON");
        assert_eq!(json, serde_json::json!({"code": 14, "message": "full"}));
    }
}
