//! The plugin registry end to end: uploads (raw and multipart) of real components, versions,
//! grants, enable/disable, delete, refusals, and the registry surviving a restart.

use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;

/// A component built by the test setup (`examples/build.sh`, `tests/plugins/build.sh`).
pub fn component(path: &str) -> Vec<u8> {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    std::fs::read(&full).unwrap_or_else(|err| panic!("{} missing ({err}): run `bash tests/run.sh`", full.display()))
}

/// Uploads a raw component as `name@version`; returns status and body.
pub async fn upload(ember: &Ember, wasm: Vec<u8>, name: &str, version: &str) -> (u16, Value) {
    let response = ember
        .client
        .post(ember.url(&format!("/v1/plugins?name={name}&version={version}")))
        .header("content-type", "application/wasm")
        .body(wasm)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn send(ember: &Ember, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = ember.client.request(method, ember.url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn registry_lifecycle(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let python = component("examples/dist/python_evaluator.wasm");
    let js = component("examples/dist/js_evaluator.wasm");
    let ember = Ember::start_with_plugins(&db, &[]).await;

    // Bundled plugins are registered with their descriptor's version.
    let (status, list) = ember.get_json("/v1/plugins").await;
    assert_eq!(status, 200);
    let bundled = list["data"].as_array().unwrap();
    let exact = bundled.iter().find(|p| p["name"] == "exact_match").expect("exact_match bundled");
    assert_eq!(exact["source"], "bundled");
    assert_eq!(exact["world"], "evaluator");
    assert_eq!(exact["sha256"].as_str().unwrap().len(), 64);

    // A custom evaluator from examples/, uploaded raw.
    let (status, body) = upload(&ember, python.clone(), "token-f1", "1.0.0").await;
    assert_eq!(status, 201, "{body}");
    let plugin = &body["data"];
    assert_eq!(plugin["name"], "token-f1");
    assert_eq!(plugin["version"], "1.0.0");
    assert_eq!(plugin["world"], "evaluator");
    assert_eq!(plugin["wit_version"], "0.1.0");
    assert_eq!(plugin["source"], "upload");
    assert_eq!(plugin["imports_wasi"], true);
    // Interpreted guests get the larger default limits.
    assert_eq!(plugin["limits"]["fuel"], 5_000_000_000u64);
    let sha = plugin["sha256"].as_str().unwrap().to_owned();

    // The same bytes again: nothing changes. Other bytes under the same version: refused.
    let (status, again) = upload(&ember, python.clone(), "token-f1", "1.0.0").await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["data"]["id"], plugin["id"]);
    let (status, refused) = upload(&ember, js.clone(), "token-f1", "1.0.0").await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("other bytes"), "{refused}");

    // A second version, by multipart, with a manifest asking for limits and a host, and the
    // host granted; a grant of something not asked for is refused.
    let manifest = json!({"name": "token-f1", "version": "2.0.0", "description": "JS keyword coverage",
        "limits": {"fuel": 2_000_000_000u64, "memory_mib": 128, "deadline_ms": 3000}, "hosts": ["api.example.com"]});
    let multipart = |grants: Value| {
        Form::new()
            .part("component", Part::bytes(js.clone()).file_name("js_evaluator.wasm"))
            .text("manifest", manifest.to_string())
            .text("grants", grants.to_string())
    };
    let response = ember
        .client
        .post(ember.url("/v1/plugins"))
        .multipart(multipart(json!({"hosts": ["evil.example.com"]})))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let response = ember
        .client
        .post(ember.url("/v1/plugins"))
        .multipart(multipart(json!({"hosts": ["api.example.com"]})))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let v2: Value = response.json().await.unwrap();
    assert_eq!(v2["data"]["limits"]["fuel"], 2_000_000_000u64);
    assert_eq!(v2["data"]["limits"]["memory_bytes"], 128u64 << 20);
    assert_eq!(v2["data"]["grants"]["hosts"], json!(["api.example.com"]));
    assert_eq!(v2["data"]["description"], "JS keyword coverage");

    // `name` resolves to the newest version; `name@version` to that one.
    let (status, newest) = ember.get_json("/v1/plugins/token-f1").await;
    assert_eq!(status, 200);
    assert_eq!(newest["data"]["version"], "2.0.0");
    assert_eq!(newest["data"]["versions"].as_array().unwrap().len(), 2);
    let (_, first) = ember.get_json("/v1/plugins/token-f1@1.0.0").await;
    assert_eq!(first["data"]["sha256"], sha.as_str());

    // The uploaded evaluator runs.
    let (status, scored) = send(
        &ember,
        reqwest::Method::POST,
        "/v1/plugins/token-f1@1.0.0/evaluate",
        Some(json!({"output": "red cat sat", "expected": "red cat sat down"})),
    )
    .await;
    assert_eq!(status, 200, "{scored}");
    let f1 = scored["data"]["scores"][0]["score"].as_f64().unwrap();
    assert!((f1 - 6.0 / 7.0).abs() < 1e-9, "token F1 of 3 vs 4 shared tokens: {scored}");

    // Disable: the name now resolves to nothing enabled at 2.0.0, and evaluate refuses it.
    let (status, disabled) = send(&ember, reqwest::Method::POST, "/v1/plugins/token-f1@2.0.0/disable", None).await;
    assert_eq!(status, 200);
    assert_eq!(disabled["data"]["enabled"], false);
    let (status, _) = send(
        &ember,
        reqwest::Method::POST,
        "/v1/plugins/token-f1@2.0.0/evaluate",
        Some(json!({"output": "x", "expected": "x"})),
    )
    .await;
    assert_eq!(status, 404);
    let (status, patched) = send(
        &ember,
        reqwest::Method::PATCH,
        "/v1/plugins/token-f1@2.0.0",
        Some(json!({"enabled": true, "grants": {"llm": true}})),
    )
    .await;
    assert_eq!(status, 422, "llm was not requested: {patched}");
    let (status, patched) = send(
        &ember,
        reqwest::Method::PATCH,
        "/v1/plugins/token-f1@2.0.0",
        Some(json!({"enabled": true, "grants": {}})),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["data"]["enabled"], true);
    assert_eq!(patched["data"]["grants"]["hosts"], json!([]));

    // Refusals: not a component, a core module, no Ember world, bad names, unknown plugins.
    let (status, body) = upload(&ember, b"definitely not wasm".to_vec(), "junk", "1").await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("not an Ember plugin component"), "{body}");
    let core_module = b"\0asm\x01\0\0\0".to_vec();
    let (status, body) = upload(&ember, core_module, "core", "1").await;
    assert_eq!(status, 422, "{body}");
    // A valid, empty component: it implements no Ember world.
    let empty_component = b"\0asm\x0d\x00\x01\x00".to_vec();
    let (status, body) = upload(&ember, empty_component, "empty", "1").await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("implements no Ember world"), "{body}");
    // A component that cannot even be instantiated under the limits it would run with (an
    // 80 MiB static under the default 64 MiB) would fail every call: refused at upload.
    let (status, body) = upload(&ember, component("tests/plugins/dist/hostile_start.wasm"), "start", "1").await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("memory"), "{body}");
    // A bundled plugin's name is reserved.
    let (status, body) = upload(&ember, python.clone(), "exact_match", "9.9.9").await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = upload(&ember, python.clone(), "Bad Name", "1").await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = ember.get_json("/v1/plugins/nope@1.0.0").await;
    assert_eq!(status, 404);

    // Delete one version; the other stays.
    let (status, _) = send(&ember, reqwest::Method::DELETE, "/v1/plugins/token-f1@2.0.0", None).await;
    assert_eq!(status, 204);
    let (status, _) = ember.get_json("/v1/plugins/token-f1@2.0.0").await;
    assert_eq!(status, 404);

    // The registry survives a restart: the uploaded version is loaded from the database.
    drop(ember);
    let ember = Ember::start_with_plugins(&db, &[]).await;
    let (status, body) = send(
        &ember,
        reqwest::Method::POST,
        "/v1/plugins/token-f1/evaluate",
        Some(json!({"output": "x y", "expected": "x y"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["scores"][0]["score"], 1.0);
    let (_, list) = ember.get_json("/v1/plugins").await;
    let uploaded: Vec<&Value> = list["data"].as_array().unwrap().iter().filter(|p| p["name"] == "token-f1").collect();
    assert_eq!(uploaded.len(), 1);
    assert_eq!(uploaded[0]["loaded"], true);
    db.cleanup().await;
}

async fn oversized_upload_is_refused(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start_with_plugins(&db, &[("EMBER_MAX_PLUGIN_BYTES", "100000")]).await;
    // Twice the limit: small enough to be sent whole before the server answers.
    let mut big = component("examples/dist/python_evaluator.wasm");
    big.truncate(200_000);
    let (status, body) = upload(&ember, big, "big", "1").await;
    assert_eq!(status, 413, "{body}");
    // The server closes a connection whose body it refused unread: list on a new connection.
    let list: Value = reqwest::Client::new().get(ember.url("/v1/plugins")).send().await.unwrap().json().await.unwrap();
    assert!(list["data"].as_array().unwrap().iter().all(|p| p["name"] != "big"));
    db.cleanup().await;
}

on_both_backends!(registry_lifecycle, oversized_upload_is_refused);
