//! Answers: what a client is told, with its status. Errors say why in
//! plain text; a success says how many records were accepted.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Seconds a client told the queue is full should wait.
pub(crate) const RETRY_AFTER_SECS: u32 = 1;

/// A refused request: its status and reason.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) reason: String,
}

impl Refusal {
    pub(crate) fn new(status: StatusCode, reason: impl Into<String>) -> Refusal {
        Refusal {
            status,
            reason: reason.into(),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = (self.status, format!("{}\n", self.reason)).into_response();
        let headers = response.headers_mut();
        match self.status {
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
            }
            StatusCode::UNAUTHORIZED => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"tributary\", charset=\"UTF-8\""),
                );
            }
            // The rest of the body was not read: the connection cannot
            // carry another request.
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response
    }
}

/// Records accepted: `{"accepted":N}`, and with `partial=true` the
/// records skipped and the first reasons.
pub(crate) fn accepted(records: usize, skipped: &[String], skipped_total: usize) -> Response {
    let body = if skipped_total == 0 {
        format!("{{\"accepted\":{records}}}\n")
    } else {
        let reasons = serde_json::to_string(skipped).unwrap_or_else(|_| "[]".to_owned());
        format!("{{\"accepted\":{records},\"skipped\":{skipped_total},\"errors\":{reasons}}}\n")
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}
