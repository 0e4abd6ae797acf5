//! What every input of one listener shares, and starting an input's task:
//! at start-up for every input, and at a reload for the inputs it adds.

use super::{InputCtx, Socket};
use crate::diag::Diag;
use crate::listener::TaskGuard;
use crate::pipeline::Queue;
use crate::settings::Settings;
use crate::stats::InputCounters;
use crate::tls::ServerTls;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, oneshot, watch};
use tributary_core::DecodeOptions;
use tributary_core::syslog::SyslogParser;

/// The parts of an [`InputCtx`] that are the same for every input: the
/// settings a reload cannot change (see `reload::restart`) and the shared
/// queue, registries and parsers.
pub(crate) struct InputTemplate {
    pub(crate) queue: Queue,
    pub(crate) diag: Arc<Diag>,
    pub(crate) max_frame: usize,
    pub(crate) syslog_max_message: usize,
    pub(crate) syslog_parser: SyslogParser,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) first_frame_timeout: Option<Duration>,
    pub(crate) connections: Arc<super::Connections>,
    pub(crate) drain_timeout: Duration,
    pub(crate) decode: DecodeOptions,
    pub(crate) producers: Arc<crate::acks::Producers>,
    pub(crate) durable: bool,
    pub(crate) auth: Arc<crate::acks::ProducerAuth>,
    pub(crate) frame_timeout: Option<Duration>,
    pub(crate) read_linger: Option<Duration>,
}

impl InputTemplate {
    /// The shared parts, from the settings in effect at start.
    #[allow(clippy::too_many_arguments)] // the shared pieces, each distinct
    pub(crate) fn new(
        settings: &Settings,
        queue: Queue,
        diag: Arc<Diag>,
        syslog_parser: SyslogParser,
        connections: Arc<super::Connections>,
        producers: Arc<crate::acks::Producers>,
        auth: Arc<crate::acks::ProducerAuth>,
    ) -> InputTemplate {
        InputTemplate {
            queue,
            diag,
            max_frame: settings.max_frame,
            syslog_max_message: settings.syslog_max_message,
            syslog_parser,
            idle_timeout: settings.idle_timeout,
            first_frame_timeout: settings.first_frame_timeout,
            connections,
            drain_timeout: settings.drain_timeout,
            decode: DecodeOptions {
                lenient_pickle: settings.lenient_pickle,
            },
            producers,
            durable: settings.durable,
            auth,
            frame_timeout: settings.frame_timeout,
            read_linger: settings.read_linger,
        }
    }

    /// One input's context; `syslog`: the input speaks syslog (its own
    /// size bound and parser).
    pub(crate) fn ctx(&self, label: String, syslog: bool) -> Arc<InputCtx> {
        Arc::new(InputCtx {
            label,
            counters: Arc::new(InputCounters::default()),
            queue: self.queue.clone(),
            diag: self.diag.clone(),
            max_frame: if syslog {
                self.syslog_max_message
            } else {
                self.max_frame
            },
            syslog: syslog.then(|| self.syslog_parser.clone()),
            idle_timeout: self.idle_timeout,
            first_frame_timeout: self.first_frame_timeout,
            connections: self.connections.clone(),
            drain_timeout: self.drain_timeout,
            decode: self.decode,
            producers: self.producers.clone(),
            durable: self.durable,
            auth: self.auth.clone(),
            frame_timeout: self.frame_timeout,
            read_linger: self.read_linger,
        })
    }
}

/// How a reload stops an input: it sets `removed`; the input's task says
/// on `stopped` once its socket is closed (a connection to its address is
/// refused from then on).
pub(crate) struct Stop {
    pub(crate) removed: watch::Receiver<bool>,
    pub(crate) stopped: oneshot::Sender<()>,
}

/// The other ends of an input's [`Stop`], kept by the reload machinery.
pub(crate) struct StopHandle {
    pub(crate) removed: watch::Sender<bool>,
    pub(crate) stopped: oneshot::Receiver<()>,
}

/// A new pair.
pub(crate) fn stop_pair() -> (Stop, StopHandle) {
    let (removed_tx, removed) = watch::channel(false);
    let (stopped_tx, stopped) = oneshot::channel();
    (
        Stop {
            removed,
            stopped: stopped_tx,
        },
        StopHandle {
            removed: removed_tx,
            stopped,
        },
    )
}

/// What an input's task needs besides its socket: shared by all inputs.
#[derive(Clone)]
pub(crate) struct Serving {
    pub(crate) tls: Option<ServerTls>,
    /// `max-connections`, over all inputs.
    pub(crate) limit: Arc<Semaphore>,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) guard: TaskGuard,
    /// What the HTTP inputs share (credentials, body bounds, numbering).
    #[cfg(feature = "http")]
    pub(crate) http: Arc<super::http::HttpSettings>,
}

impl Serving {
    /// Starts serving `socket` until shutdown, or until a reload removes
    /// it (`stop`).
    pub(crate) fn spawn(&self, socket: Socket, ctx: Arc<InputCtx>, stop: Stop) {
        let Stop { removed, stopped } = stop;
        let until = (self.shutdown.clone(), removed);
        let guard = self.guard.clone();
        let (tls, limit) = (self.tls.clone(), self.limit.clone());
        #[cfg(feature = "http")]
        let http = self.http.clone();
        tokio::spawn(async move {
            match socket {
                Socket::Tcp(l) => super::accept_tcp(l, tls, ctx, limit, until, guard).await,
                Socket::Unix(l, file) => {
                    super::accept_unix(l, ctx, limit, until, guard).await;
                    drop(file); // no new connections: remove the path
                }
                Socket::Udp(s) => super::serve_udp(s, ctx, until, guard).await,
                Socket::UnixDgram(s, file) => {
                    super::serve_unix_dgram(s, ctx, until, guard).await;
                    drop(file);
                }
                #[cfg(feature = "http")]
                Socket::Http(l) => {
                    let stop = either(until);
                    super::http::serve_http(l, tls, ctx, http, stop, guard).await
                }
                #[cfg(not(feature = "http"))]
                Socket::Http(_) => unreachable!("refused by bind without the http feature"),
            }
            // The socket is closed (each serve function owned it).
            let _ = stopped.send(());
        });
    }
}

/// One signal for "stop": shutdown, or a reload removing the input (the
/// HTTP server watches a single one).
#[cfg(feature = "http")]
fn either(
    (mut shutdown, mut removed): (watch::Receiver<bool>, watch::Receiver<bool>),
) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(*shutdown.borrow() || *removed.borrow());
    tokio::spawn(async move {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => {}
            _ = removed.wait_for(|stop| *stop) => {}
            _ = tx.closed() => return,
        }
        let _ = tx.send(true);
    });
    rx
}
