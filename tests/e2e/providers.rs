//! Provider plugins end to end: the bundled `openai` and `anthropic` plugins, granted the fake
//! LLM server on loopback (`llm_server.rs`), serve the playground and prompt tasks with secrets
//! substituted by the host; retries, provider errors, timeouts and oversized replies; a hostile
//! provider refused at every turn; secrets that never show up in the database or the logs; and an
//! experiment whose task is a prompt, scored by an LLM judge.

mod failures;
mod hostile;
mod playground;
mod prompt_task;
mod secrets;

use serde_json::{json, Value};

use crate::harness::{Backend, Ember, TestDb};
use crate::llm_server::LlmServer;

/// Key material for the server's secret encryption.
pub const EMBER_SECRET: &str = "ember-e2e-passphrase-0123456789-abcdefghijklmnop";
/// The OpenAI key the tests store: distinctive, so a leak search cannot miss it.
pub const OPENAI_KEY: &str = "sk-ember-e2e-openai-7f3a9c1d5e0b";
/// The Anthropic key the tests store.
pub const ANTHROPIC_KEY: &str = "sk-ant-ember-e2e-2b8d4f6a0c1e";

/// The environment every provider test runs with: secrets on, fast retries, a 1 MiB reply cap.
pub const PROVIDER_ENV: [(&str, &str); 3] =
    [("EMBER_SECRET", EMBER_SECRET), ("EMBER_PROVIDER_BACKOFF_MS", "10"), ("EMBER_OUTBOUND_MAX_BYTES", "1048576")];

/// A database, the fake provider and a server whose providers point at it.
pub struct Setup {
    pub db: TestDb,
    pub llm: LlmServer,
    pub ember: Ember,
}

/// Starts everything, stores both keys and configures both providers; `None` when the backend
/// is skipped.
pub async fn setup(backend: Backend) -> Option<Setup> {
    let db = TestDb::new(backend).await?;
    let llm = LlmServer::start().await;
    let ember = Ember::start_with_plugins(&db, &PROVIDER_ENV).await;
    prepare(&ember, &llm).await;
    Some(Setup { db, llm, ember })
}

/// Stores both keys and points both providers at `llm`.
pub async fn prepare(ember: &Ember, llm: &LlmServer) {
    let (status, body) =
        put_secrets(ember, &[("OPENAI_API_KEY", Some(OPENAI_KEY)), ("ANTHROPIC_API_KEY", Some(ANTHROPIC_KEY))]).await;
    assert_eq!(status, 200, "{body}");
    configure(ember, "openai", json!({"base_url": format!("{}/v1", llm.base_url())})).await;
    configure(ember, "anthropic", json!({"base_url": llm.base_url()})).await;
}

/// Sets a bundled provider's whole config and grants it the fake server and its own key.
pub async fn configure(ember: &Ember, provider: &str, config: Value) {
    let secret = match provider {
        "anthropic" => "ANTHROPIC_API_KEY",
        _ => "OPENAI_API_KEY",
    };
    let grants = json!({"hosts": ["127.0.0.1"], "private_addresses": true, "secrets": [secret]});
    patch_plugin(ember, provider, json!({"config": config, "grants": grants})).await;
}

/// Sends a request with an optional JSON body; returns status and JSON (`Null` if none).
pub async fn send(ember: &Ember, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = ember.client.request(method, ember.url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `PATCH /v1/plugins/{name}`, which must succeed.
pub async fn patch_plugin(ember: &Ember, name: &str, body: Value) -> Value {
    let (status, patched) = send(ember, reqwest::Method::PATCH, &format!("/v1/plugins/{name}"), Some(body)).await;
    assert_eq!(status, 200, "PATCH {name}: {patched}");
    patched
}

/// `PUT /v1/secrets` with `(key, value)` pairs, `None` deleting.
pub async fn put_secrets(ember: &Ember, secrets: &[(&str, Option<&str>)]) -> (u16, Value) {
    let secrets: Vec<Value> = secrets.iter().map(|(key, value)| json!({"key": key, "value": value})).collect();
    send(ember, reqwest::Method::PUT, "/v1/secrets", Some(json!({ "secrets": secrets }))).await
}

/// A playground request: a short system prompt and one user message.
pub fn chat_request(provider: &str, model: &str, text: &str) -> Value {
    json!({"provider": provider, "model": model, "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": text},
    ]})
}

/// `POST /v1/playground/chat`.
pub async fn chat(ember: &Ember, request: &Value) -> (u16, Value) {
    send(ember, reqwest::Method::POST, "/v1/playground/chat", Some(request.clone())).await
}

/// The message of an error reply (empty when there is none).
pub fn error_message(body: &Value) -> String {
    body["error"]["message"].as_str().unwrap_or_default().to_owned()
}

/// The stored span with this id, polling the project until it shows up.
pub async fn span_by_id(ember: &Ember, project: &str, span_id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, body) = ember.get_json(&format!("/v1/projects/{project}/spans?limit=1000")).await;
        let spans = body["data"].as_array().cloned().unwrap_or_default();
        if let Some(span) = spans.into_iter().find(|s| s["context"]["span_id"] == span_id) {
            return span;
        }
        assert!(tokio::time::Instant::now() < deadline, "span {span_id} not stored in {project}: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Whether `text` holds `secret` in clear, or hex-encoded as a `bytea` dump would show it.
pub fn holds_secret(text: &str, secret: &str) -> bool {
    text.contains(secret) || text.to_ascii_lowercase().contains(&hex::encode(secret))
}
