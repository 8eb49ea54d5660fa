//! Annotations end to end: Phoenix's span, trace and session annotation and note routes (upsert,
//! listing, paging, deletes, 404s and cascades), and Ember's `evaluate_spans` running evaluator
//! plugins over filtered spans.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::{json, Value};

use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;
use crate::support::post_protobuf;

const PROJECT: &str = "annotated";
const SESSION: &str = "chat-42";

fn text(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One trace of `seed`: an LLM root (in a session) answering `answer`, a CHAIN and a TOOL child.
/// Returns the request, the trace id and the three span ids (LLM, CHAIN, TOOL).
fn trace(seed: u8, answer: &str) -> (ExportTraceServiceRequest, String, [String; 3]) {
    let trace_id = vec![seed; 16];
    let ids = [vec![seed, 1, 1, 1, 1, 1, 1, 1], vec![seed, 2, 2, 2, 2, 2, 2, 2], vec![seed, 3, 3, 3, 3, 3, 3, 3]];
    let span = |i: usize, name: &str, kind: &str, output: &str, extra: Vec<KeyValue>| {
        let mut attributes = vec![
            text("openinference.span.kind", kind),
            text("input.value", "What is the capital of France?"),
            text("output.value", output),
            text("session.id", SESSION),
        ];
        attributes.extend(extra);
        Span {
            trace_id: trace_id.clone(),
            span_id: ids[i].clone(),
            parent_span_id: if i == 0 { Vec::new() } else { ids[0].clone() },
            name: name.into(),
            start_time_unix_nano: 1_700_000_000_000_000_000 + u64::from(seed) * 10_000_000_000 + i as u64,
            end_time_unix_nano: 1_700_000_001_000_000_000 + u64::from(seed) * 10_000_000_000,
            attributes,
            ..Span::default()
        }
    };
    let spans = vec![
        span(0, "ChatCompletion", "LLM", answer, vec![text("tier", "gold")]),
        span(1, "pipeline", "CHAIN", "{\"answer\": \"Lyon\"}", vec![text("output.mime_type", "application/json")]),
        span(2, "lookup", "TOOL", "Paris", Vec::new()),
    ];
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![text("openinference.project.name", PROJECT)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    };
    (request, hex(&trace_id), [hex(&ids[0]), hex(&ids[1]), hex(&ids[2])])
}

async fn ingest(ember: &Ember, seeds: &[(u8, &str)]) -> Vec<(String, [String; 3])> {
    let mut out = Vec::new();
    for (seed, answer) in seeds {
        let (request, trace_id, span_ids) = trace(*seed, answer);
        let (status, _, _) = post_protobuf(ember, request.encode_to_vec(), &[]).await;
        assert_eq!(status, 200);
        out.push((trace_id, span_ids));
    }
    ember.wait_for_spans(PROJECT, seeds.len() * 3).await;
    out
}

async fn post(ember: &Ember, path: &str, body: Value) -> (u16, Value) {
    let response = ember.client.post(ember.url(path)).json(&body).send().await.expect("POST");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn delete(ember: &Ember, path: &str) -> u16 {
    ember.client.delete(ember.url(path)).send().await.expect("DELETE").status().as_u16()
}

fn annotation(id_field: &str, id: &str, name: &str, label: &str, score: f64, identifier: Option<&str>) -> Value {
    let mut value = json!({
        "name": name,
        "annotator_kind": "HUMAN",
        "result": { "label": label, "score": score, "explanation": format!("{name} is {label}") },
        "metadata": { "reviewer": "ada" },
        id_field: id,
    });
    if let Some(identifier) = identifier {
        value["identifier"] = json!(identifier);
    }
    value
}

fn global(type_name: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{type_name}:"))
}

/// The row id inside a GlobalID of `type_name`.
fn row_id(type_name: &str, gid: &Value) -> i64 {
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD.decode(gid.as_str().expect("id string")).expect("base64");
    let text = String::from_utf8(decoded).expect("utf8");
    let (kind, id) = text.split_once(':').expect("Type:id");
    assert_eq!(kind, type_name);
    id.parse().expect("row id")
}

async fn list(ember: &Ember, kind: &str, query: &str) -> (u16, Value) {
    ember.get_json(&format!("/v1/projects/{PROJECT}/{kind}_annotations?{query}")).await
}

async fn span_annotations_round_trip(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;
    let traces = ingest(&ember, &[(1, "Paris"), (2, "Lyon")]).await;
    let [llm, chain, tool] = traces[0].1.clone();

    // Create, sync: one id per annotation, in order, as SpanAnnotation GlobalIDs.
    let body = json!({ "data": [
        annotation("span_id", &llm, "correctness", "correct", 1.0, None),
        annotation("span_id", &chain, "correctness", "incorrect", 0.0, None),
    ]});
    let (status, created) = post(&ember, "/v1/span_annotations?sync=true", body).await;
    assert_eq!(status, 200, "{created}");
    let ids = created["data"].as_array().expect("data");
    assert_eq!(ids.len(), 2);
    let first = row_id("SpanAnnotation", &ids[0]["id"]);
    assert!(ids[0]["id"].as_str().expect("id").starts_with(&global("SpanAnnotation")[..8]));

    // Upsert: same span, name and (empty) identifier replaces, keeping the id.
    let body = json!({ "data": [annotation("span_id", &llm, "correctness", "partly", 0.5, None)] });
    let (status, replaced) = post(&ember, "/v1/span_annotations?sync=true", body).await;
    assert_eq!(status, 200);
    assert_eq!(row_id("SpanAnnotation", &replaced["data"][0]["id"]), first);
    // A distinct identifier adds a second annotation of that name; without sync the reply is empty.
    let body = json!({ "data": [annotation("span_id", &llm, "correctness", "second", 0.2, Some("rater-2"))] });
    let (status, unsynced) = post(&ember, "/v1/span_annotations", body).await;
    assert_eq!((status, unsynced), (200, json!({ "data": [] })));

    let (status, page) = list(&ember, "span", &format!("span_ids={llm}")).await;
    assert_eq!(status, 200, "{page}");
    let data = page["data"].as_array().expect("data");
    assert_eq!(data.len(), 2, "{page}");
    let replaced = data.iter().find(|a| a["identifier"] == "").expect("unnamed annotation");
    assert_eq!(replaced["result"], json!({ "label": "partly", "score": 0.5, "explanation": "correctness is partly" }));
    assert_eq!(replaced["span_id"], llm);
    assert_eq!(replaced["source"], "API");
    assert_eq!(replaced["user_id"], Value::Null);
    assert_eq!(replaced["annotator_kind"], "HUMAN");
    assert_eq!(replaced["metadata"], json!({ "reviewer": "ada" }));
    assert!(replaced["created_at"].as_str().expect("time").ends_with("+00:00"));
    assert!(replaced["updated_at"].as_str().expect("time").ends_with("+00:00"));

    // Validation: a bad annotator kind is a 422; an unknown span a 404 naming it; neither writes.
    let mut bad = annotation("span_id", &tool, "fresh", "x", 1.0, None);
    bad["annotator_kind"] = json!("ROBOT");
    let (status, _) = post(&ember, "/v1/span_annotations?sync=true", json!({ "data": [bad] })).await;
    assert_eq!(status, 422);
    let body = json!({ "data": [
        annotation("span_id", &tool, "fresh", "x", 1.0, None),
        annotation("span_id", "00000000deadbeef", "fresh", "x", 1.0, None),
    ]});
    let (status, error) = post(&ember, "/v1/span_annotations?sync=true", body).await;
    assert_eq!(status, 404);
    assert!(error.to_string().contains("00000000deadbeef"), "{error}");
    let (status, page) = list(&ember, "span", &format!("span_ids={tool}")).await;
    assert_eq!((status, page["data"].as_array().map(Vec::len)), (200, Some(0)), "nothing written: {page}");
    let (status, _) = post(&ember, "/v1/span_annotations", json!({ "data": [{ "name": "x", "span_id": tool }] })).await;
    assert_eq!(status, 422, "annotator_kind is required");

    // Notes accumulate, each with its own px-span-note identifier; a given identifier upserts.
    for note in ["looks off", "checked again"] {
        let (status, reply) = post(&ember, "/v1/span_notes", json!({ "data": { "span_id": llm, "note": note } })).await;
        assert_eq!(status, 200, "{reply}");
        row_id("SpanAnnotation", &reply["data"]["id"]);
    }
    let (status, _) = post(&ember, "/v1/span_notes", json!({ "data": { "span_id": llm, "note": "  " } })).await;
    assert_eq!(status, 422);
    let (status, _) =
        post(&ember, "/v1/span_notes", json!({ "data": { "span_id": "00000000deadbeef", "note": "hi" } })).await;
    assert_eq!(status, 404);
    let (_, notes) = list(&ember, "span", &format!("span_ids={llm}&include_annotation_names=note")).await;
    let notes = notes["data"].as_array().expect("data").clone();
    assert_eq!(notes.len(), 2);
    for note in &notes {
        assert_eq!(note["annotator_kind"], "HUMAN");
        assert!(note["identifier"].as_str().expect("identifier").starts_with("px-span-note:"));
        assert_eq!(note["result"]["label"], Value::Null);
    }
    assert_eq!(notes[0]["result"]["explanation"], "checked again", "newest first");

    // Filters: exclude names, identifiers, several span ids; paging by cursor.
    let (_, page) = list(&ember, "span", &format!("span_ids={llm}&exclude_annotation_names=note")).await;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(2));
    let (_, page) = list(&ember, "span", "identifier=rater-2").await;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["data"][0]["result"]["label"], "second");
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = list(&ember, "span", &format!("span_ids={llm}&span_ids={chain}&limit=2{cursor}")).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(page["data"].as_array().expect("data").iter().map(|a| row_id("SpanAnnotation", &a["id"])));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5, "2 notes + 2 on llm + 1 on chain");
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first without repeats: {seen:?}");
    assert_eq!(list(&ember, "span", "").await.0, 422, "span_ids or identifier is required");
    assert_eq!(list(&ember, "span", "span_ids=00000000deadbeef").await.0, 404);
    assert_eq!(list(&ember, "span", &format!("span_ids={llm}&limit=0")).await.0, 422);
    assert_eq!(list(&ember, "span", &format!("span_ids={llm}&cursor=bogus")).await.0, 422);
    assert_eq!(ember.get_json(&format!("/v1/projects/nope/span_annotations?span_ids={llm}")).await.0, 404);

    // Deletes need a window or delete_all; filters narrow.
    let base = format!("/v1/projects/{PROJECT}/span_annotations");
    assert_eq!(delete(&ember, &base).await, 422);
    assert_eq!(delete(&ember, &format!("{base}?start_time=2020-01-01T00:00:00Z")).await, 422);
    assert_eq!(delete(&ember, &format!("{base}?delete_all=true&annotator_kind=ROBOT")).await, 422);
    assert_eq!(delete(&ember, &format!("{base}?delete_all=true&name=note")).await, 204);
    let (_, page) = list(&ember, "span", &format!("span_ids={llm}")).await;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(2), "notes deleted, the rest kept");
    let window = "start_time=2000-01-01T00:00:00Z&end_time=2001-01-01T00:00:00Z";
    assert_eq!(delete(&ember, &format!("{base}?{window}")).await, 204);
    assert_eq!(list(&ember, "span", &format!("span_ids={llm}")).await.1["data"].as_array().map(Vec::len), Some(2));
    let window = "start_time=2000-01-01T00:00:00Z&end_time=2200-01-01T00:00:00Z&identifier=rater-2";
    assert_eq!(delete(&ember, &format!("{base}?{window}")).await, 204);
    assert_eq!(list(&ember, "span", &format!("span_ids={llm}")).await.1["data"].as_array().map(Vec::len), Some(1));

    // Deleting a span deletes its annotations.
    let body = json!({ "data": [annotation("span_id", &tool, "doomed", "x", 1.0, Some("cascade"))] });
    assert_eq!(post(&ember, "/v1/span_annotations?sync=true", body).await.0, 200);
    assert_eq!(list(&ember, "span", "identifier=cascade").await.1["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(delete(&ember, &format!("/v1/spans/{tool}")).await, 204);
    let (status, page) = list(&ember, "span", "identifier=cascade").await;
    assert_eq!((status, page["data"].as_array().map(Vec::len)), (200, Some(0)));
    drop(ember);
    db.cleanup().await;
}

async fn trace_and_session_annotations(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;
    let traces = ingest(&ember, &[(3, "Paris"), (4, "Paris")]).await;
    let (trace_a, spans_a) = traces[0].clone();
    let (trace_b, _) = traces[1].clone();

    let body = json!({ "data": [
        annotation("trace_id", &trace_a, "helpful", "yes", 1.0, None),
        annotation("trace_id", &trace_b, "helpful", "no", 0.0, None),
    ]});
    let (status, created) = post(&ember, "/v1/trace_annotations?sync=true", body).await;
    assert_eq!(status, 200, "{created}");
    let first = row_id("TraceAnnotation", &created["data"][0]["id"]);
    let body = json!({ "data": [annotation("trace_id", &trace_a, "helpful", "very", 1.0, None)] });
    let (_, replaced) = post(&ember, "/v1/trace_annotations?sync=true", body).await;
    assert_eq!(row_id("TraceAnnotation", &replaced["data"][0]["id"]), first);
    let body = json!({ "data": [annotation("trace_id", &"ab".repeat(16), "helpful", "no", 0.0, None)] });
    let (status, error) = post(&ember, "/v1/trace_annotations?sync=true", body).await;
    assert_eq!(status, 404);
    assert!(error.to_string().contains(&"ab".repeat(16)));
    let (status, note) =
        post(&ember, "/v1/trace_notes", json!({ "data": { "trace_id": trace_a, "note": "hm" } })).await;
    assert_eq!(status, 200, "{note}");
    row_id("TraceAnnotation", &note["data"]["id"]);

    let (status, page) = list(&ember, "trace", &format!("trace_ids={trace_a}&trace_ids={trace_b}")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["data"].as_array().map(Vec::len), Some(3));
    let helpful = page["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|a| a["trace_id"] == trace_a.as_str() && a["name"] == "helpful");
    assert_eq!(helpful.expect("annotation")["result"]["label"], "very");
    let (_, page) = list(&ember, "trace", &format!("trace_ids={trace_a}&include_annotation_names=note")).await;
    let identifier = page["data"][0]["identifier"].as_str().expect("identifier");
    assert!(identifier.starts_with("px-trace-note:"), "{identifier}");
    assert_eq!(list(&ember, "trace", &format!("trace_ids={}", "cd".repeat(16))).await.0, 404);

    // Sessions: annotations, notes, listing, delete.
    let body = json!({ "data": [annotation("session_id", SESSION, "resolved", "yes", 1.0, None)] });
    let (status, created) = post(&ember, "/v1/session_annotations?sync=true", body).await;
    assert_eq!(status, 200, "{created}");
    row_id("ProjectSessionAnnotation", &created["data"][0]["id"]);
    let body = json!({ "data": [annotation("session_id", "no-such-session", "resolved", "yes", 1.0, None)] });
    assert_eq!(post(&ember, "/v1/session_annotations?sync=true", body).await.0, 404);
    let body = json!({ "data": { "session_id": SESSION, "note": "escalated", "identifier": "triage" } });
    let (status, _) = post(&ember, "/v1/session_notes", body.clone()).await;
    assert_eq!(status, 200);
    let body = json!({ "data": { "session_id": SESSION, "note": "de-escalated", "identifier": "triage" } });
    assert_eq!(post(&ember, "/v1/session_notes", body).await.0, 200);
    let (status, page) = list(&ember, "session", &format!("session_ids={SESSION}")).await;
    assert_eq!(status, 200, "{page}");
    let data = page["data"].as_array().expect("data");
    assert_eq!(data.len(), 2, "the note with an identifier was replaced: {page}");
    assert!(data.iter().all(|a| a["session_id"] == SESSION));
    assert!(data.iter().any(|a| a["result"]["explanation"] == "de-escalated"));
    assert_eq!(list(&ember, "session", "session_ids=no-such-session").await.0, 404);
    let base = format!("/v1/projects/{PROJECT}/session_annotations");
    assert_eq!(delete(&ember, &format!("{base}?delete_all=true&annotator_kind=HUMAN&name=resolved")).await, 204);
    let (_, page) = list(&ember, "session", &format!("session_ids={SESSION}")).await;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(1));

    // Deleting a trace deletes its annotations (and its spans' annotations).
    let body = json!({ "data": [annotation("span_id", &spans_a[1], "kept?", "no", 0.0, Some("gone"))] });
    assert_eq!(post(&ember, "/v1/span_annotations?sync=true", body).await.0, 200);
    assert_eq!(delete(&ember, &format!("/v1/traces/{trace_a}")).await, 204);
    let (status, page) = list(&ember, "trace", &format!("trace_ids={trace_a}&trace_ids={trace_b}")).await;
    assert_eq!(status, 200);
    assert!(page["data"].as_array().expect("data").iter().all(|a| a["trace_id"] == trace_b.as_str()), "{page}");
    assert_eq!(list(&ember, "span", "identifier=gone").await.1["data"].as_array().map(Vec::len), Some(0));
    drop(ember);
    db.cleanup().await;
}

async fn evaluate_spans_annotates_filtered_spans(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start_with_plugins(&db, &[]).await;
    let traces = ingest(&ember, &[(5, "The capital is Paris."), (6, "I think it is Lyon."), (7, "Paris!")]).await;
    let path = format!("/v1/projects/{PROJECT}/evaluate_spans");

    // `contains` over the LLM spans only: three spans, each gets one annotation.
    let body = json!({
        "evaluator": "contains",
        "config": { "keywords": ["paris"] },
        "annotation_name": "mentions_paris",
        "filter": { "span_kind": "LLM" },
    });
    let (status, reply) = post(&ember, &path, body).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["data"], json!({ "evaluated": 3, "annotated": 3, "failed": [] }));
    // The calls count in the plugin's statistics, as every other evaluator call does.
    let stats = json!({ "query": "{ plugins { name stats { calls } } }" });
    let (status, plugins) = post(&ember, "/graphql", stats).await;
    assert_eq!(status, 200, "{plugins}");
    let contains = plugins["data"]["plugins"].as_array().and_then(|all| all.iter().find(|p| p["name"] == "contains"));
    assert_eq!(contains.map(|p| p["stats"]["calls"].clone()), Some(json!(3)), "{plugins}");
    let llm_ids: Vec<String> = traces.iter().map(|(_, spans)| spans[0].clone()).collect();
    let query = llm_ids.iter().map(|id| format!("span_ids={id}")).collect::<Vec<_>>().join("&");
    let (_, page) = list(&ember, "span", &format!("{query}&include_annotation_names=mentions_paris")).await;
    let data = page["data"].as_array().expect("data");
    assert_eq!(data.len(), 3, "{page}");
    for annotation in data {
        let expected = if annotation["span_id"] == llm_ids[1].as_str() { 0.0 } else { 1.0 };
        assert_eq!(annotation["result"]["score"], expected, "{annotation}");
        assert_eq!(annotation["annotator_kind"], "CODE");
        assert_eq!(annotation["source"], "API");
        assert_eq!(annotation["metadata"]["evaluator"]["name"], "contains");
        assert_eq!(annotation["metadata"]["evaluator"]["sha256"].as_str().map(str::len), Some(64));
    }
    // Re-running replaces rather than duplicates.
    let body = json!({ "evaluator": "contains", "config": { "keywords": ["paris"] }, "annotation_name": "mentions_paris", "filter": { "span_kind": ["LLM"] } });
    assert_eq!(post(&ember, &path, body).await.1["data"]["annotated"], 3);
    let (_, page) = list(&ember, "span", &format!("{query}&include_annotation_names=mentions_paris")).await;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(3));

    // `exact_match` with an expected value, filtered by name and attribute and limited; the JSON
    // output of CHAIN spans is parsed before the evaluator sees it.
    let body = json!({ "evaluator": "exact_match", "expected": "Paris!", "filter": { "name": "ChatCompletion", "attribute": "tier:gold", "limit": 2 } });
    let (status, reply) = post(&ember, &path, body).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["data"]["evaluated"], 2);
    let (_, page) = list(&ember, "span", &format!("{query}&include_annotation_names=exact_match")).await;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(2), "{page}");
    let body = json!({ "evaluator": "contains", "config": { "keywords": ["Lyon"] }, "annotation_name": "chain_lyon", "filter": { "span_kind": "CHAIN", "end_time": "2030-01-01T00:00:00Z" } });
    let (_, reply) = post(&ember, &path, body).await;
    assert_eq!(reply["data"]["evaluated"], 3, "{reply}");

    // A failing evaluator is reported per span and writes nothing.
    let body = json!({ "evaluator": "regex", "config": { "pattern": "(" }, "filter": { "span_kind": "TOOL" } });
    let (status, reply) = post(&ember, &path, body).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["data"]["evaluated"], 0);
    assert_eq!(reply["data"]["annotated"], 0);
    let failed = reply["data"]["failed"].as_array().expect("failed");
    assert_eq!(failed.len(), 3, "{reply}");
    assert!(failed.iter().all(|f| f["kind"] == "plugin_error" && f["span_id"].is_string() && f["message"].is_string()));
    let tool_ids = traces.iter().map(|(_, spans)| format!("span_ids={}", spans[2])).collect::<Vec<_>>().join("&");
    let (status, page) = list(&ember, "span", &tool_ids).await;
    assert_eq!((status, page["data"].as_array().map(Vec::len)), (200, Some(0)));

    // Bad requests.
    assert_eq!(post(&ember, &path, json!({ "evaluator": "no_such_plugin" })).await.0, 404);
    assert_eq!(post(&ember, &path, json!({ "evaluator": "contains@0.0.0-nope" })).await.0, 404);
    assert_eq!(post(&ember, &path, json!({ "evaluator": "pii" })).await.0, 422, "not an evaluator");
    let bad_filter = json!({ "evaluator": "contains", "filter": { "span_kind": "ROBOT" } });
    assert_eq!(post(&ember, &path, bad_filter).await.0, 422);
    let bad_limit = json!({ "evaluator": "contains", "filter": { "limit": 100_000 } });
    assert_eq!(post(&ember, &path, bad_limit).await.0, 422);
    assert_eq!(post(&ember, "/v1/projects/nope/evaluate_spans", json!({ "evaluator": "contains" })).await.0, 404);
    drop(ember);
    db.cleanup().await;
}

on_both_backends!(span_annotations_round_trip, trace_and_session_annotations, evaluate_spans_annotates_filtered_spans);
