//! The GraphQL API at `/graphql` end to end, as the web UI uses it (`ui/CONTRACT.md`): project
//! totals, span listings with filters and cursors, traces, spans, annotations, sessions, plugin
//! call statistics, datasets and experiments, and the UI served under a root path. Every number
//! asserted is computed from the spans and runs the test sends.

mod experiments;
mod projects;
mod traces;
mod ui;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, status, ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use serde_json::{json, Value};

use crate::harness::Ember;
use crate::support::post_protobuf;

/// POSTs a query to `path`, asserts HTTP 200 and returns the whole response body.
pub async fn gql_at(ember: &Ember, path: &str, query: &str, variables: Value) -> Value {
    let body = json!({ "query": query, "variables": variables });
    let response = ember.client.post(ember.url(path)).json(&body).send().await.expect("POST graphql");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).expect("GraphQL answers JSON")
}

/// POSTs a query to `/graphql`, asserts HTTP 200 and returns the whole response body.
pub async fn gql(ember: &Ember, query: &str, variables: Value) -> Value {
    gql_at(ember, "/graphql", query, variables).await
}

/// The `data` of a query that must succeed.
pub async fn data(ember: &Ember, query: &str, variables: Value) -> Value {
    let body = gql(ember, query, variables).await;
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    body["data"].clone()
}

/// The message of the single error a query must give (in `errors`, with HTTP 200).
pub async fn error(ember: &Ember, query: &str, variables: Value) -> String {
    let body = gql(ember, query, variables).await;
    let errors = body["errors"].as_array().unwrap_or_else(|| panic!("expected errors: {body}"));
    assert_eq!(errors.len(), 1, "{body}");
    errors[0]["message"].as_str().expect("message").to_owned()
}

// ---- The spans every span-reading test ingests -------------------------------------------

/// Trace `t` starts at `T0 + t × 10 s`; T0 is 2023-11-14T22:13:20Z.
pub const T0: u64 = 1_700_000_000_000_000_000;
pub const PROJECT: &str = "gql";
pub const OTHER: &str = "other";
/// Every span of `PROJECT` as (trace, index), in start order.
pub const ORDER: [(u8, u8); 8] = [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (3, 1), (4, 1), (4, 2)];

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

