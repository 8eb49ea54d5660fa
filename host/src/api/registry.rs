//! The plugin registry over HTTP: upload (raw or multipart), list, read, enable/disable, change
//! grants and limits, delete. Versions are addressed as `name` (the newest enabled one) or
//! `name@version`.

use crate::api::routes::Routes;
use crate::auth::Permission::{Admin, Read};
use crate::auth::Principal;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::post;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::json_body::JsonBody;
use super::{ApiError, ApiResult, AppState};
use crate::plugins::{Grants, InstalledPlugin, Limits, Manifest, RegistryError, Upload};
use crate::store::PluginRecord;
use crate::time::iso_time;

/// The registry routes; uploads may be larger than other request bodies.
pub fn routes(max_plugin_bytes: usize) -> Routes {
    Routes::new()
        .get("/v1/plugins", Read, list)
        .on(Method::POST, "/v1/plugins", Admin, post(upload).layer(DefaultBodyLimit::max(max_plugin_bytes)))
        .get("/v1/plugins/{reference}", Read, get_one)
        .patch("/v1/plugins/{reference}", Admin, update)
        .delete("/v1/plugins/{reference}", Admin, remove)
        .post("/v1/plugins/{reference}/enable", Admin, enable)
        .post("/v1/plugins/{reference}/disable", Admin, disable)
}

/// A registry row as the API shows it.
pub fn plugin_json(record: &PluginRecord, installed: Option<&InstalledPlugin>) -> Value {
    let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
    let info = installed.map(|installed| installed.plugin.info());
    json!({
        "id": record.id,
        "name": record.name,
        "version": record.version,
        "reference": format!("{}@{}", record.name, record.version),
        "world": record.world,
        "wit_version": record.wit_version,
        "sha256": record.sha256,
        "size_bytes": record.size_bytes,
        "source": record.source,
        "enabled": record.enabled,
        "loaded": installed.is_some(),
        "description": parse(&record.manifest).get("description").cloned().unwrap_or(Value::Null),
        "config_schema": info.and_then(|info| info.descriptor.as_ref()).and_then(|d| d.config_schema.clone()),
        "imports_wasi": info.map(|info| info.imports_wasi),
        "manifest": parse(&record.manifest),
        "grants": parse(&record.grants),
        "limits": parse(&record.limits),
        "config": parse(&record.config),
        "created_at": iso_time(record.created_ns),
    })
}

/// `GET /v1/plugins`: every registered version, by name then registration order.
async fn list(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let records = state.store.list_plugins().await?;
    let data: Vec<Value> =
        records.iter().map(|record| plugin_json(record, state.plugins.by_id(record.id).as_ref())).collect();
    Ok(Json(json!({ "data": data })))
}

/// Upload options given as query parameters with a raw body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    name: Option<String>,
    version: Option<String>,
    description: Option<String>,
}

/// `POST /v1/plugins`: registers a component. Either the raw component as the body
/// (`application/wasm`, with `?name=&version=&description=`), or `multipart/form-data` with a
/// `component` file part and optional `manifest` and `grants` JSON parts. 201 when new, 200 when
/// the same name, version and bytes were already registered, 409 for other bytes under a taken
/// version, 422 for a component that is not an Ember plugin or a manifest that asks too much.
async fn upload(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> ApiResult<(StatusCode, Json<Value>)> {
    // Bodies are read only inside a slot, so a burst of big uploads waits here instead of holding
    // its bytes in memory at once.
    let Some(_slot) = state.plugins.upload_slot().await else {
        return Err(ApiError::with_status(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "other plugin uploads are being compiled; retry later",
        ));
    };
    let content_type = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let (wasm, mut manifest, grants) = if content_type.starts_with("multipart/form-data") {
        let multipart =
            Multipart::from_request(request, &state).await.map_err(|err| ApiError::invalid(err.body_text()))?;
        read_multipart(multipart).await?
    } else {
        let body = Bytes::from_request(request, &state)
            .await
            .map_err(|err| ApiError::body_read(err.into(), "the component is larger than EMBER_MAX_PLUGIN_BYTES"))?;
        (Vec::from(body), Manifest::default(), Grants::default())
    };
    if wasm.is_empty() {
        return Err(ApiError::invalid("no component: send the .wasm bytes as the body or as a `component` part"));
    }
    manifest.name = manifest.name.or(query.name);
    manifest.version = manifest.version.or(query.version);
    manifest.description = manifest.description.or(query.description);
    let upload = Upload { wasm, manifest, grants, source: "upload", fallback_name: None };
    let (installed, created) = state.plugins.register(&state.store, upload).await.map_err(registry_error)?;
    let record = &installed.record;
    tracing::info!(plugin = %record.name, version = %record.version, sha256 = %record.sha256, created, "plugin uploaded");
    audit(&state, &principal, "plugin.install", record).await;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(json!({ "data": plugin_json(record, Some(&installed)) }))))
}

