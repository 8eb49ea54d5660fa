//! Ember's plugin routes: trying an evaluator on one example, and the ingest pipeline (`GET`/`PUT`).

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use super::json_body::JsonBody;
use super::{ApiError, ApiResult, AppState};
use crate::plugins::{EvalInput, Pipeline, PipelineConfig, World};

/// `GET /v1/ingest_pipeline`: the pipeline in force.
pub async fn pipeline(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "data": state.ingestor.pipeline().config() }))
}

/// `PUT /v1/ingest_pipeline`: validates, stores and applies a new pipeline. Requests already
/// being decoded finish with the previous one.
pub async fn set_pipeline(
    State(state): State<AppState>,
    axum::Extension(principal): axum::Extension<crate::auth::Principal>,
    JsonBody(config): JsonBody<PipelineConfig>,
) -> ApiResult<Json<Value>> {
    let pipeline = Pipeline::build(config, &state.plugins).map_err(|err| ApiError::invalid(err.to_string()))?;
    let text = serde_json::to_string(pipeline.config()).map_err(|err| ApiError::invalid(err.to_string()))?;
    PipelineConfig::save_stored(&state.store, &text).await?;
    let config = pipeline.config().clone();
    state.ingestor.set_pipeline(pipeline);
    tracing::info!(stages = config.stages.len(), "ingest pipeline replaced");
    super::audit::record(&state, &principal, "pipeline.replace", "ingest_pipeline", json!(&config)).await;
    Ok(Json(json!({ "data": config })))
}

/// `POST /v1/plugins/{name}/evaluate`: runs an installed evaluator on one example, in the sandbox
/// on the blocking pool, and returns its scores or its typed failure with the instructions used.
/// Body: `{"input": …, "output": …, "expected": …, "metadata": {…}, "config": {…}}`.
pub async fn evaluate(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let plugin = state.plugins.resolve(&name).ok_or_else(|| ApiError::not_found(format!("no plugin named {name}")))?;
    if plugin.world() != World::Evaluator {
        return Err(ApiError::invalid(format!("{name} is a {} plugin, not an evaluator", plugin.world())));
    }
    let Value::Object(mut fields) = body else { return Err(ApiError::invalid("the body must be a JSON object")) };
    let mut take = |key: &str| fields.remove(key).map(|value| value.to_string());
    let output = take("output").ok_or_else(|| ApiError::invalid("`output` is required"))?;
    let input = EvalInput {
        input: take("input").unwrap_or_else(|| "null".into()),
        output,
        expected: take("expected"),
        metadata: take("metadata").unwrap_or_else(|| "{}".into()),
    };
    let config = match fields.remove("config") {
        Some(config @ Value::Object(_)) => config.to_string(),
        Some(_) => return Err(ApiError::invalid("`config` must be a JSON object")),
        None => "{}".to_owned(),
    };
    let report = state.plugins.evaluate(plugin.with_config(config), input, "one example".into()).await;
    let mut data = json!({
        "instructions": report.instructions,
        "elapsed_ms": report.elapsed.as_secs_f64() * 1000.0,
        "log": report.log,
        "log_dropped": report.log_dropped,
    });
    match report.outcome {
        Ok(scores) => {
            data["scores"] = serde_json::to_value(scores).map_err(|err| ApiError::invalid(err.to_string()))?
        }
        Err(err) => data["error"] = json!({ "kind": err.kind(), "message": err.to_string() }),
    }
    Ok(Json(json!({ "data": data })))
}
