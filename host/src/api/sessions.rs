//! `/v1/projects/{p}/sessions` and `/v1/sessions/{id}`.

use axum::extract::{Path, RawQuery, State};
use axum::Json;
use serde_json::{json, Value};

use super::error::{ApiError, ApiResult};
use super::ids::{global_id, parse_global_id};
use super::params::{next_page_start, Params};
use super::projects::resolve;
use super::{views, AppState};
use crate::store::SessionQuery;

pub async fn list(
    State(state): State<AppState>,
    Path(project): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let params = Params::parse(query.as_deref());
    let project = resolve(&state.store, &project).await?;
    let from_id = match params.get("cursor") {
        None => None,
        Some(raw) => Some(
            parse_global_id("ProjectSession", raw)
                .ok_or_else(|| ApiError::invalid(format!("Invalid cursor format: {raw}")))?,
        ),
    };
    let query = SessionQuery {
        project_id: project.id,
        descending: params.descending(false)?,
        limit: params.limit(i64::MAX - 1)?,
        from_id,
    };
    let mut rows = state.store.list_sessions(&query).await?;
    let next = next_page_start(&mut rows, query.limit);
    let mut data = Vec::with_capacity(rows.len());
    for row in &rows {
        let traces = state.store.traces_of_session(&row.session_id).await?;
        data.push(views::session(row, &traces));
    }
    Ok(Json(json!({ "data": data, "next_cursor": next.map(|r| global_id("ProjectSession", r.id)) })))
}

pub async fn get_one(State(state): State<AppState>, Path(session): Path<String>) -> ApiResult<Json<Value>> {
    let row_id = parse_global_id("ProjectSession", &session);
    let row = state.store.find_session(row_id, &session).await?.ok_or_else(|| match row_id {
        Some(_) => ApiError::not_found(format!("Session with ID {session} not found")),
        None => ApiError::not_found(format!("Session with session_id {session} not found")),
    })?;
    let traces = state.store.traces_of_session(&row.session_id).await?;
    Ok(Json(json!({ "data": views::session(&row, &traces) })))
}
