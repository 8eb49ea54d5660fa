//! Decoding OTLP trace export requests (protobuf and JSON) into span records.
//!
//! Protobuf is decoded in two steps: the envelope keeps each span as raw bytes, then every span is
//! decoded on its own. A span with invalid UTF-8 or a broken field is rejected alone, and the good
//! spans of the same request are kept.

use std::sync::Arc;

use bytes::Bytes;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::value::RawValue;

use super::openinference::{to_record, SpanRejection};
use crate::model::SpanRecord;

/// Project of spans whose request names none.
pub const DEFAULT_PROJECT: &str = "default";
const PROJECT_ATTRIBUTE: &str = "openinference.project.name";
/// How many distinct rejection reasons a partial-success message lists.
const MAX_REASONS: usize = 3;

/// A request that could not be decoded at all.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("malformed ExportTraceServiceRequest protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
    #[error("malformed OTLP JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The spans a request carried: accepted records plus the count and reasons of rejected ones.
#[derive(Debug, Default)]
pub struct Decoded {
    pub spans: Vec<SpanRecord>,
    pub rejected: i64,
    reasons: Vec<String>,
}

impl Decoded {
    fn reject(&mut self, count: usize, reason: impl ToString) {
        self.rejected += count as i64;
        let reason = reason.to_string();
        if self.reasons.len() < MAX_REASONS && !self.reasons.contains(&reason) {
            self.reasons.push(reason);
        }
    }

    fn accept(&mut self, span: Span, project: &Arc<str>) {
        match to_record(span, project.clone()) {
            Ok(record) => self.spans.push(record),
            Err(reason) => self.reject(1, reason),
        }
    }

    /// The partial-success message: empty when nothing was rejected.
    pub fn error_message(&self) -> String {
        if self.rejected == 0 {
            return String::new();
        }
        format!("{} span(s) rejected: {}", self.rejected, self.reasons.join("; "))
    }
}

#[derive(Clone, PartialEq, Message)]
struct RawRequest {
    #[prost(message, repeated, tag = "1")]
    resource_spans: Vec<RawResourceSpans>,
}

#[derive(Clone, PartialEq, Message)]
struct RawResourceSpans {
    #[prost(bytes = "bytes", tag = "1")]
    resource: Bytes,
    #[prost(message, repeated, tag = "2")]
    scope_spans: Vec<RawScopeSpans>,
}

#[derive(Clone, PartialEq, Message)]
struct RawScopeSpans {
    #[prost(bytes = "bytes", repeated, tag = "2")]
    spans: Vec<Bytes>,
}

/// The project spans go to: `header_project` when set and not empty, else the resource's
/// `openinference.project.name`, else [`DEFAULT_PROJECT`].
pub fn project_of(resource: Option<&Resource>, header_project: Option<&str>) -> Arc<str> {
    let name = header_project
        .filter(|n| !n.is_empty())
        .or_else(|| resource.and_then(|r| project_attribute(&r.attributes)))
        .unwrap_or(DEFAULT_PROJECT);
    crate::attributes::clean_text(name.to_owned()).into()
}

fn project_attribute(attributes: &[KeyValue]) -> Option<&str> {
    let value = attributes.iter().find(|kv| kv.key == PROJECT_ATTRIBUTE)?.value.as_ref()?;
    match value.value.as_ref()? {
        any_value::Value::StringValue(name) if !name.is_empty() => Some(name.as_str()),
        _ => None,
    }
}

/// Decodes a binary OTLP request; `header_project` (from `x-project-name`) wins over resource attributes.
pub fn decode_protobuf(body: Bytes, header_project: Option<&str>) -> Result<Decoded, DecodeError> {
    let request = RawRequest::decode(body)?;
    let mut decoded = Decoded::default();
    for resource_spans in request.resource_spans {
        let span_count: usize = resource_spans.scope_spans.iter().map(|s| s.spans.len()).sum();
        let resource = match Resource::decode(resource_spans.resource) {
            Ok(resource) => resource,
            Err(err) => {
                decoded.reject(span_count, format!("resource is not valid protobuf: {err}"));
                continue;
            }
        };
        let project = project_of(Some(&resource), header_project);
        for scope_spans in resource_spans.scope_spans {
            for raw in scope_spans.spans {
                match Span::decode(raw) {
                    Ok(span) => decoded.accept(span, &project),
                    Err(err) => decoded.reject(1, SpanRejection::Decode(err.to_string())),
                }
            }
        }
    }
    Ok(decoded)
}

/// The JSON envelope, keeping each resource and span as raw JSON so that they decode one by one.
#[derive(serde::Deserialize)]
struct JsonRequest<'a> {
    #[serde(default, borrow, rename = "resourceSpans", alias = "resource_spans")]
    resource_spans: Vec<JsonResourceSpans<'a>>,
}

