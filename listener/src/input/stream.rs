//! One stream connection (TCP or Unix): bytes → frames or lines → records
//! → the queue, with backpressure, limits and a graceful drain.

use super::{InputCtx, MALFORMED_REPORTS_PER_PEER, PeerState};
use crate::acks::{AckMark, Producer};
use crate::pipeline::Batch;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::Instant;
use tributary_core::Level;
use tributary_core::frame::handshake::{Hello, Reply, is_control};
use tributary_core::frame::{FrameError, StreamDecoder};

/// How long sending a control frame (welcome, acknowledgement) may take
/// before the producer is considered gone.
const REPLY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// How much one read asks for: one read is one batch for the queue, so
/// this also bounds a batch (and a connection's buffer, with the frame).
pub(super) const READ_CHUNK: usize = 64 * 1024;

/// On shutdown, a connection that stays silent this long has delivered
/// everything it had sent.
pub(super) const DRAIN_QUIET: std::time::Duration = std::time::Duration::from_millis(100);

/// Bytes the kernel has received on `fd` and not yet handed to us.
pub(super) fn bytes_available(fd: RawFd) -> usize {
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
    /// The hello was refused (and the producer told why).
    Refused(String),
    /// The same producer connected again; this older connection stops.
    Superseded,
    /// A frame or line was started and nothing completed for the frame
    /// timeout (slow-loris).
    SlowFrame(usize),
}

/// An acknowledged connection's numbering (docs/protocol.md).
struct Acked {
    producer: Arc<Producer>,
    generation: u64,
    /// Number of the next record frame.
    next: u64,
    /// One past the last number this connection accepted itself. A mark
    /// stops there: a duplicate's original may still wait in the queue in
    /// an older connection's batch, which carries its own mark, and a mark
    /// past it (in an empty batch, which takes no permits) could overtake
    /// it and acknowledge what is not written yet.
    accepted_to: u64,
    /// Numbers below this went to the queue with an acknowledgement mark.
    marked: u64,
    /// Numbers below this were acknowledged to the producer.
    told: u64,
}

/// What the first frame of a connection asked for.
enum Opening {
    Hello(Hello),
    Refused(String),
}

/// Writes one control frame, within [`REPLY_TIMEOUT`].
async fn reply<S: AsyncWrite + Unpin>(stream: &mut S, reply: &Reply) -> std::io::Result<()> {
    let mut frame = Vec::with_capacity(64);
    reply.encode(&mut frame);
    // Flushed: a TLS stream takes the bytes into its buffer and may send
    // them only with the next write.
    let send = async {
        stream.write_all(&frame).await?;
        stream.flush().await
    };
    match tokio::time::timeout(REPLY_TIMEOUT, send).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the producer does not read its acknowledgements",
        )),
    }
}

