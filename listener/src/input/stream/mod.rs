//! One stream connection (TCP, TLS or Unix): bytes → frames or lines →
//! records → the queue, with backpressure, limits and a graceful drain.
//!
//! [`serve_stream`] runs a [`Connection`] until it ends and reports why
//! ([`End`]). Each turn of the loop waits for one thing ([`Connection::wait`]:
//! bytes, an acknowledgement due, a timeout, shutdown, or the registry
//! telling it to close), then decodes what was read into one batch
//! ([`Connection::take`]); after a small read from a producer that sends
//! steadily and waits for no acknowledgement, it lets bytes gather for
//! `--read-linger` first ([`Connection::linger`]). Acknowledged
//! delivery's numbering lives in
//! [`crate::acks::Session`]. What differs between Tributary's frames and
//! syslog is the [`Decoder`].

mod decoder;
mod end;

use super::connections::Ticket;
use super::{InputCtx, PeerState};
use crate::acks::{Admit, Opening, Session, ack_due};
use crate::pipeline::Batch;
use decoder::{Decoder, SyslogDecoder};
use end::End;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::Instant;
use tributary_core::frame::FrameError;
use tributary_core::frame::handshake::Reply;
use tributary_core::syslog::FramingError;

/// How long sending a control frame (welcome, acknowledgement) may take
/// before the producer is considered gone.
const REPLY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// How much one read asks for: one read is one batch for the queue, so
/// this also bounds a batch (and a connection's buffer, with the frame).
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// A read this short is followed by `--read-linger`: a producer that
/// sends record by record (Python's `SocketHandler`) otherwise costs a
/// wake-up, a read and a write per handful of records. A longer read
/// means the producer is ahead of us: read again at once.
const LINGER_BELOW: usize = READ_CHUNK / 4;

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

/// A stream whose readiness can be awaited before a buffer is set aside
/// for reading it.
pub(crate) trait ReadReady {
    /// Whether [`poll_read_ready`](ReadReady::poll_read_ready) tells: a
    /// stream that cannot tell is read at once, with its buffer.
    const TELLS: bool = true;
    /// Ready when a read would not wait (or might not: after a spurious
    /// wake-up the read waits, with its buffer).
    fn poll_read_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>>;
}

/// A stream whose peer may have proven a name: a TLS client certificate.
pub(crate) trait PeerCertificate {
    /// The names of the peer's verified client certificate (its common
    /// names and DNS names); `None` without one.
    fn cert_names(&self) -> Option<Vec<String>> {
        None
    }
}

impl PeerCertificate for tokio::net::TcpStream {}
impl PeerCertificate for tokio::net::UnixStream {}

impl ReadReady for tokio::net::TcpStream {
    fn poll_read_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        tokio::net::TcpStream::poll_read_ready(self, cx)
    }
}

impl ReadReady for tokio::net::UnixStream {
    fn poll_read_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        tokio::net::UnixStream::poll_read_ready(self, cx)
    }
}

/// Serves one connection until EOF, a framing error, a timeout, eviction
/// or shutdown. On shutdown it reads what the kernel had already received
/// from the peer (FIONREAD) and what is still in flight, until the peer
/// closes, falls silent, or `drain_timeout` passes; queues those records
/// and closes.
pub(crate) async fn serve_stream<S>(
    stream: S,
    peer: String,
    input: Arc<InputCtx>,
    shutdown: watch::Receiver<bool>,
    ticket: Ticket,
) where
    S: AsyncRead + AsyncWrite + AsRawFd + ReadReady + PeerCertificate + Unpin,
{
    let mut state = PeerState::default();
    // A TCP or TLS peer is named by its address; a Unix one is not.
    state.peer_ip(peer.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()));
    let mut conn = Connection {
        // Read once: the handshake is over, the certificate cannot change.
        cert_names: stream.cert_names(),
        stream,
        decoder: Decoder::for_input(&input, &peer),
        state,
        first: true,
        proven: false,
        acked: None,
        partial_since: None,
        drain: None,
        opened: Instant::now(),
        last_read: None,
        ticket,
        input,
        peer,
    };
    let end = conn.run(shutdown).await;
    end.report(
        &conn.input,
        &conn.peer,
        conn.decoder.pending(),
        conn.state.reports,
    );
}

/// Shutdown's drain of one connection: bytes still to read, and the
/// deadline.
#[derive(Clone, Copy)]
struct Drain {
    left: usize,
    deadline: Instant,
}

