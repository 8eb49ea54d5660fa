//! OpenInference semantics: turns one OTLP span into a `SpanRecord`.
//!
//! Pure functions with no I/O, so that the mapping is unit-tested without a server.

use std::sync::Arc;

use opentelemetry_proto::tonic::trace::v1::{status::StatusCode, Span};
use serde_json::{json, Map, Value};

use crate::attributes::{any_value_to_json, clean_text, get_path, insert_path, nest, take_string};
use crate::model::SpanRecord;

/// Why a single span was refused; counted in the OTLP partial-success reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpanRejection {
    #[error("invalid trace id: expected 16 non-zero bytes, got {0} bytes")]
    TraceId(usize),
    #[error("invalid span id: expected 8 non-zero bytes, got {0} bytes")]
    SpanId(usize),
    #[error("invalid parent span id: expected 8 bytes or none, got {0} bytes")]
    ParentId(usize),
    #[error("span is not valid protobuf: {0}")]
    Decode(String),
    #[error("timestamps out of range")]
    Time,
}

/// Largest token count stored for one span (2^40); no real request comes near it.
const MAX_TOKENS: i64 = 1 << 40;

/// OpenInference span kinds, as stored and filtered on.
pub const SPAN_KINDS: [&str; 11] = [
    "LLM",
    "CHAIN",
    "TOOL",
    "RETRIEVER",
    "EMBEDDING",
    "AGENT",
    "RERANKER",
    "GUARDRAIL",
    "EVALUATOR",
    "DECISION",
    "UNKNOWN",
];

fn valid_id(bytes: &[u8], len: usize) -> bool {
    bytes.len() == len && bytes.iter().any(|b| *b != 0)
}

/// Maps one OTLP span of project `project` to a record, or says why it is refused.
pub fn to_record(span: Span, project: Arc<str>) -> Result<SpanRecord, SpanRejection> {
    if !valid_id(&span.trace_id, 16) {
        return Err(SpanRejection::TraceId(span.trace_id.len()));
    }
    if !valid_id(&span.span_id, 8) {
        return Err(SpanRejection::SpanId(span.span_id.len()));
    }
    let parent_id = match span.parent_span_id.len() {
        0 => None,
        8 if span.parent_span_id.iter().any(|b| *b != 0) => Some(hex::encode(&span.parent_span_id)),
        8 => None,
        n => return Err(SpanRejection::ParentId(n)),
    };
    let start_ns = i64::try_from(span.start_time_unix_nano).map_err(|_| SpanRejection::Time)?;
    let end_ns = i64::try_from(span.end_time_unix_nano).map_err(|_| SpanRejection::Time)?;

    let mut attributes = nest(span.attributes);
    map_gen_ai(&mut attributes);

    // Input and output live in their own columns; the REST API puts them back into the attributes.
    let input_value = take_string(&mut attributes, "input.value");
    let input_mime_type = take_string(&mut attributes, "input.mime_type");
    let output_value = take_string(&mut attributes, "output.value");
    let output_mime_type = take_string(&mut attributes, "output.mime_type");
    let text = |key: &str| get_path(&attributes, key).and_then(Value::as_str).map(str::to_owned);
    // Clamped so that sums over millions of spans cannot overflow a 64-bit column.
    let int = |key: &str| get_path(&attributes, key).and_then(Value::as_i64).map(|n| n.clamp(0, MAX_TOKENS));
    let token_prompt = int("llm.token_count.prompt");
    let token_completion = int("llm.token_count.completion");
    let token_total = int("llm.token_count.total").or(match (token_prompt, token_completion) {
        (None, None) => None,
        (p, c) => Some(p.unwrap_or(0).saturating_add(c.unwrap_or(0))),
    });
    let span_kind = text("openinference.span.kind")
        .map(|k| k.to_ascii_uppercase())
        .filter(|k| SPAN_KINDS.contains(&k.as_str()))
        .unwrap_or_else(|| "UNKNOWN".to_owned());
    let (status_code, status_message) = match span.status {
        Some(status) => {
            let code = match StatusCode::try_from(status.code) {
                Ok(StatusCode::Ok) => "OK",
                Ok(StatusCode::Error) => "ERROR",
                _ => "UNSET",
            };
            (code, clean_text(status.message))
        }
        None => ("UNSET", String::new()),
    };
    let events: Vec<Value> = span
        .events
        .into_iter()
        .map(|event| {
            let attributes: Map<String, Value> =
                event.attributes.into_iter().map(|kv| (clean_text(kv.key), any_value_to_json(kv.value))).collect();
            json!({
                "name": clean_text(event.name),
                "timestamp_ns": i64::try_from(event.time_unix_nano).unwrap_or(i64::MAX),
                "attributes": attributes,
            })
        })
        .collect();

    Ok(SpanRecord {
        project,
        trace_id: hex::encode(&span.trace_id),
        span_id: hex::encode(&span.span_id),
        parent_id,
        name: clean_text(span.name),
        span_kind,
        status_code,
        status_message,
        start_ns,
        end_ns,
        model_name: text("llm.model_name"),
        token_prompt,
        token_completion,
        token_total,
        input_value,
        input_mime_type,
        output_value,
        output_mime_type,
        session_id: text("session.id"),
        attributes: Value::Object(attributes).to_string(),
        events: Value::Array(events).to_string(),
    })
}

