//! Health, readiness, metrics and the Phoenix version probe.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;

use super::{AppState, PHOENIX_COMPAT_VERSION};
use crate::store::StorageFault;

/// Liveness: the process serves HTTP and its span writer is alive. A dead writer fails it, so
/// that the service manager restarts the process.
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.ingestor.write_health().is_down() {
        return (StatusCode::SERVICE_UNAVAILABLE, "not alive: the span writer is down");
    }
    if state.supervisor.failed_task().is_some() {
        return (StatusCode::SERVICE_UNAVAILABLE, "not alive: a background task failed");
    }
    (StatusCode::OK, "OK")
}

/// How long `/readyz` waits for the database: a load balancer must get an answer within a
/// second whatever state the database is in.
const READY_PING_TIMEOUT: Duration = Duration::from_millis(800);

/// Readiness, with the reason in the body: not ready while shutting down, while the disk is full,
/// while writes fail with I/O errors, or while the database does not answer. A full queue is
/// only "degraded": under load every replica's queue fills, and sending them all out of the load
/// balancer at once would help nobody.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    let unavailable = |reason: &str| (StatusCode::SERVICE_UNAVAILABLE, reason.to_owned());
    if !state.accepting.load(Ordering::Relaxed) {
        return unavailable("not ready: shutting down");
    }
    match state.ingestor.write_health().fault() {
        Some(StorageFault::DiskFull) => {
            return unavailable(
                "not ready: disk full: span writes fail for lack of space; exports are refused until space returns",
            )
        }
        Some(StorageFault::Io) => return unavailable("not ready: storage I/O errors: span writes fail"),
        Some(StorageFault::Unavailable) => return unavailable("not ready: database unreachable: span writes fail"),
        _ => {}
    }
    if state.ingestor.write_health().is_down() {
        return unavailable("not ready: the span writer is down");
    }
    if let Some(task) = state.supervisor.failed_task() {
        return unavailable(&format!("not ready: the {task} task failed; shutting down"));
    }
    if state.ingestor.write_health().panicked() {
        return unavailable("not ready: span writes panic; retrying");
    }
    if !tokio::time::timeout(READY_PING_TIMEOUT, state.store.ping()).await.unwrap_or(false) {
        return unavailable("not ready: database unreachable");
    }
    if state.ingestor.quota().refusal().is_some() {
        // Reads and deletes still work, so the server stays in rotation; ingest is refused.
        return (StatusCode::OK, format!("degraded: ingest blocked: {}", state.ingestor.quota().exceeded()));
    }
    if state.ingestor.quota().level() == crate::ingest::disk_quota::QuotaLevel::Warn {
        return (
            StatusCode::OK,
            format!("degraded: database storage past the warning threshold: {}", state.ingestor.quota().exceeded()),
        );
    }
    let (depth, capacity) = state.ingestor.queue_fill();
    if depth >= capacity {
        return (StatusCode::OK, format!("degraded: ingest queue full ({depth} spans)"));
    }
    (StatusCode::OK, "OK".into())
}

/// Prometheus / OpenMetrics text exposition.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], state.metrics.render())
}

/// The Phoenix version Ember answers to, as plain text.
pub async fn version() -> &'static str {
    PHOENIX_COMPAT_VERSION
}

/// `GET /v1/system/routes`: every route with the permission it needs, as the router enforces it.
pub async fn route_table(axum::Extension(table): axum::Extension<super::RouteTable>) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "data": table.declared() }))
}
