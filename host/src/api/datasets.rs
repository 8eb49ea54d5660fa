//! `/v1/datasets`: upload (create, append, declarative update), list, read, delete, versions,
//! examples, CSV/JSONL exports, and (an Ember addition) examples taken from stored spans.

use crate::api::routes::Routes;
use crate::auth::Permission::{Read, Write};
use std::collections::HashSet;

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::dataset_upload::read_upload;
use super::error::{ApiError, ApiResult};
use super::page::Page;
use super::params::Params;
use super::AppState;
use crate::auth::{Permission, Principal};
use crate::ids::{global_id, parse_global_id};
use crate::store::{DatasetRow, DatasetVersionRow, ExampleRow, Store, UploadOutcome};
use crate::time::iso_time;

/// The datasets routes.
pub fn routes() -> Routes {
    Routes::new()
        .get("/v1/datasets", Read, list)
        .post("/v1/datasets/upload", Write, upload)
        .get("/v1/datasets/{id}", Read, get_one)
        .delete("/v1/datasets/{id}", Write, remove)
        .get("/v1/datasets/{id}/versions", Read, versions)
        .get("/v1/datasets/{id}/examples", Read, examples)
        .post("/v1/datasets/from_spans", Write, super::dataset_from_spans::create)
        .post("/v1/datasets/{id}/examples/from_spans", Write, super::dataset_from_spans::append)
        .get("/v1/datasets/{id}/csv", Read, export_csv)
        .get("/v1/datasets/{id}/jsonl", Read, export_jsonl)
}

/// Parses stored JSON text (always valid: it was written from a `Value`).
pub(crate) fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn view(row: &DatasetRow) -> Value {
    json!({
        "id": global_id("Dataset", row.id),
        "name": row.name,
        "description": row.description,
        "metadata": parse_json(&row.metadata),
        "created_at": iso_time(row.created_ns),
        "updated_at": iso_time(row.updated_ns),
        "example_count": row.example_count,
    })
}

fn version_view(row: &DatasetVersionRow) -> Value {
    json!({
        "version_id": global_id("DatasetVersion", row.id),
        "description": row.description,
        "metadata": parse_json(&row.metadata),
        "created_at": iso_time(row.created_ns),
    })
}

/// An example as Phoenix's `DatasetExample`.
pub(crate) fn example_view(row: &ExampleRow) -> Value {
    let id = global_id("DatasetExample", row.id);
    let mut view = json!({
        "id": id,
        "node_id": id,
        "input": parse_json(&row.input),
        "output": parse_json(&row.output),
        "metadata": parse_json(&row.metadata),
        "updated_at": iso_time(row.updated_ns),
    });
    if let (Some(span_id), Some(rowid)) = (&row.span_id, row.span_rowid) {
        view["source"] = json!({ "span_id": span_id, "span_node_id": global_id("Span", rowid) });
    }
    view
}

pub(crate) fn outcome_view(outcome: &UploadOutcome) -> Value {
    json!({ "data": {
        "dataset_id": global_id("Dataset", outcome.dataset_id),
        "version_id": global_id("DatasetVersion", outcome.version_id),
        "num_created_examples": outcome.created,
        "num_updated_examples": outcome.updated,
        "num_deleted_examples": outcome.deleted,
    }})
}

/// Resolves a dataset: a Dataset GlobalID, else a name.
pub(crate) async fn resolve(store: &Store, identifier: &str) -> ApiResult<DatasetRow> {
    let found = match parse_global_id("Dataset", identifier) {
        Some(id) => store.dataset_by_id(id).await?,
        None => store.dataset_by_name(identifier).await?,
    };
    found.ok_or_else(|| ApiError::not_found(format!("Dataset with ID {identifier} not found")))
}

/// The version named by `version_id`, else the dataset's latest.
pub(crate) async fn resolve_version(
    store: &Store,
    dataset: &DatasetRow,
    version_id: Option<&str>,
) -> ApiResult<DatasetVersionRow> {
    let found = match version_id.filter(|v| !v.is_empty()) {
        Some(raw) => {
            let id = parse_global_id("DatasetVersion", raw)
                .ok_or_else(|| ApiError::invalid(format!("Invalid dataset version ID: {raw}")))?;
            store.dataset_version(dataset.id, id).await?
        }
        None => store.latest_dataset_version(dataset.id).await?,
    };
    found.ok_or_else(|| {
        ApiError::not_found(format!("No version {} of dataset {}", version_id.unwrap_or("(latest)"), dataset.name))
    })
}

/// `GET /v1/datasets`: newest first, cursor-paginated, optionally the one with `name`.
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let params = Params::parse(query.as_deref());
    let limit = params.limit(1000)?;
    let cursor = params.cursor(|raw| parse_global_id("Dataset", raw))?;
    let hidden = principal.projects.hidden();
    let rows = state.store.list_datasets(cursor, limit + 1, params.get("name"), hidden).await?;
    Ok(Page::split(rows, limit).json(view, |r| global_id("Dataset", r.id)))
}

/// `GET /v1/datasets/{id}`.
pub async fn get_one(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let row = resolve(&state.store, &id).await?;
    Ok(Json(json!({ "data": view(&row) })))
}

