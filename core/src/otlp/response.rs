//! The answer to an export: `ExportLogsServiceResponse`, in the request's encoding.

use super::Encoding;
use super::messages::{ExportLogsPartialSuccess, ExportLogsServiceResponse};
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
}
