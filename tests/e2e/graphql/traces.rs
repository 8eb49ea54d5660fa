//! Traces (the light span tree), a span's details, annotations from the UI, and sessions.

use serde_json::{json, Value};

use super::{data, error, ingest_fixture, span_id, trace_id, PROJECT};
use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;

const TRACE: &str = "query($id: String!) { trace(traceId: $id) { traceId projectName sessionId latencyMs spanCount
  spans { spanId parentId name spanKind startOffsetMs latencyMs } } }";

fn tree_span(t: u8, i: u8, parent: Option<u8>, name: &str, kind: &str, offset: f64, latency: f64) -> Value {
    json!({ "spanId": span_id(t, i), "parentId": parent.map(|p| span_id(t, p)), "name": name, "spanKind": kind,
            "startOffsetMs": offset, "latencyMs": latency })
}

async fn traces_and_spans(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;
    ingest_fixture(&ember).await;

    let found = data(&ember, TRACE, json!({ "id": trace_id(1) })).await;
    assert_eq!(
        found["trace"],
        json!({
            "traceId": trace_id(1), "projectName": PROJECT, "sessionId": "sess-A", "latencyMs": 100.0, "spanCount": 3,
            "spans": [
                tree_span(1, 1, None, "pipeline", "CHAIN", 0.0, 100.0),
                tree_span(1, 2, Some(1), "llm_call", "LLM", 10.0, 50.0),
                tree_span(1, 3, Some(1), "search", "TOOL", 60.0, 30.0),
            ],
        })
    );
    let found = data(&ember, TRACE, json!({ "id": trace_id(4) })).await;
    assert_eq!(found["trace"]["spanCount"], 2);
    assert_eq!(
        found["trace"]["spans"],
        json!([
            tree_span(4, 1, None, "agent", "AGENT", 0.0, 1000.0),
            tree_span(4, 2, Some(1), "retrieve", "RETRIEVER", 5.0, 495.0),
        ])
    );
    let found = data(&ember, TRACE, json!({ "id": trace_id(5) })).await;
    assert_eq!((found["trace"]["projectName"].as_str(), found["trace"]["sessionId"].as_str()), (Some("other"), None));
    assert_eq!(data(&ember, TRACE, json!({ "id": trace_id(9) })).await, json!({ "trace": null }));

    // A span's details: nested attributes, input and output, cost, the exception event.
    let query = "query($llm: String!, $tool: String!, $none: String!) {
      llm: span(spanId: $llm) { traceId parentId model tokenPrompt tokenCompletion tokenTotal cost sessionId
        attributes input { value mimeType } output { value mimeType } }
      tool: span(spanId: $tool) { statusCode statusMessage cost input { value } events }
      none: span(spanId: $none) { spanId } }";
    let vars = json!({ "llm": span_id(1, 2), "tool": span_id(1, 3), "none": "00000000deadbeef" });
    let found = data(&ember, query, vars).await;
    let llm = &found["llm"];
    assert_eq!((llm["traceId"].as_str(), llm["parentId"].clone()), (Some(trace_id(1).as_str()), json!(span_id(1, 1))));
    assert_eq!(
        (llm["model"].as_str(), llm["cost"].as_f64(), llm["sessionId"].as_str()),
        (Some("gpt-4o"), Some(0.25), Some("sess-A"))
    );
    assert_eq!([&llm["tokenPrompt"], &llm["tokenCompletion"], &llm["tokenTotal"]], [&json!(10), &json!(5), &json!(15)]);
    assert_eq!(llm["input"], json!({ "value": "What is 2+2?", "mimeType": "text/plain" }));
    assert_eq!(llm["output"], json!({ "value": "{\"answer\": 4}", "mimeType": "application/json" }));
    let attributes = &llm["attributes"];
    assert_eq!(
        attributes["llm"],
        json!({ "model_name": "gpt-4o", "token_count": { "prompt": 10, "completion": 5 }, "cost": { "total": 0.25 } }),
        "{attributes}"
    );
    assert_eq!(attributes.pointer("/openinference/span/kind"), Some(&json!("LLM")));
    assert_eq!(attributes.pointer("/session/id"), Some(&json!("sess-A")));
    assert_eq!(attributes.pointer("/input/value"), None, "input lives in its own field");
    let tool = &found["tool"];
    assert_eq!(
        (&tool["statusCode"], &tool["statusMessage"], &tool["cost"], &tool["input"]),
        (&json!("ERROR"), &json!("not found"), &Value::Null, &Value::Null)
    );
    assert_eq!(
        tool["events"],
        json!([{
            "name": "exception", "timestamp": "2023-11-14T22:13:30.080000+00:00",
            "attributes": { "exception.type": "ValueError", "exception.message": "index missing" },
        }])
    );
    assert_eq!(found["none"], Value::Null);
    db.cleanup().await;
}

/// As the UI annotates: no annotator kind (HUMAN by default).
const ANNOTATE: &str = "mutation($span: String!, $name: String!, $label: String, $score: Float, $explanation: String) {
  addSpanAnnotation(spanId: $span, name: $name, label: $label, score: $score, explanation: $explanation) {
  id name annotatorKind label score explanation } }";
const ANNOTATE_AS: &str = "mutation($span: String!, $name: String!, $label: String, $kind: String!) {
  addSpanAnnotation(spanId: $span, name: $name, label: $label, annotatorKind: $kind) { id } }";

