//! Phoenix's annotation routes for spans, traces and sessions: `POST /v1/{kind}_annotations`
//! (upsert on target, name and identifier), `POST /v1/{kind}_notes`, and per project
//! `GET`/`DELETE /v1/projects/{p}/{kind}_annotations`; plus Ember's
//! `POST /v1/projects/{p}/evaluate_spans`.

mod evaluate;

use crate::api::routes::Routes;
use crate::auth::Permission::{Read, Write};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::error::{ApiError, ApiResult};
use super::json_body::JsonBody;
use super::page::Page;
use super::params::Params;
use super::projects::ProjectRequest;
use super::AppState;
use crate::auth::{Permission, Principal, ProjectDenied};
use crate::ids::{global_id, parse_global_id};
use crate::store::{AnnotationDelete, AnnotationQuery, AnnotationRow, AnnotationTarget, NewAnnotation};
use crate::time::iso_time;

/// Annotator kinds Phoenix accepts.
pub const ANNOTATOR_KINDS: [&str; 3] = ["LLM", "CODE", "HUMAN"];
/// Most target ids or identifiers one listing may filter on.
const MAX_FILTER_IDS: usize = 1000;
/// Most annotations one `POST` may write.
const MAX_BATCH: usize = 10_000;

/// The annotations routes.
pub fn routes() -> Routes {
    Routes::new()
        .post("/v1/span_annotations", Write, annotate_spans)
        .post("/v1/trace_annotations", Write, annotate_traces)
        .post("/v1/session_annotations", Write, annotate_sessions)
        .post("/v1/span_notes", Write, span_note)
        .post("/v1/trace_notes", Write, trace_note)
        .post("/v1/session_notes", Write, session_note)
        .get("/v1/projects/{project}/span_annotations", Read, list_spans)
        .delete("/v1/projects/{project}/span_annotations", Write, delete_spans)
        .get("/v1/projects/{project}/trace_annotations", Read, list_traces)
        .delete("/v1/projects/{project}/trace_annotations", Write, delete_traces)
        .get("/v1/projects/{project}/session_annotations", Read, list_sessions)
        .delete("/v1/projects/{project}/session_annotations", Write, delete_sessions)
        .post("/v1/projects/{project}/evaluate_spans", Write, evaluate::evaluate_spans)
}

/// Names Phoenix uses for a target kind: the id field, GlobalID type, plural and note prefix.
struct Kind {
    target: AnnotationTarget,
    id_field: &'static str,
    node: &'static str,
    plural: &'static str,
    note_prefix: &'static str,
}

const SPAN: Kind = Kind {
    target: AnnotationTarget::Span,
    id_field: "span_id",
    node: "SpanAnnotation",
    plural: "Spans",
    note_prefix: "px-span-note",
};
const TRACE: Kind = Kind {
    target: AnnotationTarget::Trace,
    id_field: "trace_id",
    node: "TraceAnnotation",
    plural: "Traces",
    note_prefix: "px-trace-note",
};
const SESSION: Kind = Kind {
    target: AnnotationTarget::Session,
    id_field: "session_id",
    node: "ProjectSessionAnnotation",
    plural: "Sessions",
    note_prefix: "px-session-note",
};

impl Kind {
    /// Span and trace ids are hex, stored in lower case; session ids are taken as given.
    fn normalize(&self, id: &str) -> String {
        match self.target {
            AnnotationTarget::Span | AnnotationTarget::Trace => id.trim().to_ascii_lowercase(),
            AnnotationTarget::Session => id.to_owned(),
        }
    }
}

/// `result` of an annotation.
#[derive(Debug, Default, Deserialize)]
struct ResultData {
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    score: Option<f64>,
    #[serde(default)]
    explanation: Option<String>,
}

/// One element of `data` in an annotate request.
#[derive(Debug, Deserialize)]
struct AnnotationData {
    name: String,
    annotator_kind: String,
    #[serde(default)]
    result: Option<ResultData>,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
    #[serde(default)]
    identifier: Option<String>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
struct AnnotateBody {
    data: Vec<AnnotationData>,
}

/// Checks an annotator kind, Phoenix's three values only.
pub fn check_annotator_kind(kind: &str) -> ApiResult<()> {
    if ANNOTATOR_KINDS.contains(&kind) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!("annotator_kind must be one of LLM, CODE, HUMAN, got {kind:?}")))
    }
}

