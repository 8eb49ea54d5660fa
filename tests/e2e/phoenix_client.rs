//! Phoenix's own Python client (`arize-phoenix-client`, unchanged) against Ember: span dataframes,
//! span annotations, datasets and experiments, driven by `tests/phoenix_client/compat.py` in the
//! venv that `tests/phoenix_client/setup.sh` makes. The interpreter is `$EMBER_PHOENIX_PYTHON`,
//! else `target/phoenix-venv/bin/python`; when neither exists the test is skipped loudly, except
//! under CI (`$CI` set), where it fails.

use std::path::{Path, PathBuf};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::json;

use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;
use crate::support::post_protobuf;

const PROJECT: &str = "phx-compat";
const SECOND: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * SECOND;

fn text(key: &str, value: &str) -> KeyValue {
    let value = Some(AnyValue { value: Some(any_value::Value::StringValue(value.into())) });
    KeyValue { key: key.into(), value, ..Default::default() }
}

fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(any_value::Value::IntValue(value)) }),
        ..Default::default()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Trace 1: CHAIN root "agent" with an LLM child "llm-call"; trace 2 (10 s later): a CHAIN root.
/// Returns the request and the span ids as compat.py expects them.
fn spans_request() -> (ExportTraceServiceRequest, serde_json::Value) {
    let (root1, llm, root2) = ([0xa1u8; 8], [0xa2u8; 8], [0xb1u8; 8]);
    let span = |trace: u8, id: [u8; 8], parent: Option<[u8; 8]>, name: &str, start: u64, attributes| Span {
        trace_id: vec![trace; 16],
        span_id: id.to_vec(),
        parent_span_id: parent.map(|p| p.to_vec()).unwrap_or_default(),
        name: name.into(),
        start_time_unix_nano: start,
        end_time_unix_nano: start + SECOND / 2,
        attributes,
        ..Span::default()
    };
    let spans = vec![
        span(
            0xa0,
            root1,
            None,
            "agent",
            T0,
            vec![
                text("openinference.span.kind", "CHAIN"),
                text("input.value", "What is the capital of France?"),
                text("output.value", "Paris"),
            ],
        ),
        span(
            0xa0,
            llm,
            Some(root1),
            "llm-call",
            T0 + SECOND / 10,
            vec![
                text("openinference.span.kind", "LLM"),
                text("llm.model_name", "gpt-4o-mini"),
                int("llm.token_count.prompt", 12),
                int("llm.token_count.completion", 5),
                int("llm.token_count.total", 17),
                text("input.value", "Answer briefly: What is the capital of France?"),
                text("output.value", "Paris"),
            ],
        ),
        span(
            0xb0,
            root2,
            None,
            "agent",
            T0 + 10 * SECOND,
            vec![
                text("openinference.span.kind", "CHAIN"),
                text("input.value", "What is the capital of Japan?"),
                text("output.value", "Tokyo"),
            ],
        ),
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
    (request, json!({ "root1": hex(&root1), "llm": hex(&llm), "root2": hex(&root2) }))
}

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The venv interpreter, or `None` (after saying so) when the test must be skipped.
pub(crate) fn python() -> Option<PathBuf> {
    let path = std::env::var_os("EMBER_PHOENIX_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/phoenix-venv/bin/python"));
    if path.exists() {
        return Some(path);
    }
    let message = format!(
        "phoenix-client interpreter {} missing: run tests/phoenix_client/setup.sh (or set EMBER_PHOENIX_PYTHON)",
        path.display()
    );
    assert!(std::env::var_os("CI").is_none(), "{message}");
    eprintln!("!!! SKIPPING phoenix_client compatibility test: {message}");
    None
}

async fn phoenix_client_flows_work(backend: Backend) {
    let Some(python) = python() else { return };
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;
    let (request, ids) = spans_request();
    let (status, _, body) = post_protobuf(&ember, request.encode_to_vec(), &[]).await;
    assert_eq!(status, 200, "OTLP export refused: {body:?}");
    ember.wait_for_spans(PROJECT, 3).await;

    let script = repo().join("tests/phoenix_client/compat.py");
    let mut command = tokio::process::Command::new(&python);
    command
        .arg(&script)
        .args(["--base-url", &ember.url(""), "--project", PROJECT, "--spans", &ids.to_string()])
        .env("PYTHONUNBUFFERED", "1")
        .env_remove("PHOENIX_COLLECTOR_ENDPOINT")
        .env_remove("PHOENIX_API_KEY")
        .env_remove("PHOENIX_CLIENT_HEADERS")
        .kill_on_drop(true);
    if let Ok(flows) = std::env::var("EMBER_PHOENIX_FLOWS") {
        command.args(["--flows", &flows]);
    }
    let output = tokio::time::timeout(Duration::from_secs(300), command.output())
        .await
        .expect("compat.py finishes within 5 minutes")
        .expect("run compat.py");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "phoenix-client compatibility failed on {backend:?} ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    println!("{stdout}");
    db.cleanup().await;
}

on_both_backends!(phoenix_client_flows_work);
