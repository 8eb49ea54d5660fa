//! Recording a chat completion as an OpenInference LLM span, through the same ingest pipeline and
//! queue as an exporter's spans (so redactors and span processors see it too), priced by the
//! `cost` plugin when one is installed and the ingest pipeline does not already run it.
//!
//! The span is built as OTLP attributes and mapped by the ingest path's own `to_record`, so it is
//! stored exactly as if it had been exported, but it is never encoded or decoded.

use ember_sandbox::{ChatRequest, Message};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{span, status, Span, Status};
use serde_json::{json, Value};

use super::{wire, ChatOutcome};
use crate::ingest::{openinference, otlp, IngestError, Ingestor};
use crate::model::SpanRecord;
use crate::plugins::{Pipeline, PluginHost};

/// What a recorded call is about, beyond the call itself.
#[derive(Debug, Clone, Default)]
pub struct CallRecord {
    /// Project the span goes to.
    pub project: String,
    /// Span name, e.g. `ChatCompletion`.
    pub name: String,
    /// Extra string attributes (experiment and example ids of a prompt task).
    pub attributes: Vec<(String, String)>,
}

/// The ids and price of a recorded span.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub trace_id: String,
    pub span_id: String,
    pub cost: Option<f64>,
}

fn text(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(any_value::Value::IntValue(value)) }),
        ..Default::default()
    }
}

fn message_attributes(prefix: &str, index: usize, message: &Message, out: &mut Vec<KeyValue>) {
    let base = format!("{prefix}.{index}.message");
    let shown = wire::message_json(message);
    out.push(text(&format!("{base}.role"), shown["role"].as_str().unwrap_or_default()));
    if !message.content.is_empty() {
        out.push(text(&format!("{base}.content"), message.content.clone()));
    }
    for (call_index, call) in message.tool_calls.iter().enumerate() {
        let call_base = format!("{base}.tool_calls.{call_index}.tool_call");
        out.push(text(&format!("{call_base}.id"), call.id.clone()));
        out.push(text(&format!("{call_base}.function.name"), call.name.clone()));
        out.push(text(&format!("{call_base}.function.arguments"), call.arguments.clone()));
    }
    if let Some(id) = &message.tool_call_id {
        out.push(text(&format!("{base}.tool_call_id"), id.clone()));
    }
}

fn invocation_parameters(request: &ChatRequest) -> Value {
    let mut params = request.extra.as_deref().and_then(|e| serde_json::from_str::<Value>(e).ok()).unwrap_or(json!({}));
    for (key, value) in [
        ("temperature", request.temperature.map(Value::from)),
        ("max_tokens", request.max_tokens.map(Value::from)),
        ("top_p", request.top_p.map(Value::from)),
        ("tool_choice", request.tool_choice.clone().map(Value::from)),
        ("response_format", request.response_format.as_deref().and_then(|f| serde_json::from_str(f).ok())),
    ] {
        if let Some(value) = value {
            params[key] = value;
        }
    }
    if !request.stop.is_empty() {
        params["stop"] = json!(request.stop);
    }
    params
}

/// The attributes of one call.
fn attributes(request: &ChatRequest, outcome: &ChatOutcome, record: &CallRecord) -> Vec<KeyValue> {
    let mut out = vec![text("openinference.span.kind", "LLM"), text("llm.model_name", request.model.clone())];
    if let Some((name, version)) = &outcome.provider {
        out.push(text("llm.provider", name.clone()));
        out.push(text("ember.provider.version", version.clone()));
    }
    out.push(text("llm.invocation_parameters", invocation_parameters(request).to_string()));
    let input: Vec<Value> = request.messages.iter().map(wire::message_json).collect();
    out.push(text("input.value", Value::Array(input).to_string()));
    out.push(text("input.mime_type", "application/json"));
    for (index, message) in request.messages.iter().enumerate() {
        message_attributes("llm.input_messages", index, message, &mut out);
    }
    for (index, tool) in request.tools.iter().enumerate() {
        let schema = json!({"type": "function", "function": {"name": tool.name, "description": tool.description,
            "parameters": serde_json::from_str::<Value>(&tool.parameters).unwrap_or(Value::Null)}});
        out.push(text(&format!("llm.tools.{index}.tool.json_schema"), schema.to_string()));
    }
    out.push(int("ember.provider.attempts", i64::from(outcome.attempts)));
    if let Ok(response) = &outcome.result {
        message_attributes("llm.output_messages", 0, &response.message, &mut out);
        let output = wire::run_output(response);
        match output {
            Value::String(content) => {
                out.push(text("output.value", content));
                out.push(text("output.mime_type", "text/plain"));
            }
            other => {
                out.push(text("output.value", other.to_string()));
                out.push(text("output.mime_type", "application/json"));
            }
        }
        if let Some(usage) = &response.usage {
            out.push(int("llm.token_count.prompt", i64::from(usage.prompt_tokens)));
            out.push(int("llm.token_count.completion", i64::from(usage.completion_tokens)));
            out.push(int("llm.token_count.total", i64::from(usage.total_tokens)));
        }
        if !response.model.is_empty() && response.model != request.model {
            out.push(text("llm.response.model", response.model.clone()));
        }
    }
    out.extend(record.attributes.iter().map(|(key, value)| text(key, value.clone())));
    out
}

