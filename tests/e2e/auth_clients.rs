//! Clients nobody here wrote, against a server with authentication on: Phoenix's Python client
//! and `arize-phoenix-otel` (`tests/phoenix_client/auth.py`), and the official OpenTelemetry
//! Rust exporters with an `authorization` header or gRPC metadata. With a key everything is
//! stored; without one (or with a wrong one) the answer is 401 / UNAUTHENTICATED and nothing
//! is stored. And no credential appears in clear in the database files or a debug log.

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry::trace::{Tracer, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_otlp::{SpanExporter, WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use reqwest::Method;
use serde_json::Value;

use crate::auth::{admin_key, call, create_key, login, start_with_auth, user_key, ADMIN_PASSWORD, USER_PASSWORD};
use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;
use crate::phoenix_client::{python, repo};

/// Polls a project's spans with `key` until there are `count`, or fails after 20 s.
pub async fn wait_for_spans(ember: &Ember, key: &str, project: &str, count: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = call(ember, Method::GET, &format!("/v1/projects/{project}/spans"), Some(key), None).await;
        if status == 200 && body["data"].as_array().map_or(0, Vec::len) >= count {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{project} never reached {count} spans: {status} {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn assert_absent(ember: &Ember, key: &str, project: &str) {
    let (status, body) = call(ember, Method::GET, &format!("/v1/projects/{project}"), Some(key), None).await;
    assert_eq!(status, 404, "{project} must not exist: {body}");
}

/// Sends one span through the official Rust exporter, over gRPC or HTTP, with `key` (or none).
async fn export_with_rust_sdk(ember: &Ember, grpc: bool, project: &str, key: Option<&str>) {
    let exporter = if grpc {
        let mut metadata = tonic::metadata::MetadataMap::new();
        if let Some(key) = key {
            metadata.insert("authorization", format!("Bearer {key}").parse().expect("metadata"));
        }
        SpanExporter::builder()
            .with_tonic()
            .with_endpoint(format!("http://{}", ember.grpc))
            .with_metadata(metadata)
            .build()
    } else {
        let headers: HashMap<String, String> =
            key.map(|key| HashMap::from([("authorization".to_owned(), format!("Bearer {key}"))])).unwrap_or_default();
        SpanExporter::builder().with_http().with_endpoint(ember.url("/v1/traces")).with_headers(headers).build()
    }
    .expect("exporter");
    export_one_span(exporter, project, "sdk-span").await;
}

/// Sends one span named `name` to `project` through the official SDK with `exporter`.
pub async fn export_one_span(exporter: SpanExporter, project: &str, name: &'static str) {
    let resource = Resource::builder_empty()
        .with_attribute(KeyValue::new("openinference.project.name", project.to_owned()))
        .build();
    let provider = SdkTracerProvider::builder().with_simple_exporter(exporter).with_resource(resource).build();
    tokio::task::spawn_blocking(move || {
        provider.tracer("ember-e2e").in_span(name, |_| {});
        let _ = provider.force_flush();
        let _ = provider.shutdown();
    })
    .await
    .expect("export task");
}

async fn official_clients_with_api_keys(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = start_with_auth(&db, &[]).await;
    let admin = admin_key(&ember).await;
    let member = user_key(&ember, &admin, "milo", "MEMBER", "write").await;
    let ingest = create_key(&ember, &admin, "/v1/system/api_keys", "ingest").await;

    for grpc in [false, true] {
        let transport = if grpc { "grpc" } else { "http" };
        export_with_rust_sdk(&ember, grpc, &format!("sdk-{transport}"), Some(&ingest)).await;
        export_with_rust_sdk(&ember, grpc, &format!("sdk-{transport}-denied"), None).await;
        export_with_rust_sdk(&ember, grpc, &format!("sdk-{transport}-wrong"), Some("ember_sk_not-a-key")).await;
        wait_for_spans(&ember, &admin, &format!("sdk-{transport}"), 1).await;
    }

    if let Some(python) = python() {
        let output = tokio::process::Command::new(&python)
            .arg(repo().join("tests/phoenix_client/auth.py"))
            .args(["--base-url", &ember.url(""), "--grpc", &ember.grpc.to_string(), "--key", &member])
            .env("PYTHONUNBUFFERED", "1")
            .kill_on_drop(true)
            .output();
        let output =
            tokio::time::timeout(Duration::from_secs(180), output).await.expect("auth.py in time").expect("run");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "auth.py failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
        let results: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("results line");
        println!("auth.py: {results}");
        assert_eq!(results["client_with_key"], 200, "{results}");
        assert_eq!(results["client_env_key"], 200, "{results}");
        assert_eq!(results["client_without_key"], 401, "{results}");
        assert_eq!(results["client_wrong_key"], 401, "{results}");
        for project in ["auth-otel-http", "auth-otel-grpc", "auth-otel-env"] {
            wait_for_spans(&ember, &admin, project, 1).await;
        }
        for project in ["auth-denied-http", "auth-denied-grpc", "auth-wrong-grpc"] {
            assert_absent(&ember, &admin, project).await;
        }
    }
    for project in ["sdk-http-denied", "sdk-http-wrong", "sdk-grpc-denied", "sdk-grpc-wrong"] {
        assert_absent(&ember, &admin, project).await;
    }
    // The ingest key sends and reads nothing.
    assert_eq!(call(&ember, Method::GET, "/v1/projects", Some(&ingest), None).await.0, 403);
    db.cleanup().await;
}

on_both_backends!(official_clients_with_api_keys);

/// `ember dataset` / `ember experiment` send `EMBER_API_KEY` (or Phoenix's `PHOENIX_API_KEY`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cli_sends_an_api_key() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else { return };
    let ember = start_with_auth(&db, &[]).await;
    let admin = admin_key(&ember).await;
    let key = create_key(&ember, &admin, "/v1/system/api_keys", "read").await;
    let list = |env: &[(&str, &str)]| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_ember"));
        command
            .args(["dataset", "list", "--json", "--server", &ember.url("")])
            .env_remove("EMBER_API_KEY")
            .env_remove("PHOENIX_API_KEY")
            .kill_on_drop(true);
        for (name, value) in env {
            command.env(name, value);
        }
        command.output()
    };
    for variable in ["EMBER_API_KEY", "PHOENIX_API_KEY"] {
        let output = list(&[(variable, key.as_str())]).await.expect("run ember");
        assert!(output.status.success(), "{variable}: {}", String::from_utf8_lossy(&output.stderr));
    }
    let output = list(&[]).await.expect("run ember");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("401"), "{stderr}");
    db.cleanup().await;
}

/// `EMBER_PROTECT_METRICS` puts `/metrics` behind the `read` permission.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_can_be_protected() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else { return };
    let ember = start_with_auth(&db, &[("EMBER_PROTECT_METRICS", "true")]).await;
    let admin = admin_key(&ember).await;
    let reader = create_key(&ember, &admin, "/v1/system/api_keys", "read").await;
    assert_eq!(call(&ember, Method::GET, "/metrics", None, None).await.0, 401);
    let response = ember.client.get(ember.url("/metrics")).bearer_auth(&reader).send().await.expect("metrics");
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.text().await.unwrap_or_default().contains("ember_"), "Prometheus text");
    assert_eq!(call(&ember, Method::GET, "/healthz", None, None).await.0, 200, "health stays open");
    db.cleanup().await;
}

