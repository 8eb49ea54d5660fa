//! The HTTP API: Phoenix-compatible REST v1, OTLP/HTTP, GraphQL, health and metrics, and the web
//! UI, on one axum router.

mod accounts;
mod annotations;
mod api_keys;
mod audit;
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
mod login;
mod oauth2;
mod page;
mod params;
mod playground;
mod plugins;
mod project_members;
mod project_scope;
mod projects;
mod prompt_tasks;
mod prompts;
mod registry;
mod retention;
pub mod routes;
mod secrets;
mod sessions;
mod span_filter;
mod span_json;
mod span_query;
mod spans;
mod state;
mod system;
mod trace_moves;
mod traces;
pub(crate) mod ui;
mod views;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, Method};
use axum::routing::post;
use axum::Router;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

use crate::auth::Permission::{Admin, Ingest, Open, Read, Write};
pub use error::{ApiError, ApiResult};
pub use routes::{Declared, RouteTable, Routes};
pub use state::AppState;

/// OTLP/HTTP exports handled at once; more wait for a slot before their bodies are read, so that
/// buffered bodies stay within `MAX_EXPORTS_IN_FLIGHT × EMBER_MAX_BODY_BYTES`.
const MAX_EXPORTS_IN_FLIGHT: usize = 16;

/// Phoenix version reported to its clients, which enable features by it.
pub const PHOENIX_COMPAT_VERSION: &str = "20.26.1";

/// Builds the router with every route, each with the permission it needs (see `routes`).
pub fn router(state: AppState) -> Router {
    let body_limit = state.ingestor.max_body_bytes;
    let metrics = if state.protect_metrics { Read } else { Open };
    let export =
        post(crate::ingest::http::export_traces).layer(GlobalConcurrencyLimitLayer::new(MAX_EXPORTS_IN_FLIGHT));
    let routes = Routes::new()
        .on(Method::POST, "/v1/traces", Ingest, export)
        .get("/v1/projects", Read, projects::list)
        .post("/v1/projects", Write, projects::create)
        .get("/v1/projects/{project}", Read, projects::get_one)
        .put("/v1/projects/{project}", Write, projects::update)
        .delete("/v1/projects/{project}", Admin, projects::remove)
        .get("/v1/projects/{project}/spans", Read, spans::list)
        .get("/v1/projects/{project}/traces", Read, traces::list)
        .get("/v1/projects/{project}/sessions", Read, sessions::list)
        .get("/v1/sessions/{session}", Read, sessions::get_one)
        .delete("/v1/spans/{span}", Write, spans::remove)
        .get("/v1/traces/{trace}", Read, traces::tree)
        .delete("/v1/traces/{trace}", Write, traces::remove)
        .post("/v1/plugins/{name}/evaluate", Write, plugins::evaluate)
        .get("/v1/ingest_pipeline", Read, plugins::pipeline)
        .put("/v1/ingest_pipeline", Admin, plugins::set_pipeline)
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
        .merge(accounts::routes())
        .merge(api_keys::routes())
        .merge(login::routes())
        .merge(oauth2::routes())
        .merge(audit::routes())
        .merge(project_members::routes())
        .merge(retention::routes())
        .merge(trace_moves::routes())
        .merge(crate::api::graphql::routes(&state))
        .get("/arize_phoenix_version", Open, system::version)
        .get("/healthz", Open, system::healthz)
        .get("/readyz", Open, system::readyz)
        .get("/metrics", metrics, system::metrics)
        .get("/v1/system/routes", Admin, system::route_table);
    let cors = cors(&state.allowed_origins);
    routes
        .into_router(state.auth.clone())
        .fallback(crate::api::ui::fallback)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(cors)
        // Big JSON replies (a 10,000-span trace is ~2 MB) shrink ~8×; the embedded UI's files
        // are already compressed and pass through.
        .layer(CompressionLayer::new().gzip(true).quality(CompressionLevel::Fastest))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Cross-origin access for the listed origins only (with credentials, so their pages can use a
/// session); with none listed the layer adds nothing and browsers keep other origins out.
fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> =
        origins.iter().filter_map(|origin| HeaderValue::from_str(origin.trim_end_matches('/')).ok()).collect();
    if origins.is_empty() {
        return CorsLayer::new();
    }
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .allow_credentials(true)
}
