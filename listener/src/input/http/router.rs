//! The HTTP input's routes, all in one place: a route is one line here.
//! Every route is behind the credentials check when `--http-credentials`
//! is set.

use super::{HttpInput, auth_layer, log, otlp};
use axum::Router;
use axum::routing::get;
use axum::routing::post;
use std::sync::Arc;

/// The router of one HTTP input.
pub(crate) fn router(input: Arc<HttpInput>) -> Router {
    Router::new()
        .route("/log", get(log::get).post(log::post))
        .route("/v1/logs", post(otlp::post))
        .layer(axum::middleware::from_fn_with_state(
            input.clone(),
            auth_layer,
        ))
        .with_state(input)
}