/// Resolves target ids to row ids; any unknown id (or one of a project the caller does not
/// see) is a 404 naming every such id, and one of a project where the caller may not write a 403.
async fn resolve_targets(state: &AppState, principal: &Principal, kind: &Kind, ids: &[String]) -> ApiResult<Vec<i64>> {
    let mut distinct: Vec<String> = ids.to_vec();
    distinct.sort();
    distinct.dedup();
    let mut found = state.store.annotation_target_rowids(kind.target, &distinct).await?;
    let mut read_only = false;
    found.retain(|_, (_, project_id)| match principal.check_project(*project_id, Permission::Write) {
        Ok(()) => true,
        Err(ProjectDenied::Hidden) => false,
        Err(ProjectDenied::Lacks(_)) => {
            read_only = true;
            true
        }
    });
    let missing: Vec<&str> = distinct.iter().filter(|id| !found.contains_key(*id)).map(String::as_str).collect();
    if !missing.is_empty() {
        return Err(ApiError::not_found(format!("{} with IDs {} do not exist.", kind.plural, missing.join(", "))));
    }
    if read_only {
        return Err(ApiError::forbidden(format!(
            "your role on the project of some of these {} does not allow writing annotations",
            kind.plural.to_lowercase()
        )));
    }
    Ok(ids.iter().filter_map(|id| found.get(id).map(|(rowid, _)| *rowid)).collect())
}

async fn annotate(
    state: AppState,
    principal: Principal,
    kind: &Kind,
    query: Option<String>,
    body: AnnotateBody,
) -> ApiResult<Json<Value>> {
    let sync = Params::parse(query.as_deref()).flag("sync")?;
    if body.data.len() > MAX_BATCH {
        return Err(ApiError::invalid(format!("at most {MAX_BATCH} annotations per request")));
    }
    let mut ids = Vec::with_capacity(body.data.len());
    for (i, item) in body.data.iter().enumerate() {
        if item.name.trim().is_empty() {
            return Err(ApiError::invalid(format!("data[{i}].name must be non-empty")));
        }
        check_annotator_kind(&item.annotator_kind)?;
        match item.rest.get(kind.id_field) {
            Some(Value::String(id)) if !id.trim().is_empty() => ids.push(kind.normalize(id)),
            _ => return Err(ApiError::invalid(format!("data[{i}].{} is required", kind.id_field))),
        }
    }
    let rowids = resolve_targets(&state, &principal, kind, &ids).await?;
    let annotations: Vec<NewAnnotation> = body
        .data
        .into_iter()
        .zip(rowids)
        .map(|(item, target_rowid)| {
            let result = item.result.unwrap_or_default();
            NewAnnotation {
                target_rowid,
                name: item.name,
                annotator_kind: item.annotator_kind,
                label: result.label,
                score: result.score,
                explanation: result.explanation,
                metadata: Value::Object(item.metadata.unwrap_or_default()).to_string(),
                identifier: item.identifier.unwrap_or_default(),
                source: "API".to_owned(),
                user_id: None,
            }
        })
        .collect();
    let ids = state.store.upsert_annotations(kind.target, &annotations).await?;
    if !sync {
        return Ok(Json(json!({ "data": [] })));
    }
    let data: Vec<Value> = ids.into_iter().map(|id| json!({ "id": global_id(kind.node, id) })).collect();
    Ok(Json(json!({ "data": data })))
}

async fn annotate_spans(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    RawQuery(q): RawQuery,
    JsonBody(body): JsonBody<AnnotateBody>,
) -> ApiResult<Json<Value>> {
    annotate(state, principal, &SPAN, q, body).await
}

async fn annotate_traces(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    RawQuery(q): RawQuery,
    JsonBody(body): JsonBody<AnnotateBody>,
) -> ApiResult<Json<Value>> {
    annotate(state, principal, &TRACE, q, body).await
}

