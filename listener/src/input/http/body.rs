//! Reading a request body: streamed, bounded before and after gzip, and
//! cut off when it does not arrive in time.

use super::HttpInput;
use super::answer::Refusal;
use super::content;
use crate::diag::http::RefusalKind;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use http_body_util::BodyExt;
use std::io::Write;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::time::Instant;

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    /// Past the bound (raw or inflated).
    #[error("the body is larger than {max} bytes{after} (http-max-body)")]
    TooLarge { max: usize, after: &'static str },
    /// Not valid gzip.
    #[error("malformed gzip body: {0}")]
    Gzip(std::io::Error),
    /// The body did not complete in time.
    #[error("the body did not complete within {0:.1}s (frame-timeout)")]
    TimedOut(f64),
    /// The connection broke.
    #[error("the body could not be read: {0}")]
    Read(String),
}

/// A writer that refuses to grow past `max` bytes: the inflated body.
struct Bounded {
    bytes: Vec<u8>,
    max: usize,
}

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > self.max {
            return Err(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                "inflated past the bound",
            ));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What was read: the (inflated) bytes, and how many came over the wire.
pub(crate) struct ReadBody {
    pub(crate) bytes: Vec<u8>,
    pub(crate) wire_bytes: usize,
}

/// Reads `body` whole, never holding more than `max` bytes of it (nor of
/// its inflated form when `gzip`), within `limit` when given.
pub(crate) async fn read(
    body: Body,
    gzip: bool,
    max: usize,
    limit: Option<Duration>,
) -> Result<ReadBody, BodyError> {
    let deadline = limit.map(|l| (Instant::now() + l, l));
    let mut body = body;
    let mut wire_bytes = 0usize;
    let mut plain = Vec::new();
    let mut inflater = gzip.then(|| {
        flate2::write::MultiGzDecoder::new(Bounded {
            bytes: Vec::new(),
            max,
        })
    });
    loop {
        let next = body.frame();
        let frame = match deadline {
            Some((at, l)) => tokio::time::timeout_at(at, next)
                .await
                .map_err(|_| BodyError::TimedOut(l.as_secs_f64()))?,
            None => next.await,
        };
        let Some(frame) = frame else { break };
        let frame = frame.map_err(|e| BodyError::Read(e.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        wire_bytes += data.len();
        if wire_bytes > max {
            return Err(BodyError::TooLarge { max, after: "" });
        }
        match &mut inflater {
            Some(inflater) => inflater.write_all(&data).map_err(inflate_error(max))?,
            None => plain.extend_from_slice(&data),
        }
    }
    let bytes = match inflater {
        Some(inflater) => inflater.finish().map_err(inflate_error(max))?.bytes,
        None => plain,
    };
    Ok(ReadBody { bytes, wire_bytes })
}

fn inflate_error(max: usize) -> impl Fn(std::io::Error) -> BodyError {
    move |e| {
        if e.kind() == std::io::ErrorKind::FileTooLarge {
            BodyError::TooLarge {
                max,
                after: " once inflated",
            }
        } else {
            BodyError::Gzip(e)
        }
    }
}

/// Reads a POSTed body as every route does: `Content-Encoding` gzip or none
/// (415 otherwise), a declared length past `--http-max-body` refused before
/// a byte is read (413), then [`read`] (413 past the bound, 408 too slow, 400
/// for broken gzip); the bytes that came over the wire are counted.
pub(crate) async fn read_request(
    input: &HttpInput,
    headers: &HeaderMap,
    body: Body,
) -> Result<Vec<u8>, (Refusal, RefusalKind)> {
    let bad =
        |status: StatusCode, reason: String| (Refusal::new(status, reason), RefusalKind::Malformed);
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let gzip = content::is_gzip(text(header::CONTENT_ENCODING)).ok_or_else(|| {
        bad(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content encoding not taken: send gzip or no Content-Encoding".to_owned(),
        )
    })?;
    // A declared length past the bound is refused before a byte is read.
    if let Some(len) = text(header::CONTENT_LENGTH).and_then(|l| l.parse::<u64>().ok())
        && len > input.settings.max_body as u64
    {
        return Err(bad(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the body of {len} bytes is larger than {} bytes (http-max-body)",
                input.settings.max_body
            ),
        ));
    }
    let read = read(body, gzip, input.settings.max_body, input.ctx.frame_timeout)
        .await
        .map_err(|e| {
            let status = match e {
                BodyError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                BodyError::TimedOut(_) => StatusCode::REQUEST_TIMEOUT,
                BodyError::Gzip(_) | BodyError::Read(_) => StatusCode::BAD_REQUEST,
            };
            let kind = match e {
                BodyError::TimedOut(_) => RefusalKind::TimedOut,
                _ => RefusalKind::Malformed,
            };
            (Refusal::new(status, e.to_string()), kind)
        })?;
    input
        .ctx
        .counters
        .bytes
        .fetch_add(read.wire_bytes as u64, Relaxed);
    Ok(read.bytes)
}
