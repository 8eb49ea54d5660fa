//! The ingest pipeline end to end: the first-party `pii` redactor and `cost` span processor run
//! on spans sent by a real client, and what reaches the database is redacted and priced.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::{json, Value};

use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;
use crate::support::post_protobuf;

const EMAIL: &str = "jane.doe@example.com";
const CARD: &str = "4111 1111 1111 1111";
/// Fails the Luhn check: must not be taken for a card.
const NOT_A_CARD: &str = "4111 1111 1111 1112";

fn attr(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

fn text(key: &str, value: &str) -> KeyValue {
    attr(key, any_value::Value::StringValue(value.into()))
}

fn int(key: &str, value: i64) -> KeyValue {
    attr(key, any_value::Value::IntValue(value))
}

/// An LLM span leaking an email and a card number, plus a chain span with a harmless number.
fn leaky_request(project: &str, seed: u8) -> (ExportTraceServiceRequest, [String; 2]) {
    let trace_id = vec![seed; 16];
    let llm_id = vec![seed, 1, 1, 1, 1, 1, 1, 1];
    let chain_id = vec![seed, 2, 2, 2, 2, 2, 2, 2];
    let span = |span_id: &Vec<u8>, name: &str, attributes: Vec<KeyValue>| Span {
        trace_id: trace_id.clone(),
        span_id: span_id.clone(),
        name: name.into(),
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_001_000_000_000,
        attributes,
        ..Span::default()
    };
    let llm = span(
        &llm_id,
        "ChatCompletion",
        vec![
            text("openinference.span.kind", "LLM"),
            text("llm.model_name", "gpt-4o-mini-2024-07-18"),
            text("llm.provider", "openai"),
            int("llm.token_count.prompt", 1000),
            int("llm.token_count.completion", 500),
            text("input.value", &format!("Please email {EMAIL} the receipt")),
            text("output.value", &format!("Charged card {CARD}; order ref {NOT_A_CARD}")),
            text("session.id", &format!("support-chat-{EMAIL}")),
            text("llm.input_messages.0.message.role", "user"),
            text("llm.input_messages.0.message.content", &format!("my email is {EMAIL}")),
        ],
    );
    let chain = span(&chain_id, "checkout", vec![text("openinference.span.kind", "CHAIN"), text("note", "3 items")]);
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![text("openinference.project.name", project)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans { spans: vec![llm, chain], ..Default::default() }],
            ..Default::default()
        }],
    };
    (request, [hex(&llm_id), hex(&chain_id)])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn pipeline_file(db: &TestDb, pipeline: &Value) -> String {
    let path = db.dir.path().join("pipeline.json");
    std::fs::write(&path, pipeline.to_string()).expect("write pipeline");
    path.display().to_string()
}

fn span_by_name<'a>(spans: &'a [Value], name: &str) -> &'a Value {
    spans.iter().find(|span| span["name"] == name).unwrap_or_else(|| panic!("no span {name} in {spans:?}"))
}

