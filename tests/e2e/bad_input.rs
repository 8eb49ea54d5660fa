//! Bad input gets a clear error, the good spans of a request are kept, and the server goes on.

use std::io::Write;

use ember_workload::TraceGenerator;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use prost::Message;

use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;
use crate::support::{decode_reply, grpc_export, grpc_export_raw, post_protobuf};

const GARBAGE: &[u8] = &[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02];

/// A request of `traces` generated traces in which the name of one span is made invalid UTF-8.
fn request_with_one_bad_utf8_span(traces: usize, project: &str) -> (Vec<u8>, usize) {
    let mut request = TraceGenerator::new().request(traces, project);
    let spans = &mut request.resource_spans[0].scope_spans[0].spans;
    spans[1].name = "BADNAME!".into();
    let total = spans.len();
    let mut body = request.encode_to_vec();
    let at = body.windows(8).position(|w| w == b"BADNAME!").expect("marker");
    body[at + 7] = 0xFF;
    (body, total)
}

async fn malformed_requests_are_refused(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;
    let (status, _, body) = post_protobuf(&ember, GARBAGE.to_vec(), &[]).await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("malformed"), "message names the problem");

    let json = |body: &'static str| {
        ember.client.post(ember.url("/v1/traces")).header("content-type", "application/json").body(body).send()
    };
    let response = json("{\"resourceSpans\": [").await.expect("post");
    assert_eq!(response.status().as_u16(), 400);
    let message: serde_json::Value = response.json().await.expect("json error");
    assert!(message["message"].as_str().expect("message").contains("malformed OTLP JSON"));

    let response = ember
        .client
        .post(ember.url("/v1/traces"))
        .header("content-type", "text/plain")
        .body("hi")
        .send()
        .await
        .expect("post");
    assert_eq!(response.status().as_u16(), 415);
    let (status, _, _) = post_protobuf(&ember, GARBAGE.to_vec(), &[("content-encoding", "gzip")]).await;
    assert_eq!(status, 400, "corrupt gzip");
    let (status, _, _) = post_protobuf(&ember, GARBAGE.to_vec(), &[("content-encoding", "br")]).await;
    assert_eq!(status, 415);

    let err = grpc_export_raw(&ember, GARBAGE.to_vec()).await.expect_err("garbage over grpc");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().contains("malformed"));

    assert_eq!(ember.get_json("/healthz").await.0, 200, "server still serves");
    assert!(db.stored_span_ids().await.is_empty());
    db.cleanup().await;
}

async fn oversized_bodies_are_refused(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start_with(&db, &[("EMBER_MAX_BODY_BYTES", "100000")]).await;
    let big = TraceGenerator::new().request(40, "big").encode_to_vec();
    assert!(big.len() > 100_000);
    let (status, _, _) = post_protobuf(&ember, big.clone(), &[]).await;
    assert_eq!(status, 413);

    // A gzip bomb: small on the wire, past the limit once inflated.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&vec![0u8; 10 * 1024 * 1024]).expect("gzip");
    let bomb = encoder.finish().expect("gzip");
    assert!(bomb.len() < 100_000);
    let (status, _, _) = post_protobuf(&ember, bomb, &[("content-encoding", "gzip")]).await;
    assert_eq!(status, 413);

    let err = grpc_export_raw(&ember, big).await.expect_err("too large over grpc");
    assert!(matches!(err.code(), tonic::Code::OutOfRange | tonic::Code::ResourceExhausted), "{err:?}");

    // A JSON body over the limit is a 413 with Ember's JSON error on every REST route, and one
    // that does not parse a 422, whichever way the route reads its body.
    let huge = serde_json::json!({ "name": "p", "description": "x".repeat(100_000) });
    let routes = [
        (reqwest::Method::POST, "/v1/projects"),
        (reqwest::Method::POST, "/v1/prompts"),
        (reqwest::Method::POST, "/v1/spans"),
        (reqwest::Method::POST, "/v1/span_annotations"),
        (reqwest::Method::PATCH, "/v1/plugins/nope"),
        (reqwest::Method::POST, "/v1/plugins/exact_match/evaluate"),
        (reqwest::Method::PUT, "/v1/ingest_pipeline"),
    ];
    for (method, path) in routes {
        let response = ember.client.request(method.clone(), ember.url(path)).json(&huge).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 413, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "payload_too_large", "{path}: {body}");
        if method == reqwest::Method::PATCH {
            continue;
        }
        let response = ember.client.request(method, ember.url(path)).body("{nope").send().await.unwrap();
        assert_eq!(response.status().as_u16(), 422, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["error"]["message"].as_str().unwrap_or("").contains("invalid request body"), "{path}: {body}");
    }

    // A compressed body within the limit is accepted.
    let small = TraceGenerator::new().request(2, "big").encode_to_vec();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&small).expect("gzip");
    let (status, _, _) = post_protobuf(&ember, encoder.finish().expect("gzip"), &[("content-encoding", "gzip")]).await;
    assert_eq!(status, 200);
    ember.wait_for_spans("big", 8).await;
    db.cleanup().await;
}

