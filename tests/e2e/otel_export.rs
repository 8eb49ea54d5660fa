//! The official OpenTelemetry Rust exporters (gRPC, HTTP protobuf, HTTP JSON) against Ember,
//! read back through the Phoenix-compatible REST API.

use std::collections::HashMap;

use opentelemetry::trace::{Status, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use serde_json::Value;

use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;

/// A RAG request as an instrumented app would record it.
fn emit_rag_trace(provider: &SdkTracerProvider, session: &str) {
    let tracer = provider.tracer("ember-e2e");
    tracer.in_span("rag.query", |cx| {
        let root = cx.span();
        root.set_attribute(KeyValue::new("openinference.span.kind", "CHAIN"));
        root.set_attribute(KeyValue::new("session.id", session.to_owned()));
        root.set_attribute(KeyValue::new("input.value", "what is ember?"));
        root.set_attribute(KeyValue::new("output.value", "a tracing server"));
        root.set_attribute(KeyValue::new("metadata", r#"{"tier": "gold"}"#));
        tracer.in_span("retrieve", |cx| {
            let span = cx.span();
            span.set_attribute(KeyValue::new("openinference.span.kind", "RETRIEVER"));
            for i in 0..3 {
                span.set_attribute(KeyValue::new(
                    format!("retrieval.documents.{i}.document.content"),
                    format!("doc {i}"),
                ));
                span.set_attribute(KeyValue::new(
                    format!("retrieval.documents.{i}.document.score"),
                    0.9 - f64::from(i) / 10.0,
                ));
            }
        });
        tracer.in_span("ChatCompletion", |cx| {
            let span = cx.span();
            span.set_attribute(KeyValue::new("openinference.span.kind", "LLM"));
            span.set_attribute(KeyValue::new("llm.model_name", "gpt-4o"));
            span.set_attribute(KeyValue::new("llm.input_messages.0.message.role", "user"));
            span.set_attribute(KeyValue::new("llm.input_messages.0.message.content", "what is ember?"));
            span.set_attribute(KeyValue::new("llm.output_messages.0.message.content", "a tracing server"));
            span.set_attribute(KeyValue::new("llm.token_count.prompt", 10i64));
            span.set_attribute(KeyValue::new("llm.token_count.completion", 5i64));
        });
        tracer.in_span("lookup", |cx| {
            let span = cx.span();
            span.set_attribute(KeyValue::new("openinference.span.kind", "TOOL"));
            span.add_event("exception", vec![KeyValue::new("exception.message", "not found")]);
            span.set_status(Status::error("tool failed"));
        });
    });
}

async fn flush(provider: SdkTracerProvider) {
    tokio::task::spawn_blocking(move || {
        provider.force_flush().expect("flush");
        provider.shutdown().expect("shutdown");
    })
    .await
    .expect("flush task");
}

fn resource(project: &str) -> Resource {
    Resource::builder_empty().with_attribute(KeyValue::new("openinference.project.name", project.to_owned())).build()
}

fn by_kind<'a>(spans: &'a [Value], kind: &str) -> &'a Value {
    spans.iter().find(|s| s["span_kind"] == kind).unwrap_or_else(|| panic!("no {kind} span in {spans:?}"))
}

/// Everything the REST API must show for one exported RAG trace.
async fn assert_rag_trace(ember: &Ember, project: &str, session: &str) {
    let spans = ember.wait_for_spans(project, 4).await;
    assert_eq!(spans.len(), 4);
    let chain = by_kind(&spans, "CHAIN");
    let llm = by_kind(&spans, "LLM");
    let retriever = by_kind(&spans, "RETRIEVER");
    let tool = by_kind(&spans, "TOOL");
    let trace_id = chain["context"]["trace_id"].as_str().expect("trace id").to_owned();
    assert_eq!(trace_id.len(), 32);
    assert!(spans.iter().all(|s| s["context"]["trace_id"] == trace_id.as_str()));
    assert_eq!(chain["parent_id"], Value::Null);
    for child in [llm, retriever, tool] {
        assert_eq!(child["parent_id"], chain["context"]["span_id"]);
    }
    assert_eq!(chain["attributes"]["input.value"], "what is ember?");
    assert_eq!(chain["attributes"]["metadata.tier"], "gold", "JSON-string metadata is parsed");
    assert!(chain["attributes"].get("openinference.span.kind").is_none());
    assert_eq!(llm["attributes"]["llm.input_messages.0.message.content"], "what is ember?");
    assert_eq!(llm["attributes"]["llm.token_count.prompt"], 10);
    assert_eq!(retriever["attributes"]["retrieval.documents.2.document.content"], "doc 2");
    assert_eq!(tool["status_code"], "ERROR");
    assert_eq!(tool["status_message"], "tool failed");
    assert_eq!(tool["events"][0]["name"], "exception");
    assert_eq!(tool["events"][0]["attributes"]["exception.message"], "not found");
    assert!(chain["start_time"].as_str().expect("time").ends_with("+00:00"));

    let (status, traces) = ember.get_json(&format!("/v1/projects/{project}/traces?include_spans=true")).await;
    assert_eq!(status, 200);
    let trace = &traces["data"][0];
    assert_eq!(trace["trace_id"], trace_id.as_str());
    assert_eq!((trace["token_count_prompt"].as_i64(), trace["token_count_total"].as_i64()), (Some(10), Some(15)));
    assert_eq!(trace["spans"].as_array().map(Vec::len), Some(4));

    let (status, tree) = ember.get_json(&format!("/v1/traces/{trace_id}")).await;
    assert_eq!(status, 200);
    let nodes = tree["data"]["spans"].as_array().expect("spans");
    assert_eq!(nodes[0]["span_kind"], "CHAIN");
    assert_eq!(nodes[0]["depth"], 0);
    assert_eq!(nodes[0]["child_count"], 3);
    assert!(nodes[1..].iter().all(|n| n["depth"] == 1));

    let (status, found) = ember.get_json(&format!("/v1/sessions/{session}")).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["data"]["traces"][0]["trace_id"], trace_id.as_str());
    assert_eq!(found["data"]["token_count_completion"], 5);
    let (_, sessions) = ember.get_json(&format!("/v1/projects/{project}/sessions")).await;
    assert_eq!(sessions["data"][0]["session_id"], session);

    let (_, roots) = ember.get_json(&format!("/v1/projects/{project}/spans?parent_id=null")).await;
    assert_eq!(roots["data"].as_array().map(Vec::len), Some(1));
    let (_, llms) =
        ember.get_json(&format!("/v1/projects/{project}/spans?span_kind=LLM&attribute=llm.model_name:gpt-4o")).await;
    assert_eq!(llms["data"].as_array().map(Vec::len), Some(1));
    let (_, none) = ember.get_json(&format!("/v1/projects/{project}/spans?attribute=llm.model_name:other")).await;
    assert_eq!(none["data"].as_array().map(Vec::len), Some(0));
}

