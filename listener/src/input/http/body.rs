//! Reading a request body: streamed, bounded before and after gzip, held
//! within the budget all HTTP bodies share, and cut off when it does not
//! arrive in time.

use super::HttpInput;
use super::answer::Refusal;
use super::content;
use crate::diag::http::RefusalKind;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use http_body_util::BodyExt;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    /// Past the bound (raw or inflated).
    #[error("the body is larger than {max} bytes{after} (http-max-body)")]
    TooLarge { max: usize, after: &'static str },
    /// The bodies being received at once hold the whole budget.
    #[error(
        "the listener holds as many request bodies as it may at once (frame-budget); send again shortly"
    )]
    Busy,
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

/// The budget of body bytes (in KiB permits) every HTTP request being
/// received shares, so many large bodies at once cannot exhaust memory.
#[derive(Clone)]
pub(crate) struct BodyBudget(Arc<Semaphore>);

impl BodyBudget {
    /// A budget of `bytes` (at least one body of `max_body` fits).
    pub(crate) fn new(bytes: usize, max_body: usize) -> BodyBudget {
        let kib = bytes
            .max(max_body)
            .div_ceil(1024)
            .min(Semaphore::MAX_PERMITS);
        BodyBudget(Arc::new(Semaphore::new(kib)))
    }
}

/// The body as it is held: at most `max` bytes, each KiB of them taken
/// from the shared budget before it is stored.
struct Bounded {
    bytes: Vec<u8>,
    max: usize,
    budget: Arc<Semaphore>,
    held: Option<OwnedSemaphorePermit>,
}

impl Bounded {
    fn held_bytes(&self) -> usize {
        self.held.as_ref().map_or(0, |p| p.num_permits() * 1024)
    }
}

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let len = self.bytes.len() + buf.len();
        if len > self.max {
            return Err(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                "past the bound",
            ));
        }
        if len > self.held_bytes() {
            let held_kib = self.held_bytes() / 1024;
            let need = len.div_ceil(1024) - held_kib;
            // In steps of 64 KiB, but never past the body's bound: the
            // budget promises room for one body of `max` bytes, and a step
            // beyond it could make such a body fail its last step.
            let more = need.max(64).min(self.max.div_ceil(1024) - held_kib);
            let more = u32::try_from(more).unwrap_or(u32::MAX);
            let Ok(permit) = self.budget.clone().try_acquire_many_owned(more) else {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::OutOfMemory,
                    "body budget spent",
                ));
            };
            match &mut self.held {
                Some(held) => held.merge(permit),
                None => self.held = Some(permit),
            }
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What was read: the (inflated) bytes, how many came over the wire, and
/// the share of the budget they hold until this is dropped.
pub(crate) struct ReadBody {
    pub(crate) bytes: Vec<u8>,
    pub(crate) wire_bytes: usize,
    _held: Option<OwnedSemaphorePermit>,
}

/// Reads `body` whole, never holding more than `max` bytes of it (nor of
/// its inflated form when `gzip`), within `limit` when given.
pub(crate) async fn read(
    body: Body,
    gzip: bool,
    max: usize,
    budget: &BodyBudget,
    limit: Option<Duration>,
) -> Result<ReadBody, BodyError> {
    let deadline = limit.map(|l| (Instant::now() + l, l));
    let mut body = body;
    let mut wire_bytes = 0usize;
    let bounded = Bounded {
        bytes: Vec::new(),
        max,
        budget: budget.0.clone(),
        held: None,
    };
    let mut sink = if gzip {
        Sink::Gzip(Box::new(flate2::write::MultiGzDecoder::new(bounded)))
    } else {
        Sink::Plain(bounded)
    };
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
        let written = match &mut sink {
            Sink::Gzip(inflater) => inflater.write_all(&data),
            Sink::Plain(plain) => plain.write_all(&data),
        };
        written.map_err(write_error(max, gzip))?;
    }
    let bounded = match sink {
        Sink::Gzip(inflater) => inflater.finish().map_err(write_error(max, gzip))?,
        Sink::Plain(plain) => plain,
    };
    Ok(ReadBody {
        bytes: bounded.bytes,
        wire_bytes,
        _held: bounded.held,
    })
}

enum Sink {
    Gzip(Box<flate2::write::MultiGzDecoder<Bounded>>),
    Plain(Bounded),
}

fn write_error(max: usize, gzip: bool) -> impl Fn(std::io::Error) -> BodyError {
    move |e| match e.kind() {
        std::io::ErrorKind::FileTooLarge => BodyError::TooLarge {
            max,
            after: if gzip { " once inflated" } else { "" },
        },
        std::io::ErrorKind::OutOfMemory => BodyError::Busy,
        _ if gzip => BodyError::Gzip(e),
        _ => BodyError::Read(e.to_string()),
    }
}

/// Reads a POSTed body as every route does (`/log`, `/v1/logs`):
/// `Content-Encoding` gzip or none (415 otherwise), a declared length past
/// `--http-max-body` refused before a byte is read (413), then [`read`] (413
/// past the bound, 503 when the body budget is spent, 408 too slow, 400 for
/// broken gzip); the bytes that came over the wire are counted. The body
/// holds its share of the budget until the returned value is dropped.
pub(crate) async fn read_request(
    input: &HttpInput,
    headers: &HeaderMap,
    body: Body,
) -> Result<ReadBody, (Refusal, RefusalKind)> {
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
    let read = read(
        body,
        gzip,
        input.settings.max_body,
        &input.settings.body_budget,
        input.ctx.frame_timeout,
    )
    .await
    .map_err(|e| {
        let status = match e {
            BodyError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::TimedOut(_) => StatusCode::REQUEST_TIMEOUT,
            BodyError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            BodyError::Gzip(_) | BodyError::Read(_) => StatusCode::BAD_REQUEST,
        };
        let kind = match e {
            BodyError::TimedOut(_) => RefusalKind::TimedOut,
            BodyError::Busy => RefusalKind::QueueFull { records: 0 },
            _ => RefusalKind::Malformed,
        };
        (Refusal::new(status, e.to_string()), kind)
    })?;
    input
        .ctx
        .counters
        .bytes
        .fetch_add(read.wire_bytes as u64, Relaxed);
    Ok(read)
}
