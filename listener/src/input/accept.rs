//! Accept loops for TCP and Unix stream inputs: one task per connection,
//! under a shared connection limit.

use super::InputCtx;
use super::connections::PeerKey;
use super::stream::serve_stream;
use crate::diag::input as event;
use crate::listener::TaskGuard;
use crate::tls::ServerTls;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore, watch};

#[cfg(feature = "tls")]
use super::tls;

/// After an accept error (typically out of file descriptors), wait this
/// long rather than spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How long a new connection waits for the slot of a connection told to
/// close to make room for it (that one closes at its next wake-up, which
/// on a loaded machine with a thousand connections can take seconds; a
/// refusal here would turn away the producer the room was made for).
const ROOM_WAIT: Duration = Duration::from_secs(30);

/// Who a connection comes from: a name for messages, and the key the
/// per-peer cap counts (none where the kernel does not tell processes
/// apart: TCP on loopback).
pub(crate) struct Peer {
    name: String,
    key: Option<PeerKey>,
}

/// Starts serving an accepted connection, or refuses it at a limit.
/// Opening it (the TLS handshake) holds a connection slot and runs on the
/// connection's task, so a slow client never delays the accept loop.
fn start<A: Acceptor>(
    acceptor: &A,
    accepted: A::Accepted,
    peer: Peer,
    input: &Arc<InputCtx>,
    limit: &Arc<Semaphore>,
    shutdown: &watch::Receiver<bool>,
    guard: &TaskGuard,
) {
    let Peer { name: peer, key } = peer;
    let refuse = |why: &dyn std::fmt::Display| {
        input.emit(event::ConnectionRefused { peer: &peer, why });
    };
    let ticket = match input.connections.admit(key) {
        Ok(ticket) => ticket,
        Err(full) => {
            return refuse(&format_args!(
                "it has {} connections open (max-connections-per-peer)",
                full.cap
            ));
        }
    };
    // At the limit, a connection that has completed nothing yields its
    // slot; the new one waits for it on its own task. It joins the
    // semaphore's queue here, in accept order: a connection accepted
    // later must not take the freed slot with `try_acquire` before this
    // one's task first runs (it would then wait for a slot nobody frees).
    let permit = match limit.clone().try_acquire_owned() {
        Ok(permit) => Slot::Held(permit),
        Err(_) if ticket.make_room() => Slot::queue(limit),
        Err(_) => return refuse(&"max-connections reached"),
    };
    // Seated now, not when its task first runs: a newcomer accepted before
    // then must be able to take this slot if it was the only one to take.
    if let Slot::Held(_) = permit {
        ticket.seated();
    }
    input.counters.active.fetch_add(1, Relaxed);
    let opening = acceptor.open(accepted);
    let (input, mut shutdown, guard) = (input.clone(), shutdown.clone(), guard.clone());
    tokio::spawn(async move {
        let permit = match permit {
            Slot::Held(p) => Some(p),
            Slot::Queued(waiting) => {
                let permit = tokio::time::timeout(ROOM_WAIT, waiting)
                    .await
                    .ok()
                    .and_then(Result::ok);
                if permit.is_some() {
                    ticket.seated();
                }
                permit
            }
        };
        if let Some(permit) = permit {
            match open_or_drain(opening, &mut shutdown, &input).await {
                Ok(stream) => {
                    input.counters.connections.fetch_add(1, Relaxed);
                    serve_stream(stream, peer, input.clone(), shutdown, ticket).await;
                }
                Err(e) => input.emit(event::ConnectionRefused {
                    peer: &peer,
                    why: &format_args!("TLS handshake failed: {e}"),
                }),
            }
            drop(permit);
        } else {
            input.emit(event::ConnectionRefused {
                peer: &peer,
                why: &"max-connections reached",
            });
        }
        input.counters.active.fetch_sub(1, Relaxed);
        drop(guard);
    });
}

/// A connection's place under `max-connections`.
enum Slot {
    /// A slot was free.
    Held(OwnedSemaphorePermit),
    /// Waiting, already in the semaphore's queue, for the slot of a
    /// connection told to make room.
    Queued(Pin<Box<dyn Future<Output = Result<OwnedSemaphorePermit, AcquireError>> + Send>>),
}

impl Slot {
    /// Joins the queue for the next freed slot now. Tokio's semaphore
    /// hands a released permit to the oldest waiter, but a future joins
    /// the queue only when first polled, so it is polled once here.
    fn queue(limit: &Arc<Semaphore>) -> Slot {
        let mut waiting: Pin<Box<dyn Future<Output = _> + Send>> =
            Box::pin(limit.clone().acquire_owned());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match waiting.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(Ok(permit)) => Slot::Held(permit),
            std::task::Poll::Ready(Err(closed)) => {
                Slot::Queued(Box::pin(std::future::ready(Err(closed))))
            }
            std::task::Poll::Pending => Slot::Queued(waiting),
        }
    }
}

