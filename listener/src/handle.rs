//! Running a listener on its own thread, for programs that are not async.

use crate::ListenerError;
use crate::input::BoundInput;
use crate::listener::{Controller, ListenerBuilder, Summary};
use crate::reload::{ReloadError, ReloadReport};
use crate::stats::{Stats, StatsSnapshot};
use std::thread::JoinHandle;

/// A listener running on its own thread; see [`ListenerBuilder::spawn`].
/// Dropping the handle shuts the listener down gracefully and waits for it.
#[derive(Debug)]
pub struct ListenerHandle {
    bound: Vec<BoundInput>,
    admin: Option<std::net::SocketAddr>,
    controller: Controller,
    stats: Stats,
    /// The listener's runtime, for the blocking [`ListenerHandle::reload`].
    runtime: tokio::runtime::Handle,
    thread: Option<JoinHandle<Result<Summary, ListenerError>>>,
}

type Ready = Result<
    (
        Vec<BoundInput>,
        Option<std::net::SocketAddr>,
        Controller,
        Stats,
        tokio::runtime::Handle,
    ),
    ListenerError,
>;

pub(crate) fn spawn(builder: ListenerBuilder) -> Result<ListenerHandle, ListenerError> {
    let threads = builder.runtime_threads();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Ready>();
    let thread = std::thread::Builder::new()
        .name("tributary-listener".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .thread_name("tributary-io")
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(ListenerError::Runtime(e)));
                    return Ok(Summary::default());
                }
            };
            runtime.block_on(async move {
                match builder.bind().await {
                    Ok(listener) => {
                        let _ = ready_tx.send(Ok((
                            listener.bound().to_vec(),
                            listener.admin_addr(),
                            listener.controller(),
                            listener.stats(),
                            tokio::runtime::Handle::current(),
                        )));
                        listener.run().await
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        Ok(Summary::default())
                    }
                }
            })
        })
        .map_err(ListenerError::Runtime)?;
    match ready_rx.recv() {
        Ok(Ok((bound, admin, controller, stats, runtime))) => Ok(ListenerHandle {
            bound,
            admin,
            controller,
            stats,
            runtime,
            thread: Some(thread),
        }),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => {
            let _ = thread.join();
            Err(ListenerError::ThreadPanicked)
        }
    }
}

impl ListenerHandle {
    /// The bound inputs, with the real ports.
    pub fn bound(&self) -> &[BoundInput] {
        &self.bound
    }

    /// The admin endpoint's address, with `--admin`.
    pub fn admin_addr(&self) -> Option<std::net::SocketAddr> {
        self.admin
    }

    /// Every counter now.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// Reopens the output files.
    pub fn reopen(&self) {
        self.controller.reopen();
    }

    /// Reloads the configuration and waits for the outcome: see
    /// [`Controller::reload`], which this calls on the listener's runtime.
    /// Blocking: call it from ordinary threads, not from async code (there,
    /// await `controller().reload()`).
    pub fn reload(&self) -> Result<ReloadReport, ReloadError> {
        let controller = self.controller.clone();
        self.runtime
            .block_on(async move { controller.reload().await })
    }

    /// A controller usable from elsewhere (e.g. a signal handler).
    pub fn controller(&self) -> Controller {
        self.controller.clone()
    }

    /// Shuts down gracefully: everything already received is written and
    /// flushed before this returns.
    pub fn shutdown(mut self) -> Result<Summary, ListenerError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<Summary, ListenerError> {
        self.controller.shutdown();
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| ListenerError::ThreadPanicked)?,
            None => Ok(Summary::default()),
        }
    }
}

impl Drop for ListenerHandle {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
