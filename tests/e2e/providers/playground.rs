//! The playground through both providers: text and tool-call replies, usage, the keys the fake
//! server received, the LLM span stored with OpenInference attributes, model listings and an
//! invalid request.

use serde_json::{json, Value};

use super::{chat, chat_request, error_message, setup, span_by_id, ANTHROPIC_KEY, OPENAI_KEY};
use crate::harness::Backend;
use crate::llm_server::{LlmServer, Recorded, MODELS};
use crate::on_both_backends;

/// A function tool in OpenAI's shape, as the playground takes it.
fn search_tool() -> Value {
    json!({"type": "function", "function": {"name": "search", "description": "Searches the web",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}})
}

/// The last chat request the fake server received for `model`.
fn last_request(llm: &LlmServer, model: &str) -> Recorded {
    llm.requests().into_iter().rev().find(|r| r.model().as_deref() == Some(model)).expect("request received")
}

/// The key reached the provider in its own header, filled in by the host.
fn assert_authenticated(provider: &str, request: &Recorded) {
    if provider == "anthropic" {
        assert_eq!(request.path, "/v1/messages");
        assert_eq!(request.header("x-api-key"), Some(ANTHROPIC_KEY));
        assert_eq!(request.header("anthropic-version"), Some("2023-06-01"));
        assert_eq!(request.header("authorization"), None);
    } else {
        assert_eq!(request.path, "/v1/chat/completions");
        assert_eq!(request.header("authorization"), Some(format!("Bearer {OPENAI_KEY}").as_str()));
    }
}

