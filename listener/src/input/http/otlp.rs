//! `POST /v1/logs`: OpenTelemetry OTLP/HTTP logs
//! (<https://opentelemetry.io/docs/specs/otlp/#otlphttp>), what an
//! OpenTelemetry SDK's OTLP/HTTP log exporter sends.
//!
//! The body (`application/x-protobuf` or `application/json`, gzip or not)
//! is read with the same bound as `/log`, decoded whole by core's
//! [`otlp`](tributary_core::otlp) decoder, and its records go through the
//! same "accepted → answer" path, with the same `?ack=` and `?partial=`.
//! The answers speak OTLP, in the request's encoding: 200 with an
//! `ExportLogsServiceResponse` (its `partial_success` counting the records
//! left out under `partial=true`), and for errors a `google.rpc.Status`
//! under the same statuses as `/log` (400, 413, 503 with `Retry-After`,
//! which OTLP exporters retry).

use super::HttpInput;
use super::answer::Refusal;
use super::body;
use super::log::params;
use super::submit::{queue_records, refuse};
use crate::diag::http::RefusalKind;
use axum::body::Body;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use tributary_core::otlp::{
    self, CODE_INVALID_ARGUMENT, CODE_RESOURCE_EXHAUSTED, CODE_UNAVAILABLE, DecodeLimits, Encoding,
};

/// `POST /v1/logs`.
pub(crate) async fn post(
    State(input): State<Arc<HttpInput>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(encoding) = Encoding::from_content_type(content_type) else {
        // No encoding to answer in: plain text, like `/log`'s refusals.
        let refusal = Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "content type {content_type:?} is not one /v1/logs takes (application/x-protobuf or application/json)"
            ),
        );
        return refuse(&input, &peer, refusal, RefusalKind::Malformed);
    };
    let failed = |(refusal, kind): (Refusal, RefusalKind)| {
        let status = encode_status(encoding, &refusal);
        in_encoding(refuse(&input, &peer, refusal, kind), encoding, status)
    };
    let params = match params(&input, &query) {
        Ok(p) => p,
        Err(refusal) => return failed((refusal, RefusalKind::Malformed)),
    };
    let read = match body::read_request(&input, &headers, body).await {
        Ok(read) => read,
        Err(refused) => return failed(refused),
    };
    let decoded = match otlp::decode(&read.bytes, encoding, &DecodeLimits::default()) {
        Ok(decoded) => decoded,
        Err(e) => {
            let refusal = Refusal::new(StatusCode::BAD_REQUEST, e.to_string());
            return failed((refusal, RefusalKind::Malformed));
        }
    };
    // The body, and its share of the body budget, are given back.
    drop(read);
    let rejected = decoded.rejected;
    let reason = decoded
        .rejection
        .map(|why| {
            format!(
                "{rejected} of {} log records rejected, the first because: {why}",
                rejected + decoded.records.len()
            )
        })
        .unwrap_or_default();
    if rejected > 0 {
        if !params.partial {
            let refusal = Refusal::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "{reason}; nothing of this request was written (add ?partial=true to keep the good records)"
                ),
            );
            return failed((refusal, RefusalKind::Malformed));
        }
        for nth in 1..=u32::try_from(rejected).unwrap_or(u32::MAX) {
            input.ctx.emit(crate::diag::input::Malformed {
                peer: &peer,
                what: &reason,
                nth,
            });
        }
    }
    match queue_records(&input, peer, decoded.records, params.ack).await {
        Ok(_) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, encoding.content_type())],
            otlp::encode_response(encoding, rejected, &reason),
        )
            .into_response(),
        Err(refused) => failed(refused),
    }
}

/// The `google.rpc.Status` body of a refusal.
fn encode_status(encoding: Encoding, refusal: &Refusal) -> Vec<u8> {
    let code = match refusal.status {
        StatusCode::TOO_MANY_REQUESTS => CODE_RESOURCE_EXHAUSTED,
        StatusCode::SERVICE_UNAVAILABLE => CODE_UNAVAILABLE,
        _ => CODE_INVALID_ARGUMENT,
    };
    otlp::encode_status(encoding, code, &refusal.reason)
}

/// `response` (a refusal, with its status and headers such as
/// `Retry-After`) with `status` as its body, in `encoding`.
fn in_encoding(mut response: Response, encoding: Encoding, status: Vec<u8>) -> Response {
    *response.body_mut() = Body::from(status);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(encoding.content_type()),
    );
    response
}
