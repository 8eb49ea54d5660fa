//! `/v1/projects/{p}/traces`, the trace tree `GET /v1/traces/{id}`, and `DELETE /v1/traces/{id}`.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::error::{ApiError, ApiResult};
use super::page::{self, Page};
use super::projects::ProjectRequest;
use super::{views, AppState};
use crate::ids::{keyed_cursor, parse_global_id, parse_keyed_cursor};
use crate::store::{SpanRow, TraceCursor, TraceQuery, TraceRow, TraceSort};

const MAX_LIMIT: i64 = 1000;

/// `GET /v1/projects/{p}/traces`: one page of traces, optionally with their spans.
pub async fn list(
    State(state): State<AppState>,
    ProjectRequest { project, params }: ProjectRequest,
) -> ApiResult<Json<Value>> {
    let sort = params.one_of("sort", &[("start_time", TraceSort::StartTime), ("latency_ms", TraceSort::Latency)])?;
    let cursor =
        params.cursor(|raw| parse_keyed_cursor("TraceCursor", raw).map(|(key, id)| TraceCursor { key, id }))?;
    let session_identifiers = params.all("session_identifier");
    let mut session_ids = Vec::new();
    for identifier in session_identifiers.iter().cloned() {
        let row_id = parse_global_id("ProjectSession", &identifier);
        match state.store.find_session(row_id, &identifier).await? {
            Some(session) => session_ids.push(session.session_id),
            None if row_id.is_none() => session_ids.push(identifier),
            None => {}
        }
    }
    let query = TraceQuery {
        project_id: project.id,
        sort,
        descending: params.descending(true)?,
        limit: params.limit(MAX_LIMIT)?,
        cursor,
        start_ns: params.time("start_time")?,
        end_ns: params.time("end_time")?,
        session_ids,
    };
    let include_spans = params.flag("include_spans")?;
    if !session_identifiers.is_empty() && query.session_ids.is_empty() {
        return Ok(page::body(Vec::new(), None));
    }
    let Page { rows, next } = Page::split(state.store.list_traces(&query).await?, query.limit);
    let mut data = Vec::with_capacity(rows.len());
    for row in &rows {
        let spans = if include_spans {
            Some(state.store.spans_of_trace(row.id).await?.iter().map(views::trace_span).collect())
        } else {
            None
        };
        data.push(views::trace(row, spans));
    }
    let next_cursor = next.map(|row| {
        let key = match sort {
            TraceSort::StartTime => row.start_ns,
            TraceSort::Latency => row.end_ns - row.start_ns,
        };
        keyed_cursor("TraceCursor", key, row.id)
    });
    Ok(page::body(data, next_cursor))
}

async fn find(state: &AppState, identifier: &str) -> ApiResult<TraceRow> {
    let row_id = parse_global_id("Trace", identifier);
    state
        .store
        .find_trace(row_id, identifier)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("Trace with ID {identifier} not found")))
}

/// Ember's trace view: the trace and its spans in depth-first order, each with its `depth` and
/// `child_count`, ready for a virtualised tree. Spans whose parent is missing are roots.
pub async fn tree(State(state): State<AppState>, Path(trace): Path<String>) -> ApiResult<Json<Value>> {
    let row = find(&state, &trace).await?;
    let spans = state.store.spans_of_trace(row.id).await?;
    let ordered = depth_first(&spans);
    let mut data = views::trace(&row, None);
    let nodes: Vec<Value> = ordered
        .into_iter()
        .map(|(index, depth, child_count)| {
            let mut node = views::span(&spans[index]);
            node["depth"] = json!(depth);
            node["child_count"] = json!(child_count);
            node
        })
        .collect();
    data["span_count"] = json!(nodes.len());
    data["latency_ms"] = json!((row.end_ns - row.start_ns) as f64 / 1e6);
    data["spans"] = Value::Array(nodes);
    Ok(Json(json!({ "data": data })))
}

/// (index into `spans`, depth, number of children) in depth-first, start-time order; iterative so
/// that a hostile trace with a very deep chain cannot overflow the stack.
fn depth_first(spans: &[SpanRow]) -> Vec<(usize, usize, usize)> {
    let by_id: HashMap<&str, usize> = spans.iter().enumerate().map(|(i, s)| (s.span_id.as_str(), i)).collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    let mut roots = Vec::new();
    for (i, span) in spans.iter().enumerate() {
        match span.parent_id.as_deref().and_then(|p| by_id.get(p)) {
            Some(&parent) if parent != i => children[parent].push(i),
            _ => roots.push(i),
        }
    }
    let mut out = Vec::with_capacity(spans.len());
    let mut visited = vec![false; spans.len()];
    let mut stack: Vec<(usize, usize)> = roots.iter().rev().map(|&r| (r, 0)).collect();
    while let Some((index, depth)) = stack.pop() {
        if std::mem::replace(&mut visited[index], true) {
            continue;
        }
        out.push((index, depth, children[index].len()));
        stack.extend(children[index].iter().rev().map(|&c| (c, depth + 1)));
    }
    // Spans caught in a parent cycle are unreachable from any root; list them as roots.
    for (index, seen) in visited.iter().enumerate() {
        if !seen {
            out.push((index, 0, children[index].len()));
        }
    }
    out
}

/// `DELETE /v1/traces/{id}`: the trace and its spans.
pub async fn remove(State(state): State<AppState>, Path(trace): Path<String>) -> ApiResult<StatusCode> {
    let row = find(&state, &trace).await?;
    if !state.store.delete_trace(&row).await? {
        return Err(ApiError::not_found(format!("Trace with ID {trace} not found")));
    }
    Ok(StatusCode::NO_CONTENT)
}