use axum::extract::FromRequest;

async fn read_multipart(mut multipart: Multipart) -> ApiResult<(Vec<u8>, Manifest, Grants)> {
    let (mut wasm, mut manifest, mut grants) = (Vec::new(), Manifest::default(), Grants::default());
    let part_error = |err: axum::extract::multipart::MultipartError| match err.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large("the upload is larger than EMBER_MAX_PLUGIN_BYTES"),
        _ => ApiError::invalid(format!("malformed multipart body: {}", err.body_text())),
    };
    while let Some(field) = multipart.next_field().await.map_err(part_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(part_error)?;
        match name.as_str() {
            "component" | "file" => wasm = Vec::from(bytes),
            "manifest" => {
                manifest = serde_json::from_slice(&bytes)
                    .map_err(|err| ApiError::invalid(format!("invalid manifest: {err}")))?;
            }
            "grants" => {
                grants = serde_json::from_slice(&bytes)
                    .map_err(|err| ApiError::invalid(format!("invalid grants: {err}")))?;
            }
            other => {
                return Err(ApiError::invalid(format!(
                    "unknown part {other:?}: expected component, manifest or grants"
                )))
            }
        }
    }
    Ok((wasm, manifest, grants))
}

fn registry_error(err: RegistryError) -> ApiError {
    match err {
        RegistryError::Store(err) => err.into(),
        RegistryError::Manifest(err) => ApiError::invalid(err.to_string()),
        RegistryError::Component(err) => ApiError::invalid(format!("not an Ember plugin component: {err}")),
        other => {
            tracing::error!(error = %other, "plugin registry failure");
            ApiError::internal("the plugin could not be loaded")
        }
    }
}

/// The registry row a reference names: `name@version` exactly, or `name` for its newest version.
async fn find(state: &AppState, reference: &str) -> ApiResult<PluginRecord> {
    let found = match reference.split_once('@') {
        Some((name, version)) => state.store.plugin_by_name_version(name, version).await?,
        None => state.store.list_plugins().await?.into_iter().rev().find(|record| record.name == reference),
    };
    found.ok_or_else(|| ApiError::not_found(format!("no plugin {reference}")))
}

/// `GET /v1/plugins/{name}[@version]`: one version, with the other versions of the name listed.
async fn get_one(State(state): State<AppState>, Path(reference): Path<String>) -> ApiResult<Json<Value>> {
    let record = find(&state, &reference).await?;
    let versions: Vec<Value> = state
        .store
        .list_plugins()
        .await?
        .iter()
        .filter(|other| other.name == record.name)
        .map(|other| json!({ "version": other.version, "sha256": other.sha256, "enabled": other.enabled, "created_at": iso_time(other.created_ns) }))
        .collect();
    let mut data = plugin_json(&record, state.plugins.by_id(record.id).as_ref());
    data["versions"] = Value::Array(versions);
    Ok(Json(json!({ "data": data })))
}

/// `PATCH /v1/plugins/{name@version}` body: what changes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PluginPatch {
    enabled: Option<bool>,
    grants: Option<Grants>,
    limits: Option<crate::plugins::RequestedLimits>,
    /// What `host.config` answers when no caller gives a configuration.
    config: Option<serde_json::Map<String, Value>>,
}

