//! One syslog stream connection (TCP, TLS, Unix stream): bytes →
//! messages (framing detected per message) → records → the queue, with
//! backpressure, the idle and frame timeouts and the shutdown drain of the
//! native stream inputs.

use super::super::InputCtx;
use super::super::stream::{DRAIN_QUIET, READ_CHUNK, bytes_available};
use crate::pipeline::Batch;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;
use tokio::time::Instant;
use tributary_core::Level;
use tributary_core::syslog::{FramingError, SyslogFramer};

/// Why a connection ended, for the diagnostics.
enum End {
    Eof,
    Drained,
    Idle,
    Fatal(FramingError),
    /// Closed inside an octet-counted message: bytes held.
    CutShort(usize),
    Io(std::io::Error),
    WriterGone,
    SlowMessage(usize),
}

/// Serves one syslog connection until EOF, a fatal framing error, a
/// timeout or shutdown (then drains what the peer already sent, as the
/// native stream inputs do).
pub(crate) async fn serve_stream<S>(
    mut stream: S,
    peer: String,
    input: Arc<InputCtx>,
    mut shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsRawFd + Unpin,
{
    let Some(parser) = input.syslog.clone() else {
        return;
    };
    let host = super::fallback_host(&peer);
    let mut framer = SyslogFramer::new(input.max_frame);
    let mut buf = vec![0u8; READ_CHUNK];
    let mut reports = 0u32;
    let mut partial_since: Option<Instant> = None;
    let mut drain: Option<(usize, Instant)> = None;
    if *shutdown.borrow_and_update() {
        drain = Some((
            bytes_available(stream.as_raw_fd()),
            Instant::now() + input.drain_timeout,
        ));
    }
    let end = loop {
        let read = match drain {
            Some((left, deadline)) => {
                let until = if left > 0 {
                    deadline
                } else {
                    deadline.min(Instant::now() + DRAIN_QUIET)
                };
                match tokio::time::timeout_at(until, stream.read(&mut buf)).await {
                    Ok(r) => r,
                    Err(_) => break End::Drained,
                }
            }
            None => {
                let idle = async {
                    match input.idle_timeout {
                        Some(d) => tokio::time::sleep(d).await,
                        None => std::future::pending().await,
                    }
                };
                let slow = async {
                    match (partial_since, input.frame_timeout) {
                        (Some(since), Some(d)) => tokio::time::sleep_until(since + d).await,
                        _ => std::future::pending().await,
                    }
                };
                tokio::select! {
                    r = stream.read(&mut buf) => r,
                    () = idle => break End::Idle,
                    () = slow => break End::SlowMessage(framer.pending()),
                    _ = shutdown.changed() => {
                        drain = Some((bytes_available(stream.as_raw_fd()), Instant::now() + input.drain_timeout));
                        continue;
                    }
                }
            }
        };
        let n = match read {
            Ok(0) => {
                let mut batch = input.batch(0);
                let end = match framer.finish() {
                    Ok(Some(last)) => {
                        super::accept(&input, &parser, last, host.as_ref(), &mut batch);
                        End::Eof
                    }
                    Ok(None) => End::Eof,
                    Err(held) => End::CutShort(held),
                };
                if send(&input, batch).await.is_err() {
                    break End::WriterGone;
                }
                break end;
            }
            Ok(n) => n,
            Err(e) => break End::Io(e),
        };
        input.counters.bytes.fetch_add(n as u64, Relaxed);
        if let Some((left, _)) = &mut drain {
            *left = left.saturating_sub(n);
        }
        framer.push(&buf[..n]);
        let mut batch = input.batch(n);
        let mut completed = false;
        let fatal = loop {
            match framer.next_message() {
                None => break None,
                Some(Ok(message)) => {
                    completed = true;
                    super::accept(&input, &parser, message, host.as_ref(), &mut batch);
                }
                Some(Err(e @ FramingError::CountTooLarge { .. })) => break Some(e),
                Some(Err(e)) => input.malformed(&peer, &e, &mut reports),
            }
        };
        if framer.pending() == 0 || completed {
            partial_since = (framer.pending() > 0).then(Instant::now);
        } else if partial_since.is_none() {
            partial_since = Some(Instant::now());
        }
        // Awaiting here is the backpressure: no more reads until there is room.
        if send(&input, batch).await.is_err() {
            break End::WriterGone;
        }
        if let Some(e) = fatal {
            break End::Fatal(e);
        }
    };
    let label = &input.label;
    match end {
        End::Eof | End::Drained | End::WriterGone => {}
        End::Idle => input.diag.report(
            Level::INFO,
            format_args!("{label}: closing idle connection from {peer} (idle-timeout)"),
        ),
        End::Fatal(e) => {
            input.counters.malformed.fetch_add(1, Relaxed);
            input.diag.report(
                Level::ERROR,
                format_args!("{label}: closing connection from {peer}: {e}"),
            );
        }
        End::CutShort(held) => {
            input.counters.malformed.fetch_add(1, Relaxed);
            input.diag.report(
                Level::WARNING,
                format_args!(
                    "{label}: connection from {peer} closed inside an octet-counted message ({held} bytes held, count included); that message is not written"
                ),
            );
        }
        End::Io(e) => input.diag.report(
            Level::WARNING,
            format_args!("{label}: connection from {peer} failed: {e}"),
        ),
        End::SlowMessage(pending) => {
            input.counters.malformed.fetch_add(1, Relaxed);
            input.diag.report(
                Level::WARNING,
                format_args!(
                    "{label}: closing connection from {peer}: {pending} bytes of an unfinished message and nothing complete for the frame timeout (a stalled or slow-loris client; raise --frame-timeout if legitimate)"
                ),
            );
        }
    }
}

async fn send(input: &InputCtx, batch: Batch) -> Result<(), crate::pipeline::Closed> {
    let n = batch.records;
    input.queue.send(batch).await?;
    input.queued(n);
    Ok(())
}
