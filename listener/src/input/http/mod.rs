//! The HTTP input (`--http ADDR`): Python's `HTTPHandler` and POSTed
//! NDJSON, JSON text sequences and JSON arrays on `/log`, OpenTelemetry
//! OTLP/HTTP logs on `/v1/logs` ([`otlp`]), served by the
//! one HTTP stack ([`crate::http_server`]). Paths, content types and
//! answers are specified in the repository's `docs/protocol.md`.
//!
//! A request's body is read whole (bounded by `--http-max-body`, before
//! and after gzip, and by `--frame-timeout`), every record of it decoded
//! and formatted, and only then queued: a bad record refuses the whole
//! body (400) unless the request says `partial=true`. The answer waits
//! for the request's acknowledgement level ([`submit`]).

mod answer;
mod array;
mod auth;
mod body;
mod content;
mod log;
mod otlp;
mod router;
mod sink;
mod submit;

pub(crate) use auth::Credentials;
pub(crate) use body::BodyBudget;

use super::InputCtx;
use crate::acks::{Producer, Producers};
use crate::diag::http::{ConnectionCut, RefusalKind};
use crate::http_server::{self, ConnectionFailed, Server, ServerLimits};
use crate::listener::TaskGuard;
use crate::settings::HttpAck;
use crate::tls::ServerTls;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Bytes of a request's head (request line and headers) past which it is
/// answered 431: far above what log clients send (HTTPHandler's GET puts
/// the record in the URL: a few KiB with a traceback).
pub(crate) const MAX_HEADER_BYTES: usize = 64 * 1024;

/// How long a client has to send a request head once the connection waits
/// for one, when `--frame-timeout` is off.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a keep-alive connection may stay silent between requests when
/// `--idle-timeout` is off.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The producer id of the HTTP inputs' acknowledgement numbering.
const ACK_PRODUCER: &str = "http";

/// The numbering `?ack=written` and `?ack=durable` requests share, one
/// for every HTTP input of the listener. It is registered on the first
/// such request, not at start: a listener whose HTTP clients never ask to
/// wait has no `http` numbering in its journal or on its status page.
pub(crate) struct HttpAcks {
    producers: Arc<Producers>,
    numbering: std::sync::OnceLock<Numbering>,
}

/// The registered numbering and the next request's number.
pub(crate) struct Numbering {
    pub(crate) producer: Arc<Producer>,
    /// The next request's number, locked while its batch is queued.
    pub(crate) next: tokio::sync::Mutex<u64>,
}

impl HttpAcks {
    /// The numbering to be registered with `producers` when first used.
    pub(crate) fn new(producers: &Arc<Producers>) -> HttpAcks {
        HttpAcks {
            producers: producers.clone(),
            numbering: std::sync::OnceLock::new(),
        }
    }

    /// The numbering, registered now if it was not yet; it starts after
    /// whatever the journal says it wrote before (recovery ran at start).
    pub(crate) fn numbering(&self) -> &Numbering {
        self.numbering.get_or_init(|| {
            let (producer, _, start) = self.producers.hello(ACK_PRODUCER, "", 0);
            Numbering {
                producer,
                next: tokio::sync::Mutex::new(start),
            }
        })
    }
}

/// What the HTTP inputs share beyond the input context.
pub(crate) struct HttpSettings {
    pub(crate) credentials: Option<Credentials>,
    pub(crate) max_body: usize,
    /// Bytes of bodies held at once over every HTTP connection.
    pub(crate) body_budget: BodyBudget,
    pub(crate) default_ack: HttpAck,
    pub(crate) acks: Arc<HttpAcks>,
    pub(crate) max_connections: usize,
}

/// One HTTP input: its context and settings, shared by its handlers.
pub(crate) struct HttpInput {
    pub(crate) ctx: Arc<InputCtx>,
    pub(crate) settings: Arc<HttpSettings>,
}

/// Answers 401 to a request without accepted credentials, when some are
/// required.
async fn auth_layer(State(input): State<Arc<HttpInput>>, request: Request, next: Next) -> Response {
    if let Some(credentials) = &input.settings.credentials {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !credentials.allows(given) {
            let peer = request
                .extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map_or_else(|| "a client".to_owned(), |c| c.0.to_string());
            let why = if given.is_empty() {
                "no credentials (HTTP Basic, --http-credentials)"
            } else {
                "credentials not accepted (HTTP Basic, --http-credentials)"
            };
            return submit::refuse(
                &input,
                &peer,
                answer::Refusal::new(StatusCode::UNAUTHORIZED, why),
                RefusalKind::Unauthorized,
            );
        }
    }
    next.run(request).await
}

/// Serves one HTTP input until shutdown.
pub(crate) async fn serve_http(
    listener: TcpListener,
    tls: Option<ServerTls>,
    ctx: Arc<InputCtx>,
    settings: Arc<HttpSettings>,
    shutdown: watch::Receiver<bool>,
    guard: TaskGuard,
) {
    let max_connections = settings.max_connections;
    let input = Arc::new(HttpInput {
        ctx: ctx.clone(),
        settings,
    });
    let limits = ServerLimits {
        max_header_bytes: MAX_HEADER_BYTES,
        header_timeout: ctx.frame_timeout.unwrap_or(HEADER_TIMEOUT),
        idle_timeout: ctx.idle_timeout.unwrap_or(IDLE_TIMEOUT),
        max_connections,
        drain_timeout: ctx.drain_timeout,
    };
    let on_failure = {
        let ctx = ctx.clone();
        Arc::new(move |failure: ConnectionFailed<'_>| {
            ctx.emit(ConnectionCut { failure: &failure });
        })
    };
    let server = Server {
        listener,
        router: router::router(input),
        tls,
        limits,
        on_failure,
    };
    http_server::serve(server, shutdown).await;
    drop(guard);
}
