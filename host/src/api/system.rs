//! Health, readiness, metrics and the Phoenix version probe.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;

use super::{AppState, PHOENIX_COMPAT_VERSION};

/// Liveness: the process serves HTTP.
pub async fn healthz() -> &'static str {
    "OK"
}

/// Readiness: accepting spans and the database answers.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if !state.accepting.load(Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    if !state.store.ping().await {
        return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable");
    }
    (StatusCode::OK, "OK")
}

/// Prometheus / OpenMetrics text exposition.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], state.metrics.render())
}

/// The Phoenix version Ember answers to, as plain text.
pub async fn version() -> &'static str {
    PHOENIX_COMPAT_VERSION
}
