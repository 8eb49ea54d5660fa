//! Phoenix's bulk deletes and moves: `DELETE /v1/projects/{p}/traces` (a time range, or Ember's
//! `trace_id` list), `DELETE /v1/sessions/{id}`, `POST /v1/sessions/delete` and
//! `POST /v1/traces/transfer`. Deletes take spans, annotations and emptied sessions with them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::json_body::JsonBody;
use super::project_scope::deny;
use super::projects::{resolve, ProjectRequest};
use super::routes::Routes;
use super::{ApiError, ApiResult, AppState};
use crate::auth::Permission::{self, Write};
use crate::auth::Principal;
use crate::ids::{global_id, parse_global_id};
use crate::store::SessionRow;

/// Traces deleted per transaction by a range delete, so that a large range does not hold the
/// database against ingest.
const DELETE_BATCH: i64 = 1000;

/// The bulk delete and move routes.
pub fn routes() -> Routes {
    Routes::new()
        .delete("/v1/projects/{project}/traces", Write, delete_project_traces)
        .delete("/v1/sessions/{session}", Write, delete_session)
        .post("/v1/sessions/delete", Write, delete_sessions)
        .post("/v1/traces/transfer", Write, transfer)
}

/// `DELETE /v1/projects/{p}/traces?start_time=…&end_time=…`: the project's traces that started
/// in `[start_time, end_time)`; or `?trace_id=…` (repeatable) for given traces.
async fn delete_project_traces(
    State(state): State<AppState>,
    ProjectRequest { project, params }: ProjectRequest,
) -> ApiResult<StatusCode> {
    let trace_ids = params.all("trace_id");
    if !trace_ids.is_empty() {
        for identifier in &trace_ids {
            let row_id = parse_global_id("Trace", identifier);
            if let Some(trace) = state.store.find_trace(row_id, identifier).await? {
                if trace.project_id == project.id {
                    state.store.delete_trace(&trace).await?;
                }
            }
        }
        return Ok(StatusCode::NO_CONTENT);
    }
    let (Some(start), Some(end)) = (params.time("start_time")?, params.time("end_time")?) else {
        return Err(ApiError::invalid("give start_time and end_time (or trace_id)"));
    };
    if end <= start {
        return Err(ApiError::invalid("end_time must be after start_time"));
    }
    while state.store.delete_traces_between(project.id, start, end, DELETE_BATCH).await?.traces > 0 {}
    Ok(StatusCode::NO_CONTENT)
}

/// A session by ProjectSession GlobalID or user session id.
async fn find_session(state: &AppState, identifier: &str) -> ApiResult<Option<SessionRow>> {
    let row_id = parse_global_id("ProjectSession", identifier);
    Ok(state.store.find_session(row_id, identifier).await?)
}

/// `DELETE /v1/sessions/{id}`: the session with its traces, spans and annotations.
async fn delete_session(State(state): State<AppState>, Path(session): Path<String>) -> ApiResult<StatusCode> {
    let row = find_session(&state, &session)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("Session with ID {session} not found")))?;
    state.store.delete_sessions(&[row.id]).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct DeleteSessionsBody {
    session_identifiers: Vec<String>,
}

/// `POST /v1/sessions/delete` with `{"session_identifiers": [...]}`: unknown ones are skipped,
/// as in Phoenix; a session in a project the caller may not write refuses the whole request.
async fn delete_sessions(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    JsonBody(body): JsonBody<DeleteSessionsBody>,
) -> ApiResult<StatusCode> {
    let mut rows = Vec::new();
    for identifier in &body.session_identifiers {
        if let Some(row) = find_session(&state, identifier).await? {
            deny(&principal, row.project_id, Permission::Write, "session")?;
            rows.push(row.id);
        }
    }
    state.store.delete_sessions(&rows).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct TransferBody {
    trace_identifiers: Vec<String>,
    destination_project_identifier: String,
}

/// `POST /v1/traces/transfer`: moves traces (GlobalIDs or OpenTelemetry ids) with their spans to
/// another project; the caller must be able to write both.
async fn transfer(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    JsonBody(body): JsonBody<TransferBody>,
) -> ApiResult<Json<Value>> {
    if body.trace_identifiers.is_empty() {
        return Err(ApiError::invalid("trace_identifiers must not be empty"));
    }
    let destination = resolve(&state.store, &body.destination_project_identifier).await?;
    deny(&principal, destination.id, Permission::Write, "project")?;
    let mut rows = Vec::new();
    for identifier in &body.trace_identifiers {
        let row_id = parse_global_id("Trace", identifier);
        let trace = state
            .store
            .find_trace(row_id, identifier)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("Trace with ID {identifier} not found")))?;
        deny(&principal, trace.project_id, Permission::Write, "trace")?;
        rows.push(trace.id);
    }
    let moved = state.store.transfer_traces(&rows, destination.id).await?;
    Ok(Json(json!({ "data": {
        "transferred_trace_count": moved,
        "destination_project_id": global_id("Project", destination.id),
    } })))
}