/// Fills OpenInference attributes from OpenTelemetry's `gen_ai.*` conventions where the span
/// has no OpenInference value of its own.
fn map_gen_ai(attributes: &mut Map<String, Value>) {
    let Some(Value::Object(gen_ai)) = attributes.get("gen_ai").cloned() else {
        return;
    };
    let get = |path: &str| get_path(&gen_ai, path).cloned();
    let fill = |attributes: &mut Map<String, Value>, key: &str, value: Option<Value>| {
        if let Some(value) = value {
            if get_path(attributes, key).is_none() {
                insert_path(attributes, key, value);
            }
        }
    };
    let kind = get("operation.name").and_then(|op| {
        let kind = match op.as_str()? {
            "chat" | "text_completion" | "generate_content" => "LLM",
            "embeddings" => "EMBEDDING",
            "execute_tool" => "TOOL",
            "invoke_agent" | "create_agent" => "AGENT",
            _ => return None,
        };
        Some(Value::from(kind))
    });
    fill(attributes, "openinference.span.kind", kind);
    fill(attributes, "llm.model_name", get("response.model").or_else(|| get("request.model")));
    fill(attributes, "llm.system", get("system"));
    fill(attributes, "llm.provider", get("provider.name").or_else(|| get("system")));
    fill(attributes, "llm.token_count.prompt", get("usage.input_tokens"));
    fill(attributes, "llm.token_count.completion", get("usage.output_tokens"));
    fill(attributes, "llm.input_messages", get("input.messages").and_then(gen_ai_messages));
    fill(attributes, "llm.output_messages", get("output.messages").and_then(gen_ai_messages));
}

