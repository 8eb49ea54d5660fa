//! `/v1/experiments` and `/v1/datasets/{id}/experiments`: experiments, their runs and
//! evaluations, and what is still to do (incomplete runs and evaluations), in Phoenix's shapes.

use crate::api::routes::Routes;
use crate::auth::Permission::{self, Read, Write};
use crate::auth::Principal;
use std::collections::{HashMap, HashSet};

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::datasets::{example_view, parse_json, resolve as resolve_dataset, resolve_version};
use super::error::{ApiError, ApiResult};
use super::experiment_export::{export_csv, export_json};
use super::json_body::JsonBody;
use super::page::Page;
use super::params::Params;
use super::AppState;
use crate::ids::{global_id, parse_global_id};
use crate::store::{ExperimentRow, NewEvaluation, NewExperiment, NewRun, RunRow, Store};
use crate::time::{iso_time, parse_time};

/// The experiments routes.
pub fn routes() -> Routes {
    Routes::new()
        .get("/v1/datasets/{id}/experiments", Read, list)
        .post("/v1/datasets/{id}/experiments", Write, create)
        .get("/v1/experiments/{id}", Read, get_one)
        .patch("/v1/experiments/{id}", Write, update)
        .delete("/v1/experiments/{id}", Write, remove)
        .get("/v1/experiments/{id}/runs", Read, list_runs)
        .post("/v1/experiments/{id}/runs", Write, create_run)
        .get("/v1/experiments/{id}/incomplete-runs", Read, incomplete_runs)
        .get("/v1/experiments/{id}/incomplete-evaluations", Read, incomplete_evaluations)
        .get("/v1/experiments/{id}/json", Read, export_json)
        .get("/v1/experiments/{id}/csv", Read, export_csv)
        .post("/v1/experiment_evaluations", Write, upsert_evaluation)
}

/// An experiment as Phoenix's `Experiment`; its row must carry its counts.
fn view(row: &ExperimentRow) -> ApiResult<Value> {
    let counts = row.counts.ok_or_else(|| ApiError::internal("experiment counts were not loaded"))?;
    Ok(json!({
        "id": global_id("Experiment", row.id),
        "dataset_id": global_id("Dataset", row.dataset_id),
        "dataset_version_id": global_id("DatasetVersion", row.dataset_version_id),
        "name": row.name,
        "description": row.description,
        "repetitions": row.repetitions,
        "metadata": parse_json(&row.metadata),
        "project_name": row.project_name,
        "created_at": iso_time(row.created_ns),
        "updated_at": iso_time(row.updated_ns),
        "example_count": counts.example_count,
        "successful_run_count": counts.successful_run_count,
        "failed_run_count": counts.failed_run_count,
        "missing_run_count": counts.missing_run_count(row.repetitions),
    }))
}

/// A run as Phoenix's `ExperimentRun`.
pub(crate) fn run_view(row: &RunRow) -> Value {
    json!({
        "id": global_id("ExperimentRun", row.id),
        "experiment_id": global_id("Experiment", row.experiment_id),
        "dataset_example_id": global_id("DatasetExample", row.dataset_example_id),
        "repetition_number": row.repetition_number,
        "output": parse_json(&row.output),
        "start_time": iso_time(row.start_ns),
        "end_time": iso_time(row.end_ns),
        "trace_id": row.trace_id,
        "error": row.error,
    })
}

fn not_found(identifier: &str) -> ApiError {
    ApiError::not_found(format!("Experiment with ID {identifier} not found"))
}

fn parse_id(identifier: &str) -> ApiResult<i64> {
    parse_global_id("Experiment", identifier)
        .ok_or_else(|| ApiError::invalid(format!("Invalid experiment ID: {identifier}")))
}

/// Resolves an Experiment GlobalID to its row without counts (one primary-key lookup): 422 when
/// malformed, 404 when absent.
pub(crate) async fn resolve(store: &Store, identifier: &str) -> ApiResult<ExperimentRow> {
    store.experiment_by_id(parse_id(identifier)?).await?.ok_or_else(|| not_found(identifier))
}

