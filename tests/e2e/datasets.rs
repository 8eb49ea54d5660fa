//! Datasets over the REST API: uploads (JSON, CSV plain and gzip, JSONL), versions, exports,
//! bad uploads that write nothing, size limits, and examples taken from ingested spans.

use std::io::Write;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::{json, Value};

use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;
use crate::support::post_protobuf;

/// One part of a hand-built multipart body: (name, file name, content type, extra headers, bytes).
pub type PartSpec<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [(&'a str, &'a str)], Vec<u8>);

pub fn multipart(parts: &[PartSpec<'_>]) -> (String, Vec<u8>) {
    let boundary = "ember-test-boundary-7d3f";
    let mut body = Vec::new();
    for (name, file_name, content_type, headers, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{name}\"");
        if let Some(file_name) = file_name {
            disposition.push_str(&format!("; filename=\"{file_name}\""));
        }
        body.extend_from_slice(format!("{disposition}\r\n").as_bytes());
        if let Some(content_type) = content_type {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        for (key, value) in *headers {
            body.extend_from_slice(format!("{key}: {value}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A multipart upload of `file` with the given keys.
pub async fn upload_file(
    ember: &Ember,
    action: &str,
    name: &str,
    file: (&str, &str, bool, Vec<u8>),
    keys: (&[&str], &[&str], &[&str]),
) -> (u16, Value) {
    let (file_name, content_type, gzipped, bytes) = file;
    let mut parts: Vec<PartSpec<'_>> = vec![
        ("action", None, None, &[], action.as_bytes().to_vec()),
        ("name", None, None, &[], name.as_bytes().to_vec()),
        ("description", None, None, &[], b"".to_vec()),
        ("split_keys[]", None, None, &[], b"".to_vec()),
    ];
    for (field, group) in [("input_keys[]", keys.0), ("output_keys[]", keys.1), ("metadata_keys[]", keys.2)] {
        parts.extend(group.iter().map(|k| (field, None, None, &[][..], k.as_bytes().to_vec())));
    }
    let encoding: &[(&str, &str)] = if gzipped { &[("Content-Encoding", "gzip")] } else { &[] };
    let bytes = if gzipped { gzip(&bytes) } else { bytes };
    parts.push(("file", Some(file_name), Some(content_type), encoding, bytes));
    let (content_type, body) = multipart(&parts);
    let response = ember
        .client
        .post(ember.url("/v1/datasets/upload?sync=true"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub async fn post_json(ember: &Ember, path: &str, body: &Value) -> (u16, Value) {
    let response = ember.client.post(ember.url(path)).json(body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get_text(ember: &Ember, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let response = ember.client.get(ember.url(path)).send().await.unwrap();
    (response.status().as_u16(), response.headers().clone(), response.text().await.unwrap())
}

fn inputs(examples: &Value) -> Vec<Value> {
    examples["data"]["examples"].as_array().unwrap().iter().map(|e| e["input"].clone()).collect()
}

async fn uploads_versions_and_exports(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;

    // JSON upload, as the Phoenix client sends it.
    let body = json!({"action": "create", "name": "qa", "description": "questions",
        "inputs": [{"q": "2+2"}, {"q": "capital of France"}], "outputs": [{"a": 4}, {"a": "Paris"}],
        "metadata": [{"k": 1}, {"k": 2}]});
    let (status, created) = post_json(&ember, "/v1/datasets/upload?sync=true", &body).await;
    assert_eq!(status, 200, "{created}");
    let dataset_id = created["data"]["dataset_id"].as_str().unwrap().to_owned();
    let v1 = created["data"]["version_id"].as_str().unwrap().to_owned();
    assert_eq!(created["data"]["num_created_examples"], 2);
    let (status, again) = post_json(&ember, "/v1/datasets/upload?sync=true", &body).await;
    assert_eq!(status, 409, "{again}");

    // Append a gzip CSV (the client's DataFrame path): a new version; v1 reads back unchanged.
    let csv = b"q,a,tag\nwho wrote Hamlet,Shakespeare,lit\n\"a, comma\",yes,x\n".to_vec();
    let (status, appended) =
        upload_file(&ember, "append", "qa", ("dataframe.csv", "text/csv", true, csv), (&["q"], &["a"], &["tag"])).await;
    assert_eq!(status, 200, "{appended}");
    let v2 = appended["data"]["version_id"].as_str().unwrap().to_owned();
    assert_ne!(v1, v2);
    let (_, old) = ember.get_json(&format!("/v1/datasets/{dataset_id}/examples?version_id={v1}")).await;
    assert_eq!(inputs(&old), vec![json!({"q": "2+2"}), json!({"q": "capital of France"})]);
    assert_eq!(old["data"]["version_id"], v1);
    let (_, new) = ember.get_json(&format!("/v1/datasets/{dataset_id}/examples")).await;
    assert_eq!(new["data"]["version_id"], v2);
    let examples = new["data"]["examples"].as_array().unwrap();
    assert_eq!(examples.len(), 4);
    assert_eq!(examples[3]["input"], json!({"q": "a, comma"}));
    assert_eq!(examples[3]["metadata"], json!({"tag": "x"}));
    assert_eq!(examples[0]["id"], examples[0]["node_id"]);
    assert!(examples[0]["updated_at"].as_str().unwrap().ends_with("+00:00"));

    // Dataset record, listing by name, versions newest first with paging.
    let (_, one) = ember.get_json(&format!("/v1/datasets/{dataset_id}")).await;
    assert_eq!(one["data"]["example_count"], 4);
    assert_eq!(one["data"]["description"], "questions");
    let (_, listed) = ember.get_json("/v1/datasets?name=qa").await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    let (_, versions) = ember.get_json(&format!("/v1/datasets/{dataset_id}/versions?limit=1")).await;
    assert_eq!(versions["data"][0]["version_id"], v2);
    let cursor = versions["next_cursor"].as_str().unwrap();
    let (_, rest) = ember.get_json(&format!("/v1/datasets/{dataset_id}/versions?limit=1&cursor={cursor}")).await;
    assert_eq!(rest["data"][0]["version_id"], v1);
    assert!(rest["next_cursor"].is_null());

    // Plain CSV and JSONL uploads create datasets too.
    let (status, plain) = upload_file(
        &ember,
        "create",
        "plain",
        ("data.csv", "text/csv", false, b"x,y\n1,2\n".to_vec()),
        (&["x"], &["y"], &[]),
    )
    .await;
    assert_eq!(status, 200, "{plain}");
    let jsonl = b"{\"x\": 1, \"y\": [1, 2]}\n{\"x\": {\"deep\": true}, \"y\": null}\n".to_vec();
    let (status, lines) = upload_file(
        &ember,
        "create",
        "lines",
        ("data.jsonl", "application/jsonl", false, jsonl),
        (&["x"], &["y"], &[]),
    )
    .await;
    assert_eq!(status, 200, "{lines}");
    let lines_id = lines["data"]["dataset_id"].as_str().unwrap();
    let (_, got) = ember.get_json(&format!("/v1/datasets/{lines_id}/examples")).await;
    assert_eq!(inputs(&got), vec![json!({"x": 1}), json!({"x": {"deep": true}})]);

    // Exports round-trip: JSONL back through the upload gives the same examples.
    let (status, headers, jsonl) = get_text(&ember, &format!("/v1/datasets/{dataset_id}/jsonl?version_id={v1}")).await;
    assert_eq!(status, 200);
    assert!(headers["content-disposition"].to_str().unwrap().contains("qa.jsonl"));
    assert_eq!(jsonl.lines().count(), 2);
    let (status, copy) = upload_file(
        &ember,
        "create",
        "qa-copy",
        ("qa.jsonl", "text/plain", false, jsonl.into_bytes()),
        (&[], &[], &[]),
    )
    .await;
    assert_eq!(status, 200, "{copy}");
    let (_, copied) =
        ember.get_json(&format!("/v1/datasets/{}/examples", copy["data"]["dataset_id"].as_str().unwrap())).await;
    let strip = |v: &Value| -> Vec<Value> {
        v["data"]["examples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| json!([e["input"], e["output"], e["metadata"]]))
            .collect()
    };
    assert_eq!(strip(&copied), strip(&old));
    let (status, headers, csv) = get_text(&ember, &format!("/v1/datasets/{dataset_id}/csv")).await;
    assert_eq!(status, 200);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header[0], "example_id");
    assert!(header.contains(&"input_q".to_owned()) && header.contains(&"output_a".to_owned()));
    assert!(header.contains(&"metadata_tag".to_owned()));
    assert_eq!(reader.records().count(), 4);

    // Declarative update: the new version holds exactly what was sent.
    let update = json!({"action": "update", "name": "qa", "inputs": [{"q": "2+2"}, {"q": "new"}],
        "outputs": [{"a": 4}, {"a": "n"}], "metadata": [{"k": 1}, {}]});
    let (status, updated) = post_json(&ember, "/v1/datasets/upload?sync=true", &update).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["data"]["num_created_examples"], 1);
    assert_eq!(updated["data"]["num_deleted_examples"], 3);
    let (_, after) = ember.get_json(&format!("/v1/datasets/{dataset_id}/examples")).await;
    assert_eq!(inputs(&after), vec![json!({"q": "2+2"}), json!({"q": "new"})]);
    assert_eq!(after["data"]["examples"][0]["id"], new["data"]["examples"][0]["id"], "kept examples keep their id");

    // Unknown ids are 404s; delete removes the dataset.
    let missing = ember::ids::global_id("Dataset", 999_999);
    assert_eq!(ember.get_json(&format!("/v1/datasets/{missing}")).await.0, 404);
    assert_eq!(ember.get_json(&format!("/v1/datasets/{missing}/examples")).await.0, 404);
    let bad_version = ember::ids::global_id("DatasetVersion", 999_999);
    assert_eq!(ember.get_json(&format!("/v1/datasets/{dataset_id}/examples?version_id={bad_version}")).await.0, 404);
    let response = ember.client.delete(ember.url(&format!("/v1/datasets/{dataset_id}"))).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(ember.get_json(&format!("/v1/datasets/{dataset_id}")).await.0, 404);
    let response = ember.client.delete(ember.url(&format!("/v1/datasets/{dataset_id}"))).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
    db.cleanup().await;
}

async fn bad_uploads_write_nothing(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start_with(&db, &[("EMBER_MAX_BODY_BYTES", "65536")]).await;
    let keys: (&[&str], &[&str], &[&str]) = (&["q"], &["a"], &[]);
    let (status, body) =
        upload_file(&ember, "create", "bad", ("d.csv", "text/csv", false, b"q,a\nx,1\ny\nz,3\n".to_vec()), keys).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("line 3"), "{body}");
    let (status, body) = upload_file(
        &ember,
        "create",
        "bad",
        ("d.jsonl", "application/jsonl", true, b"{\"q\":1,\"a\":2}\n{nope\n".to_vec()),
        keys,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("line 2"), "{body}");
    let (status, body) =
        upload_file(&ember, "create", "bad", ("d.csv", "text/csv", false, b"q,answer\nx,1\n".to_vec()), keys).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains('a'), "{body}");
    let (status, body) =
        post_json(&ember, "/v1/datasets/upload", &json!({"action": "nope", "name": "bad", "inputs": [{}]})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("Invalid dataset action"));

    // Over the body limit: multipart and JSON both give 413; a gzip bomb too.
    let big = format!("q,a\n{}", "x,1\n".repeat(40_000)).into_bytes();
    let (status, body) = upload_file(&ember, "create", "bad", ("d.csv", "text/csv", false, big), keys).await;
    assert_eq!(status, 413, "{body}");
    let huge = json!({"name": "bad", "inputs": vec![json!({"q": "x".repeat(100)}); 1000]});
    let (status, _) = post_json(&ember, "/v1/datasets/upload", &huge).await;
    assert_eq!(status, 413);
    let bomb = format!("q,a\n{}", "x,1\n".repeat(100_000)).into_bytes();
    let (status, body) = upload_file(&ember, "create", "bad", ("d.csv", "text/csv", true, bomb), keys).await;
    assert_eq!(status, 413, "{body}");

    // The client's pool holds the connections of the refused bodies: the server told it not to
    // reuse them, so this request does not land on a closing one.
    let listed: Value = ember.client.get(ember.url("/v1/datasets")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["data"], json!([]), "no failed upload left a dataset behind");
    db.cleanup().await;
}

fn text(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

async fn examples_from_spans(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;
    let span = |id: u8, attributes: Vec<KeyValue>| Span {
        trace_id: vec![7; 16],
        span_id: vec![id; 8],
        name: "call".into(),
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_001_000_000_000,
        attributes,
        ..Span::default()
    };
    let llm = span(
        1,
        vec![
            text("openinference.span.kind", "LLM"),
            text("llm.model_name", "gpt-4o"),
            text("input.value", r#"{"question": "why?"}"#),
            text("input.mime_type", "application/json"),
            text("output.value", "because"),
        ],
    );
    let chain = span(2, vec![text("openinference.span.kind", "CHAIN"), text("input.value", "plain text")]);
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![text("openinference.project.name", "app")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans { spans: vec![llm, chain], ..Default::default() }],
            ..Default::default()
        }],
    };
    let (status, _, _) = post_protobuf(&ember, request.encode_to_vec(), &[]).await;
    assert_eq!(status, 200);
    ember.wait_for_spans("app", 2).await;
    let (_, created) =
        post_json(&ember, "/v1/datasets/upload?sync=true", &json!({"name": "from-spans", "inputs": [{"seed": 1}]}))
            .await;
    let id = created["data"]["dataset_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/datasets/{id}/examples/from_spans");
    let llm_id = "0101010101010101";
    let chain_id = "0202020202020202";
    let (status, body) = post_json(&ember, &path, &json!({"span_ids": [llm_id, "00000000000000ff"]})).await;
    assert_eq!(status, 404);
    assert!(body["error"]["message"].as_str().unwrap().contains("00000000000000ff"), "{body}");
    let (status, body) = post_json(&ember, &path, &json!({"span_ids": [llm_id], "project": "other"})).await;
    assert_eq!(status, 404, "{body}");
    let (_, versions) = ember.get_json(&format!("/v1/datasets/{id}/versions")).await;
    assert_eq!(versions["data"].as_array().unwrap().len(), 1, "nothing was written");
    let (status, body) = post_json(&ember, &path, &json!({"span_ids": [llm_id, chain_id], "project": "app"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["num_created_examples"], 2);
    let (_, examples) = ember.get_json(&format!("/v1/datasets/{id}/examples")).await;
    let examples = examples["data"]["examples"].as_array().unwrap();
    assert_eq!(examples.len(), 3);
    assert_eq!(examples[1]["input"], json!({"question": "why?"}));
    assert_eq!(examples[1]["output"], json!({"output": "because"}));
    assert_eq!(examples[1]["metadata"]["span_kind"], "LLM");
    assert_eq!(examples[1]["metadata"]["model_name"], "gpt-4o");
    assert_eq!(examples[1]["metadata"]["trace_id"], "07".repeat(16));
    assert_eq!(examples[1]["source"]["span_id"], llm_id);
    assert!(examples[1]["source"]["span_node_id"].is_string());
    assert_eq!(examples[2]["input"], json!({"input": "plain text"}));
    assert_eq!(examples[2]["output"], json!({}));

    // A new dataset straight from spans (the UI's "create from selected spans").
    let create = "/v1/datasets/from_spans";
    let (status, _) =
        post_json(&ember, create, &json!({"name": "fresh", "span_ids": [chain_id, "00000000000000ff"]})).await;
    assert_eq!(status, 404);
    let (status, _) = post_json(&ember, create, &json!({"name": "from-spans", "span_ids": [chain_id]})).await;
    assert_eq!(status, 409, "a taken name");
    let (status, _) = post_json(&ember, create, &json!({"name": "  ", "span_ids": [chain_id]})).await;
    assert_eq!(status, 422);
    let (_, listed) = ember.get_json("/v1/datasets").await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1, "refusals wrote nothing");
    let (status, body) =
        post_json(&ember, create, &json!({"name": "fresh", "description": "picked", "span_ids": [chain_id, llm_id]}))
            .await;
    assert_eq!(status, 200, "{body}");
    let fresh = body["data"]["dataset_id"].as_str().unwrap().to_owned();
    let (_, examples) = ember.get_json(&format!("/v1/datasets/{fresh}/examples")).await;
    let examples = examples["data"]["examples"].as_array().unwrap();
    let spans: Vec<&str> = examples.iter().map(|e| e["source"]["span_id"].as_str().unwrap()).collect();
    assert_eq!(spans, [chain_id, llm_id]);
    let (_, dataset) = ember.get_json(&format!("/v1/datasets/{fresh}")).await;
    assert_eq!(dataset["data"]["description"], "picked");
    db.cleanup().await;
}

/// Uploads larger than one insert batch keep their order; a declarative update matches content
/// whatever its key order, each existing duplicate at most once.
async fn large_uploads_and_updates(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;
    let n = 1203;
    let mut sent: Vec<Value> = (0..n).map(|i| json!({"i": i, "b": 1, "a": 2})).collect();
    sent.extend([json!({"dup": 1}), json!({"dup": 1})]);
    let body = json!({"action": "create", "name": "big", "inputs": sent, "outputs": sent});
    let (status, created) = post_json(&ember, "/v1/datasets/upload?sync=true", &body).await;
    assert_eq!(status, 200, "{created}");
    let dataset_id = created["data"]["dataset_id"].as_str().unwrap().to_owned();
    let (_, before) = ember.get_json(&format!("/v1/datasets/{dataset_id}/examples")).await;
    assert_eq!(inputs(&before), sent, "examples read back in upload order");
    let outputs: Vec<Value> =
        before["data"]["examples"].as_array().unwrap().iter().map(|e| e["output"].clone()).collect();
    assert_eq!(outputs, sent, "each example's revision is its own");

    // Same content, keys and examples reordered, one duplicate and one example dropped.
    let mut again: Vec<Value> = (1..n).rev().map(|i| json!({"a": 2, "i": i, "b": 1})).collect();
    again.push(json!({"dup": 1}));
    let update = json!({"action": "update", "name": "big", "inputs": again, "outputs": again});
    let (status, updated) = post_json(&ember, "/v1/datasets/upload?sync=true", &update).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["data"]["num_created_examples"], 0);
    assert_eq!(updated["data"]["num_deleted_examples"], 2);
    let (_, after) = ember.get_json(&format!("/v1/datasets/{dataset_id}/examples")).await;
    let ids = |v: &Value| -> Vec<Value> {
        v["data"]["examples"].as_array().unwrap().iter().map(|e| e["id"].clone()).collect()
    };
    let mut expected = ids(&before)[1..n].to_vec();
    expected.push(ids(&before)[n].clone());
    assert_eq!(ids(&after), expected, "the first example and the later duplicate are deleted");

    // Re-sending it changes nothing and makes no version.
    let (_, unchanged) = post_json(&ember, "/v1/datasets/upload?sync=true", &update).await;
    assert_eq!(unchanged["data"]["version_id"], updated["data"]["version_id"]);
    assert_eq!(unchanged["data"]["num_created_examples"], 0);
    db.cleanup().await;
}

on_both_backends!(
    uploads_versions_and_exports,
    bad_uploads_write_nothing,
    examples_from_spans,
    large_uploads_and_updates
);
