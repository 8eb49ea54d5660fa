//! Comparing experiments on one dataset: per example, each experiment's outputs and scores side
//! by side, and per-evaluation aggregates over all runs. Ember's addition.

use crate::api::routes::Routes;
use crate::auth::Permission::{self, Read};
use crate::auth::Principal;
use std::collections::{BTreeMap, HashMap};

use axum::extract::{RawQuery, State};
use axum::{Extension, Json};
use serde_json::{json, Value};

use crate::ids::{global_id, parse_global_id};

use super::{ApiError, ApiResult, AppState};
use crate::store::CompareEvaluation;

/// The compare route.
pub fn routes() -> Routes {
    Routes::new().get("/v1/compare", Read, compare)
}

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1_000;
const MAX_EXPERIMENTS: usize = 20;

/// `GET /v1/compare?experiment_id=A&experiment_id=B[&limit=&cursor=]`: one or more experiments
/// of the same dataset. Examples are those of the newest dataset version among the experiments,
/// paged by `cursor` (an example id); aggregates always cover every run.
async fn compare(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let mut ids = Vec::new();
    let (mut limit, mut after) = (DEFAULT_LIMIT, 0);
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "experiment_id" | "experiment_ids" => {
                for id in value.split(',').filter(|id| !id.is_empty()) {
                    let row = parse_global_id("Experiment", id)
                        .ok_or_else(|| ApiError::invalid(format!("{id:?} is not an experiment id")))?;
                    ids.push(row);
                }
            }
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| ApiError::invalid(format!("limit must be between 1 and {MAX_LIMIT}")))?
            }
            "cursor" => {
                after = parse_global_id("DatasetExample", &value)
                    .and_then(|id| id.checked_sub(1))
                    .ok_or_else(|| ApiError::invalid(format!("{value:?} is not a cursor")))?
            }
            other => return Err(ApiError::invalid(format!("unknown parameter {other:?}"))),
        }
    }
    ids.sort_unstable();
    ids.dedup();
    if principal.projects.is_limited() {
        for id in &ids {
            if let Some(project_id) = state.store.experiment_project(*id).await? {
                super::project_scope::deny(&principal, project_id, Permission::Read, "experiment")?;
            }
        }
    }
    if ids.is_empty() {
        return Err(ApiError::invalid("give at least one experiment_id"));
    }
    if ids.len() > MAX_EXPERIMENTS {
        return Err(ApiError::invalid(format!("compare at most {MAX_EXPERIMENTS} experiments at once")));
    }
    let experiments = state.store.compare_experiments(&ids).await?;
    if let Some(missing) = ids.iter().find(|id| !experiments.iter().any(|e| e.id == **id)) {
        return Err(ApiError::not_found(format!("no experiment {}", global_id("Experiment", *missing))));
    }
    let dataset_id = experiments[0].dataset_id;
    if experiments.iter().any(|e| e.dataset_id != dataset_id) {
        return Err(ApiError::invalid("the experiments belong to different datasets"));
    }
    let version = experiments.iter().map(|e| e.dataset_version_id).max().unwrap_or_default();
    let mut examples = state.store.compare_examples(dataset_id, version, after, limit + 1).await?;
    let next_cursor =
        (examples.len() as i64 > limit).then(|| examples.pop()).flatten().map(|e| global_id("DatasetExample", e.id));
    let example_ids: Vec<i64> = examples.iter().map(|e| e.id).collect();
    let runs = state.store.compare_runs(&ids, &example_ids).await?;
    let run_ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
    let mut evaluations: HashMap<i64, Vec<CompareEvaluation>> = HashMap::new();
    for chunk in run_ids.chunks(1_000) {
        for evaluation in state.store.compare_evaluations(chunk).await? {
            evaluations.entry(evaluation.experiment_run_id).or_default().push(evaluation);
        }
    }
    let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
    let mut runs_by_example: HashMap<i64, BTreeMap<String, Vec<Value>>> = HashMap::new();
    for run in &runs {
        let scores: serde_json::Map<String, Value> = evaluations
            .remove(&run.id)
            .unwrap_or_default()
            .into_iter()
            .map(|e| {
                let value = json!({ "score": e.score, "label": e.label, "explanation": e.explanation, "error": e.error, "error_kind": e.error_kind });
                (e.name, value)
            })
            .collect();
        runs_by_example
            .entry(run.dataset_example_id)
            .or_default()
            .entry(global_id("Experiment", run.experiment_id))
            .or_default()
            .push(json!({
                "id": global_id("ExperimentRun", run.id),
                "repetition_number": run.repetition_number,
                "output": parse(&run.output),
                "error": run.error,
                "latency_ms": (run.end_ns - run.start_ns) as f64 / 1e6,
                "evaluations": scores,
            }));
    }
    let examples: Vec<Value> = examples
        .iter()
        .map(|example| {
            json!({
                "id": global_id("DatasetExample", example.id),
                "input": parse(&example.input),
                "expected": parse(&example.output),
                "metadata": parse(&example.metadata),
                "runs": runs_by_example.remove(&example.id).unwrap_or_default(),
            })
        })
        .collect();
    let labels = state.store.label_counts(&ids).await?;
    let aggregates: Vec<Value> = state
        .store
        .evaluation_aggregates(&ids)
        .await?
        .into_iter()
        .map(|a| {
            let label_counts: serde_json::Map<String, Value> = labels
                .iter()
                .filter(|l| l.experiment_id == a.experiment_id && l.name == a.name)
                .map(|l| (l.label.clone(), json!(l.count)))
                .collect();
            json!({
                "experiment_id": global_id("Experiment", a.experiment_id),
                "evaluation_name": a.name,
                "count": a.count,
                "scored": a.scored,
                "errors": a.errors,
                "mean_score": a.mean_score,
                "min_score": a.min_score,
                "max_score": a.max_score,
                "labels": label_counts,
            })
        })
        .collect();
    let experiments: Vec<Value> = experiments
        .iter()
        .map(|e| json!({ "id": global_id("Experiment", e.id), "name": e.name, "dataset_version_id": global_id("DatasetVersion", e.dataset_version_id) }))
        .collect();
    Ok(Json(json!({
        "data": {
            "dataset_id": global_id("Dataset", dataset_id),
            "dataset_version_id": global_id("DatasetVersion", version),
            "experiments": experiments,
            "examples": examples,
            "aggregates": aggregates,
        },
        "next_cursor": next_cursor,
    })))
}
