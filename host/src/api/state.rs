//! What every handler shares: the store, the ingest path, the plugin host and the services
//! built on them.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use axum::extract::FromRef;

use crate::ingest::Ingestor;
use crate::metrics::Metrics;
use crate::plugins::PluginHost;
use crate::store::Store;

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub ingestor: Ingestor,
    pub plugins: PluginHost,
    pub metrics: Arc<Metrics>,
    /// Cleared when shutdown begins, so that `/readyz` turns load balancers away first.
    pub accepting: Arc<AtomicBool>,
    /// Wakes the evaluation worker when jobs are queued.
    pub jobs: crate::evaluation::JobSignal,
    /// Largest plugin component `POST /v1/plugins` accepts.
    pub max_plugin_bytes: usize,
    /// Stored secrets (provider API keys).
    pub secrets: crate::secrets::Secrets,
    /// Provider plugins with pacing and retries.
    pub providers: crate::providers::Providers,
    /// Server-side prompt tasks of experiments.
    pub tasks: crate::evaluation::prompt_task::TaskRunner,
    /// The web UI and the root path it is served under.
    pub ui: crate::api::ui::UiAssets,
    /// Notices of committed spans, for live views.
    pub events: crate::live::SpanEvents,
    /// The supervised background tasks: one given up on fails health checks.
    pub supervisor: crate::supervise::Supervisor,
    /// Accounts, keys and sessions; off, every caller is the administrator.
    pub auth: crate::auth::Auth,
    /// `/metrics` needs the `read` permission (`EMBER_PROTECT_METRICS`) instead of being open.
    pub protect_metrics: bool,
    /// Origins allowed to call the API from a browser (`EMBER_ALLOWED_ORIGINS`).
    pub allowed_origins: Vec<String>,
    /// The retention rule of projects without a policy (`EMBER_DEFAULT_RETENTION_DAYS`).
    pub default_retention: crate::store::RetentionRule,
    /// Wakes the retention sweeper, which empties deleted projects in the background.
    pub sweeper_wake: Arc<tokio::sync::Notify>,
}

impl FromRef<AppState> for crate::api::ui::UiAssets {
    fn from_ref(state: &AppState) -> Self {
        state.ui.clone()
    }
}

impl FromRef<AppState> for Ingestor {
    fn from_ref(state: &AppState) -> Self {
        state.ingestor.clone()
    }
}
