//! Ember's server-side experiment task: `POST /v1/experiments/{id}/prompt_task` runs a prompt
//! version over the experiment's examples through a provider plugin; `GET` reports progress.

use crate::api::routes::Routes;
use crate::auth::Permission::{Read, Write};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::json_body::JsonBody;
use super::playground::prompt_error;
use super::{experiments, ApiError, ApiResult, AppState};
use crate::evaluation::prompt_task::TaskError;
use crate::ids::global_id;
use crate::providers::prompt::PromptSelector;
use crate::store::ExperimentCounts;

pub fn routes() -> Routes {
    Routes::new().post("/v1/experiments/{id}/prompt_task", Write, start).get(
        "/v1/experiments/{id}/prompt_task",
        Read,
        status,
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    prompt: Option<String>,
    prompt_version_id: Option<String>,
    tag: Option<String>,
    /// Provider plugin; defaults to the one named after the version's model provider.
    provider: Option<String>,
    /// Overrides the version's model.
    model: Option<String>,
    #[serde(default = "default_concurrency")]
    concurrency: usize,
    max_attempts: Option<u32>,
}

fn default_concurrency() -> usize {
    4
}

/// The experiment's example and run counts, counted in the database.
async fn counts(state: &AppState, experiment: i64) -> ApiResult<ExperimentCounts> {
    let row = state.store.experiment_with_counts(experiment).await?;
    Ok(row.and_then(|row| row.counts).unwrap_or_default())
}

/// `POST /v1/experiments/{id}/prompt_task`: 202 once the task is stored; it runs in the
/// background. Starting it again runs whatever is missing or failed.
async fn start(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<StartBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let experiment = experiments::resolve(&state.store, &id).await?;
    let selector = PromptSelector { prompt: body.prompt, prompt_version_id: body.prompt_version_id, tag: body.tag };
    let max_attempts = body.max_attempts.unwrap_or(state.providers.policy().max_attempts);
    let spec = state
        .tasks
        .start(&experiment, &selector, body.provider.as_deref(), body.model, body.concurrency, max_attempts)
        .await
        .map_err(|err| match err {
            TaskError::Prompt(err) => prompt_error(err),
            TaskError::NoProvider(_) => ApiError::not_found(err.to_string()),
            TaskError::Limits => ApiError::invalid(err.to_string()),
            TaskError::Store(err) => err.into(),
        })?;
    let counts = counts(&state, experiment.id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "data": {
            "experiment_id": global_id("Experiment", experiment.id),
            "prompt_version_id": global_id("PromptVersion", spec.prompt_version_id),
            "provider": spec.provider,
            "queued": counts.example_count * experiment.repetitions,
        }})),
    ))
}

/// `GET /v1/experiments/{id}/prompt_task`: state and run counts.
async fn status(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let experiment = experiments::resolve(&state.store, &id).await?;
    let task = state
        .store
        .prompt_task(experiment.id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("experiment {id} has no prompt task")))?;
    let spec: Value = serde_json::from_str(&task.spec).unwrap_or(Value::Null);
    let counts = counts(&state, experiment.id).await?;
    Ok(Json(json!({ "data": {
        "state": task.state,
        "total": counts.example_count * experiment.repetitions,
        "done": counts.successful_run_count,
        "failed": counts.failed_run_count,
        "provider": spec.get("provider"),
        "prompt_version_id": spec.get("prompt_version_id").and_then(Value::as_i64).map(|id| global_id("PromptVersion", id)),
    }})))
}