fn time(name: &str, raw: &str) -> ApiResult<i64> {
    parse_time(raw).ok_or_else(|| ApiError::invalid(format!("{name} is not an ISO 8601 time: {raw:?}")))
}

fn object_text(value: Option<Map<String, Value>>) -> String {
    Value::Object(value.unwrap_or_default()).to_string()
}

/// Body of `POST /v1/datasets/{id}/experiments`.
#[derive(Debug, Deserialize)]
pub struct CreateExperiment {
    name: Option<String>,
    description: Option<String>,
    metadata: Option<Map<String, Value>>,
    version_id: Option<String>,
    repetitions: Option<i64>,
}

/// `POST /v1/datasets/{id}/experiments`: on the given version (latest by default).
pub async fn create(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CreateExperiment>,
) -> ApiResult<Json<Value>> {
    let repetitions = body.repetitions.unwrap_or(1);
    if !(1..=10_000).contains(&repetitions) {
        return Err(ApiError::invalid(format!("repetitions must be from 1 to 10000, got {repetitions}")));
    }
    let dataset = resolve_dataset(&state.store, &id).await?;
    let version = resolve_version(&state.store, &dataset, body.version_id.as_deref()).await?;
    let suffix: u128 = rand::rng().random::<u128>() >> 32;
    let project_name = format!("Experiment-{suffix:024x}");
    let name = body.name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| project_name.clone());
    let metadata = object_text(body.metadata);
    let new = NewExperiment {
        dataset_id: dataset.id,
        dataset_version_id: version.id,
        name: &name,
        description: body.description.as_deref(),
        repetitions,
        metadata: &metadata,
        project_name: Some(&project_name),
    };
    if let Some(source) = dataset.project_id {
        let project = state.store.create_project(&project_name, Some("traces of an experiment")).await?;
        state.store.copy_project_members(source, project.id).await?;
    }
    let row = state.store.create_experiment(&new).await?;
    Ok(Json(json!({ "data": view(&row)? })))
}

/// `GET /v1/datasets/{id}/experiments`: newest first, cursor-paginated.
pub async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let params = Params::parse(query.as_deref());
    let limit = params.limit(1000)?;
    let cursor = params.cursor(|raw| parse_global_id("Experiment", raw))?;
    let dataset = resolve_dataset(&state.store, &id).await?;
    let rows = state.store.list_experiments(dataset.id, cursor, limit + 1).await?;
    Page::split(rows, limit).try_json(view, |r| global_id("Experiment", r.id))
}

/// `GET /v1/experiments/{id}`.
pub async fn get_one(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let row = state.store.experiment_with_counts(parse_id(&id)?).await?.ok_or_else(|| not_found(&id))?;
    Ok(Json(json!({ "data": view(&row)? })))
}

/// Body of `PATCH /v1/experiments/{id}`: omitted fields stay; `description: null` clears it.
#[derive(Debug, Deserialize)]
pub struct UpdateExperiment {
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    description: Option<Option<String>>,
    metadata: Option<Map<String, Value>>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// `PATCH /v1/experiments/{id}`.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateExperiment>,
) -> ApiResult<Json<Value>> {
    if body.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(ApiError::invalid("name must be non-empty"));
    }
    let row = resolve(&state.store, &id).await?;
    let metadata = body.metadata.map(|m| Value::Object(m).to_string());
    let description = body.description.as_ref().map(|d| d.as_deref());
    let row = state
        .store
        .update_experiment(row.id, body.name.as_deref().map(str::trim), description, metadata.as_deref())
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(json!({ "data": view(&row)? })))
}