async fn bad_spans_are_rejected_one_by_one(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;

    let (body, total) = request_with_one_bad_utf8_span(3, "partial-http");
    let (status, _, reply) = post_protobuf(&ember, body.clone(), &[]).await;
    assert_eq!(status, 200);
    let partial = decode_reply(&reply).partial_success.expect("partial success");
    assert_eq!(partial.rejected_spans, 1);
    assert!(partial.error_message.contains("not valid protobuf"), "{}", partial.error_message);
    ember.wait_for_spans("partial-http", total - 1).await;

    let (body, total) = request_with_one_bad_utf8_span(3, "partial-grpc");
    let reply = grpc_export_raw(&ember, body).await.expect("grpc partial");
    assert_eq!(reply.partial_success.expect("partial").rejected_spans, 1);
    ember.wait_for_spans("partial-grpc", total - 1).await;

    // Invalid ids: a short trace id, an all-zero span id, a 3-byte parent id.
    let mut request = TraceGenerator::new().request(2, "ids");
    let spans = &mut request.resource_spans[0].scope_spans[0].spans;
    spans[0].trace_id = vec![1, 2, 3];
    spans[1].span_id = vec![0; 8];
    spans[2].parent_span_id = vec![9; 3];
    let reply = grpc_export(&ember, &request).await.expect("grpc ids");
    let partial = reply.partial_success.expect("partial");
    assert_eq!(partial.rejected_spans, 3);
    assert!(partial.error_message.contains("invalid trace id"));
    ember.wait_for_spans("ids", 5).await;

    // Hostile but valid UTF-8: a 100,000-segment dotted key, NUL characters (which PostgreSQL
    // cannot store), a NUL in the project name, and token counts that would overflow sums.
    let mut request = TraceGenerator::new().request(1, "hostile\0name");
    let span = &mut request.resource_spans[0].scope_spans[0].spans[2];
    let attribute = |key: String, value: any_value::Value| KeyValue {
        key,
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    };
    span.attributes.push(attribute(vec!["a"; 100_000].join("."), any_value::Value::StringValue("deep".into())));
    span.attributes.push(attribute("nul\0key".into(), any_value::Value::StringValue("nul\0value".into())));
    span.attributes.push(attribute("metadata".into(), any_value::Value::StringValue(r#"{"x": "\u0000"}"#.into())));
    span.attributes.push(attribute("llm.token_count.prompt".into(), any_value::Value::IntValue(i64::MAX)));
    span.attributes.push(attribute("llm.token_count.completion".into(), any_value::Value::IntValue(i64::MAX)));
    let (status, _, reply) = post_protobuf(&ember, request.encode_to_vec(), &[]).await;
    assert_eq!(status, 200);
    assert!(decode_reply(&reply).partial_success.is_none());
    let project = "hostile\u{FFFD}name";
    let encoded: String = form_urlencoded::byte_serialize(project.as_bytes()).collect();
    let spans = ember.wait_for_spans(&encoded, 4).await;
    let llm = spans.iter().find(|s| s["span_kind"] == "LLM").expect("llm span");
    assert_eq!(llm["attributes"]["nul\u{FFFD}key"], "nul\u{FFFD}value");
    let (status, traces) = ember.get_json(&format!("/v1/projects/{encoded}/traces")).await;
    assert_eq!(status, 200, "token sums do not overflow: {traces}");
    assert!(traces["data"][0]["token_count_total"].as_i64().is_some_and(|n| n > 0));
    assert_eq!(ember.get_json("/healthz").await.0, 200);
    db.cleanup().await;
}

async fn unknown_ids_are_404_and_bad_parameters_422(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;
    for path in [
        "/v1/projects/nope",
        "/v1/projects/UHJvamVjdDo5OTk=",
        "/v1/projects/nope/spans",
        "/v1/projects/nope/traces",
        "/v1/projects/nope/sessions",
        "/v1/sessions/nope",
        "/v1/traces/0123456789abcdef0123456789abcdef",
        "/v1/no/such/route",
    ] {
        let (status, body) = ember.get_json(path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["error"]["code"], "not_found", "{path}: {body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    for path in ["/v1/spans/0123456789abcdef", "/v1/traces/nope", "/v1/projects/nope"] {
        let status = ember.client.delete(ember.url(path)).send().await.expect("delete").status().as_u16();
        assert_eq!(status, 404, "{path}");
    }
    let (status, _, _) = post_protobuf(&ember, TraceGenerator::new().request(1, "params").encode_to_vec(), &[]).await;
    assert_eq!(status, 200);
    ember.wait_for_spans("params", 4).await;
    for query in [
        "limit=0",
        "limit=5000",
        "sort=name",
        "order=up",
        "span_kind=BOGUS",
        "cursor=zzz",
        "start_time=yesterday",
        "attribute=novalue",
    ] {
        let (status, body) = ember.get_json(&format!("/v1/projects/params/spans?{query}")).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["error"]["code"], "invalid_parameter");
    }
    db.cleanup().await;
}

on_both_backends!(
    malformed_requests_are_refused,
    oversized_bodies_are_refused,
    bad_spans_are_rejected_one_by_one,
    unknown_ids_are_404_and_bad_parameters_422,
);