async fn grpc_exporter_round_trip(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;
    let exporter = SpanExporter::builder()
        .with_tonic()
        .with_endpoint(format!("http://{}", ember.grpc))
        .build()
        .expect("grpc exporter");
    let provider =
        SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource("grpc-app")).build();
    emit_rag_trace(&provider, "grpc-session");
    flush(provider).await;
    assert_rag_trace(&ember, "grpc-app", "grpc-session").await;
    db.cleanup().await;
}

/// Exports one RAG trace with the HTTP exporter in `protocol`, naming the project only in the
/// `x-project-name` header (the resource names another one: the header must win).
async fn http_exporter_round_trip(backend: Backend, protocol: Protocol, project: &str) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;
    let headers = HashMap::from([("x-project-name".to_owned(), project.to_owned())]);
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(protocol)
        .with_endpoint(ember.url("/v1/traces"))
        .with_headers(headers)
        .build()
        .expect("http exporter");
    let provider =
        SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource("ignored")).build();
    let emitter = provider.clone();
    let session = format!("{project}-session");
    let emitted_session = session.clone();
    tokio::task::spawn_blocking(move || emit_rag_trace(&emitter, &emitted_session)).await.expect("emit");
    flush(provider).await;
    assert_rag_trace(&ember, project, &session).await;
    let (status, _) = ember.get_json("/v1/projects/ignored").await;
    assert_eq!(status, 404, "the header project wins over the resource attribute");
    db.cleanup().await;
}

async fn http_protobuf_exporter_round_trip(backend: Backend) {
    http_exporter_round_trip(backend, Protocol::HttpBinary, "http-app").await;
}

async fn http_json_exporter_round_trip(backend: Backend) {
    http_exporter_round_trip(backend, Protocol::HttpJson, "json-app").await;
}

on_both_backends!(grpc_exporter_round_trip, http_protobuf_exporter_round_trip, http_json_exporter_round_trip);
