//! The HTTP API: Phoenix-compatible REST v1, OTLP/HTTP, GraphQL, health and metrics, and the web
//! UI, on one axum router.

mod annotations;
mod compare;
mod dataset_from_spans;
mod dataset_upload;
mod datasets;
mod error;
pub(crate) mod evaluators;
mod experiment_export;
mod experiments;
pub(crate) mod graphql;
mod json_body;
mod lingering_close;
pub mod listener;
mod page;
mod params;
mod playground;
mod plugins;
mod projects;
mod prompt_tasks;
mod prompts;
mod registry;
mod secrets;
mod sessions;
mod span_filter;
mod span_query;
mod spans;
mod state;
mod system;
mod traces;
pub(crate) mod ui;
mod views;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use axum::Router;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::trace::TraceLayer;

pub use error::{ApiError, ApiResult};
pub use state::AppState;

/// OTLP/HTTP exports handled at once; more wait for a slot before their bodies are read, so that
/// buffered bodies stay within `MAX_EXPORTS_IN_FLIGHT × EMBER_MAX_BODY_BYTES`.
const MAX_EXPORTS_IN_FLIGHT: usize = 16;

/// Phoenix version reported to its clients, which enable features by it.
pub const PHOENIX_COMPAT_VERSION: &str = "20.26.1";

/// Builds the router with every route.
pub fn router(state: AppState) -> Router {
    let body_limit = state.ingestor.max_body_bytes;
    Router::new()
        .route(
            "/v1/traces",
            post(crate::ingest::http::export_traces).layer(GlobalConcurrencyLimitLayer::new(MAX_EXPORTS_IN_FLIGHT)),
        )
        .route("/v1/projects", get(projects::list).post(projects::create))
        .route("/v1/projects/{project}", get(projects::get_one).put(projects::update).delete(projects::remove))
        .route("/v1/projects/{project}/spans", get(spans::list))
        .route("/v1/projects/{project}/traces", get(traces::list))
        .route("/v1/projects/{project}/sessions", get(sessions::list))
        .route("/v1/sessions/{session}", get(sessions::get_one))
        .route("/v1/spans/{span}", delete(spans::remove))
        .route("/v1/traces/{trace}", get(traces::tree).delete(traces::remove))
        .route("/v1/plugins/{name}/evaluate", post(plugins::evaluate))
        .route("/v1/ingest_pipeline", get(plugins::pipeline).put(plugins::set_pipeline))
        .merge(datasets::routes())
        .merge(experiments::routes())
        .merge(annotations::routes())
        .merge(span_query::routes())
        .merge(registry::routes(state.max_plugin_bytes))
        .merge(evaluators::routes())
        .merge(compare::routes())
        .merge(prompts::routes())
        .merge(playground::routes())
        .merge(prompt_tasks::routes())
        .merge(secrets::routes())
        .merge(crate::api::graphql::routes(&state))
        .route("/arize_phoenix_version", get(system::version))
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .route("/metrics", get(system::metrics))
        .fallback(crate::api::ui::fallback)
        .layer(DefaultBodyLimit::max(body_limit))
        // Big JSON replies (a 10,000-span trace is ~2 MB) shrink ~8×; the embedded UI's files
        // are already compressed and pass through.
        .layer(CompressionLayer::new().gzip(true).quality(CompressionLevel::Fastest))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