/// Tool-call arguments, whether the API returns them as an object or as JSON text.
fn arguments(call: &Value) -> Value {
    match &call["arguments"] {
        Value::String(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        other => other.clone(),
    }
}

async fn chat_through_both_providers(backend: Backend) {
    let Some(setup) = setup(backend).await else { return };
    let (ember, llm) = (&setup.ember, &setup.llm);
    for provider in ["openai", "anthropic"] {
        // A text reply: the last user message echoed; usage from word counts (2 + 5 prompt words).
        let mut request = chat_request(provider, "echo", "What colour is the sky");
        request["invocation_parameters"] = json!({"temperature": 0.2, "max_tokens": 50});
        let (status, body) = chat(ember, &request).await;
        assert_eq!(status, 200, "{provider}: {body}");
        let reply = &body["data"];
        assert_eq!(reply["model"], "echo");
        assert_eq!(reply["message"]["role"], "assistant");
        assert_eq!(reply["message"]["content"], "What colour is the sky");
        assert!(reply["message"]["tool_calls"].as_array().is_none_or(Vec::is_empty), "{body}");
        assert_eq!(
            reply["usage"],
            json!({"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12}),
            "{provider}"
        );
        let finish = reply["finish_reason"].as_str().unwrap();
        assert!(["stop", "end_turn"].contains(&finish), "{provider}: {finish}");
        assert_eq!(reply["attempts"], 1);
        assert_eq!(reply["project_name"], "playground");

        // What the provider received: its wire format, the key, the invocation parameters.
        let received = last_request(llm, "echo");
        assert_authenticated(provider, &received);
        let sent = received.json();
        assert_eq!(sent["temperature"], 0.2, "{provider}: {sent}");
        assert_eq!(sent["max_tokens"], 50, "{provider}: {sent}");
        if provider == "anthropic" {
            assert_eq!(system_text(&sent["system"]), "Be brief.", "{sent}");
            assert_eq!(sent["messages"].as_array().unwrap().len(), 1, "system is not a message: {sent}");
        }

        // The call as an LLM span in the playground project.
        let span = span_by_id(ember, "playground", reply["span_id"].as_str().unwrap()).await;
        assert_eq!(span["context"]["trace_id"], reply["trace_id"]);
        assert_eq!(span["span_kind"], "LLM", "{span}");
        assert_eq!(span["status_code"], "OK", "{span}");
        let attributes = &span["attributes"];
        assert_eq!(attributes["llm.model_name"], "echo", "{span}");
        assert_eq!(attributes["llm.provider"], provider, "{span}");
        assert_eq!(attributes["llm.input_messages.0.message.role"], "system", "{span}");
        assert_eq!(attributes["llm.input_messages.0.message.content"], "Be brief.", "{span}");
        assert_eq!(attributes["llm.input_messages.1.message.role"], "user", "{span}");
        assert_eq!(attributes["llm.input_messages.1.message.content"], "What colour is the sky", "{span}");
        assert_eq!(attributes["llm.output_messages.0.message.role"], "assistant", "{span}");
        assert_eq!(attributes["llm.output_messages.0.message.content"], "What colour is the sky", "{span}");
        assert_eq!(attributes["llm.token_count.prompt"], 7, "{span}");
        assert_eq!(attributes["llm.token_count.completion"], 5, "{span}");
        assert_eq!(attributes["llm.token_count.total"], 12, "{span}");
        let parameters = attributes["llm.invocation_parameters"].as_str().expect("invocation parameters as JSON text");
        let parameters: Value = serde_json::from_str(parameters).unwrap();
        assert_eq!(parameters["temperature"], 0.2, "{span}");
        assert!(attributes["input.value"].as_str().unwrap().contains("What colour is the sky"), "{span}");
        assert!(attributes["output.value"].as_str().unwrap().contains("What colour is the sky"), "{span}");

        // A tool call: the first tool offered, called with the user's text.
        let mut request = chat_request(provider, "tool", "weather in Paris");
        request["tools"] = json!([search_tool()]);
        let (status, body) = chat(ember, &request).await;
        assert_eq!(status, 200, "{provider}: {body}");
        let reply = &body["data"];
        let calls = reply["message"]["tool_calls"].as_array().unwrap();
        assert_eq!(calls.len(), 1, "{body}");
        assert_eq!(calls[0]["name"], "search");
        assert!(!calls[0]["id"].as_str().unwrap().is_empty(), "{body}");
        assert_eq!(arguments(&calls[0]), json!({"q": "weather in Paris"}), "{body}");
        let finish = reply["finish_reason"].as_str().unwrap();
        assert!(["tool_calls", "tool_use"].contains(&finish), "{provider}: {finish}");
        let sent = last_request(llm, "tool").json();
        let offered =
            if provider == "anthropic" { &sent["tools"][0]["name"] } else { &sent["tools"][0]["function"]["name"] };
        assert_eq!(offered, "search", "{provider}: {sent}");
        if provider == "anthropic" {
            assert_eq!(sent["tools"][0]["input_schema"]["required"], json!(["q"]), "{sent}");
        }
        let span = span_by_id(ember, "playground", reply["span_id"].as_str().unwrap()).await;
        let attributes = &span["attributes"];
        assert_eq!(
            attributes["llm.output_messages.0.message.tool_calls.0.tool_call.function.name"], "search",
            "{span}"
        );
    }
    assert_eq!(llm.count("echo"), 2);
    assert_eq!(llm.count("tool"), 2);
    setup.db.cleanup().await;
}

/// The text of an Anthropic `system` field: a string or text blocks.
fn system_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(blocks) => blocks.iter().filter_map(|b| b["text"].as_str()).collect(),
        _ => String::new(),
    }
}

async fn models_and_invalid_requests(backend: Backend) {
    let Some(setup) = setup(backend).await else { return };
    let (ember, llm) = (&setup.ember, &setup.llm);
    for provider in ["openai", "anthropic"] {
        let (status, body) = ember.get_json(&format!("/v1/plugins/{provider}/models")).await;
        assert_eq!(status, 200, "{provider}: {body}");
        let listed: Vec<&str> = body["data"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        assert_eq!(listed, MODELS, "{provider}");
        let listing = llm.requests().into_iter().rev().find(|r| r.path == "/v1/models").expect("models listed");
        assert_authenticated_listing(provider, &listing);

        // An unknown model is the caller's mistake: 422 with the provider's message, not retried.
        let (status, body) = chat(ember, &chat_request(provider, "no-such-model", "hi")).await;
        assert_eq!(status, 422, "{provider}: {body}");
        assert!(error_message(&body).contains("does not exist"), "{provider}: {body}");
    }
    assert_eq!(llm.count("no-such-model"), 2, "invalid requests are not retried");

    // Configured models are listed without asking the provider.
    super::configure(ember, "openai", json!({"base_url": format!("{}/v1", llm.base_url()), "models": ["a", "b"]}))
        .await;
    let before = llm.requests().len();
    let (status, body) = ember.get_json("/v1/plugins/openai/models").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], json!(["a", "b"]));
    assert_eq!(llm.requests().len(), before);
    // Not a provider: no models.
    let (status, _) = ember.get_json("/v1/plugins/exact_match/models").await;
    assert!((400..500).contains(&status), "{status}");
    setup.db.cleanup().await;
}

fn assert_authenticated_listing(provider: &str, request: &Recorded) {
    assert_eq!(request.method, "GET");
    if provider == "anthropic" {
        assert_eq!(request.header("x-api-key"), Some(ANTHROPIC_KEY));
    } else {
        assert_eq!(request.header("authorization"), Some(format!("Bearer {OPENAI_KEY}").as_str()));
    }
}

on_both_backends!(chat_through_both_providers, models_and_invalid_requests);
