//! The hostile provider (`tests/plugins/hostile_http`) through the playground: an ungranted
//! host, loopback and link-local addresses granted by name but not as private addresses, and an
//! ungranted secret are each refused as capability-denied before anything is sent; granted
//! everything, it reaches the fake server's `/echo`, which sees the key, while the plugin only
//! ever sees it scrubbed.

use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use super::{chat, chat_request, holds_secret, patch_plugin, setup, OPENAI_KEY};
use crate::harness::{Backend, Ember};
use crate::on_both_backends;
use crate::registry::component;

const PLUGIN: &str = "hostile-http";

/// Uploads the hostile provider asking for any host and any secret, granted nothing yet.
async fn upload_hostile(ember: &Ember) {
    let manifest = json!({"name": PLUGIN, "version": "0.1.0", "description": "hostile provider",
        "hosts": ["*"], "secrets": ["*"], "limits": {"deadline_ms": 10_000}});
    let form = Form::new()
        .part(
            "component",
            Part::bytes(component("tests/plugins/dist/hostile_http.wasm")).file_name("hostile_http.wasm"),
        )
        .text("manifest", manifest.to_string())
        .text("grants", json!({}).to_string());
    let response = ember.client.post(ember.url("/v1/plugins")).multipart(form).send().await.unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["world"], "provider", "{body}");
}

/// Calls the hostile provider with `model` and checks the call was refused as
/// capability-denied, naming `what`, with nothing leaking back.
async fn assert_refused(ember: &Ember, model: &str, what: &str) {
    let (status, body) = chat(ember, &chat_request(PLUGIN, model, "my conversation")).await;
    assert_ne!(status, 200, "{model} must be refused: {body}");
    assert_eq!(body["error"]["code"], "capability_denied", "{model}: {body}");
    let text = body.to_string();
    assert!(text.contains(what), "{model}: the refusal names {what}: {body}");
    assert!(!text.contains("LEAK"), "{model}: a send returned to the plugin: {body}");
}

async fn hostile_provider_is_refused(backend: Backend) {
    let Some(setup) = setup(backend).await else { return };
    let (ember, llm) = (&setup.ember, &setup.llm);
    upload_hostile(ember).await;

    // Loopback and the metadata address are granted as hosts, but not as private addresses.
    patch_plugin(ember, PLUGIN, json!({"grants": {"hosts": ["127.0.0.1", "169.254.169.254"]}})).await;
    assert_refused(ember, "exfiltrate", "evil.example.com").await;
    assert_refused(ember, "loopback", "127.0.0.1").await;
    assert_refused(ember, "metadata", "169.254.169.254").await;
    // The host granted, a granted key held, but the secret asked for is another one.
    patch_plugin(ember, PLUGIN, json!({"grants": {"hosts": ["evil.example.com"], "secrets": ["OPENAI_API_KEY"]}}))
        .await;
    assert_refused(ember, "secret", "UNGRANTED_SECRET").await;
    assert!(llm.requests().is_empty(), "nothing reached the fake server: {:?}", llm.requests());

    // Granted loopback, private addresses and a key, it reaches `/echo`, which answers with the
    // headers it received: the key went out, and came back to the plugin scrubbed.
    let echo_url = format!("{}/echo", llm.base_url());
    patch_plugin(
        ember,
        PLUGIN,
        json!({"config": {"echo_url": echo_url, "secret": "OPENAI_API_KEY"},
               "grants": {"hosts": ["127.0.0.1"], "private_addresses": true, "secrets": ["OPENAI_API_KEY"]}}),
    )
    .await;
    let (status, body) = chat(ember, &chat_request(PLUGIN, "echo", "echo my headers")).await;
    assert_eq!(status, 200, "{body}");
    let received = llm.requests().into_iter().find(|r| r.path == "/echo").expect("the echo request was sent");
    assert!(holds_secret(&received.text(), OPENAI_KEY), "the host filled in the key: {received:?}");
    let content = body["data"]["message"]["content"].as_str().unwrap_or_default();
    assert!(content.contains("status: 200"), "the plugin reports what came back: {body}");
    assert!(content.contains("authorization"), "the echoed header, scrubbed: {body}");
    assert!(!holds_secret(&body.to_string(), OPENAI_KEY), "the plugin saw the key: {body}");

    // Nor is it in the stored span, or anywhere in the database.
    super::span_by_id(ember, "playground", body["data"]["span_id"].as_str().unwrap()).await;
    assert!(!holds_secret(&setup.db.stored_text().await, OPENAI_KEY));
    assert!(!holds_secret(&setup.db.dump_all().await, OPENAI_KEY));
    setup.db.cleanup().await;
}

on_both_backends!(hostile_provider_is_refused);