/// Every credential a session handles, then a search of the database files and the debug log.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_credential_is_stored_or_logged_in_clear() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else { return };
    let env = [("EMBER_ENABLE_AUTH", "true"), ("EMBER_ADMIN_INITIAL_PASSWORD", ADMIN_PASSWORD)];
    let (ember, log) = Ember::start_capturing_logs(&db, &env).await;
    let session = login(&ember, "admin", ADMIN_PASSWORD).await;
    let admin = admin_key(&ember).await;
    let member = user_key(&ember, &admin, "nora", "MEMBER", "write").await;
    export_with_rust_sdk(&ember, true, "secret-scan", Some(&member)).await;
    export_with_rust_sdk(&ember, false, "secret-scan", Some(&member)).await;
    wait_for_spans(&ember, &admin, "secret-scan", 2).await;
    let response = ember
        .client
        .post(ember.url("/auth/refresh"))
        .header(reqwest::header::COOKIE, session.header())
        .send()
        .await
        .expect("refresh");
    assert_eq!(response.status().as_u16(), 204);

    let secrets = [ADMIN_PASSWORD, USER_PASSWORD, &admin, &member, &session.access, &session.refresh];
    let mut haystacks = vec![(log.display().to_string(), std::fs::read(&log).expect("log"))];
    for entry in std::fs::read_dir(db.dir.path()).expect("working dir").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("ember.db") {
            haystacks.push((name, std::fs::read(entry.path()).expect("database file")));
        }
    }
    assert!(haystacks.len() >= 2, "the log and the database were read");
    let log_text = String::from_utf8_lossy(&haystacks[0].1).into_owned();
    assert!(log_text.contains("DEBUG"), "the log is at debug level");
    for (name, bytes) in &haystacks {
        for secret in secrets {
            let found = bytes.windows(secret.len()).any(|window| window == secret.as_bytes());
            assert!(!found, "{name} holds a credential in clear ({}…)", &secret[..8]);
        }
    }
    db.cleanup().await;
}