/// One connection being served.
struct Connection<S> {
    stream: S,
    peer: String,
    input: Arc<InputCtx>,
    decoder: Decoder,
    state: PeerState,
    /// No payload was seen yet: it may be a hello.
    first: bool,
    /// A frame or line completed (the first-frame timeout no longer applies).
    proven: bool,
    acked: Option<Session>,
    /// The names of the peer's client certificate, if it presented one.
    cert_names: Option<Vec<String>>,
    /// Since when bytes of an unfinished frame have waited with no payload
    /// completing.
    partial_since: Option<Instant>,
    drain: Option<Drain>,
    opened: Instant,
    /// When the last read was decoded: whether the producer sends
    /// steadily (`--read-linger`).
    last_read: Option<Instant>,
    ticket: Ticket,
}

/// Why decoding stopped for good.
enum Stop {
    /// The stream cannot be resynchronised.
    Frame(FrameError),
    /// The syslog stream cannot be framed any further.
    Syslog(FramingError),
    /// The producer's numbers ran out.
    Exhausted,
}

/// Why a producer whose numbers ran out is refused.
const EXHAUSTED: &str = "sequence numbers exhausted (the next would wrap): start a new epoch";

/// What one wait produced.
enum Woken {
    /// A read: bytes, or 0 at end of stream.
    Read(usize),
    /// Nothing to decode this turn (an acknowledgement sent, drain begun).
    Again,
}

