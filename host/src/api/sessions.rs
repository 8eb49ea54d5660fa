//! `/v1/projects/{p}/sessions` and `/v1/sessions/{id}`.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use super::error::{ApiError, ApiResult};
use super::page::Page;
use super::projects::ProjectRequest;
use super::{views, AppState};
use crate::ids::{global_id, parse_global_id};
use crate::store::{SessionQuery, SessionRow, TraceRow};

/// Largest page; Phoenix sets none, but an unbounded page is an easy way to exhaust memory.
const MAX_LIMIT: i64 = 1000;

/// `GET /v1/projects/{p}/sessions`: one page of sessions with their traces.
pub async fn list(
    State(state): State<AppState>,
    ProjectRequest { project, params }: ProjectRequest,
) -> ApiResult<Json<Value>> {
    let from_id = params.cursor(|raw| parse_global_id("ProjectSession", raw))?;
    let query = SessionQuery {
        project_id: project.id,
        descending: params.descending(false)?,
        limit: params.limit(MAX_LIMIT)?,
        from_id,
    };
    let page = Page::split(state.store.list_sessions(&query).await?, query.limit);
    let session_ids: Vec<String> = page.rows.iter().map(|r| r.session_id.clone()).collect();
    let mut traces: HashMap<String, Vec<TraceRow>> = HashMap::new();
    for trace in state.store.traces_of_sessions(&session_ids).await? {
        let session = trace.session_id.clone().unwrap_or_default();
        traces.entry(session).or_default().push(trace);
    }
    let view = |row: &SessionRow| views::session(row, traces.get(&row.session_id).map_or(&[], Vec::as_slice));
    Ok(page.json(view, |row| global_id("ProjectSession", row.id)))
}

/// `GET /v1/sessions/{id}`: by ProjectSession GlobalID or user session id.
pub async fn get_one(State(state): State<AppState>, Path(session): Path<String>) -> ApiResult<Json<Value>> {
    let row_id = parse_global_id("ProjectSession", &session);
    let row = state.store.find_session(row_id, &session).await?.ok_or_else(|| match row_id {
        Some(_) => ApiError::not_found(format!("Session with ID {session} not found")),
        None => ApiError::not_found(format!("Session with session_id {session} not found")),
    })?;
    let traces = state.store.traces_of_session(&row.session_id).await?;
    Ok(Json(json!({ "data": views::session(&row, &traces) })))
}
