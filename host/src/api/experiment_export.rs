//! `GET /v1/experiments/{id}/json` and `/csv`: every run with its example and evaluations. For
//! server-side evaluations the plugin (name, version, sha256) and typed error kind are included.

use std::collections::{BTreeSet, HashMap};

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::datasets::{cell, parse_json};
use super::error::{ApiError, ApiResult};
use super::experiments::resolve;
use super::AppState;
use crate::ids::global_id;
use crate::store::{EvaluationRow, ExampleRow, RunRow};
use crate::time::iso_time;

/// Per-evaluation CSV columns after `annotation_{name}_`.
const EVAL_COLUMNS: [&str; 9] = [
    "label",
    "score",
    "explanation",
    "error",
    "annotator_kind",
    "plugin_name",
    "plugin_version",
    "plugin_sha256",
    "error_kind",
];

fn evaluation_view(e: &EvaluationRow) -> Value {
    json!({
        "name": e.name,
        "annotator_kind": e.annotator_kind,
        "label": e.label,
        "score": e.score,
        "explanation": e.explanation,
        "error": e.error,
        "error_kind": e.error_kind,
        "metadata": parse_json(&e.metadata),
        "trace_id": e.trace_id,
        "start_time": iso_time(e.start_ns),
        "end_time": iso_time(e.end_ns),
        "plugin_name": e.plugin_name,
        "plugin_version": e.plugin_version,
        "plugin_sha256": e.plugin_sha256,
    })
}

struct Export {
    name: String,
    runs: Vec<RunRow>,
    examples: HashMap<i64, ExampleRow>,
    evaluations: HashMap<i64, Vec<EvaluationRow>>,
}

async fn load(state: &AppState, id: &str) -> ApiResult<Export> {
    let experiment = resolve(&state.store, id).await?;
    let examples = state.store.examples_at_version(experiment.dataset_id, experiment.dataset_version_id).await?;
    let mut runs = state.store.list_runs(experiment.id, None, None).await?;
    runs.sort_by_key(|r| (r.dataset_example_id, r.repetition_number));
    let mut evaluations: HashMap<i64, Vec<EvaluationRow>> = HashMap::new();
    for e in state.store.experiment_evaluations(experiment.id).await? {
        evaluations.entry(e.experiment_run_id).or_default().push(e);
    }
    Ok(Export { name: experiment.name, runs, examples: examples.into_iter().map(|e| (e.id, e)).collect(), evaluations })
}

fn record(export: &Export, run: &RunRow) -> Value {
    let example = export.examples.get(&run.dataset_example_id);
    let evaluations = export.evaluations.get(&run.id).map(Vec::as_slice).unwrap_or_default();
    json!({
        "example_id": global_id("DatasetExample", run.dataset_example_id),
        "repetition_number": run.repetition_number,
        "input": example.map_or(Value::Null, |e| parse_json(&e.input)),
        "reference_output": example.map_or(Value::Null, |e| parse_json(&e.output)),
        "output": parse_json(&run.output),
        "error": run.error,
        "latency_ms": (run.end_ns - run.start_ns) as f64 / 1e6,
        "start_time": iso_time(run.start_ns),
        "end_time": iso_time(run.end_ns),
        "trace_id": run.trace_id,
        "prompt_token_count": Value::Null,
        "completion_token_count": Value::Null,
        "annotations": evaluations.iter().map(evaluation_view).collect::<Vec<_>>(),
    })
}

fn attachment(content_type: &str, file_name: String, body: String) -> Response {
    let safe: String =
        file_name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{safe}\"")),
        ],
        body,
    )
        .into_response()
}

/// `GET /v1/experiments/{id}/json`: a JSON array, one record per run.
pub async fn export_json(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let export = load(&state, &id).await?;
    let records: Vec<Value> = export.runs.iter().map(|run| record(&export, run)).collect();
    let body = serde_json::to_string_pretty(&records).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(attachment("application/json", format!("{}.json", export.name), body))
}

/// `GET /v1/experiments/{id}/csv`: one row per run; `annotation_{name}_{field}` columns per
/// evaluation name.
pub async fn export_csv(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let export = load(&state, &id).await?;
    let names: BTreeSet<&str> = export.evaluations.values().flatten().map(|e| e.name.as_str()).collect();
    let base = [
        "example_id",
        "repetition_number",
        "input",
        "reference_output",
        "output",
        "error",
        "latency_ms",
        "start_time",
        "end_time",
        "trace_id",
    ];
    let mut header: Vec<String> = base.iter().map(|s| (*s).to_owned()).collect();
    for name in &names {
        header.extend(EVAL_COLUMNS.iter().map(|c| format!("annotation_{name}_{c}")));
    }
    let csv_err = |e: csv::Error| ApiError::internal(format!("cannot write CSV: {e}"));
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&header).map_err(csv_err)?;
    for run in &export.runs {
        let rec = record(&export, run);
        let mut row: Vec<String> = base.iter().map(|k| cell(rec.get(*k))).collect();
        let evaluations = export.evaluations.get(&run.id).map(Vec::as_slice).unwrap_or_default();
        for name in &names {
            let view = evaluations.iter().find(|e| e.name == *name).map(evaluation_view);
            row.extend(EVAL_COLUMNS.iter().map(|c| cell(view.as_ref().and_then(|v| v.get(*c)))));
        }
        writer.write_record(&row).map_err(csv_err)?;
    }
    let bytes = writer.into_inner().map_err(|e| ApiError::internal(format!("cannot write CSV: {e}")))?;
    let body = String::from_utf8(bytes).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(attachment("text/csv", format!("{}.csv", export.name), body))
}
