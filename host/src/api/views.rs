//! JSON shapes of the REST API, following Phoenix's v1 schemas.

use serde_json::{json, Value};

use super::span_json::SpanJson;
use crate::ids::global_id;

use crate::store::{SessionRow, SpanRow, TraceRow};
use crate::time::iso_time;

/// Phoenix's `Span` as a `Value`, for callers that edit it; listings serialise
/// [`SpanJson`] directly.
pub fn span(row: &SpanRow) -> Value {
    serde_json::to_value(SpanJson(row)).unwrap_or(Value::Null)
}

/// Phoenix's `TraceSpanData`: the summary of a span inside a trace listing.
pub fn trace_span(row: &SpanRow) -> Value {
    json!({
        "id": global_id("Span", row.id),
        "span_id": row.span_id,
        "parent_id": row.parent_id,
        "name": row.name,
        "span_kind": row.span_kind,
        "status_code": row.status_code,
        "start_time": iso_time(row.start_ns),
        "end_time": iso_time(row.end_ns),
    })
}

/// Phoenix's `TraceData`, with `spans` only when they were loaded.
pub fn trace(row: &TraceRow, spans: Option<Vec<Value>>) -> Value {
    json!({
        "id": global_id("Trace", row.id),
        "trace_id": row.trace_id,
        "project_id": global_id("Project", row.project_id),
        "start_time": iso_time(row.start_ns),
        "end_time": iso_time(row.end_ns),
        "token_count_prompt": row.token_prompt.unwrap_or(0),
        "token_count_completion": row.token_completion.unwrap_or(0),
        "token_count_total": row.token_total.unwrap_or(0),
        "spans": spans,
    })
}

/// Phoenix's `SessionData` with its traces oldest first.
pub fn session(row: &SessionRow, traces: &[TraceRow]) -> Value {
    let traces: Vec<Value> = traces
        .iter()
        .map(|t| {
            json!({
                "id": global_id("Trace", t.id),
                "trace_id": t.trace_id,
                "start_time": iso_time(t.start_ns),
                "end_time": iso_time(t.end_ns),
            })
        })
        .collect();
    json!({
        "id": global_id("ProjectSession", row.id),
        "session_id": row.session_id,
        "project_id": global_id("Project", row.project_id),
        "start_time": iso_time(row.start_ns),
        "end_time": iso_time(row.end_ns),
        "traces": traces,
        "token_count_prompt": row.token_prompt.unwrap_or(0),
        "token_count_completion": row.token_completion.unwrap_or(0),
        "token_count_total": row.token_total.unwrap_or(0),
    })
}
