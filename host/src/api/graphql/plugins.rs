//! Registered plugins with their policy and recent call statistics.

use async_graphql::{Context, Json, Object, SimpleObject};
use serde_json::Value;

use super::{json_column, state};
use crate::store::PluginRecord;
use crate::time::iso_time;

/// A registered plugin version.
pub struct Plugin(pub PluginRecord);

/// Failed calls of one error kind.
#[derive(SimpleObject)]
pub struct ErrorCount {
    pub kind: String,
    pub count: i64,
}

/// Calls since the server started, and instructions over the last 1,024 calls.
#[derive(SimpleObject)]
pub struct PluginStats {
    pub calls: i64,
    pub errors: Vec<ErrorCount>,
    pub instructions_p50: Option<f64>,
    pub instructions_p99: Option<f64>,
}

#[Object]
impl Plugin {
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The WIT world it implements (`evaluator`, `span-processor`, `provider`, …).
    async fn world(&self) -> &str {
        &self.0.world
    }

    async fn version(&self) -> &str {
        &self.0.version
    }

    async fn sha256(&self) -> &str {
        &self.0.sha256
    }

    async fn enabled(&self) -> bool {
        self.0.enabled
    }

    async fn size_bytes(&self) -> i64 {
        self.0.size_bytes
    }

    /// `upload` or `bundled`.
    async fn source(&self) -> &str {
        &self.0.source
    }

    /// What the administrator granted: hosts, secrets, `llm`, private addresses.
    async fn grants(&self) -> Json<Value> {
        Json(json_column(&self.0.grants))
    }

    /// Fuel, memory and time limits per call.
    async fn limits(&self) -> Json<Value> {
        Json(json_column(&self.0.limits))
    }

    /// What the plugin asked for in its manifest.
    async fn manifest(&self) -> Json<Value> {
        Json(json_column(&self.0.manifest))
    }

    async fn config(&self) -> Json<Value> {
        Json(json_column(&self.0.config))
    }

    async fn created_at(&self) -> String {
        iso_time(self.0.created_ns)
    }

    /// Calls by this server since it started (all versions of the name).
    async fn stats(&self, ctx: &Context<'_>) -> PluginStats {
        let snapshot = state(ctx).metrics.call_stats.snapshot(&self.0.name);
        PluginStats {
            calls: i64::try_from(snapshot.calls).unwrap_or(i64::MAX),
            errors: snapshot
                .errors
                .into_iter()
                .map(|(kind, count)| ErrorCount { kind, count: i64::try_from(count).unwrap_or(i64::MAX) })
                .collect(),
            instructions_p50: snapshot.instructions_p50.map(|n| n as f64),
            instructions_p99: snapshot.instructions_p99.map(|n| n as f64),
        }
    }
}
