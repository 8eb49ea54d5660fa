//! `openai` provider: Ember's chat records over any OpenAI-compatible chat-completions API
//! (OpenAI, vLLM, Ollama, OpenRouter, LiteLLM, Together, Groq, …).
//!
//! `chat` posts to `{base_url}/chat/completions`; `models` returns the configured `models` or
//! lists `{base_url}/models`. The API key travels as a secret header (`authorization: Bearer
//! {secret}`) that the host fills in, so the key never enters the sandbox. The configuration and
//! the exports are `provider_common::http_provider`'s; this crate is the API's mapping.

pub mod request;
pub mod response;

use ember_plugin_sdk::provider::{ChatError, ChatRequest, ChatResponse, Descriptor, Provider};
use provider_common::{http_provider, Endpoint, HttpApi};
use serde_json::Value;

/// The plugin.
pub struct OpenAi;

impl HttpApi for OpenAi {
    const NAME: &'static str = "openai";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "OpenAI-compatible chat completions";
    const DEFAULT_BASE_URL: &'static str = "https://api.openai.com/v1";
    const DEFAULT_API_KEY_SECRET: &'static str = "OPENAI_API_KEY";
    const CHAT_PATH: &'static str = "/chat/completions";
    const MODELS_PATH: &'static str = "/models";
    const KEY_HEADER: &'static str = "authorization";

    fn authenticate(endpoint: Endpoint, api_key_secret: Option<&str>) -> Endpoint {
        endpoint.with_secret("authorization", api_key_secret, "Bearer {secret}")
    }

    fn chat_body(chat: &ChatRequest) -> Result<Value, ChatError> {
        request::body(chat)
    }

    fn chat_response(answer: &Value, model: &str) -> Result<ChatResponse, ChatError> {
        response::chat_response(answer, model)
    }

    fn model_ids(listing: &Value) -> Result<Vec<String>, ChatError> {
        response::model_ids(listing)
    }
}

impl Provider for OpenAi {
    fn describe() -> Descriptor {
        http_provider::describe::<Self>()
    }

    fn models() -> Result<Vec<String>, ChatError> {
        http_provider::models::<Self>()
    }

    fn chat(chat: ChatRequest) -> Result<ChatResponse, ChatError> {
        http_provider::chat::<Self>(chat)
    }
}

ember_plugin_sdk::export_provider!(OpenAi);

#[cfg(test)]
mod tests {
    use super::*;
    use provider_common::HttpConfig;

    #[test]
    fn default_config_targets_openai_with_the_key_as_a_secret() {
        let config = HttpConfig::parse::<OpenAi>("{}").unwrap();
        let request = config.endpoint::<OpenAi>().request("GET", "/models", None);
        assert_eq!(request.url, "https://api.openai.com/v1/models");
        assert_eq!(request.timeout_ms, Some(60_000));
        assert!(request.headers.iter().all(|h| !h.name.eq_ignore_ascii_case("authorization")));
        assert_eq!(request.secret_headers.len(), 1);
        assert_eq!(request.secret_headers[0].name, "authorization");
        assert_eq!(request.secret_headers[0].secret, "OPENAI_API_KEY");
        assert_eq!(request.secret_headers[0].template, "Bearer {secret}");
    }

    #[test]
    fn local_server_without_a_key() {
        let config = HttpConfig::parse::<OpenAi>(
            r#"{"base_url": "http://localhost:11434/v1/", "api_key_secret": null, "headers": {"x-a": "b"}, "timeout_ms": 5}"#,
        )
        .unwrap();
        let request = config.endpoint::<OpenAi>().request("POST", "/chat/completions", None);
        assert_eq!(request.url, "http://localhost:11434/v1/chat/completions");
        assert!(request.secret_headers.is_empty());
        assert!(request.headers.iter().any(|h| h.name == "x-a"));
        assert_eq!(request.timeout_ms, Some(5));
        let config = HttpConfig::parse::<OpenAi>(r#"{"api_key_secret": ""}"#).unwrap();
        assert!(config.endpoint::<OpenAi>().secret_headers.is_empty());
    }

    #[test]
    fn configured_models_need_no_http() {
        ember_plugin_sdk::set_native_config(r#"{"models": ["a", "b"]}"#);
        assert_eq!(OpenAi::models().unwrap(), ["a", "b"]);
        ember_plugin_sdk::set_native_config(r#"{"bogus": 1}"#);
        assert!(matches!(OpenAi::models(), Err(ChatError::Failed(m)) if m.contains("bogus")));
        ember_plugin_sdk::set_native_config("{}");
    }

    #[test]
    fn the_schema_names_this_api_s_paths_and_defaults() {
        let descriptor = OpenAi::describe();
        let schema: Value = serde_json::from_str(descriptor.config_schema.as_deref().unwrap()).unwrap();
        assert_eq!(schema["properties"]["base_url"]["default"], "https://api.openai.com/v1");
        assert!(schema["properties"]["base_url"]["description"].as_str().unwrap().contains("/chat/completions"));
        assert_eq!(schema["properties"]["api_key_secret"]["default"], "OPENAI_API_KEY");
    }
}
