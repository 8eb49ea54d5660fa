//! Server-side evaluation of experiments: attach evaluator plugins to an experiment, and follow
//! their jobs. Ember's addition beside Phoenix's experiment routes.

use crate::api::routes::Routes;
use crate::auth::Permission::{Read, Write};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::json_body::JsonBody;
use super::{experiments, ApiError, ApiResult, AppState};
use crate::ids::global_id;
use crate::plugins::World;
use crate::store::{EvaluatorRow, JobCounts, NewEvaluator};
use crate::time::iso_time;

/// The evaluator routes.
pub fn routes() -> Routes {
    Routes::new().post("/v1/experiments/{experiment_id}/evaluators", Write, attach).get(
        "/v1/experiments/{experiment_id}/evaluators",
        Read,
        list,
    )
}

/// One evaluator to attach.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EvaluatorSpec {
    /// `name` or `name@version` of a registered evaluator plugin.
    plugin: String,
    /// Evaluation name its scores are stored under [default: the plugin's name].
    name: Option<String>,
    /// Configuration handed to the plugin.
    #[serde(default)]
    config: Option<Map<String, Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachBody {
    evaluators: Vec<EvaluatorSpec>,
}

/// `POST /v1/experiments/{id}/evaluators`: attaches evaluator plugins, pinned to the version each
/// reference resolves to now, and queues a job per evaluator for every run (runs posted later
/// get theirs as they arrive). All or nothing: one unknown plugin refuses the whole request.
async fn attach(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AttachBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let experiment = experiments::resolve(&state.store, &id).await?.id;
    if body.evaluators.is_empty() {
        return Err(ApiError::invalid("`evaluators` is empty"));
    }
    let mut new = Vec::with_capacity(body.evaluators.len());
    for spec in body.evaluators {
        let resolved = state
            .plugins
            .resolve(&spec.plugin)
            .ok_or_else(|| ApiError::invalid(format!("no enabled plugin {}; see GET /v1/plugins", spec.plugin)))?;
        if resolved.world() != World::Evaluator {
            return Err(ApiError::invalid(format!(
                "{}@{} is a {} plugin, not an evaluator",
                resolved.name,
                resolved.version,
                resolved.world()
            )));
        }
        let name = spec.name.unwrap_or_else(|| resolved.name.clone());
        if name.trim().is_empty() || name.len() > 200 {
            return Err(ApiError::invalid("an evaluator name must be 1–200 characters"));
        }
        if new.iter().any(|other: &NewEvaluator| other.name == name) {
            return Err(ApiError::invalid(format!("the evaluator name {name:?} is given twice")));
        }
        let config = Value::Object(spec.config.unwrap_or_default()).to_string();
        new.push(NewEvaluator { plugin_id: resolved.id, name, config });
    }
    let rows = state.store.attach_evaluators(experiment, &new).await?;
    state.jobs.notify();
    let mut data = Vec::with_capacity(rows.len());
    for row in &rows {
        data.push(evaluator_json(&state, row, None).await?);
    }
    tracing::info!(experiment, evaluators = rows.len(), "evaluators attached");
    Ok((StatusCode::CREATED, Json(json!({ "data": data }))))
}

/// `GET /v1/experiments/{id}/evaluators`: the attached evaluators and their jobs by state.
async fn list(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let experiment = experiments::resolve(&state.store, &id).await?.id;
    Ok(Json(json!({ "data": evaluators_body(&state, experiment).await? })))
}

/// The attached evaluators of an experiment (row id) and their jobs by state, as
/// `GET /v1/experiments/{id}/evaluators` returns them under `data`.
pub(crate) async fn evaluators_body(state: &AppState, experiment: i64) -> ApiResult<Value> {
    let rows = state.store.evaluators(experiment).await?;
    let counts = state.store.job_counts(experiment).await?;
    let mut total = JobCounts::default();
    let mut evaluators = Vec::with_capacity(rows.len());
    for row in &rows {
        let jobs = counts.get(&row.id).copied().unwrap_or_default();
        total.pending += jobs.pending;
        total.running += jobs.running;
        total.done += jobs.done;
        total.failed += jobs.failed;
        total.total += jobs.total;
        evaluators.push(evaluator_json(state, row, Some(jobs)).await?);
    }
    Ok(json!({ "evaluators": evaluators, "jobs": total }))
}

async fn evaluator_json(state: &AppState, row: &EvaluatorRow, jobs: Option<JobCounts>) -> ApiResult<Value> {
    let plugin = state.store.plugin_by_id(row.plugin_id).await?;
    let mut value = json!({
        "id": global_id("ExperimentEvaluator", row.id),
        "name": row.name,
        "plugin": plugin.map(|p| json!({ "id": p.id, "name": p.name, "version": p.version, "sha256": p.sha256, "enabled": p.enabled })),
        "config": serde_json::from_str::<Value>(&row.config).unwrap_or(Value::Null),
        "created_at": iso_time(row.created_ns),
    });
    if let Some(jobs) = jobs {
        value["jobs"] = json!(jobs);
    }
    Ok(value)
}