/// The span's annotations as REST lists them.
async fn rest_annotations(ember: &Ember, span: &str) -> Vec<Value> {
    let (status, body) = ember.get_json(&format!("/v1/projects/{PROJECT}/span_annotations?span_ids={span}")).await;
    assert_eq!(status, 200, "{body}");
    body["data"].as_array().expect("data").clone()
}

async fn annotations(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;
    ingest_fixture(&ember).await;
    let (llm, tool) = (span_id(1, 2), span_id(1, 3));

    let vars = json!({ "span": llm, "name": "quality", "label": "good", "score": 0.75, "explanation": "fine" });
    let added = data(&ember, ANNOTATE, vars).await["addSpanAnnotation"].clone();
    assert_eq!(added["id"].as_str().map(str::is_empty), Some(false), "{added}");
    let expected = json!({ "id": added["id"], "name": "quality", "annotatorKind": "HUMAN", "label": "good",
                           "score": 0.75, "explanation": "fine" });
    assert_eq!(added, expected);
    let query =
        "query($id: String!) { span(spanId: $id) { annotations { id name annotatorKind label score explanation } } }";
    assert_eq!(data(&ember, query, json!({ "id": llm })).await["span"]["annotations"], json!([expected]));
    let stored = rest_annotations(&ember, &llm).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0]["result"], json!({ "label": "good", "score": 0.75, "explanation": "fine" }));
    assert_eq!((stored[0]["name"].as_str(), stored[0]["annotator_kind"].as_str()), (Some("quality"), Some("HUMAN")));

    // Refusals write nothing.
    let refusals = [
        (json!({ "span": "00000000deadbeef", "name": "q", "label": "x" }), "00000000deadbeef"),
        (json!({ "span": tool, "name": "  ", "label": "x" }), "name"),
        (json!({ "span": tool, "name": "q", "label": " " }), "label"),
    ];
    for (vars, named) in refusals {
        let message = error(&ember, ANNOTATE, vars.clone()).await;
        assert!(message.contains(named), "{vars}: {message}");
    }
    let vars = json!({ "span": tool, "name": "q", "label": "x", "kind": "ROBOT" });
    let message = error(&ember, ANNOTATE_AS, vars).await;
    assert!(message.contains("ROBOT"), "{message}");
    assert_eq!(rest_annotations(&ember, &tool).await, Vec::<Value>::new());
    let vars = json!({ "span": span_id(2, 2), "name": "judge", "label": "ok", "kind": "LLM" });
    data(&ember, ANNOTATE_AS, vars).await;
    let stored = rest_annotations(&ember, &span_id(2, 2)).await;
    assert_eq!((stored.len(), stored[0]["annotator_kind"].as_str()), (1, Some("LLM")), "{stored:?}");
    assert_eq!(rest_annotations(&ember, &llm).await.len(), 1);
    let query = "{ trace(traceId: \"01010101010101010101010101010101\") { annotations { id } } }";
    assert_eq!(data(&ember, query, json!({})).await["trace"]["annotations"], json!([]));
    db.cleanup().await;
}

async fn sessions(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;
    ingest_fixture(&ember).await;
    let query = "{ project(id: \"gql\") { sessions { nodes { sessionId traceCount turns { traceId input output } }
      pageInfo { hasNextPage } } } }";
    let found = data(&ember, query, json!({})).await;
    let turn = |t: u8, input: &str, output: &str| json!({ "traceId": trace_id(t), "input": input, "output": output });
    assert_eq!(
        found["project"]["sessions"],
        json!({
            "nodes": [
                { "sessionId": "sess-B", "traceCount": 1, "turns": [turn(4, "question three", "answer three")] },
                { "sessionId": "sess-A", "traceCount": 2,
                  "turns": [turn(1, "question one", "answer one"), turn(2, "question two", "answer two")] },
            ],
            "pageInfo": { "hasNextPage": false },
        })
    );
    // Paging one at a time, and a session by its id.
    let query = "query($after: String) { project(id: \"gql\") { sessions(first: 1, after: $after) {
      nodes { sessionId } pageInfo { hasNextPage endCursor } } } }";
    let first = data(&ember, query, json!({})).await["project"]["sessions"].clone();
    assert_eq!(
        (first["nodes"][0]["sessionId"].as_str(), first["pageInfo"]["hasNextPage"].as_bool()),
        (Some("sess-B"), Some(true))
    );
    let second =
        data(&ember, query, json!({ "after": first["pageInfo"]["endCursor"] })).await["project"]["sessions"].clone();
    assert_eq!(
        second,
        json!({ "nodes": [{ "sessionId": "sess-A" }], "pageInfo": { "hasNextPage": false, "endCursor": null } })
    );
    let query = "{ session(sessionId: \"sess-A\") { sessionId traceCount tokenTotal turns { traceId latencyMs rootSpanName } } }";
    let found = data(&ember, query, json!({})).await;
    assert_eq!(
        found["session"]["turns"],
        json!([
            { "traceId": trace_id(1), "latencyMs": 100.0, "rootSpanName": "pipeline" },
            { "traceId": trace_id(2), "latencyMs": 250.0, "rootSpanName": "pipeline" },
        ])
    );
    assert_eq!(found["session"]["traceCount"], 2);
    assert_eq!(data(&ember, "{ session(sessionId: \"nope\") { id } }", json!({})).await, json!({ "session": null }));
    db.cleanup().await;
}

on_both_backends!(traces_and_spans, annotations, sessions);
