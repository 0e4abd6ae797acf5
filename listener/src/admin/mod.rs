//! The admin endpoint (`--admin ADDR`): Prometheus metrics, a health
//! check, a live status page and reload, served on its own address by the
//! one HTTP server stack (`http_server`).
//!
//! Scrapes cost the inputs and the writer nothing: every figure is an
//! atomic they keep anyway, read and rendered on request; the status
//! page's rates come from a once-a-second sampler (`rates`), and its
//! diagnostics from the ring `Diag` keeps.
//!
//! Other hosts reach it only over TLS (the listener's `tls-cert`) or with
//! `allow-insecure-remote`; on loopback it is plain HTTP.

mod client;
mod health;
mod metrics;
mod rates;
mod reload;
mod routes;
mod status;
mod view;

pub use client::{ReloadClientError, request_reload};
pub use reload::{Reload, ReloadFuture, ReloadRefused, ReloadReport};

/// `reload`, counted in `stats` as the listener's own reloads are.
pub(crate) fn reload_counted(reload: Arc<dyn Reload>, stats: &Stats) -> reload::Counted {
    reload::Counted {
        inner: reload,
        reloads: stats.reloads.clone(),
    }
}

use crate::ListenerError;
use crate::acks::Producers;
use crate::diag::Diag;
use crate::diag::admin as event;
use crate::http_server::{self, ConnectionFailed, Server, ServerLimits};
use crate::pipeline::Queue;
use crate::stats::Stats;
use crate::tls::ServerTls;
use rates::Rates;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::sync::watch;
use view::{LastReload, View};

/// Acknowledged producers listed at most (the page and `/status.json`).
const PRODUCERS_SHOWN: usize = 200;

/// The admin endpoint's bounds: few clients (a scraper, a browser, an
/// operator), small requests, and a slow client cut off soon.
fn limits(drain_timeout: Duration) -> ServerLimits {
    ServerLimits {
        max_header_bytes: 16 * 1024,
        header_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(30),
        max_connections: 64,
        drain_timeout: drain_timeout.min(Duration::from_secs(2)),
    }
}

/// The admin socket, bound.
pub(crate) struct BoundAdmin {
    listener: TcpListener,
    addr: SocketAddr,
    /// TLS, for an address other hosts can reach.
    tls: Option<ServerTls>,
}

impl BoundAdmin {
    /// The bound address (the real port when `:0` was asked).
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Binds the admin address. On loopback it serves plain HTTP; on an
/// address other hosts can reach it serves TLS when the listener has a
/// certificate, else plain HTTP only with `allow_insecure_remote` (with a
/// warning), and is refused otherwise.
pub(crate) async fn bind(
    addr: &str,
    tls: Option<&ServerTls>,
    allow_insecure_remote: bool,
) -> Result<BoundAdmin, ListenerError> {
    let label = format!("admin {addr}");
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ListenerError::Bind {
            input: label.clone(),
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ListenerError::Bind {
            input: label.clone(),
            source,
        })?;
    let tls = if addr.ip().is_loopback() {
        None
    } else if let Some(tls) = tls {
        Some(tls.clone())
    } else if allow_insecure_remote {
        eprintln!(
            "tributary: warning: admin {addr} is reachable from other hosts without TLS (--allow-insecure-remote): anyone who can reach it can read the listener's state and reload it"
        );
        None
    } else {
        return Err(ListenerError::InsecureRemote {
            input: format!("admin {addr}"),
        });
    };
    Ok(BoundAdmin {
        listener,
        addr,
        tls,
    })
}

/// What the routes read, shared by every request.
pub(crate) struct AdminState {
    pub(crate) stats: Stats,
    pub(crate) producers: Arc<Producers>,
    pub(crate) diag: Arc<Diag>,
    pub(crate) queue: Queue,
    pub(crate) rates: Arc<Rates>,
    pub(crate) reload: Arc<dyn Reload>,
    pub(crate) queue_capacity: u64,
    pub(crate) queue_bytes_capacity: u64,
    pub(crate) started: Instant,
    /// One reload at a time: a second waits for the first.
    reloading: tokio::sync::Mutex<()>,
}

impl AdminState {
    /// State for an endpoint over these parts.
    #[allow(clippy::too_many_arguments)] // the listener's parts it shows, each distinct
    pub(crate) fn new(
        stats: Stats,
        producers: Arc<Producers>,
        diag: Arc<Diag>,
        queue: Queue,
        reload: Arc<dyn Reload>,
        queue_capacity: usize,
        queue_bytes_capacity: usize,
    ) -> AdminState {
        // The first sample before anything is read (inputs are read only
        // once the listener runs): the rates then account for every
        // record, however soon the first arrives.
        let rates = Arc::new(Rates::default());
        rates.sample(&stats);
        AdminState {
            stats,
            producers,
            diag,
            queue,
            rates,
            reload,
            queue_capacity: queue_capacity as u64,
            queue_bytes_capacity: queue_bytes_capacity as u64,
            started: Instant::now(),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// Everything at this moment.
    fn view(&self) -> View {
        let stats = self.stats.snapshot();
        View {
            missing_fields: self.queue.records_missing_fields(),
            queue_capacity: self.queue_capacity,
            queue_bytes_capacity: self.queue_bytes_capacity,
            producers: self.producers.connected(PRODUCERS_SHOWN),
            last_reload: stats.last_reload.as_ref().map(|l| LastReload {
                at_unix_ms: l
                    .at
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                ok: l.ok,
                message: l.message.clone(),
            }),
            uptime_seconds: self.started.elapsed().as_secs_f64(),
            stats,
        }
    }

    /// Reloads, one at a time; the reload itself counts its result,
    /// reports it and keeps it for the page.
    async fn reload(&self) -> Result<ReloadReport, ReloadRefused> {
        let _one_at_a_time = self.reloading.lock().await;
        self.reload.reload().await
    }
}

/// Serves the endpoint until `shutdown`; samples the rates meanwhile.
pub(crate) async fn serve(
    bound: BoundAdmin,
    state: Arc<AdminState>,
    drain_timeout: Duration,
    shutdown: watch::Receiver<bool>,
) {
    let sampler = tokio::spawn(rates::sample_forever(
        state.stats.clone(),
        state.rates.clone(),
    ));
    let diag = state.diag.clone();
    let server = Server {
        listener: bound.listener,
        router: routes::router(state),
        tls: bound.tls,
        limits: limits(drain_timeout),
        on_failure: Arc::new(move |failed: ConnectionFailed<'_>| {
            diag.emit(&event::Admin, event::ClientFailed(&failed));
        }),
    };
    http_server::serve(server, shutdown).await;
    sampler.abort();
}