impl<S> Connection<S>
where
    S: AsyncRead + AsyncWrite + AsRawFd + ReadReady + PeerCertificate + Unpin,
{
    async fn run(&mut self, mut shutdown: watch::Receiver<bool>) -> End {
        if *shutdown.borrow_and_update() {
            self.begin_drain();
        }
        loop {
            let n = match self.wait(&mut shutdown).await {
                Ok(Woken::Read(0)) => return self.finish().await,
                Ok(Woken::Read(n)) => n,
                Ok(Woken::Again) => continue,
                Err(end) => return end,
            };
            if let Some(end) = self.take(n).await {
                return end;
            }
            let now = Instant::now();
            let previous = self.last_read.replace(now);
            if let Some(linger) = self.linger(n, previous.map(|t| now - t)) {
                // Shutdown starts the drain at once; an eviction is seen
                // by the next wait.
                tokio::select! {
                    () = tokio::time::sleep(linger) => {}
                    _ = shutdown.changed() => self.begin_drain(),
                    _ = self.ticket.evicted() => {}
                }
            }
        }
    }

    /// How long to let bytes gather before the next read
    /// (`--read-linger`): only after a small read that came soon after
    /// the one before (a producer sending steadily: one that sends now
    /// and then would pay a timer per record and gain nothing), only for
    /// a producer that completed a frame and waits for no
    /// acknowledgement (one that does would wait that much longer for
    /// each, and so would one whose hello is still on its way), never
    /// while draining.
    fn linger(
        &self,
        n: usize,
        since_previous: Option<std::time::Duration>,
    ) -> Option<std::time::Duration> {
        let linger = self.input.read_linger?;
        let small = n < LINGER_BELOW;
        let steady = since_previous.is_some_and(|gap| gap <= linger * 2);
        let unacked = self.proven && self.acked.is_none() && self.drain.is_none();
        (small && steady && unacked).then_some(linger)
    }

    fn begin_drain(&mut self) {
        self.drain = Some(Drain {
            left: bytes_available(self.stream.as_raw_fd()),
            deadline: Instant::now() + self.input.drain_timeout,
        });
    }

    /// Waits for the next thing to happen: a read (into the decoder's
    /// buffer), or an event handled here.
    async fn wait(&mut self, shutdown: &mut watch::Receiver<bool>) -> Result<Woken, End> {
        let Connection {
            stream,
            decoder,
            input,
            acked,
            ticket,
            ..
        } = self;
        if let Some(Drain { left, deadline }) = self.drain {
            let buf = decoder.buffer_mut();
            buf.reserve(READ_CHUNK);
            // What had arrived when shutdown came is always read; after
            // that, a peer that never stops sending must not hold shutdown
            // forever (a timeout alone would not fire while reads keep
            // succeeding), and data still in flight from the peer (its send
            // queue) is read until a short silence.
            let now = Instant::now();
            if left == 0 && now >= deadline {
                return Err(End::Drained);
            }
            let until = if left > 0 {
                deadline
            } else {
                deadline.min(now + DRAIN_QUIET)
            };
            return match tokio::time::timeout_at(until, stream.read_buf(buf)).await {
                Ok(Ok(n)) => Ok(Woken::Read(n)),
                Ok(Err(e)) => Err(End::Io(e)),
                Err(_) => Err(End::Drained),
            };
        }
        let idle = async {
            match input.idle_timeout {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        let first_frame = async {
            match input.first_frame_timeout {
                Some(d) if !self.proven => tokio::time::sleep_until(self.opened + d).await,
                _ => std::future::pending().await,
            }
        };
        let slow = async {
            match (self.partial_since, input.frame_timeout) {
                (Some(since), Some(d)) => tokio::time::sleep_until(since + d).await,
                _ => std::future::pending().await,
            }
        };
        enum Event {
            Read(std::io::Result<usize>),
            AckDue,
            Shutdown,
        }
        // The read buffer is reserved only once bytes are there: a
        // connection waiting for its peer holds no buffer, so a crowd of
        // silent connections costs no memory (reserved memory is touched
        // by the reads of others when the allocator hands it round).
        let read = async {
            if S::TELLS {
                std::future::poll_fn(|cx| stream.poll_read_ready(cx)).await?;
            }
            let buf = decoder.buffer_mut();
            buf.reserve(READ_CHUNK);
            stream.read_buf(buf).await
        };
        let event = tokio::select! {
            r = read => Event::Read(r),
            () = ack_due(acked.as_ref()) => Event::AckDue,
            () = idle => return Err(End::Idle),
            () = first_frame => return Err(End::NoFirstFrame),
            () = slow => return Err(End::SlowFrame),
            why = ticket.evicted() => return Err(End::Evicted(why)),
            _ = shutdown.changed() => Event::Shutdown,
        };
        match event {
            Event::Read(Ok(n)) => Ok(Woken::Read(n)),
            Event::Read(Err(e)) => Err(End::Io(e)),
            Event::AckDue => {
                if let Some(session) = acked {
                    let ack = session.ack();
                    reply(stream, &ack).await.map_err(End::Io)?;
                }
                Ok(Woken::Again)
            }
            Event::Shutdown => {
                self.begin_drain();
                Ok(Woken::Again)
            }
        }
    }

    /// End of stream: the last unterminated line or message, if any, is
    /// queued.
    async fn finish(&mut self) -> End {
        let mut batch = self.input.batch(0);
        let mut end = End::Eof;
        match &mut self.decoder {
            Decoder::Native(decoder) => match decoder.finish() {
                // A lone hello with nothing after it opens nothing.
                Ok(Some(last)) if self.first && Opening::parse(last).is_some() => {}
                // An acknowledged producer's last line is numbered like
                // every other: unnumbered, it would be written, never
                // acknowledged, resent and written again.
                Ok(Some(last)) => match self.acked.as_mut().map(|s| s.admit(last)) {
                    None | Some(Admit::Record) => {
                        self.input
                            .accept(last, &self.peer, &mut batch, &mut self.state)
                    }
                    Some(Admit::Duplicate) => {
                        self.input.counters.duplicates.fetch_add(1, Relaxed);
                    }
                    Some(Admit::Control) => self.input.malformed(
                        &self.peer,
                        &"a control frame where a record was expected",
                        &mut self.state.reports,
                    ),
                    // Not written: the producer still holds it.
                    Some(Admit::Exhausted) => {}
                },
                Ok(None) => {}
                Err(e) => self
                    .input
                    .malformed(&self.peer, &e, &mut self.state.reports),
            },
            Decoder::Syslog(SyslogDecoder {
                framer,
                parser,
                host,
            }) => match framer.finish() {
                Ok(Some(last)) => {
                    crate::input::syslog::accept(
                        &self.input,
                        parser,
                        last,
                        host.as_ref(),
                        &mut batch,
                    );
                }
                Ok(None) => {}
                Err(held) => end = End::CutShort(held),
            },
        }
        if let Some(session) = &mut self.acked {
            session.mark(&mut batch);
        }
        if send(&self.input, batch).await.is_err() {
            return End::WriterGone;
        }
        end
    }

    /// Decodes the `n` bytes just read into one batch and queues it;
    /// `Some` when the connection must end.
    async fn take(&mut self, n: usize) -> Option<End> {
        self.input.counters.bytes.fetch_add(n as u64, Relaxed);
        if let Some(d) = &mut self.drain {
            d.left = d.left.saturating_sub(n);
        }
        if let Some(why) = self.ticket.eviction() {
            return Some(End::Evicted(why));
        }
        if self.acked.as_ref().is_some_and(Session::superseded) {
            return Some(End::Superseded);
        }
        let mut batch = self.input.batch(n);
        let (opening, completed, fatal) = self.decode(&mut batch);
        if let Some(opening) = opening
            && let Err(end) = self.open(opening).await
        {
            return Some(end);
        }
        if completed && !self.proven {
            self.proven = true;
            self.ticket.proven();
        }
        let pending = self.decoder.pending();
        self.ticket.hold(pending);
        if pending == 0 {
            self.partial_since = None;
        } else if completed || self.partial_since.is_none() {
            self.partial_since = Some(Instant::now());
        }
        if let Some(session) = &mut self.acked {
            session.mark(&mut batch);
        }
        // Awaiting here is the backpressure: no more reads until there is room.
        if send(&self.input, batch).await.is_err() {
            return Some(End::WriterGone);
        }
        match fatal? {
            Stop::Frame(e) => Some(End::Frame(e)),
            Stop::Syslog(e) => Some(End::SyslogFraming(e)),
            Stop::Exhausted => Some(self.refuse(EXHAUSTED.to_owned()).await),
        }
    }

    /// Tells the producer why its connection is refused, and ends it.
    async fn refuse(&mut self, reason: String) -> End {
        // Best effort: the connection closes either way.
        let refusal = Reply::Refused {
            reason: reason.clone(),
        };
        let _ = reply(&mut self.stream, &refusal).await;
        End::Refused(reason)
    }

    /// Every complete payload in the buffer into `batch`, up to a hello
    /// (which must be answered before anything after it is read): the
    /// hello, whether a payload completed, and why the stream cannot go on.
    fn decode(&mut self, batch: &mut Batch) -> (Option<Opening>, bool, Option<Stop>) {
        let Connection {
            decoder: Decoder::Native(decoder),
            input,
            peer,
            state,
            acked,
            first,
            ..
        } = self
        else {
            return self.decode_syslog(batch);
        };
        let mut completed = false;
        loop {
            match decoder.next_payload() {
                Ok(Some(payload)) => {
                    completed = true;
                    if std::mem::take(first)
                        && let Some(opening) = Opening::parse(payload)
                    {
                        return (Some(opening), completed, None);
                    }
                    let Some(session) = acked else {
                        input.accept(payload, peer, batch, state);
                        continue;
                    };
                    match session.admit(payload) {
                        Admit::Record => input.accept(payload, peer, batch, state),
                        Admit::Duplicate => {
                            input.counters.duplicates.fetch_add(1, Relaxed);
                        }
                        Admit::Control => input.malformed(
                            peer,
                            &"a control frame where a record was expected",
                            &mut state.reports,
                        ),
                        Admit::Exhausted => return (None, completed, Some(Stop::Exhausted)),
                    }
                }
                Ok(None) => return (None, completed, None),
                Err(e @ FrameError::LineTooLong { .. }) => {
                    input.malformed(peer, &e, &mut state.reports);
                }
                Err(e) => return (None, completed, Some(Stop::Frame(e))),
            }
        }
    }

    /// Every complete syslog message in the buffer into `batch`: whether
    /// one completed, and why the stream cannot go on.
    fn decode_syslog(&mut self, batch: &mut Batch) -> (Option<Opening>, bool, Option<Stop>) {
        let Connection {
            decoder:
                Decoder::Syslog(SyslogDecoder {
                    framer,
                    parser,
                    host,
                }),
            input,
            peer,
            state,
            ..
        } = self
        else {
            return (None, false, None);
        };
        let mut completed = false;
        loop {
            match framer.next_message() {
                None => return (None, completed, None),
                Some(Ok(message)) => {
                    completed = true;
                    crate::input::syslog::accept(input, parser, message, host.as_ref(), batch);
                }
                Some(Err(e @ FramingError::CountTooLarge { .. })) => {
                    return (None, completed, Some(Stop::Syslog(e)));
                }
                Some(Err(e)) => input.malformed(peer, &e, &mut state.reports),
            }
        }
    }

    /// Answers the connection's opening control frame: a welcome that
    /// starts acknowledged delivery, or a refusal that ends the connection.
    async fn open(&mut self, opening: Opening) -> Result<(), End> {
        match opening {
            Opening::Hello(hello) => {
                let input = &self.input;
                let (session, welcome) = match Session::open(
                    &input.producers,
                    &hello,
                    input.durable,
                    &input.auth,
                    self.cert_names.as_deref(),
                ) {
                    Ok(opened) => opened,
                    Err(reason) => return Err(self.refuse(reason).await),
                };
                reply(&mut self.stream, &welcome).await.map_err(End::Io)?;
                input.counters.acknowledged.fetch_add(1, Relaxed);
                self.acked = Some(session);
                Ok(())
            }
            Opening::Refused(reason) => Err(self.refuse(reason).await),
        }
    }
}

async fn send(input: &InputCtx, batch: Batch) -> Result<(), crate::pipeline::Closed> {
    let n = batch.records;
    input.queue.send(batch).await?;
    input.queued(n);
    Ok(())
}