async fn annotate_sessions(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    RawQuery(q): RawQuery,
    JsonBody(body): JsonBody<AnnotateBody>,
) -> ApiResult<Json<Value>> {
    annotate(state, principal, &SESSION, q, body).await
}

#[derive(Debug, Deserialize)]
struct NoteBody {
    data: Map<String, Value>,
}

/// A version 4 UUID, for note identifiers.
fn uuid_v4() -> String {
    let mut bytes: [u8; 16] = rand::random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// A note is an annotation named `note` by a HUMAN, its text the explanation; without an
/// identifier each note gets a unique one, so notes accumulate.
async fn note(
    state: AppState,
    principal: Principal,
    kind: &Kind,
    NoteBody { data }: NoteBody,
) -> ApiResult<Json<Value>> {
    let text_field = |key: &str| match data.get(key) {
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(ApiError::invalid(format!("data.{key} must be a string"))),
    };
    let id = text_field(kind.id_field)?.filter(|s| !s.is_empty());
    let id = id.ok_or_else(|| ApiError::invalid(format!("data.{} must be non-empty", kind.id_field)))?;
    let text = text_field("note")?.filter(|s| !s.is_empty());
    let text = text.ok_or_else(|| ApiError::invalid("data.note must be non-empty"))?;
    let identifier = text_field("identifier")?
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("{}:{}", kind.note_prefix, uuid_v4()));
    let rowids = resolve_targets(&state, &principal, kind, &[kind.normalize(&id)]).await?;
    let annotation = NewAnnotation {
        target_rowid: rowids.first().copied().ok_or_else(|| ApiError::not_found(format!("{id} not found")))?,
        name: "note".to_owned(),
        annotator_kind: "HUMAN".to_owned(),
        label: None,
        score: None,
        explanation: Some(text),
        metadata: "{}".to_owned(),
        identifier,
        source: "API".to_owned(),
        user_id: None,
    };
    let ids = state.store.upsert_annotations(kind.target, &[annotation]).await?;
    let id = ids.first().copied().ok_or_else(|| ApiError::not_found("note not written"))?;
    Ok(Json(json!({ "data": { "id": global_id(kind.node, id) } })))
}

async fn span_note(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    JsonBody(body): JsonBody<NoteBody>,
) -> ApiResult<Json<Value>> {
    note(state, principal, &SPAN, body).await
}

async fn trace_note(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    JsonBody(body): JsonBody<NoteBody>,
) -> ApiResult<Json<Value>> {
    note(state, principal, &TRACE, body).await
}

async fn session_note(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    JsonBody(body): JsonBody<NoteBody>,
) -> ApiResult<Json<Value>> {
    note(state, principal, &SESSION, body).await
}

/// An annotation as Phoenix's REST API writes it.
fn view(kind: &Kind, row: &AnnotationRow) -> Value {
    let metadata = serde_json::from_str::<Value>(&row.metadata).unwrap_or_else(|_| json!({}));
    let mut value = json!({
        "id": global_id(kind.node, row.id),
        "created_at": iso_time(row.created_ns),
        "updated_at": iso_time(row.updated_ns),
        "source": row.source,
        "user_id": row.user_id,
        "name": row.name,
        "annotator_kind": row.annotator_kind,
        "result": { "label": row.label, "score": row.score, "explanation": row.explanation },
        "metadata": metadata,
        "identifier": row.identifier,
    });
    value[kind.id_field] = Value::String(row.target_id.clone());
    value
}

fn distinct_param(params: &Params, name: &str) -> ApiResult<Vec<String>> {
    let mut values = params.all(name);
    values.sort();
    values.dedup();
    if values.len() > MAX_FILTER_IDS {
        return Err(ApiError::invalid(format!("Too many {name} supplied: {} (max {MAX_FILTER_IDS})", values.len())));
    }
    Ok(values)
}

