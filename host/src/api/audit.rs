//! The audit log: an append-only record of changes that decide trust (accounts, keys, plugins,
//! grants, the pipeline, secrets), read by admins at `GET /v1/audit`.

use axum::extract::{RawQuery, State};
use axum::Json;
use serde_json::{json, Value};

use super::params::Params;
use super::routes::Routes;
use super::{ApiError, ApiResult, AppState};
use crate::auth::Permission::Admin;
use crate::auth::Principal;
use crate::time::iso_time;

pub fn routes() -> Routes {
    Routes::new().get("/v1/audit", Admin, list)
}

/// Appends an entry; a failure to record is logged, and does not undo the change it describes.
pub(crate) async fn record(state: &AppState, principal: &Principal, action: &str, target: &str, detail: Value) {
    let detail = detail.to_string();
    if let Err(err) = state.store.append_audit(&principal.actor(), action, target, &detail).await {
        tracing::error!(error = %err, action, target, "could not append to the audit log");
    }
}

/// `GET /v1/audit`: newest first; `next_cursor` is the `before` of the next page.
async fn list(State(state): State<AppState>, RawQuery(query): RawQuery) -> ApiResult<Json<Value>> {
    let params = Params::parse(query.as_deref());
    let limit = params.limit(1000)?;
    let before = match params.get("before") {
        Some(raw) => Some(
            raw.parse::<i64>().map_err(|_| ApiError::invalid(format!("before must be an entry id, got {raw:?}")))?,
        ),
        None => None,
    };
    let entries = state.store.audit_entries(before, limit).await?;
    let next = (entries.len() as i64 == limit).then(|| entries.last().map(|entry| entry.id)).flatten();
    let data: Vec<Value> = entries
        .iter()
        .map(|entry| {
            json!({
                "id": entry.id,
                "at": iso_time(entry.at_ns),
                "actor": entry.actor,
                "action": entry.action,
                "target": entry.target,
                "detail": serde_json::from_str::<Value>(&entry.detail).unwrap_or(Value::Null),
            })
        })
        .collect();
    Ok(Json(json!({ "data": data, "next_cursor": next })))
}
