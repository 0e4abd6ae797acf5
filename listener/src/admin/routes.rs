//! The admin endpoint's routes: `GET /metrics`, `/health`, `/status`,
//! `/status.json`, `POST /reload`; anything else is 404.

use super::{AdminState, health, metrics, status};
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;

/// What a request for an unknown path is told.
const NOT_FOUND: &str = "not found; the admin endpoint serves GET /metrics, /health, /status, /status.json and POST /reload\n";

/// The router over `state`.
pub(crate) fn router(state: Arc<AdminState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_page))
        .route("/health", get(health_page))
        .route("/status", get(status_page))
        .route("/status.json", get(status_json))
        .route("/reload", post(reload))
        .fallback(|| async { (StatusCode::NOT_FOUND, NOT_FOUND) })
        .with_state(state)
}

type State = axum::extract::State<Arc<AdminState>>;

/// Answers are about now: never cached.
const NO_STORE: (header::HeaderName, &str) = (header::CACHE_CONTROL, "no-store");

async fn metrics_page(axum::extract::State(state): State) -> Response {
    let text = metrics::render(&state.view());
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE), NO_STORE],
        text,
    )
        .into_response()
}

async fn health_page(axum::extract::State(state): State) -> Response {
    let reasons = health::reasons(&state.view());
    if reasons.is_empty() {
        ([NO_STORE], "ok\n").into_response()
    } else {
        let mut text = reasons.join("\n");
        text.push('\n');
        (StatusCode::SERVICE_UNAVAILABLE, [NO_STORE], text).into_response()
    }
}

async fn status_page() -> Response {
    ([NO_STORE], Html(status::PAGE)).into_response()
}

async fn status_json(axum::extract::State(state): State) -> Response {
    let view = state.view();
    let rates: Vec<Vec<u64>> = view
        .stats
        .inputs
        .iter()
        .map(|i| state.rates.per_second(&i.input))
        .collect();
    let document = status::document(&view, &rates, &state.diag.recent());
    ([NO_STORE], axum::Json(document)).into_response()
}

/// `200` with what was done, or `409` with why it was refused.
async fn reload(axum::extract::State(state): State) -> Response {
    match state.reload().await {
        Ok(report) => ([NO_STORE], format!("reloaded: {}\n", report.0)).into_response(),
        Err(refused) => (
            StatusCode::CONFLICT,
            [NO_STORE],
            format!("refused: {refused}\n"),
        )
            .into_response(),
    }
}