/// `bytes` random bytes, never all zero (OTLP's "no id").
fn random_id(bytes: usize) -> Vec<u8> {
    let mut raw: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    if raw.iter().all(|b| *b == 0) {
        raw[bytes - 1] = 1;
    }
    raw
}

/// The one-stage `cost` pipeline (built once per plugin version), unless no `cost` plugin is
/// installed or the ingest pipeline runs one anyway.
fn pricing(plugins: &PluginHost, ingestor: &Ingestor) -> Option<std::sync::Arc<Pipeline>> {
    if ingestor.pipeline().config().stages.iter().any(|stage| stage.plugin == "cost") {
        return None;
    }
    plugins.single_stage("cost")
}

/// `llm.cost.total` of a stored span, when something priced it.
fn total_cost(span: &SpanRecord) -> Option<f64> {
    let attributes: Value = serde_json::from_str(&span.attributes).ok()?;
    attributes.pointer("/llm/cost/total")?.as_f64()
}

/// Stores `outcome` as an LLM span; returns its ids and price. The `cost` plugin and the ingest
/// pipeline run on the blocking pool.
pub async fn record_call(
    ingestor: &Ingestor,
    plugins: &PluginHost,
    request: &ChatRequest,
    outcome: &ChatOutcome,
    record: &CallRecord,
) -> Result<Recorded, IngestError> {
    let (trace_id, span_id) = (random_id(16), random_id(8));
    let end_ns = outcome.started_ns.saturating_add(i64::try_from(outcome.elapsed.as_nanos()).unwrap_or(i64::MAX));
    let (code, message) = match &outcome.result {
        Ok(_) => (status::StatusCode::Ok, String::new()),
        Err(err) => (status::StatusCode::Error, err.to_string()),
    };
    let span = Span {
        trace_id,
        span_id,
        name: if record.name.is_empty() { "ChatCompletion".into() } else { record.name.clone() },
        kind: span::SpanKind::Client as i32,
        start_time_unix_nano: u64::try_from(outcome.started_ns).unwrap_or_default(),
        end_time_unix_nano: u64::try_from(end_ns).unwrap_or_default(),
        attributes: attributes(request, outcome, record),
        status: Some(Status { code: code as i32, message }),
        ..Default::default()
    };
    // The ids are valid and the times in range, so the mapping cannot refuse the span.
    let mut stored = openinference::to_record(span, otlp::project_of(None, Some(&record.project)))
        .map_err(|_| IngestError::Internal)?;
    if let Some(pricing) = pricing(plugins, ingestor) {
        // A failing `cost` stage leaves the span unpriced (its policy is `keep`).
        stored = tokio::task::spawn_blocking(move || {
            let _ = pricing.apply(std::slice::from_mut(&mut stored), &mut Vec::new());
            stored
        })
        .await
        .map_err(|_| IngestError::Internal)?;
    }
    let (trace_id, span_id) = (stored.trace_id.clone(), stored.span_id.clone());
    let queued = ingestor.ingest_records(vec![stored], "provider").await?;
    Ok(Recorded { trace_id, span_id, cost: queued.first().and_then(total_cost) })
}
