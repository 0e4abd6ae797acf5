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

/// Accepts TCP connections until shutdown.
pub(crate) async fn accept_tcp(
    listener: tokio::net::TcpListener,
    input: Arc<InputCtx>,
    limit: Arc<Semaphore>,
    mut shutdown: watch::Receiver<bool>,
    guard: TaskGuard,
) {
    if *shutdown.borrow_and_update() {
        return;
    }
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = shutdown.changed() => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                start(stream, peer.to_string(), &input, &limit, &shutdown, &guard)
            }
            Err(e) => {
                input.diag.report(
                    Level::ERROR,
                    format_args!("{}: accept failed: {e}", input.label),
                );
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// Accepts Unix stream connections until shutdown; the peer is named by
/// its process id, since client sockets are usually unnamed.
pub(crate) async fn accept_unix(
    listener: tokio::net::UnixListener,
    input: Arc<InputCtx>,
    limit: Arc<Semaphore>,
    mut shutdown: watch::Receiver<bool>,
    guard: TaskGuard,
) {
    if *shutdown.borrow_and_update() {
        return;
    }
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = shutdown.changed() => return,
        };
        match accepted {
            Ok((stream, _)) => {
                let peer = match stream.peer_cred().ok().and_then(|c| c.pid()) {
                    Some(pid) => format!("pid {pid}"),
                    None => "an unnamed peer".to_owned(),
                };
                start(stream, peer, &input, &limit, &shutdown, &guard);
            }
            Err(e) => {
                input.diag.report(
                    Level::ERROR,
                    format_args!("{}: accept failed: {e}", input.label),
                );
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}
