//! Recording a chat completion as an OpenInference LLM span, through the same ingest path as an
//! exporter's spans (so redactors and span processors see it too), priced by the `cost` plugin
//! when one is installed and the ingest pipeline does not already run it.

use bytes::Bytes;
use ember_sandbox::{ChatRequest, Message};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, status, ResourceSpans, ScopeSpans, Span, Status};
use prost::Message as _;
use serde_json::{json, Value};

use super::{wire, ChatOutcome};
use crate::ingest::{otlp, Compression, Ingestor};
use crate::plugins::{PipelineConfig, PipelineStage, PluginHost};

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

fn float(key: &str, value: f64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(any_value::Value::DoubleValue(value)) }),
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

fn random_hex(bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    hex::encode(raw)
}

fn export_request(project: &str, span: Span) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![text("openinference.project.name", project)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans { spans: vec![span], ..Default::default() }],
            ..Default::default()
        }],
    }
}

/// The price the `cost` plugin puts on `span`, unless the ingest pipeline will price it anyway.
fn price(plugins: &PluginHost, ingestor: &Ingestor, project: &str, span: &Span) -> Option<(f64, Vec<KeyValue>)> {
    plugins.get("cost")?;
    if ingestor.pipeline().config().stages.iter().any(|stage| stage.plugin == "cost") {
        return None;
    }
    let stage =
        PipelineStage { plugin: "cost".into(), projects: vec!["*".into()], on_error: None, config: None, limits: None };
    let pipeline = crate::plugins::Pipeline::build(PipelineConfig { stages: vec![stage] }, plugins).ok()?;
    let body = export_request(project, span.clone()).encode_to_vec();
    let mut decoded = otlp::decode_protobuf(Bytes::from(body), Some(project)).ok()?;
    pipeline.apply(&mut decoded.spans, &mut Vec::new()).ok()?;
    let attributes: Value = serde_json::from_str(&decoded.spans.first()?.attributes).ok()?;
    let cost = attributes.pointer("/llm/cost")?.as_object()?;
    let total = cost.get("total")?.as_f64()?;
    let extra =
        cost.iter().filter_map(|(key, value)| Some(float(&format!("llm.cost.{key}"), value.as_f64()?))).collect();
    Some((total, extra))
}

/// Stores `outcome` as an LLM span; returns its ids and price. Runs the `cost` plugin, so call it
/// on the blocking pool or accept a short block.
pub async fn record_call(
    ingestor: &Ingestor,
    plugins: &PluginHost,
    request: &ChatRequest,
    outcome: &ChatOutcome,
    record: &CallRecord,
) -> Result<Recorded, crate::ingest::IngestError> {
    let trace_id = random_hex(16);
    let span_id = random_hex(8);
    let end_ns = outcome.started_ns.saturating_add(i64::try_from(outcome.elapsed.as_nanos()).unwrap_or(i64::MAX));
    let (code, message) = match &outcome.result {
        Ok(_) => (status::StatusCode::Ok, String::new()),
        Err(err) => (status::StatusCode::Error, err.to_string()),
    };
    let mut span = Span {
        trace_id: hex::decode(&trace_id).unwrap_or_default(),
        span_id: hex::decode(&span_id).unwrap_or_default(),
        name: if record.name.is_empty() { "ChatCompletion".into() } else { record.name.clone() },
        kind: span::SpanKind::Client as i32,
        start_time_unix_nano: u64::try_from(outcome.started_ns).unwrap_or_default(),
        end_time_unix_nano: u64::try_from(end_ns).unwrap_or_default(),
        attributes: attributes(request, outcome, record),
        status: Some(Status { code: code as i32, message }),
        ..Default::default()
    };
    let priced = {
        let (plugins, ingestor, project, candidate) =
            (plugins.clone(), ingestor.clone(), record.project.clone(), span.clone());
        tokio::task::spawn_blocking(move || price(&plugins, &ingestor, &project, &candidate)).await.ok().flatten()
    };
    let cost = priced.map(|(total, attributes)| {
        span.attributes.extend(attributes);
        total
    });
    let body = export_request(&record.project, span).encode_to_vec();
    ingestor
        .export(
            Bytes::from(body),
            Compression::None,
            crate::ingest::Encoding::Protobuf,
            Some(record.project.clone()),
            "provider",
        )
        .await?;
    Ok(Recorded { trace_id, span_id, cost })
}
