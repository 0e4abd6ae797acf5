//! Reading a request body: streamed, bounded before and after gzip, and
//! cut off when it does not arrive in time.

use axum::body::Body;
use http_body_util::BodyExt;
use std::io::Write;
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