#[derive(serde::Deserialize)]
struct JsonResourceSpans<'a> {
    #[serde(default, borrow)]
    resource: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "scopeSpans", alias = "scope_spans")]
    scope_spans: Vec<JsonScopeSpans<'a>>,
}

#[derive(serde::Deserialize)]
struct JsonScopeSpans<'a> {
    #[serde(default, borrow)]
    spans: Vec<&'a RawValue>,
}

/// Decodes an OTLP/JSON request (hex ids, as the OTLP specification encodes them). As with
/// protobuf, a span with a bad id or field is rejected alone.
pub fn decode_json(body: &[u8], header_project: Option<&str>) -> Result<Decoded, DecodeError> {
    let request: JsonRequest = serde_json::from_slice(body)?;
    let mut decoded = Decoded::default();
    for resource_spans in request.resource_spans {
        let span_count: usize = resource_spans.scope_spans.iter().map(|s| s.spans.len()).sum();
        let resource = match resource_spans.resource.map(|raw| serde_json::from_str::<Resource>(raw.get())) {
            None => None,
            Some(Ok(resource)) => Some(resource),
            Some(Err(err)) => {
                decoded.reject(span_count, format!("resource is not valid OTLP JSON: {err}"));
                continue;
            }
        };
        let project = project_of(resource.as_ref(), header_project);
        for raw in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
            match serde_json::from_str::<Span>(raw.get()) {
                Ok(span) => decoded.accept(span, &project),
                Err(err) => decoded.reject(1, format!("span is not valid OTLP JSON: {err}")),
            }
        }
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::AnyValue;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};

    fn request(spans: Vec<Span>, project: Option<&str>) -> ExportTraceServiceRequest {
        let attributes = project
            .map(|p| {
                vec![KeyValue {
                    key: PROJECT_ATTRIBUTE.into(),
                    value: Some(AnyValue { value: Some(any_value::Value::StringValue(p.into())) }),
                    ..Default::default()
                }]
            })
            .unwrap_or_default();
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource { attributes, ..Default::default() }),
                scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
                ..Default::default()
            }],
        }
    }

    fn span(n: u8) -> Span {
        Span { trace_id: vec![n; 16], span_id: vec![n; 8], name: format!("s{n}"), ..Default::default() }
    }

    #[test]
    fn project_comes_from_header_then_resource_then_default() {
        let body = Bytes::from(request(vec![span(1)], Some("from-resource")).encode_to_vec());
        assert_eq!(&*decode_protobuf(body.clone(), None).expect("decodes").spans[0].project, "from-resource");
        assert_eq!(&*decode_protobuf(body, Some("hdr")).expect("decodes").spans[0].project, "hdr");
        let body = Bytes::from(request(vec![span(1)], None).encode_to_vec());
        assert_eq!(&*decode_protobuf(body, None).expect("decodes").spans[0].project, DEFAULT_PROJECT);
    }

    #[test]
    fn a_span_with_invalid_utf8_is_rejected_alone() {
        let good = request(vec![span(1), span(2)], None).encode_to_vec();
        // Corrupt the name of the second span ("s2") into invalid UTF-8.
        let position = good.windows(2).rposition(|w| w == b"s2").expect("name present");
        let mut bad = good.clone();
        bad[position + 1] = 0xFF;
        let decoded = decode_protobuf(Bytes::from(bad), None).expect("envelope decodes");
        assert_eq!(decoded.spans.len(), 1);
        assert_eq!(decoded.rejected, 1);
        assert!(decoded.error_message().contains("not valid protobuf"), "{}", decoded.error_message());
    }

    #[test]
    fn garbage_is_a_decode_error() {
        assert!(decode_protobuf(Bytes::from_static(&[0xFF, 0xFF, 0xFF, 0x01]), None).is_err());
        assert!(decode_json(b"{not json", None).is_err());
    }

    #[test]
    fn a_json_span_with_a_bad_id_is_rejected_alone() {
        let body = br#"{"resourceSpans":[{"resource":{"attributes":[{"key":"openinference.project.name","value":{"stringValue":"j"}}]},
            "scopeSpans":[{"spans":[
              {"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"good"},
              {"traceId":"not-hex","spanId":"0102030405060709","name":"bad"}]}]}]}"#;
        let decoded = decode_json(body, None).expect("envelope decodes");
        assert_eq!(decoded.spans.len(), 1);
        assert_eq!(&*decoded.spans[0].project, "j");
        assert_eq!(decoded.rejected, 1);
        assert!(decoded.error_message().contains("not valid OTLP JSON"), "{}", decoded.error_message());
    }

    #[test]
    fn json_uses_hex_ids() {
        let body = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10",
            "spanId":"0102030405060708","name":"x","startTimeUnixNano":"5","endTimeUnixNano":"9"}]}]}]}"#;
        let decoded = decode_json(body, None).expect("decodes");
        assert_eq!(decoded.spans[0].trace_id, "0102030405060708090a0b0c0d0e0f10");
        assert_eq!(decoded.spans[0].end_ns, 9);
    }
}
