//! Reading a request body: streamed, bounded before and after gzip, held
//! within the budget all HTTP bodies share, and cut off when it does not
//! arrive in time.

use axum::body::Body;
use http_body_util::BodyExt;
use std::io::Write;
use std::sync::Arc;
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
            let more = (len - self.held_bytes()).div_ceil(1024).max(64);
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