/// `DELETE /v1/experiments/{id}[?delete_project=true]`: with its runs and evaluations, and
/// when asked its traces' project.
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<StatusCode> {
    let params = Params::parse(query.as_deref());
    let delete_project = params.flag("delete_project")?;
    let row = resolve(&state.store, &id).await?;
    if !state.store.delete_experiment(row.id).await? {
        return Err(not_found(&id));
    }
    if let Some(name) = row.project_name.filter(|_| delete_project) {
        if let Some(project) = state.store.project_by_name(&name).await? {
            if state.store.delete_project(project.id).await? {
                state.sweeper_wake.notify_one();
            }
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `POST /v1/experiments/{id}/runs`.
#[derive(Debug, Deserialize)]
pub struct CreateRun {
    dataset_example_id: String,
    #[serde(default)]
    output: Value,
    repetition_number: i64,
    start_time: String,
    end_time: String,
    trace_id: Option<String>,
    error: Option<String>,
}

/// `POST /v1/experiments/{id}/runs`: records a run (queueing server-side evaluations); a run
/// over an earlier failed one replaces it, over a successful one is a 409.
pub async fn create_run(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CreateRun>,
) -> ApiResult<Json<Value>> {
    let experiment = resolve(&state.store, &id).await?;
    let example_id = parse_global_id("DatasetExample", &body.dataset_example_id)
        .ok_or_else(|| ApiError::invalid(format!("Invalid dataset example ID: {}", body.dataset_example_id)))?;
    if !(1..=experiment.repetitions).contains(&body.repetition_number) {
        return Err(ApiError::invalid(format!(
            "repetition_number must be from 1 to {}, got {}",
            experiment.repetitions, body.repetition_number
        )));
    }
    if !state.store.example_in_version(experiment.dataset_id, experiment.dataset_version_id, example_id).await? {
        return Err(ApiError::not_found(format!("Dataset example {} not found", body.dataset_example_id)));
    }
    let run = NewRun {
        experiment_id: experiment.id,
        dataset_example_id: example_id,
        repetition_number: body.repetition_number,
        output: body.output.to_string(),
        start_ns: time("start_time", &body.start_time)?,
        end_ns: time("end_time", &body.end_time)?,
        trace_id: body.trace_id,
        error: body.error,
    };
    let run_id = state.store.upsert_run(&run).await?;
    state.jobs.notify();
    Ok(Json(json!({ "data": { "id": global_id("ExperimentRun", run_id) } })))
}

/// `GET /v1/experiments/{id}/runs`: oldest first; every run unless `limit` is given.
pub async fn list_runs(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let params = Params::parse(query.as_deref());
    let limit = if params.get("limit").is_some() { Some(params.limit(10_000)?) } else { None };
    let cursor = params.cursor(|raw| parse_global_id("ExperimentRun", raw))?;
    let experiment = resolve(&state.store, &id).await?;
    let rows = state.store.list_runs(experiment.id, cursor, limit.map(|l| l + 1)).await?;
    Ok(Page::split(rows, limit.unwrap_or(i64::MAX)).json(run_view, |r| global_id("ExperimentRun", r.id)))
}

/// `GET /v1/experiments/{id}/incomplete-runs`: per example (by id, cursor-paginated), the
/// repetitions without a successful run.
pub async fn incomplete_runs(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let params = Params::parse(query.as_deref());
    let limit = params.limit(1000)?;
    let cursor = params.cursor(|raw| parse_global_id("DatasetExample", raw))?.unwrap_or(0);
    let experiment = resolve(&state.store, &id).await?;
    let examples = state.store.examples_at_version(experiment.dataset_id, experiment.dataset_version_id).await?;
    let runs = state.store.list_runs(experiment.id, None, None).await?;
    let done: HashSet<(i64, i64)> =
        runs.iter().filter(|r| r.error.is_none()).map(|r| (r.dataset_example_id, r.repetition_number)).collect();
    let mut data = Vec::new();
    let mut next = None;
    for example in examples.iter().filter(|e| e.id >= cursor) {
        let missing: Vec<i64> =
            (1..=experiment.repetitions).filter(|rep| !done.contains(&(example.id, *rep))).collect();
        if missing.is_empty() {
            continue;
        }
        if data.len() as i64 == limit {
            next = Some(global_id("DatasetExample", example.id));
            break;
        }
        data.push(json!({ "dataset_example": example_view(example), "repetition_numbers": missing }));
    }
    Ok(Json(json!({ "data": data, "next_cursor": next })))
}

/// `GET /v1/experiments/{id}/incomplete-evaluations?evaluation_name=…`: successful runs (by id,
/// cursor-paginated) lacking a successful evaluation of any of the names.
pub async fn incomplete_evaluations(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let params = Params::parse(query.as_deref());
    let names = params.all("evaluation_name");
    if names.is_empty() {
        return Err(ApiError::bad_request("No evaluation names provided"));
    }
    let limit = params.limit(1000)?;
    let cursor = params.cursor(|raw| parse_global_id("ExperimentRun", raw))?;
    let experiment = resolve(&state.store, &id).await?;
    let examples = state.store.examples_at_version(experiment.dataset_id, experiment.dataset_version_id).await?;
    let examples: HashMap<i64, _> = examples.iter().map(|e| (e.id, e)).collect();
    let evaluations = state.store.experiment_evaluations(experiment.id).await?;
    let good: HashSet<(i64, &str)> =
        evaluations.iter().filter(|e| e.error.is_none()).map(|e| (e.experiment_run_id, e.name.as_str())).collect();
    let runs = state.store.list_runs(experiment.id, cursor, None).await?;
    let mut data = Vec::new();
    let mut next = None;
    for run in runs.iter().filter(|r| r.error.is_none()) {
        let Some(example) = examples.get(&run.dataset_example_id) else { continue };
        let missing: Vec<&String> = names.iter().filter(|n| !good.contains(&(run.id, n.as_str()))).collect();
        if missing.is_empty() {
            continue;
        }
        if data.len() as i64 == limit {
            next = Some(global_id("ExperimentRun", run.id));
            break;
        }
        data.push(json!({
            "experiment_run": run_view(run),
            "dataset_example": example_view(example),
            "evaluation_names": missing,
        }));
    }
    Ok(Json(json!({ "data": data, "next_cursor": next })))
}

/// `result` of an evaluation.
#[derive(Debug, Default, Deserialize)]
pub struct EvaluationResult {
    label: Option<String>,
    score: Option<f64>,
    explanation: Option<String>,
}

/// Body of `POST /v1/experiment_evaluations`.
#[derive(Debug, Deserialize)]
pub struct UpsertEvaluation {
    experiment_run_id: String,
    name: String,
    annotator_kind: String,
    start_time: String,
    end_time: String,
    result: Option<EvaluationResult>,
    error: Option<String>,
    metadata: Option<Map<String, Value>>,
    trace_id: Option<String>,
}

/// `POST /v1/experiment_evaluations`: inserts or replaces the run's evaluation of that name.
pub async fn upsert_evaluation(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    JsonBody(body): JsonBody<UpsertEvaluation>,
) -> ApiResult<Json<Value>> {
    if !matches!(body.annotator_kind.as_str(), "LLM" | "CODE" | "HUMAN") {
        return Err(ApiError::invalid(format!(
            "annotator_kind must be LLM, CODE or HUMAN, got {:?}",
            body.annotator_kind
        )));
    }
    if body.name.trim().is_empty() {
        return Err(ApiError::invalid("name must be non-empty"));
    }
    let run_id = parse_global_id("ExperimentRun", &body.experiment_run_id)
        .ok_or_else(|| ApiError::invalid(format!("Invalid experiment run ID: {}", body.experiment_run_id)))?;
    let Some(run) = state.store.run_by_id(run_id).await? else {
        return Err(ApiError::not_found(format!("Experiment run {} not found", body.experiment_run_id)));
    };
    if let Some(project_id) = state.store.experiment_project(run.experiment_id).await? {
        super::project_scope::deny(&principal, project_id, Permission::Write, "experiment run")?;
    }
    let result = body.result.unwrap_or_default();
    let eval = NewEvaluation {
        experiment_run_id: run_id,
        name: body.name,
        annotator_kind: body.annotator_kind,
        label: result.label,
        score: result.score.filter(|s| s.is_finite()),
        explanation: result.explanation,
        error: body.error,
        metadata: object_text(body.metadata),
        start_ns: time("start_time", &body.start_time)?,
        end_ns: time("end_time", &body.end_time)?,
        trace_id: body.trace_id,
    };
    let id = state.store.upsert_evaluation(&eval).await?;
    Ok(Json(json!({ "data": { "id": global_id("ExperimentEvaluation", id) } })))
}