/// `PATCH /v1/plugins/{name}[@version]`: enables or disables a version, or changes its grants
/// (only what its manifest asks for), limits and configuration.
async fn update(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(reference): Path<String>,
    JsonBody(patch): JsonBody<PluginPatch>,
) -> ApiResult<Json<Value>> {
    let record = find(&state, &reference).await?;
    let mut manifest: Manifest = serde_json::from_str(&record.manifest).unwrap_or_default();
    if patch.grants.is_some() || patch.limits.is_some() {
        let grants = match patch.grants {
            Some(grants) => grants,
            None => serde_json::from_str(&record.grants).unwrap_or_default(),
        };
        manifest.check_grants(&grants).map_err(|err| ApiError::invalid(err.to_string()))?;
        let limits: Limits = match patch.limits {
            Some(limits) => {
                manifest.limits = manifest.limits.merged(limits);
                let info = state.plugins.installed(&state.store, record.id).await.map_err(registry_error)?;
                let info = info.ok_or_else(|| ApiError::not_found(format!("no plugin {reference}")))?;
                manifest
                    .limits(info.plugin.info(), state.plugins.sandbox().config().max_plugin_memory)
                    .map_err(|err| ApiError::invalid(err.to_string()))?
            }
            None => serde_json::from_str(&record.limits).unwrap_or_default(),
        };
        let grants_text = serde_json::to_string(&grants).map_err(|err| ApiError::invalid(err.to_string()))?;
        let limits_text = serde_json::to_string(&limits).map_err(|err| ApiError::invalid(err.to_string()))?;
        state.store.set_plugin_policy(record.id, &grants_text, &limits_text).await?;
    }
    if let Some(config) = patch.config {
        let text = Value::Object(config).to_string();
        state.store.set_plugin_config(record.id, &text).await?;
    }
    if let Some(enabled) = patch.enabled {
        state.store.set_plugin_enabled(record.id, enabled).await?;
    }
    if let Some(changed) = state.store.plugin_by_id(record.id).await? {
        audit(&state, &principal, "plugin.update", &changed).await;
    }
    refreshed(&state, record.id, &reference).await
}

/// Records who installed or changed a plugin, what its manifest asks for and what it was granted.
async fn audit(state: &AppState, principal: &Principal, action: &str, record: &PluginRecord) {
    let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
    let detail = json!({
        "version": record.version,
        "sha256": record.sha256,
        "enabled": record.enabled,
        "asked": parse(&record.manifest),
        "granted": parse(&record.grants),
        "limits": parse(&record.limits),
    });
    super::audit::record(state, principal, action, &format!("plugin:{}@{}", record.name, record.version), detail).await;
}

async fn refreshed(state: &AppState, id: i64, reference: &str) -> ApiResult<Json<Value>> {
    let record =
        state.store.plugin_by_id(id).await?.ok_or_else(|| ApiError::not_found(format!("no plugin {reference}")))?;
    state.plugins.update_record(record.clone());
    if record.enabled && state.plugins.by_id(id).is_none() {
        state.plugins.installed(&state.store, id).await.map_err(registry_error)?;
    }
    Ok(Json(json!({ "data": plugin_json(&record, state.plugins.by_id(id).as_ref()) })))
}

/// `POST /v1/plugins/{reference}/enable`.
async fn enable(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(reference): Path<String>,
) -> ApiResult<Json<Value>> {
    let record = find(&state, &reference).await?;
    state.store.set_plugin_enabled(record.id, true).await?;
    audit(&state, &principal, "plugin.enable", &record).await;
    refreshed(&state, record.id, &reference).await
}

/// `POST /v1/plugins/{reference}/disable`: the version stays stored, and experiments that use it
/// keep their scores, but nothing new runs it.
async fn disable(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(reference): Path<String>,
) -> ApiResult<Json<Value>> {
    let record = find(&state, &reference).await?;
    state.store.set_plugin_enabled(record.id, false).await?;
    audit(&state, &principal, "plugin.disable", &record).await;
    refreshed(&state, record.id, &reference).await
}

/// `DELETE /v1/plugins/{name}[@version]`: deletes a version (with `name` alone, every version).
/// A version attached to an experiment is refused with 409: disable it instead.
async fn remove(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(reference): Path<String>,
) -> ApiResult<StatusCode> {
    let records: Vec<PluginRecord> = match reference.split_once('@') {
        Some(_) => vec![find(&state, &reference).await?],
        None => state.store.list_plugins().await?.into_iter().filter(|record| record.name == reference).collect(),
    };
    if records.is_empty() {
        return Err(ApiError::not_found(format!("no plugin {reference}")));
    }
    for record in records {
        state.store.delete_plugin(record.id).await?;
        state.plugins.remove(record.id);
        tracing::info!(plugin = %record.name, version = %record.version, "plugin deleted");
        audit(&state, &principal, "plugin.delete", &record).await;
    }
    Ok(StatusCode::NO_CONTENT)
}