async fn list(state: AppState, kind: &Kind, request: ProjectRequest) -> ApiResult<Json<Value>> {
    let ProjectRequest { project, params } = request;
    let ids_param = format!("{}s", kind.id_field);
    let target_ids: Vec<String> = distinct_param(&params, &ids_param)?.iter().map(|id| kind.normalize(id)).collect();
    let identifiers = distinct_param(&params, "identifier")?;
    if identifiers.iter().any(String::is_empty) {
        return Err(ApiError::invalid("identifier values must be non-empty"));
    }
    if target_ids.is_empty() && identifiers.is_empty() {
        return Err(ApiError::invalid(format!("At least one of {ids_param} or identifier must be supplied")));
    }
    let limit = match params.get("limit") {
        None => 10,
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if (1..=10_000).contains(&n) => n,
            _ => return Err(ApiError::invalid(format!("limit must be an integer from 1 to 10000, got {raw:?}"))),
        },
    };
    let query = AnnotationQuery {
        target: kind.target,
        project_id: project.id,
        target_ids,
        identifiers,
        include_names: params.all("include_annotation_names"),
        exclude_names: params.all("exclude_annotation_names"),
        cursor: params.cursor(|raw| parse_global_id(kind.node, raw))?,
        limit,
    };
    let page = Page::split(state.store.list_annotations(&query).await?, limit);
    if page.rows.is_empty()
        && !query.target_ids.is_empty()
        && query.identifiers.is_empty()
        && !state.store.annotation_targets_exist(kind.target, project.id, &query.target_ids).await?
    {
        return Err(ApiError::not_found(format!("None of the supplied {ids_param} exist in this project")));
    }
    Ok(page.json(|row| view(kind, row), |row| global_id(kind.node, row.id)))
}

async fn list_spans(State(state): State<AppState>, request: ProjectRequest) -> ApiResult<Json<Value>> {
    list(state, &SPAN, request).await
}

async fn list_traces(State(state): State<AppState>, request: ProjectRequest) -> ApiResult<Json<Value>> {
    list(state, &TRACE, request).await
}

async fn list_sessions(State(state): State<AppState>, request: ProjectRequest) -> ApiResult<Json<Value>> {
    list(state, &SESSION, request).await
}

/// Phoenix's delete gate: a bounded `[start_time, end_time)` window or `delete_all=true`;
/// `name`, `identifier` and `annotator_kind` only narrow.
async fn remove(state: AppState, kind: &Kind, request: ProjectRequest) -> ApiResult<StatusCode> {
    let ProjectRequest { project, params } = request;
    let non_empty = |name: &str| match params.get(name) {
        Some("") => Err(ApiError::invalid(format!("{name} must be non-empty when provided"))),
        other => Ok(other.map(str::to_owned)),
    };
    let annotator_kind = non_empty("annotator_kind")?;
    if let Some(kind) = &annotator_kind {
        check_annotator_kind(kind)?;
    }
    let start_ns = params.time("start_time")?;
    let end_ns = params.time("end_time")?;
    let delete_all = params.flag("delete_all")?;
    if let (Some(start), Some(end)) = (start_ns, end_ns) {
        if start >= end {
            return Err(ApiError::invalid("start_time must be earlier than end_time"));
        }
    } else if !delete_all {
        return Err(ApiError::invalid(
            "supply both start_time and end_time to bound the delete, or set delete_all=true",
        ));
    }
    let delete = AnnotationDelete {
        target: kind.target,
        project_id: project.id,
        name: non_empty("name")?,
        identifier: non_empty("identifier")?,
        annotator_kind,
        start_ns,
        end_ns,
    };
    let deleted = state.store.delete_annotations(&delete).await?;
    tracing::info!(project = %project.name, kind = kind.node, deleted, "annotations deleted");
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_spans(State(state): State<AppState>, request: ProjectRequest) -> ApiResult<StatusCode> {
    remove(state, &SPAN, request).await
}

async fn delete_traces(State(state): State<AppState>, request: ProjectRequest) -> ApiResult<StatusCode> {
    remove(state, &TRACE, request).await
}

async fn delete_sessions(State(state): State<AppState>, request: ProjectRequest) -> ApiResult<StatusCode> {
    remove(state, &SESSION, request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_identifiers_are_v4_uuids() {
        let id = uuid_v4();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(id, uuid_v4());
    }

    #[test]
    fn annotator_kinds_are_checked() {
        assert!(check_annotator_kind("CODE").is_ok());
        assert!(check_annotator_kind("code").is_err());
        assert!(check_annotator_kind("ROBOT").is_err());
    }
}