fn text(key: &str, value: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(value.into()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn span_bytes(trace: u8, index: u8) -> Vec<u8> {
    vec![trace, index, 0xab, 0xcd, 0, 0, 0, 1]
}

pub fn span_id(trace: u8, index: u8) -> String {
    hex(&span_bytes(trace, index))
}

pub fn trace_id(trace: u8) -> String {
    hex(&[trace; 16])
}

/// The span ids of `(trace, index)` pairs.
pub fn ids(pairs: &[(u8, u8)]) -> Vec<String> {
    pairs.iter().map(|(t, i)| span_id(*t, *i)).collect()
}

fn trace_start(trace: u8) -> u64 {
    T0 + u64::from(trace) * 10_000_000_000
}

fn llm(model: &str, prompt: i64, completion: i64, cost: f64) -> Vec<KeyValue> {
    vec![
        text("llm.model_name", model),
        kv("llm.token_count.prompt", any_value::Value::IntValue(prompt)),
        kv("llm.token_count.completion", any_value::Value::IntValue(completion)),
        kv("llm.cost.total", any_value::Value::DoubleValue(cost)),
    ]
}

fn io(input: &str, output: &str) -> Vec<KeyValue> {
    vec![text("input.value", input), text("output.value", output)]
}

fn ok() -> Option<Status> {
    Some(Status { code: status::StatusCode::Ok as i32, ..Default::default() })
}

/// Span `index` of trace `trace`, from `start_ms` to `end_ms` after the trace's start.
fn make(
    trace: u8,
    index: u8,
    parent: Option<u8>,
    name: &str,
    kind: &str,
    ms: (u64, u64),
    attrs: Vec<KeyValue>,
) -> Span {
    let mut attributes = vec![text("openinference.span.kind", kind)];
    attributes.extend(attrs);
    Span {
        trace_id: vec![trace; 16],
        span_id: span_bytes(trace, index),
        parent_span_id: parent.map(|p| span_bytes(trace, p)).unwrap_or_default(),
        name: name.into(),
        start_time_unix_nano: trace_start(trace) + ms.0 * 1_000_000,
        end_time_unix_nano: trace_start(trace) + ms.1 * 1_000_000,
        attributes,
        ..Span::default()
    }
}

/// The spans of trace `t`: traces 1–4 in `PROJECT` (100, 250, 400 and 1000 ms long; LLM spans
/// with 33 prompt and 16 completion tokens costing 1.75 in all; sessions `sess-A` (traces 1, 2)
/// and `sess-B` (trace 4)), trace 5 (30 ms) in `OTHER`.
pub fn fixture_trace(t: u8) -> Vec<Span> {
    let session = |id: &str| text("session.id", id);
    match t {
        1 => {
            let mut llm_attrs = llm("gpt-4o", 10, 5, 0.25);
            llm_attrs.extend([
                text("input.value", "What is 2+2?"),
                text("input.mime_type", "text/plain"),
                text("output.value", "{\"answer\": 4}"),
                text("output.mime_type", "application/json"),
                session("sess-A"),
            ]);
            let mut root = io("question one", "answer one");
            root.push(session("sess-A"));
            let mut search = make(1, 3, Some(1), "search", "TOOL", (60, 90), vec![session("sess-A")]);
            search.status = Some(Status { code: status::StatusCode::Error as i32, message: "not found".into() });
            search.events = vec![span::Event {
                time_unix_nano: trace_start(1) + 80_000_000,
                name: "exception".into(),
                attributes: vec![text("exception.type", "ValueError"), text("exception.message", "index missing")],
                ..Default::default()
            }];
            let mut llm_span = make(1, 2, Some(1), "llm_call", "LLM", (10, 60), llm_attrs);
            llm_span.status = ok();
            vec![make(1, 1, None, "pipeline", "CHAIN", (0, 100), root), llm_span, search]
        }
        2 => {
            // Token counts and a cost on a CHAIN span: only LLM spans count.
            let mut root = io("question two", "answer two");
            root.extend([
                session("sess-A"),
                kv("llm.token_count.prompt", any_value::Value::IntValue(1000)),
                kv("llm.cost.total", any_value::Value::DoubleValue(9.0)),
            ]);
            let mut llm_attrs = llm("claude-3", 20, 7, 0.5);
            llm_attrs.push(session("sess-A"));
            let mut llm_span = make(2, 2, Some(1), "llm_call", "LLM", (20, 200), llm_attrs);
            llm_span.status = ok();
            vec![make(2, 1, None, "pipeline", "CHAIN", (0, 250), root), llm_span]
        }
        3 => {
            let mut root = make(3, 1, None, "llm_call", "LLM", (0, 400), llm("gpt-4o", 3, 4, 1.0));
            root.status = ok();
            vec![root]
        }
        4 => {
            let mut root = io("question three", "answer three");
            root.push(session("sess-B"));
            vec![
                make(4, 1, None, "agent", "AGENT", (0, 1000), root),
                make(4, 2, Some(1), "retrieve", "RETRIEVER", (5, 500), vec![session("sess-B")]),
            ]
        }
        _ => vec![make(t, 1, None, "other_root", "CHAIN", (0, 30), Vec::new())],
    }
}

pub fn request(project: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![text("openinference.project.name", project)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
}

/// Sends the fixture, a trace per request (trace 2 before trace 1), and waits until it is stored.
pub async fn ingest_fixture(ember: &Ember) {
    for (project, t) in [(PROJECT, 2), (PROJECT, 1), (PROJECT, 3), (PROJECT, 4), (OTHER, 5)] {
        let body = request(project, fixture_trace(t)).encode_to_vec();
        let (status, _, _) = post_protobuf(ember, body, &[]).await;
        assert_eq!(status, 200);
    }
    ember.wait_for_spans(PROJECT, ORDER.len()).await;
    ember.wait_for_spans(OTHER, 1).await;
}
