//! One stream connection (TCP or Unix): bytes → frames or lines → records
//! → the queue, with backpressure, limits and a graceful drain.

use super::{InputCtx, MALFORMED_REPORTS_PER_PEER, PeerState};
use crate::pipeline::Batch;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;
use tokio::time::Instant;
use tributary_core::Level;
use tributary_core::frame::{FrameError, StreamDecoder};

/// How much one read asks for: one read is one batch for the queue, so
/// this also bounds a batch (and a connection's buffer, with the frame).
const READ_CHUNK: usize = 64 * 1024;

/// On shutdown, a connection that stays silent this long has delivered
/// everything it had sent.
const DRAIN_QUIET: std::time::Duration = std::time::Duration::from_millis(100);

/// Bytes the kernel has received on `fd` and not yet handed to us.
fn bytes_available(fd: RawFd) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which is valid
    // for the duration of the call; fd is an open socket owned by the caller.
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &raw mut n) };
    if rc == 0 {
        usize::try_from(n).unwrap_or(0)
    } else {
        0
    }
}

/// Why a connection ended, for the diagnostics.
enum End {
    Eof,
    Drained,
    Idle,
    Frame(FrameError),
    Io(std::io::Error),
    WriterGone,
}

/// Serves one connection until EOF, a framing error, the idle timeout or
/// shutdown. On shutdown it reads what the kernel had already received
/// from the peer (FIONREAD) and what is still in flight, until the peer
/// closes, falls silent, or `drain_timeout` passes; queues those records
/// and closes.
pub(crate) async fn serve_stream<S>(
    mut stream: S,
    peer: String,
    input: Arc<InputCtx>,
    mut shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsRawFd + Unpin,
{
    let mut decoder = StreamDecoder::new(input.max_frame);
    let mut state = PeerState::default();
    // In drain mode: bytes still to read, and the deadline.
    let mut drain: Option<(usize, Instant)> = None;
    if *shutdown.borrow_and_update() {
        drain = Some((
            bytes_available(stream.as_raw_fd()),
            Instant::now() + input.drain_timeout,
        ));
    }
    let end = loop {
        // What had arrived when shutdown came is always read; after that, a
        // peer that never stops sending must not hold shutdown forever (a
        // timeout alone would not fire while reads keep succeeding).
        if drain.is_some_and(|(left, deadline)| left == 0 && Instant::now() >= deadline) {
            break End::Drained;
        }
        let buf = decoder.buffer_mut();
        buf.reserve(READ_CHUNK);
        let read = match drain {
            Some((left, deadline)) => {
                // Bytes known to be waiting are read whatever the wait;
                // after them, data still in flight from the peer (its
                // send queue) is read until a short silence.
                let until = if left > 0 {
                    deadline
                } else {
                    deadline.min(Instant::now() + DRAIN_QUIET)
                };
                match tokio::time::timeout_at(until, stream.read_buf(buf)).await {
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
                tokio::select! {
                    r = stream.read_buf(buf) => r,
                    () = idle => break End::Idle,
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
                match decoder.finish() {
                    Ok(Some(last)) => input.accept(last, &peer, &mut batch, &mut state),
                    Ok(None) => {}
                    Err(e) => input.malformed(&peer, &e, &mut state.reports),
                }
                if send(&input, batch).await.is_err() {
                    break End::WriterGone;
                }
                break End::Eof;
            }
            Ok(n) => n,
            Err(e) => break End::Io(e),
        };
        input
            .counters
            .bytes
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        if let Some((left, _)) = &mut drain {
            *left = left.saturating_sub(n);
        }
        let mut batch = input.batch(n);
        let fatal = loop {
            match decoder.next_payload() {
                Ok(Some(payload)) => input.accept(payload, &peer, &mut batch, &mut state),
                Ok(None) => break None,
                Err(e @ FrameError::LineTooLong { .. }) => {
                    input.malformed(&peer, &e, &mut state.reports);
                }
                Err(e) => break Some(e),
            }
        };
        // Awaiting here is the backpressure: no more reads until there is room.
        if send(&input, batch).await.is_err() {
            break End::WriterGone;
        }
        if let Some(e) = fatal {
            break End::Frame(e);
        }
    };
    let label = &input.label;
    match end {
        End::Eof | End::Drained | End::WriterGone => {}
        End::Idle => input.diag.report(
            Level::INFO,
            format_args!("{label}: closing idle connection from {peer} (idle-timeout)"),
        ),
        End::Frame(e) => {
            input
                .counters
                .malformed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            input.diag.report(
                Level::ERROR,
                format_args!("{label}: closing connection from {peer}: {e}"),
            );
        }
        End::Io(e) => input.diag.report(
            Level::WARNING,
            format_args!("{label}: connection from {peer} failed: {e}"),
        ),
    }
    let reports = state.reports;
    if reports > MALFORMED_REPORTS_PER_PEER {
        input.diag.report(
            Level::WARNING,
            format_args!(
                "{label}: {reports} malformed payloads from {peer} in all (only the first {MALFORMED_REPORTS_PER_PEER} were described)"
            ),
        );
    }
}

async fn send(input: &InputCtx, batch: Batch) -> Result<(), crate::pipeline::Closed> {
    let n = batch.records;
    input.queue.send(batch).await?;
    input.queued(n);
    Ok(())
}