/// Resolves when the producer has records written that it was not told
/// about yet (never, on an unacknowledged connection).
async fn ack_due(producer: Option<Arc<Producer>>, told: u64) {
    let Some(p) = producer else {
        return std::future::pending().await;
    };
    let notified = p.notify.notified();
    tokio::pin!(notified);
    // Registered before looking, so a write in between is not missed.
    notified.as_mut().enable();
    if p.written.load(Acquire) > told {
        return;
    }
    notified.await;
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
    S: AsyncRead + AsyncWrite + AsRawFd + Unpin,
{
    let mut decoder = StreamDecoder::new(input.max_frame);
    let mut state = PeerState::default();
    let mut first = true;
    let mut acked: Option<Acked> = None;
    // Since when bytes of an unfinished frame have waited with no payload
    // completing.
    let mut partial_since: Option<Instant> = None;
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
                let slow = async {
                    match (partial_since, input.frame_timeout) {
                        (Some(since), Some(d)) => tokio::time::sleep_until(since + d).await,
                        _ => std::future::pending().await,
                    }
                };
                let due = ack_due(
                    acked.as_ref().map(|a| a.producer.clone()),
                    acked.as_ref().map_or(0, |a| a.told),
                );
                tokio::select! {
                    r = stream.read_buf(buf) => r,
                    () = due => {
                        if let Some(a) = &mut acked {
                            let next = a.producer.written.load(Acquire);
                            if let Err(e) = reply(&mut stream, &Reply::Ack { next }).await {
                                break End::Io(e);
                            }
                            a.told = next;
                        }
                        continue;
                    }
                    () = idle => break End::Idle,
                    () = slow => break End::SlowFrame(decoder.pending()),
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
        if acked
            .as_ref()
            .is_some_and(|a| !a.producer.is_current(a.generation))
        {
            break End::Superseded;
        }
        let mut batch = input.batch(n);
        let mut opening = None;
        let mut completed = false;
        let mut exhausted = false;
        let fatal = loop {
            match decoder.next_payload() {
                Ok(Some(payload)) => {
                    completed = true;
                    if std::mem::take(&mut first) && is_control(payload) {
                        opening = Some(match Hello::parse(payload) {
                            Ok(Some(hello)) => Opening::Hello(hello),
                            Ok(None) => Opening::Refused("not a hello".into()),
                            Err(e) => Opening::Refused(e.to_string()),
                        });
                        break None;
                    }
                    match &mut acked {
                        Some(a) => {
                            let seq = a.next;
                            // Refused, never wrapped: a wrapped number
                            // would be taken for one already written.
                            let Some(after) = seq.checked_add(1) else {
                                exhausted = true;
                                break None;
                            };
                            a.next = after;
                            if !a.producer.accept(seq) {
                                input.counters.duplicates.fetch_add(1, Relaxed);
                                continue;
                            }
                            a.accepted_to = after;
                            if is_control(payload) {
                                input.malformed(
                                    &peer,
                                    &"a control frame where a record was expected",
                                    &mut state.reports,
                                );
                            } else {
                                input.accept(payload, &peer, &mut batch, &mut state);
                            }
                        }
                        None => input.accept(payload, &peer, &mut batch, &mut state),
                    }
                }
                Ok(None) => break None,
                Err(e @ FrameError::LineTooLong { .. }) => {
                    input.malformed(&peer, &e, &mut state.reports);
                }
                Err(e) => break Some(e),
            }
        };
        match opening {
            Some(Opening::Hello(hello)) => {
                let (producer, generation, start) =
                    input
                        .producers
                        .hello(&hello.producer, &hello.epoch, hello.next);
                let welcome = Reply::Welcome {
                    next: start,
                    durable: input.durable,
                };
                if let Err(e) = reply(&mut stream, &welcome).await {
                    break End::Io(e);
                }
                input.counters.acknowledged.fetch_add(1, Relaxed);
                acked = Some(Acked {
                    producer,
                    generation,
                    next: start,
                    accepted_to: start,
                    marked: start,
                    told: start,
                });
            }
            Some(Opening::Refused(reason)) => {
                // Best effort: the connection closes either way.
                let _ = reply(
                    &mut stream,
                    &Reply::Refused {
                        reason: reason.clone(),
                    },
                )
                .await;
                break End::Refused(reason);
            }
            None => {}
        }
        if decoder.pending() == 0 {
            partial_since = None;
        } else if completed || partial_since.is_none() {
            partial_since = Some(Instant::now());
        }
        if let Some(a) = acked.as_mut().filter(|a| a.accepted_to > a.marked) {
            batch.ack = Some(AckMark {
                producer: a.producer.clone(),
                next: a.accepted_to,
            });
            a.marked = a.accepted_to;
        }
        // Awaiting here is the backpressure: no more reads until there is room.
        if send(&input, batch).await.is_err() {
            break End::WriterGone;
        }
        if let Some(e) = fatal {
            break End::Frame(e);
        }
        if exhausted {
            let reason =
                "sequence numbers exhausted (the next would wrap): start a new epoch".to_owned();
            let _ = reply(
                &mut stream,
                &Reply::Refused {
                    reason: reason.clone(),
                },
            )
            .await;
            break End::Refused(reason);
        }
    };
    let label = &input.label;
    match end {
        End::Drained if decoder.pending() > 0 => {
            input
                .counters
                .malformed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            input.diag.report(
                Level::WARNING,
                format_args!(
                    "{label}: closing connection from {peer} at shutdown with {} bytes of an unfinished frame or line (not written)",
                    decoder.pending()
                ),
            );
        }
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
        End::Refused(reason) => {
            input.counters.malformed.fetch_add(1, Relaxed);
            input.diag.report(
                Level::ERROR,
                format_args!("{label}: refused the hello from {peer}: {reason}"),
            );
        }
        End::SlowFrame(pending) => {
            input.counters.malformed.fetch_add(1, Relaxed);
            input.diag.report(
                Level::WARNING,
                format_args!(
                    "{label}: closing connection from {peer}: {pending} bytes of an unfinished frame or line and nothing complete for the frame timeout (a stalled or slow-loris client; raise --frame-timeout if legitimate)"
                ),
            );
        }
        End::Superseded => input.diag.report(
            Level::INFO,
            format_args!(
                "{label}: closing an older connection from {peer}: the producer connected again"
            ),
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
