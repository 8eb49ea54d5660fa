//! Secrets: `PUT /v1/secrets` (Phoenix's shape: upsert or delete a batch) and Ember's
//! `GET /v1/secrets`, which lists keys only. Values are write-only: no route returns them.

use crate::api::routes::Routes;
use crate::auth::Permission::Admin;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::time::iso_time;

use super::{ApiError, ApiResult, AppState};
use crate::secrets::{SecretEntry, SecretError};

pub fn routes() -> Routes {
    Routes::new().get("/v1/secrets", Admin, list).put("/v1/secrets", Admin, change)
}

/// One entry of `PUT /v1/secrets`: `value` is required and `null` deletes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    key: String,
    value: Option<String>,
    /// Ember's addition: the hosts the secret may be sent to (names or `*.domain`).
    #[serde(default)]
    hosts: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    secrets: Vec<Entry>,
}

fn secret_error(err: SecretError) -> ApiError {
    match err {
        SecretError::Disabled => {
            ApiError::with_status(StatusCode::SERVICE_UNAVAILABLE, "secrets_disabled", err.to_string())
        }
        SecretError::InvalidKey(_) | SecretError::InvalidHost(_) => ApiError::invalid(err.to_string()),
        SecretError::Store(err) => err.into(),
        SecretError::Cipher(err) => {
            tracing::error!(error = %err, "secret sealing failed");
            ApiError::internal("secret sealing failed")
        }
    }
}

/// `PUT /v1/secrets`: upserts entries with a value and deletes entries with `null`, atomically.
async fn change(
    State(state): State<AppState>,
    axum::Extension(principal): axum::Extension<crate::auth::Principal>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    // Parsed by hand: a serde error message could quote the body, and the body holds secrets.
    let raw: Value = serde_json::from_slice(&body).map_err(|_| ApiError::invalid("the body is not valid JSON"))?;
    if let Some(entries) = raw.get("secrets").and_then(Value::as_array) {
        if let Some(index) = entries.iter().position(|entry| entry.get("value").is_none()) {
            return Err(ApiError::invalid(format!("secrets[{index}]: `value` is required (null deletes)")));
        }
    }
    let body: ChangeBody = serde_json::from_value(raw)
        .map_err(|_| ApiError::invalid("expected {\"secrets\": [{\"key\": string, \"value\": string or null}, …]}"))?;
    let entries = body
        .secrets
        .into_iter()
        .map(|entry| SecretEntry { key: entry.key, value: entry.value, hosts: entry.hosts })
        .collect();
    let (upserted, deleted) = state.secrets.change(entries).await.map_err(secret_error)?;
    tracing::info!(upserted = ?upserted, deleted = ?deleted, "secrets changed");
    let detail = json!({ "upserted_keys": upserted, "deleted_keys": deleted });
    super::audit::record(&state, &principal, "secrets.change", "secrets", detail).await;
    Ok(Json(json!({ "data": { "upserted_keys": upserted, "deleted_keys": deleted } })))
}

/// `GET /v1/secrets`: the stored keys and when each changed; never values.
async fn list(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let keys = state.secrets.list().await.map_err(secret_error)?;
    let data: Vec<Value> = keys
        .into_iter()
        .map(|(key, ns, hosts)| json!({ "key": key, "updated_at": iso_time(ns), "hosts": hosts }))
        .collect();
    Ok(Json(json!({ "data": data, "enabled": state.secrets.enabled() })))
}