/// Opens a connection; once shutdown has begun, only for as long as the
/// drain may take (nothing was delivered before it is open).
async fn open_or_drain<S>(
    opening: impl Future<Output = io::Result<S>>,
    shutdown: &mut watch::Receiver<bool>,
    input: &InputCtx,
) -> io::Result<S> {
    let mut opening = std::pin::pin!(opening);
    if !*shutdown.borrow_and_update() {
        tokio::select! {
            biased;
            r = &mut opening => return r,
            _ = shutdown.changed() => {}
        }
    }
    match tokio::time::timeout(input.drain_timeout, opening).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "not finished within drain-timeout of the shutdown",
        )),
    }
}

/// A listening stream socket.
pub(crate) trait Acceptor: Send + Sync {
    /// What accepting yields.
    type Accepted: Send + 'static;
    /// What is served: the accepted socket, or a TLS session over it.
    type Stream: tokio::io::AsyncRead
        + tokio::io::AsyncWrite
        + std::os::fd::AsRawFd
        + super::stream::ReadReady
        + super::stream::PeerCertificate
        + Unpin
        + Send
        + 'static;
    /// The next connection and its peer.
    fn next(&self) -> impl Future<Output = io::Result<(Self::Accepted, Peer)>> + Send;
    /// Makes an accepted connection ready to serve; runs on its own task.
    fn open(
        &self,
        accepted: Self::Accepted,
    ) -> impl Future<Output = io::Result<Self::Stream>> + Send + 'static;
}

impl Acceptor for tokio::net::TcpListener {
    type Accepted = tokio::net::TcpStream;
    type Stream = tokio::net::TcpStream;
    async fn next(&self) -> io::Result<(Self::Accepted, Peer)> {
        let (stream, peer) = self.accept().await?;
        let key = PeerKey::tcp(peer.ip());
        Ok((
            stream,
            Peer {
                name: peer.to_string(),
                key,
            },
        ))
    }
    fn open(
        &self,
        accepted: Self::Accepted,
    ) -> impl Future<Output = io::Result<Self::Stream>> + Send + 'static {
        std::future::ready(Ok(accepted))
    }
}

impl Acceptor for tokio::net::UnixListener {
    type Accepted = tokio::net::UnixStream;
    type Stream = tokio::net::UnixStream;
    /// Unix clients are usually unnamed: the peer is named, and counted,
    /// by its pid (`SO_PEERCRED`).
    async fn next(&self) -> io::Result<(Self::Accepted, Peer)> {
        let (stream, _) = self.accept().await?;
        let peer = match stream.peer_cred().ok().and_then(|c| c.pid()) {
            Some(pid) => Peer {
                name: format!("pid {pid}"),
                key: Some(PeerKey::Pid(pid)),
            },
            None => Peer {
                name: "an unnamed peer".to_owned(),
                key: None,
            },
        };
        Ok((stream, peer))
    }
    fn open(
        &self,
        accepted: Self::Accepted,
    ) -> impl Future<Output = io::Result<Self::Stream>> + Send + 'static {
        std::future::ready(Ok(accepted))
    }
}

/// Accepts until shutdown, or until a reload removes the input
/// (`removed`), then takes the connections already waiting in the backlog:
/// their producers consider that data sent, so they are served too. A
/// removed input's open connections go on until their peers close them or
/// the listener shuts down.
async fn accept_loop<A: Acceptor>(
    listener: A,
    input: Arc<InputCtx>,
    limit: Arc<Semaphore>,
    (mut shutdown, mut removed): (watch::Receiver<bool>, watch::Receiver<bool>),
    guard: TaskGuard,
) {
    let mut stopping = *shutdown.borrow_and_update() || *removed.borrow_and_update();
    while !stopping {
        tokio::select! {
            r = listener.next() => match r {
                Ok((stream, peer)) => start(&listener, stream, peer, &input, &limit, &shutdown, &guard),
                Err(e) => {
                    input.emit(event::AcceptFailed(&e));
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            _ = shutdown.changed() => stopping = true,
            _ = removed.changed() => stopping = true,
        }
    }
    while let Ok(Ok((stream, peer))) = tokio::time::timeout(Duration::ZERO, listener.next()).await {
        start(&listener, stream, peer, &input, &limit, &shutdown, &guard);
    }
}

/// Accepts TCP connections until shutdown; with `tls`, each must complete
/// a TLS handshake before it is served.
pub(crate) async fn accept_tcp(
    listener: tokio::net::TcpListener,
    tls: Option<ServerTls>,
    input: Arc<InputCtx>,
    limit: Arc<Semaphore>,
    shutdown: (watch::Receiver<bool>, watch::Receiver<bool>),
    guard: TaskGuard,
) {
    match tls {
        #[cfg(feature = "tls")]
        Some(tls) => {
            let listener = tls::TlsListener::new(listener, tls);
            accept_loop(listener, input, limit, shutdown, guard).await;
        }
        _ => accept_loop(listener, input, limit, shutdown, guard).await,
    }
}

/// Accepts Unix stream connections until shutdown.
pub(crate) async fn accept_unix(
    listener: tokio::net::UnixListener,
    input: Arc<InputCtx>,
    limit: Arc<Semaphore>,
    shutdown: (watch::Receiver<bool>, watch::Receiver<bool>),
    guard: TaskGuard,
) {
    accept_loop(listener, input, limit, shutdown, guard).await;
}
