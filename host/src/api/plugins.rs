//! Ember's plugin routes: the installed plugins, and the ingest pipeline (`GET`/`PUT`).

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::{ApiError, ApiResult, AppState};
use crate::plugins::{Pipeline, PipelineConfig};
use crate::server::PIPELINE_SETTING;

/// `GET /v1/plugins`: every installed plugin with its world, digest, descriptor and limits.
pub async fn list(State(state): State<AppState>) -> Json<Value> {
    let data: Vec<Value> = state
        .plugins
        .list()
        .into_iter()
        .map(|(name, plugin)| {
            let info = plugin.info();
            json!({
                "name": name,
                "world": info.world,
                "wit_version": info.wit_version,
                "sha256": info.sha256,
                "size_bytes": info.size_bytes,
                "imports_wasi": info.imports_wasi,
                "description": info.descriptor.as_ref().map(|d| d.description.clone()),
                "version": info.descriptor.as_ref().map(|d| d.version.clone()),
                "limits": plugin.limits(),
            })
        })
        .collect();
    Json(json!({ "data": data }))
}

/// `GET /v1/ingest_pipeline`: the pipeline in force.
pub async fn pipeline(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "data": state.ingestor.pipeline().config() }))
}

/// `PUT /v1/ingest_pipeline`: validates, stores and applies a new pipeline. Requests already
/// being decoded finish with the previous one.
pub async fn set_pipeline(State(state): State<AppState>, body: Bytes) -> ApiResult<Json<Value>> {
    let config: PipelineConfig =
        serde_json::from_slice(&body).map_err(|err| ApiError::invalid(format!("invalid pipeline: {err}")))?;
    let pipeline = Pipeline::build(config, &state.plugins).map_err(|err| ApiError::invalid(err.to_string()))?;
    let text = serde_json::to_string(pipeline.config()).map_err(|err| ApiError::invalid(err.to_string()))?;
    state.store.put_setting(PIPELINE_SETTING, &text).await?;
    let config = pipeline.config().clone();
    state.ingestor.set_pipeline(pipeline);
    tracing::info!(stages = config.stages.len(), "ingest pipeline replaced");
    Ok(Json(json!({ "data": config })))
}
