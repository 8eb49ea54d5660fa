//! Secrets: the write-only API (upsert, delete, listing without values, refused without
//! `EMBER_SECRET`), and keys that, after real calls through both providers, appear nowhere in the
//! database and nowhere in a debug-level log.

use std::time::Duration;

use serde_json::{json, Value};

use super::{chat, chat_request, holds_secret, prepare, put_secrets, send, ANTHROPIC_KEY, OPENAI_KEY, PROVIDER_ENV};
use crate::harness::{Backend, Ember, TestDb};
use crate::llm_server::LlmServer;
use crate::on_both_backends;

/// The listed keys, in order.
fn listed_keys(body: &Value) -> Vec<String> {
    body["data"].as_array().unwrap().iter().map(|s| s["key"].as_str().unwrap().to_owned()).collect()
}

async fn secrets_api(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start_with_plugins(&db, &PROVIDER_ENV).await;
    let (status, body) = put_secrets(&ember, &[("OPENAI_API_KEY", Some(OPENAI_KEY)), ("team.key-2", Some("v2"))]).await;
    assert_eq!(status, 200, "{body}");
    let mut upserted: Vec<&str> =
        body["data"]["upserted_keys"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    upserted.sort_unstable();
    assert_eq!(upserted, ["OPENAI_API_KEY", "team.key-2"], "{body}");
    assert_eq!(body["data"]["deleted_keys"], json!([]), "{body}");

    // Listed by name and time, never by value.
    let (status, listing) = ember.get_json("/v1/secrets").await;
    assert_eq!(status, 200, "{listing}");
    let mut keys = listed_keys(&listing);
    keys.sort_unstable();
    assert_eq!(keys, ["OPENAI_API_KEY", "team.key-2"]);
    for secret in listing["data"].as_array().unwrap() {
        assert!(secret["updated_at"].is_string(), "{secret}");
        assert!(secret.get("value").is_none(), "{secret}");
    }
    assert!(!holds_secret(&listing.to_string(), OPENAI_KEY), "{listing}");

    // An upsert replaces; `null` deletes; both in one request.
    let (status, body) = put_secrets(&ember, &[("OPENAI_API_KEY", Some("rotated-value")), ("team.key-2", None)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["upserted_keys"], json!(["OPENAI_API_KEY"]), "{body}");
    assert_eq!(body["data"]["deleted_keys"], json!(["team.key-2"]), "{body}");
    let (_, listing) = ember.get_json("/v1/secrets").await;
    assert_eq!(listed_keys(&listing), ["OPENAI_API_KEY"]);

    // Bad keys and bodies are refused, and change nothing.
    for key in ["", "has space", "slash/key", &"k".repeat(129)] {
        let (status, body) = put_secrets(&ember, &[(key, Some("v")), ("NEW_KEY", Some("v"))]).await;
        assert_eq!(status, 422, "{key:?}: {body}");
    }
    let (status, _) = send(&ember, reqwest::Method::PUT, "/v1/secrets", Some(json!({"nope": []}))).await;
    assert_eq!(status, 422);
    let (_, listing) = ember.get_json("/v1/secrets").await;
    assert_eq!(listed_keys(&listing), ["OPENAI_API_KEY"]);
    drop(ember);
    db.cleanup().await;

    // Without `EMBER_SECRET` there is no key to seal with: refused, not stored in clear.
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start_with_plugins(&db, &[]).await;
    let (status, body) = put_secrets(&ember, &[("OPENAI_API_KEY", Some(OPENAI_KEY))]).await;
    assert_eq!(status, 503, "{body}");
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("EMBER_SECRET"), "{body}");
    assert!(!holds_secret(&db.dump_all().await, OPENAI_KEY));
    db.cleanup().await;
}

async fn secrets_never_leak(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let llm = LlmServer::start().await;
    let (ember, log) = Ember::start_capturing_logs(&db, &PROVIDER_ENV).await;
    prepare(&ember, &llm).await;

    // Successes, a tool call, a retried 429 and a failure through both providers.
    for provider in ["openai", "anthropic"] {
        for model in ["echo", "rate-limit-once", "always-500"] {
            let (status, body) = chat(&ember, &chat_request(provider, model, &format!("{provider} {model}"))).await;
            assert!(status == 200 || model == "always-500", "{provider} {model}: {status} {body}");
            assert!(!holds_secret(&body.to_string(), OPENAI_KEY) && !holds_secret(&body.to_string(), ANTHROPIC_KEY));
        }
        let mut request = chat_request(provider, "tool", "look it up");
        request["tools"] =
            json!([{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]);
        assert_eq!(chat(&ember, &request).await.0, 200);
        let (status, _) = ember.get_json(&format!("/v1/plugins/{provider}/models")).await;
        assert_eq!(status, 200);
    }
    // The keys did go out, filled in by the host.
    let sent: String = llm.requests().iter().map(|r| r.text()).collect();
    assert!(sent.contains(OPENAI_KEY) && sent.contains(ANTHROPIC_KEY), "the fake server saw both keys");
    let (_, listing) = ember.get_json("/v1/secrets").await;
    assert!(!holds_secret(&listing.to_string(), OPENAI_KEY));
    ember.wait_for_spans("playground", 8).await;

    // Nowhere in the database: not in the spans, not in any table, not in the raw files.
    for (what, text) in [("stored spans", db.stored_text().await), ("whole database", db.dump_all().await)] {
        assert!(!text.is_empty(), "{what} read");
        for key in [OPENAI_KEY, ANTHROPIC_KEY, super::EMBER_SECRET] {
            assert!(!holds_secret(&text, key), "{what} holds a secret in clear");
        }
    }

    // Nowhere in the log, read after the server has flushed it and exited.
    ember.terminate();
    assert!(ember.wait(Duration::from_secs(30)).await, "clean shutdown");
    let log = std::fs::read_to_string(&log).expect("read the captured log");
    assert!(log.contains("DEBUG"), "the log was captured at debug level ({} bytes)", log.len());
    for key in [OPENAI_KEY, ANTHROPIC_KEY, super::EMBER_SECRET] {
        assert!(!holds_secret(&log, key), "the log holds a secret in clear");
    }
    db.cleanup().await;
}

/// A secret bound to one host never leaves for another, even through a provider an admin
/// granted both the secret and that other host.
async fn a_bound_secret_goes_only_to_its_hosts(backend: Backend) {
    let Some(setup) = super::setup(backend).await else { return };
    let (ember, llm) = (&setup.ember, &setup.llm);
    let bind = |hosts: Value| {
        let body = json!({ "secrets": [{ "key": "OPENAI_API_KEY", "value": OPENAI_KEY, "hosts": hosts }] });
        send(ember, reqwest::Method::PUT, "/v1/secrets", Some(body))
    };
    // The provider is granted 127.0.0.1 and the key; the key itself is bound to OpenAI only.
    let (status, body) = bind(json!(["api.openai.com"])).await;
    assert_eq!(status, 200, "{body}");
    let (_, listing) = ember.get_json("/v1/secrets").await;
    let entry = listing["data"].as_array().unwrap().iter().find(|s| s["key"] == "OPENAI_API_KEY").unwrap().clone();
    assert_eq!(entry["hosts"], json!(["api.openai.com"]), "{listing}");
    let before = llm.requests().len();
    let (status, reply) = chat(ember, &chat_request("openai", "echo", "hello")).await;
    assert!(status >= 400, "the call must fail: {status} {reply}");
    assert!(reply.to_string().contains("not bound to host 127.0.0.1"), "{reply}");
    assert_eq!(llm.requests().len(), before, "nothing reached the other host");

    // Bound to the host it is sent to, the same call goes through.
    let (status, body) = bind(json!(["127.0.0.1"])).await;
    assert_eq!(status, 200, "{body}");
    let (status, reply) = chat(ember, &chat_request("openai", "echo", "hello")).await;
    assert_eq!(status, 200, "{reply}");
    assert!(llm.requests().len() > before);

    // Bindings are checked: a URL or an upper-case name is not a host.
    let (status, _) = bind(json!(["https://api.openai.com"])).await;
    assert_eq!(status, 422);
    setup.db.cleanup().await;
}

on_both_backends!(secrets_api, secrets_never_leak, a_bound_secret_goes_only_to_its_hosts);
