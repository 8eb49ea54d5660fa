//! JSON shapes of the REST API, following Phoenix's v1 schemas.

use serde_json::{json, Map, Value};

use crate::ids::global_id;

use crate::attributes::flatten;
use crate::store::{SessionRow, SpanRow, TraceRow};
use crate::time::iso_time;

/// Phoenix's `Span`: flat dotted attributes without `openinference.span.kind`, ISO times.
pub fn span(row: &SpanRow) -> Value {
    let nested: Map<String, Value> = serde_json::from_str(&row.attributes).unwrap_or_default();
    let mut attributes = flatten(&nested);
    attributes.remove("openinference.span.kind");
    for (key, column) in [
        ("input.value", &row.input_value),
        ("input.mime_type", &row.input_mime_type),
        ("output.value", &row.output_value),
        ("output.mime_type", &row.output_mime_type),
    ] {
        if let Some(value) = column {
            attributes.insert(key.to_owned(), Value::String(value.clone()));
        }
    }
    let events: Vec<Value> = serde_json::from_str::<Vec<Value>>(&row.events)
        .unwrap_or_default()
        .into_iter()
        .map(|event| {
            let timestamp = event.get("timestamp_ns").and_then(Value::as_i64).unwrap_or(0);
            json!({
                "name": event.get("name").cloned().unwrap_or(Value::Null),
                "timestamp": iso_time(timestamp),
                "attributes": event.get("attributes").cloned().unwrap_or_else(|| json!({})),
            })
        })
        .collect();
    json!({
        "id": global_id("Span", row.id),
        "name": row.name,
        "context": { "trace_id": row.trace_id, "span_id": row.span_id },
        "span_kind": row.span_kind,
        "parent_id": row.parent_id,
        "start_time": iso_time(row.start_ns),
        "end_time": iso_time(row.end_ns),
        "status_code": row.status_code,
        "status_message": row.status_message,
        "attributes": attributes,
        "events": events,
    })
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