async fn pii_and_cost_run_on_ingest(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let file = pipeline_file(&db, &json!({"stages": [{"plugin": "cost"}, {"plugin": "pii"}]}));
    let ember = Ember::start_with_plugins(&db, &[("EMBER_PIPELINE", &file)]).await;

    let (request, _) = leaky_request("shop", 7);
    let (status, _, _) = post_protobuf(&ember, request.encode_to_vec(), &[]).await;
    assert_eq!(status, 200);
    let spans = ember.wait_for_spans("shop", 2).await;

    let stored = db.stored_text().await;
    assert!(!stored.contains(EMAIL), "email stored in clear: {stored}");
    assert!(!stored.contains(CARD) && !stored.contains("4111111111111111"), "card stored in clear: {stored}");
    assert!(stored.contains(NOT_A_CARD), "a Luhn-invalid number is not a card: {stored}");
    assert!(stored.contains("<EMAIL>") && stored.contains("<CARD>"), "{stored}");

    let llm = span_by_name(&spans, "ChatCompletion");
    let attributes = &llm["attributes"];
    assert_eq!(attributes["input.value"], "Please email <EMAIL> the receipt", "{llm}");
    assert_eq!(attributes["llm.input_messages.0.message.content"], "my email is <EMAIL>", "{llm}");
    assert_eq!(attributes["output.value"], format!("Charged card <CARD>; order ref {NOT_A_CARD}"), "{llm}");
    // gpt-4o-mini: $0.15 per 1M prompt tokens, $0.60 per 1M completion tokens.
    let prompt = attributes["llm.cost.prompt"].as_f64().expect("prompt cost");
    let completion = attributes["llm.cost.completion"].as_f64().expect("completion cost");
    let total = attributes["llm.cost.total"].as_f64().expect("total cost");
    assert!((prompt - 0.000_15).abs() < 1e-9, "{prompt}");
    assert!((completion - 0.000_3).abs() < 1e-9, "{completion}");
    assert!((total - (prompt + completion)).abs() < 1e-12, "{total}");
    let chain = span_by_name(&spans, "checkout");
    assert!(chain["attributes"]["llm.cost.total"].is_null(), "no cost without an LLM: {chain}");

    let (_, metrics) = ember.get_json("/metrics").await;
    assert!(metrics.is_null(), "metrics are text");
    let metrics = ember.client.get(ember.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains(r#"ember_plugin_calls_total{plugin="pii",outcome="ok"}"#), "{metrics}");
    assert!(metrics.contains(r#"ember_pipeline_spans_changed_total{plugin="cost"} 1"#), "{metrics}");
    db.cleanup().await;
}

async fn pipeline_is_set_per_project_through_the_api_and_persists(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start_with_plugins(&db, &[]).await;
    let (_, plugins) = ember.get_json("/v1/plugins").await;
    let names: Vec<&str> = plugins["data"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
    for expected in
        ["contains", "cost", "exact_match", "json_distance", "json_valid", "levenshtein_distance", "pii", "regex"]
    {
        assert!(names.contains(&expected), "{expected} not installed: {names:?}");
    }

    let put = |body: Value| {
        let request = ember.client.put(ember.url("/v1/ingest_pipeline")).json(&body);
        async move {
            let response = request.send().await.expect("PUT");
            (response.status().as_u16(), response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, body) = put(json!({"stages": [{"plugin": "nope"}]})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("nope"), "{body}");
    let (status, body) = put(json!({"stages": [{"plugin": "exact_match"}]})).await;
    assert_eq!(status, 422, "an evaluator is not a pipeline stage: {body}");
    let (status, body) = put(json!({"stages": [{"plugin": "pii", "projects": ["secure"]}]})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["stages"][0]["projects"], json!(["secure"]));

    for (project, seed) in [("secure", 1), ("open", 2)] {
        let (request, _) = leaky_request(project, seed);
        assert_eq!(post_protobuf(&ember, request.encode_to_vec(), &[]).await.0, 200);
    }
    let secure = ember.wait_for_spans("secure", 2).await;
    let open = ember.wait_for_spans("open", 2).await;
    assert!(!Value::Array(secure).to_string().contains(EMAIL));
    assert!(Value::Array(open).to_string().contains(EMAIL), "the pipeline only covers `secure`");

    // The stored pipeline survives a restart.
    ember.terminate();
    assert!(ember.wait(Duration::from_secs(30)).await);
    let ember = Ember::start_with_plugins(&db, &[]).await;
    let (_, body) = ember.get_json("/v1/ingest_pipeline").await;
    assert_eq!(body["data"]["stages"][0]["plugin"], "pii", "{body}");
    let (request, _) = leaky_request("secure", 3);
    assert_eq!(post_protobuf(&ember, request.encode_to_vec(), &[]).await.0, 200);
    let secure = ember.wait_for_spans("secure", 4).await;
    assert!(!Value::Array(secure).to_string().contains(EMAIL));
    db.cleanup().await;
}

async fn a_failing_redactor_fails_closed_or_keeps_by_policy(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start_with_plugins(&db, &[]).await;
    // A fuel budget far too small for any redaction: every pii call runs out of fuel.
    let starved = json!({"fuel": 1000});
    let response = ember
        .client
        .put(ember.url("/v1/ingest_pipeline"))
        .json(&json!({"stages": [{"plugin": "pii", "limits": starved}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);

    let (request, ids) = leaky_request("closed", 4);
    let (status, _, body) = post_protobuf(&ember, request.encode_to_vec(), &[]).await;
    assert_eq!(status, 503, "fail closed: {}", String::from_utf8_lossy(&body));
    let stored = db.stored_span_ids().await;
    assert!(ids.iter().all(|id| !stored.contains(id)), "nothing of a refused request is stored");
    assert!(!db.stored_text().await.contains(EMAIL));
    let metrics = ember.client.get(ember.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains(r#"ember_plugin_calls_total{plugin="pii",outcome="out_of_fuel"} 1"#),
        "a rejected batch's calls are counted: {metrics}"
    );

    let response = ember
        .client
        .put(ember.url("/v1/ingest_pipeline"))
        .json(&json!({"stages": [{"plugin": "pii", "limits": starved, "on_error": "keep"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let (request, _) = leaky_request("kept", 5);
    assert_eq!(post_protobuf(&ember, request.encode_to_vec(), &[]).await.0, 200);
    let kept = ember.wait_for_spans("kept", 2).await;
    assert!(Value::Array(kept).to_string().contains(EMAIL), "kept unmodified, not dropped");
    let metrics = ember.client.get(ember.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains(r#"ember_pipeline_failures_total{plugin="pii",policy="reject"} 1"#), "{metrics}");
    assert!(metrics.contains(r#"ember_pipeline_failures_total{plugin="pii",policy="keep"} 1"#), "{metrics}");
    assert!(metrics.contains(r#"ember_plugin_calls_total{plugin="pii",outcome="out_of_fuel"}"#), "{metrics}");
    db.cleanup().await;
}

on_both_backends!(
    pii_and_cost_run_on_ingest,
    pipeline_is_set_per_project_through_the_api_and_persists,
    a_failing_redactor_fails_closed_or_keeps_by_policy,
);