/// `DELETE /v1/datasets/{id}` with its versions, examples and experiments.
pub async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let row = resolve(&state.store, &id).await?;
    if !state.store.delete_dataset(row.id).await? {
        return Err(ApiError::not_found(format!("Dataset with ID {id} not found")));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/datasets/{id}/versions`: newest first, cursor-paginated.
pub async fn versions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let params = Params::parse(query.as_deref());
    let limit = params.limit(1000)?;
    let cursor = params.cursor(|raw| parse_global_id("DatasetVersion", raw))?;
    let dataset = resolve(&state.store, &id).await?;
    let rows = state.store.list_dataset_versions(dataset.id, cursor, limit + 1).await?;
    Ok(Page::split(rows, limit).json(version_view, |r| global_id("DatasetVersion", r.id)))
}

/// `GET /v1/datasets/{id}/examples?version_id=`: the examples as of a version (latest by default).
pub async fn examples(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let params = Params::parse(query.as_deref());
    let dataset = resolve(&state.store, &id).await?;
    let version = resolve_version(&state.store, &dataset, params.get("version_id")).await?;
    let rows = state.store.examples_at_version(dataset.id, version.id).await?;
    let mut data = json!({
        "dataset_id": global_id("Dataset", dataset.id),
        "version_id": global_id("DatasetVersion", version.id),
        "examples": rows.iter().map(example_view).collect::<Vec<_>>(),
    });
    let splits = params.all("split");
    if !splits.is_empty() {
        // Splits are not stored by Ember: every example is returned and no split is reported.
        data["filtered_splits"] = json!([]);
    }
    Ok(Json(json!({ "data": data })))
}

/// `POST /v1/datasets/upload[?sync=true]`: JSON or multipart; always synchronous.
/// Appending to or updating a dataset built from a project's spans needs `write` there, and
/// one of a project the caller does not see is not found.
pub async fn upload(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    request: Request,
) -> ApiResult<Json<Value>> {
    let upload = read_upload(&state, request).await?;
    if let Some(project_id) = state.store.dataset_by_name(&upload.name).await?.and_then(|d| d.project_id) {
        super::project_scope::deny(&principal, project_id, Permission::Write, "dataset")?;
    }
    let outcome = state
        .store
        .upload_examples(upload.action, &upload.name, upload.description.as_deref(), &upload.examples, None)
        .await?;
    Ok(Json(outcome_view(&outcome)))
}

fn attachment(content_type: &str, file_name: &str, body: String) -> Response {
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

async fn export_rows(state: &AppState, id: &str, query: Option<&str>) -> ApiResult<(DatasetRow, Vec<ExampleRow>)> {
    let params = Params::parse(query);
    let dataset = resolve(&state.store, id).await?;
    let version = resolve_version(&state.store, &dataset, params.get("version_id")).await?;
    let rows = state.store.examples_at_version(dataset.id, version.id).await?;
    Ok((dataset, rows))
}

/// A CSV cell: strings as they are, anything else as JSON.
pub(crate) fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// `GET /v1/datasets/{id}/csv`: `example_id`, then `input_*`, `output_*`, `metadata_*` columns.
pub async fn export_csv(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let (dataset, rows) = export_rows(&state, &id, query.as_deref()).await?;
    let parsed: Vec<[Value; 3]> =
        rows.iter().map(|r| [parse_json(&r.input), parse_json(&r.output), parse_json(&r.metadata)]).collect();
    let mut columns: Vec<(usize, String)> = Vec::new();
    let mut seen: HashSet<(usize, &str)> = HashSet::new();
    for example in &parsed {
        for (part, value) in example.iter().enumerate() {
            for key in value.as_object().into_iter().flat_map(|o| o.keys()) {
                if seen.insert((part, key.as_str())) {
                    columns.push((part, key.clone()));
                }
            }
        }
    }
    columns.sort_by_key(|(part, _)| *part);
    let prefixes = ["input_", "output_", "metadata_"];
    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| ApiError::internal(format!("cannot write CSV: {e}"));
    let header =
        std::iter::once("example_id".to_owned()).chain(columns.iter().map(|(p, k)| format!("{}{k}", prefixes[*p])));
    writer.write_record(header).map_err(csv_err)?;
    for (row, example) in rows.iter().zip(&parsed) {
        let cells = columns.iter().map(|(p, k)| cell(example[*p].get(k)));
        writer.write_record(std::iter::once(global_id("DatasetExample", row.id)).chain(cells)).map_err(csv_err)?;
    }
    let bytes = writer.into_inner().map_err(|e| ApiError::internal(format!("cannot write CSV: {e}")))?;
    let body = String::from_utf8(bytes).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(attachment("text/csv", &format!("{}.csv", dataset.name), body))
}

/// `GET /v1/datasets/{id}/jsonl`: one `{"id","input","output","metadata"}` object per line.
pub async fn export_jsonl(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let (dataset, rows) = export_rows(&state, &id, query.as_deref()).await?;
    let mut body = String::new();
    for row in &rows {
        let line = json!({
            "id": global_id("DatasetExample", row.id),
            "input": parse_json(&row.input),
            "output": parse_json(&row.output),
            "metadata": parse_json(&row.metadata),
        });
        body.push_str(&line.to_string());
        body.push('\n');
    }
    Ok(attachment("text/plain; charset=utf-8", &format!("{}.jsonl", dataset.name), body))
}