/// `gen_ai.*.messages` (JSON: `[{"role", "parts": [{"type": "text", "content"}]}]`) as
/// OpenInference messages (`[{"message": {"role", "content"}}]`).
fn gen_ai_messages(value: Value) -> Option<Value> {
    let parsed = match value {
        Value::String(text) => serde_json::from_str::<Value>(&text).ok()?,
        other => other,
    };
    let messages = parsed.as_array()?;
    let converted = messages
        .iter()
        .map(|message| {
            let role = message.get("role").cloned().unwrap_or(Value::Null);
            let content: Vec<&str> = message
                .get("parts")
                .and_then(Value::as_array)
                .map(|parts| parts.iter().filter_map(|p| p.get("content").and_then(Value::as_str)).collect())
                .unwrap_or_default();
            json!({"message": {"role": role, "content": content.join("")}})
        })
        .collect();
    Some(Value::Array(converted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
    use opentelemetry_proto::tonic::trace::v1::Status;

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
    }

    fn span(attributes: Vec<KeyValue>) -> Span {
        Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            parent_span_id: vec![3; 8],
            name: "llm call".into(),
            start_time_unix_nano: 1_000_000_000,
            end_time_unix_nano: 1_250_000_000,
            attributes,
            status: Some(Status { code: 2, message: "boom".into() }),
            ..Default::default()
        }
    }

    #[test]
    fn openinference_llm_span_lifts_columns() {
        let record = to_record(
            span(vec![
                kv("openinference.span.kind", any_value::Value::StringValue("llm".into())),
                kv("llm.model_name", any_value::Value::StringValue("gpt-4o".into())),
                kv("llm.token_count.prompt", any_value::Value::IntValue(10)),
                kv("llm.token_count.completion", any_value::Value::IntValue(5)),
                kv("input.value", any_value::Value::StringValue("hello".into())),
                kv("session.id", any_value::Value::StringValue("s-1".into())),
            ]),
            "p".into(),
        )
        .expect("valid span");
        assert_eq!(record.span_kind, "LLM");
        assert_eq!(record.model_name.as_deref(), Some("gpt-4o"));
        assert_eq!((record.token_prompt, record.token_completion, record.token_total), (Some(10), Some(5), Some(15)));
        assert_eq!(record.input_value.as_deref(), Some("hello"));
        assert_eq!(record.session_id.as_deref(), Some("s-1"));
        assert_eq!(record.status_code, "ERROR");
        assert_eq!(record.status_message, "boom");
        assert_eq!(record.parent_id.as_deref(), Some("0303030303030303"));
        assert_eq!(record.trace_id.len(), 32);
        assert!((record.latency_ms() - 250.0).abs() < 1e-9);
    }

    #[test]
    fn gen_ai_attributes_map_to_openinference() {
        let record = to_record(
            span(vec![
                kv("gen_ai.operation.name", any_value::Value::StringValue("chat".into())),
                kv("gen_ai.request.model", any_value::Value::StringValue("claude".into())),
                kv("gen_ai.usage.input_tokens", any_value::Value::IntValue(7)),
                kv("gen_ai.usage.output_tokens", any_value::Value::IntValue(3)),
                kv(
                    "gen_ai.input.messages",
                    any_value::Value::StringValue(
                        r#"[{"role":"user","parts":[{"type":"text","content":"hi"}]}]"#.into(),
                    ),
                ),
            ]),
            "p".into(),
        )
        .expect("valid span");
        assert_eq!(record.span_kind, "LLM");
        assert_eq!(record.model_name.as_deref(), Some("claude"));
        assert_eq!(record.token_total, Some(10));
        let attributes: Value = serde_json::from_str(&record.attributes).expect("json");
        assert_eq!(attributes["llm"]["input_messages"][0]["message"]["content"], "hi");
    }

    #[test]
    fn bad_ids_are_rejected() {
        let mut short = span(vec![]);
        short.trace_id = vec![1; 4];
        assert_eq!(to_record(short, "p".into()), Err(SpanRejection::TraceId(4)));
        let mut zero = span(vec![]);
        zero.span_id = vec![0; 8];
        assert_eq!(to_record(zero, "p".into()), Err(SpanRejection::SpanId(8)));
        let mut parent = span(vec![]);
        parent.parent_span_id = vec![1; 3];
        assert_eq!(to_record(parent, "p".into()), Err(SpanRejection::ParentId(3)));
    }

    #[test]
    fn unknown_kinds_become_unknown() {
        let record = to_record(
            span(vec![kv("openinference.span.kind", any_value::Value::StringValue("weird".into()))]),
            "p".into(),
        )
        .expect("valid span");
        assert_eq!(record.span_kind, "UNKNOWN");
    }
}
