//! `/log`: Python's `HTTPHandler` (GET with the record in the query
//! string, POST of a urlencoded form), and POSTed NDJSON, JSON text
//! sequences or JSON arrays of records, gzip or not.

use super::answer::Refusal;
use super::body;
use super::content::{self, BodyKind};
use super::sink::RecordSink;
use super::submit::{refuse, submit};
use super::{HttpInput, array};
use crate::diag::http::RefusalKind;
use crate::settings::HttpAck;
use axum::body::Body;
use axum::extract::{ConnectInfo, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use tributary_core::Record;

/// Reasons kept for the answer of a `partial=true` request.
const REASONS_SHOWN: usize = 5;

/// `GET /log?<record>`: the query string is the record.
pub(crate) async fn get(
    State(input): State<Arc<HttpInput>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
) -> Response {
    let form = query.unwrap_or_default();
    input
        .ctx
        .counters
        .bytes
        .fetch_add(form.len() as u64, Relaxed);
    let mut sink = RecordSink::new(&input, peer, form.len());
    let mut record = Record::empty();
    if let Err(e) = tributary_core::form::decode_form_record(form.as_bytes(), &mut record) {
        let refusal = Refusal::new(StatusCode::BAD_REQUEST, format!("bad record: {e}"));
        return refuse(&input, &peer, refusal, RefusalKind::Malformed);
    }
    sink.push(&mut record);
    submit(&input, sink, input.settings.default_ack, (&[], 0)).await
}

/// The query parameters of `POST /log` (and `/v1/logs`): `ack=` and `partial=`.
pub(crate) struct Params {
    pub(crate) ack: HttpAck,
    pub(crate) partial: bool,
}

/// Reads `ack=` and `partial=`, the input's defaults where absent.
pub(crate) fn params(input: &HttpInput, query: &[(String, String)]) -> Result<Params, Refusal> {
    let mut p = Params {
        ack: input.settings.default_ack,
        partial: false,
    };
    for (key, value) in query {
        match key.as_str() {
            "ack" => {
                p.ack = value
                    .parse()
                    .map_err(|e: String| Refusal::new(StatusCode::BAD_REQUEST, e))?;
            }
            "partial" => {
                p.partial = match value.as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    other => {
                        return Err(Refusal::new(
                            StatusCode::BAD_REQUEST,
                            format!("partial={other}: expected true or false"),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(p)
}

/// `POST /log`.
pub(crate) async fn post(
    State(input): State<Arc<HttpInput>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match read_and_decode(&input, peer, &query, &headers, body).await {
        Ok((sink, ack, skipped, skipped_total)) => {
            submit(&input, sink, ack, (&skipped, skipped_total)).await
        }
        Err((refusal, kind)) => refuse(&input, &peer, refusal, kind),
    }
}

type Decoded = (RecordSink, HttpAck, Vec<String>, usize);

async fn read_and_decode(
    input: &HttpInput,
    peer: SocketAddr,
    query: &[(String, String)],
    headers: &HeaderMap,
    body: Body,
) -> Result<Decoded, (Refusal, RefusalKind)> {
    let bad =
        |status: StatusCode, reason: String| (Refusal::new(status, reason), RefusalKind::Malformed);
    let params = params(input, query).map_err(|r| (r, RefusalKind::Malformed))?;
    let read = body::read_request(input, headers, body).await?;
    // `read` keeps holding its share of the body budget while `bytes` is decoded.
    let bytes = read.bytes;
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(bad(StatusCode::BAD_REQUEST, "the body is empty".to_owned()));
    }
    let kind = content::body_kind(text(header::CONTENT_TYPE), &bytes)
        .map_err(|e| bad(StatusCode::UNSUPPORTED_MEDIA_TYPE, e))?;
    let mut sink = RecordSink::new(input, peer, bytes.len());
    let mut record = Record::empty();
    let mut skipped = Vec::new();
    let mut skipped_total = 0usize;
    let mut reject = |what: String,
                      skipped: &mut Vec<String>|
     -> Result<(), (Refusal, RefusalKind)> {
        if !params.partial {
            return Err(bad(
                StatusCode::BAD_REQUEST,
                format!(
                    "{what}; nothing of this body was written (add ?partial=true to keep the good records)"
                ),
            ));
        }
        skipped_total += 1;
        // Numbered within the body, so only its first few are described
        // (a body of a million bad lines must not log a million lines).
        input.ctx.emit(crate::diag::input::Malformed {
            peer: &peer,
            what: &what,
            nth: u32::try_from(skipped_total).unwrap_or(u32::MAX),
        });
        if skipped.len() < REASONS_SHOWN {
            skipped.push(what);
        }
        Ok(())
    };
    match kind {
        BodyKind::Form => match tributary_core::form::decode_form_record(&bytes, &mut record) {
            Ok(()) => sink.push(&mut record),
            Err(e) => reject(format!("bad record: {e}"), &mut skipped)?,
        },
        BodyKind::Lines | BodyKind::Sequence | BodyKind::Array => {
            let payloads: Vec<(usize, &[u8])> = match kind {
                BodyKind::Array => array::elements(&bytes)
                    .map_err(|e| bad(StatusCode::BAD_REQUEST, e))?
                    .into_iter()
                    .enumerate()
                    .map(|(i, p)| (i + 1, p))
                    .collect(),
                BodyKind::Sequence => split(&bytes, 0x1e),
                _ => split(&bytes, b'\n'),
            };
            let unit = match kind {
                BodyKind::Array => "element",
                BodyKind::Sequence => "record",
                _ => "line",
            };
            for (n, payload) in payloads {
                if let Err(e) = sink.push_payload(input, payload) {
                    reject(format!("{unit} {n}: {e}"), &mut skipped)?;
                }
            }
        }
    }
    Ok((sink, params.ack, skipped, skipped_total))
}

/// The non-blank pieces of `bytes` between `sep`, numbered from 1 (by
/// line for NDJSON), without their surrounding white space.
fn split(bytes: &[u8], sep: u8) -> Vec<(usize, &[u8])> {
    bytes
        .split(|b| *b == sep)
        .enumerate()
        .map(|(i, piece)| (i + 1, piece.trim_ascii()))
        .filter(|(_, piece)| !piece.is_empty())
        .collect()
}
