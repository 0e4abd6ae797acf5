//! Accept loops for TCP and Unix stream inputs: one task per connection,
//! under a shared connection limit.

use super::InputCtx;
use super::stream::serve_stream;
use crate::listener::TaskGuard;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::sync::{Semaphore, watch};
use tributary_core::Level;

/// After an accept error (typically out of file descriptors), wait this
/// long rather than spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Starts serving an accepted connection, or refuses it at the limit.
fn start<S>(
    stream: S,
    peer: String,
    input: &Arc<InputCtx>,
    limit: &Arc<Semaphore>,
    shutdown: &watch::Receiver<bool>,
    guard: &TaskGuard,
) where
    S: tokio::io::AsyncRead + std::os::fd::AsRawFd + Unpin + Send + 'static,
{
    let Ok(permit) = limit.clone().try_acquire_owned() else {
        input.counters.rejected.fetch_add(1, Relaxed);
        input.diag.report(
            Level::WARNING,
            format_args!(
                "{}: refusing connection from {peer}: max-connections reached",
                input.label
            ),
        );
        return;
    };
    input.counters.connections.fetch_add(1, Relaxed);
    input.counters.active.fetch_add(1, Relaxed);
    let (input, shutdown, guard) = (input.clone(), shutdown.clone(), guard.clone());
    tokio::spawn(async move {
        serve_stream(stream, peer, input.clone(), shutdown).await;
        input.counters.active.fetch_sub(1, Relaxed);
        drop(permit);
        drop(guard);
    });
}

/// A listening stream socket.
trait Acceptor: Send + Sync {
    type Stream: tokio::io::AsyncRead + std::os::fd::AsRawFd + Unpin + Send + 'static;
    /// The next connection and a name for its peer.
    fn next(&self) -> impl Future<Output = std::io::Result<(Self::Stream, String)>> + Send;
}

impl Acceptor for tokio::net::TcpListener {
    type Stream = tokio::net::TcpStream;
    async fn next(&self) -> std::io::Result<(Self::Stream, String)> {
        let (stream, peer) = self.accept().await?;
        Ok((stream, peer.to_string()))
    }
}

impl Acceptor for tokio::net::UnixListener {
    type Stream = tokio::net::UnixStream;
    /// Unix clients are usually unnamed: the peer is named by its pid.
    async fn next(&self) -> std::io::Result<(Self::Stream, String)> {
        let (stream, _) = self.accept().await?;
        let peer = match stream.peer_cred().ok().and_then(|c| c.pid()) {
            Some(pid) => format!("pid {pid}"),
            None => "an unnamed peer".to_owned(),
        };
        Ok((stream, peer))
    }
}

/// Accepts until shutdown, then takes the connections already waiting in
/// the backlog: their producers consider that data sent, so they are served
/// too (in drain mode).
async fn accept_loop<A: Acceptor>(
    listener: A,
    input: Arc<InputCtx>,
    limit: Arc<Semaphore>,
    mut shutdown: watch::Receiver<bool>,
    guard: TaskGuard,
) {
    let mut stopping = *shutdown.borrow_and_update();
    while !stopping {
        tokio::select! {
            r = listener.next() => match r {
                Ok((stream, peer)) => start(stream, peer, &input, &limit, &shutdown, &guard),
                Err(e) => {
                    input.diag.report(
                        Level::ERROR,
                        format_args!("{}: accept failed: {e}", input.label),
                    );
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            _ = shutdown.changed() => stopping = true,
        }
    }
    while let Ok(Ok((stream, peer))) = tokio::time::timeout(Duration::ZERO, listener.next()).await {
        start(stream, peer, &input, &limit, &shutdown, &guard);
    }
}

/// Accepts TCP connections until shutdown.
pub(crate) async fn accept_tcp(
    listener: tokio::net::TcpListener,
    input: Arc<InputCtx>,
    limit: Arc<Semaphore>,
    shutdown: watch::Receiver<bool>,
    guard: TaskGuard,
) {
    accept_loop(listener, input, limit, shutdown, guard).await;
}

/// Accepts Unix stream connections until shutdown.
pub(crate) async fn accept_unix(
    listener: tokio::net::UnixListener,
    input: Arc<InputCtx>,
    limit: Arc<Semaphore>,
    shutdown: watch::Receiver<bool>,
    guard: TaskGuard,
) {
    accept_loop(listener, input, limit, shutdown, guard).await;
}
