//! The one HTTP server stack: serves an [`axum::Router`] on a bound
//! [`TcpListener`], optionally over TLS (the listener's rustls acceptor),
//! with the bounds every endpoint needs against slow or hostile clients:
//! request heads past a byte bound are answered 431, a head not complete
//! within the header timeout and a connection silent between requests past
//! the idle timeout are cut off, and at most `max_connections` are served
//! at once (more wait in the kernel's backlog). Shutdown is graceful: no
//! new connections, requests in flight finish (bounded by the drain
//! timeout), idle keep-alive connections close.
//!
//! The HTTP input, the OTLP route and the admin endpoint all serve through
//! [`serve`]; a route is added to the router, never a second server.
//! Handlers find the peer's address in the request's
//! [`axum::extract::ConnectInfo<SocketAddr>`] extension.

mod idle;

use crate::tls::ServerTls;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use idle::{IdleCutoff, InFlight};
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// hyper's read buffer bound unless raised (bodies stream through it, so it
/// is kept at least this large).
const DEFAULT_READ_BUFFER: usize = 400 * 1024;

/// After an accept error (typically out of file descriptors), wait this
/// long rather than spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The bounds one server applies to every connection.
#[derive(Clone, Debug)]
pub(crate) struct ServerLimits {
    /// Bytes of a request's head (request line and headers) before it is
    /// answered 431.
    pub(crate) max_header_bytes: usize,
    /// Time a client has to send a complete request head once the
    /// connection is waiting for one.
    pub(crate) header_timeout: Duration,
    /// Time a connection may stay silent while no request is in flight.
    pub(crate) idle_timeout: Duration,
    /// Connections served at once.
    pub(crate) max_connections: usize,
    /// After shutdown begins, how long requests in flight may take.
    pub(crate) drain_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> ServerLimits {
        ServerLimits {
            max_header_bytes: 16 * 1024,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            drain_timeout: Duration::from_secs(5),
        }
    }
}

/// Why a connection ended before the client closed it, for the caller's
/// diagnostics.
pub(crate) struct ConnectionFailed<'a> {
    /// The client.
    pub(crate) peer: SocketAddr,
    /// What went wrong (a failed handshake, a timeout, a broken head).
    pub(crate) error: &'a (dyn std::error::Error + 'static),
}

impl fmt::Display for ConnectionFailed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.peer, self.error)?;
        let mut source = self.error.source();
        while let Some(e) = source {
            write!(f, ": {e}")?;
            source = e.source();
        }
        Ok(())
    }
}

/// Receives every connection failure (the caller turns it into its own
/// diagnostic event and counters).
pub(crate) type OnFailure = Arc<dyn Fn(ConnectionFailed<'_>) + Send + Sync>;

/// One server: what it serves and how.
pub(crate) struct Server {
    /// The bound socket.
    pub(crate) listener: TcpListener,
    /// The routes.
    pub(crate) router: Router,
    /// TLS on every connection, when set.
    pub(crate) tls: Option<ServerTls>,
    /// The bounds.
    pub(crate) limits: ServerLimits,
    /// Told about each connection that ends in an error.
    pub(crate) on_failure: OnFailure,
}

/// Serves until `shutdown` turns true, then drains: returns once every
/// connection has finished or the drain timeout has passed.
pub(crate) async fn serve(server: Server, mut shutdown: watch::Receiver<bool>) {
    let Server {
        listener,
        router,
        tls,
        limits,
        on_failure,
    } = server;
    let limits = Arc::new(limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut connections = JoinSet::new();
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut stopping = *shutdown.borrow_and_update();
    while !stopping {
        let accepted = tokio::select! {
            _ = shutdown.changed() => { stopping = true; continue; }
            permit = slots.clone().acquire_owned() => {
                let Ok(permit) = permit else { break };
                tokio::select! {
                    _ = shutdown.changed() => { stopping = true; continue; }
                    r = listener.accept() => r.map(|a| (a, permit)),
                }
            }
            // Reap finished connections so the set stays small.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        match accepted {
            Ok(((tcp, peer), permit)) => {
                let conn = Connection {
                    router: router.clone(),
                    tls: tls.clone(),
                    limits: limits.clone(),
                    peer,
                    stop: stop_rx.clone(),
                };
                let on_failure = on_failure.clone();
                connections.spawn(async move {
                    if let Err(e) = conn.run(tcp).await {
                        on_failure(ConnectionFailed { peer, error: &*e });
                    }
                    drop(permit);
                });
            }
            Err(e) => {
                let error: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
                if let Ok(local) = listener.local_addr() {
                    on_failure(ConnectionFailed {
                        peer: local,
                        error: &*error,
                    });
                }
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(limits.drain_timeout, drained)
        .await
        .is_err()
    {
        connections.shutdown().await;
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One accepted connection.
struct Connection {
    router: Router,
    tls: Option<ServerTls>,
    limits: Arc<ServerLimits>,
    peer: SocketAddr,
    stop: watch::Receiver<bool>,
}

impl Connection {
    async fn run(self, tcp: TcpStream) -> Result<(), BoxError> {
        let _ = tcp.set_nodelay(true);
        match self.tls.clone() {
            #[cfg(feature = "tls")]
            Some(tls) => {
                let limit = tls.handshake_timeout;
                let tls_stream = tokio::time::timeout(limit, tls.acceptor.accept(tcp))
                    .await
                    .map_err(|_| {
                        std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!(
                                "no TLS handshake within {:.1}s (tls-handshake-timeout)",
                                limit.as_secs_f64()
                            ),
                        )
                    })??;
                self.http(tls_stream).await
            }
            _ => self.http(tcp).await,
        }
    }

    async fn http<T>(self, stream: T) -> Result<(), BoxError>
    where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let Connection {
            router,
            limits,
            peer,
            mut stop,
            ..
        } = self;
        let in_flight = InFlight::default();
        let io = TokioIo::new(IdleCutoff::new(
            stream,
            limits.idle_timeout,
            in_flight.clone(),
        ));
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            let busy = in_flight.enter();
            req.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            async move {
                let answer = router.oneshot(req).await;
                drop(busy);
                answer
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .max_header_size(limits.max_header_bytes);
        if limits.max_header_bytes > DEFAULT_READ_BUFFER {
            // Otherwise the read buffer would fill before the head bound.
            builder.max_buf_size(limits.max_header_bytes + DEFAULT_READ_BUFFER);
        }
        let conn = builder.serve_connection(io, service);
        let mut conn = std::pin::pin!(conn);
        if !*stop.borrow_and_update() {
            tokio::select! {
                r = conn.as_mut() => return r.map_err(BoxError::from),
                _ = stop.changed() => {}
            }
        }
        conn.as_mut().graceful_shutdown();
        conn.await.map_err(BoxError::from)
    }
}

#[cfg(test)]
mod tests;
