//! `openai` provider: Ember's chat records over any OpenAI-compatible chat-completions API
//! (OpenAI, vLLM, Ollama, OpenRouter, LiteLLM, Together, Groq, …).
//!
//! `chat` posts to `{base_url}/chat/completions`; `models` returns the configured `models` or
//! lists `{base_url}/models`. The API key travels as a secret header (`authorization: Bearer
//! {secret}`) that the host fills in, so the key never enters the sandbox.

pub mod request;
pub mod response;

use ember_plugin_sdk::provider::{ChatError, ChatRequest, ChatResponse, Descriptor, Provider};
use provider_common::Endpoint;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

/// The plugin's name.
pub const NAME: &str = "openai";

/// Where to send and with which credentials.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// API root, e.g. `http://localhost:11434/v1` for Ollama.
    pub base_url: String,
    /// Name of the secret holding the API key; `null` or `""` sends no `authorization` header
    /// (local servers).
    pub api_key_secret: Option<String>,
    /// Extra plain headers (e.g. OpenRouter's `HTTP-Referer`).
    pub headers: BTreeMap<String, String>,
    /// Timeout of one HTTP request; the host clamps it to the call's deadline.
    pub timeout_ms: u32,
    /// Models `models()` returns without asking the API.
    pub models: Option<Vec<String>>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            base_url: "https://api.openai.com/v1".into(),
            api_key_secret: Some("OPENAI_API_KEY".into()),
            headers: BTreeMap::new(),
            timeout_ms: 60_000,
            models: None,
        }
    }
}

impl Config {
    /// The endpoint this configuration describes.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::new(NAME, &self.base_url, &self.headers, self.timeout_ms).with_secret(
            "authorization",
            self.api_key_secret.as_deref(),
            "Bearer {secret}",
        )
    }
}

/// The plugin.
pub struct OpenAi;

impl Provider for OpenAi {
    fn describe() -> Descriptor {
        Descriptor::new(NAME, env!("CARGO_PKG_VERSION"), "OpenAI-compatible chat completions").config_schema(json!({
            "type": "object",
            "properties": {
                "base_url": {"type": "string", "default": "https://api.openai.com/v1",
                    "description": "API root; chat posts to {base_url}/chat/completions."},
                "api_key_secret": {"type": ["string", "null"], "default": "OPENAI_API_KEY",
                    "description": "Secret holding the API key; null or empty sends no authorization header."},
                "headers": {"type": "object", "additionalProperties": {"type": "string"},
                    "description": "Extra plain headers."},
                "timeout_ms": {"type": "integer", "minimum": 1, "default": 60000},
                "models": {"type": "array", "items": {"type": "string"},
                    "description": "Models to list instead of asking {base_url}/models."}
            },
            "additionalProperties": false
        }))
    }

    fn models() -> Result<Vec<String>, ChatError> {
        let config: Config = ember_plugin_sdk::config()?;
        if let Some(models) = config.models {
            return Ok(models);
        }
        let endpoint = config.endpoint();
        let body = endpoint.send_json(&endpoint.request("GET", "/models", None))?;
        response::model_ids(&body)
    }

    fn chat(chat: ChatRequest) -> Result<ChatResponse, ChatError> {
        let config: Config = ember_plugin_sdk::config()?;
        let endpoint = config.endpoint();
        let body = request::body(&chat)?;
        let answer = endpoint.send_json(&endpoint.request("POST", "/chat/completions", Some(&body)))?;
        response::chat_response(&answer, &chat.model)
    }
}

ember_plugin_sdk::export_provider!(OpenAi);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_targets_openai_with_the_key_as_a_secret() {
        let config: Config = ember_plugin_sdk::parse_config("{}").unwrap();
        let request = config.endpoint().request("GET", "/models", None);
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
        let config: Config = ember_plugin_sdk::parse_config(
            r#"{"base_url": "http://localhost:11434/v1/", "api_key_secret": null, "headers": {"x-a": "b"}, "timeout_ms": 5}"#,
        )
        .unwrap();
        let request = config.endpoint().request("POST", "/chat/completions", None);
        assert_eq!(request.url, "http://localhost:11434/v1/chat/completions");
        assert!(request.secret_headers.is_empty());
        assert!(request.headers.iter().any(|h| h.name == "x-a"));
        assert_eq!(request.timeout_ms, Some(5));
        let config: Config = ember_plugin_sdk::parse_config(r#"{"api_key_secret": ""}"#).unwrap();
        assert!(config.endpoint().secret_headers.is_empty());
    }

    #[test]
    fn configured_models_need_no_http() {
        ember_plugin_sdk::set_native_config(r#"{"models": ["a", "b"]}"#);
        assert_eq!(OpenAi::models().unwrap(), ["a", "b"]);
        ember_plugin_sdk::set_native_config(r#"{"bogus": 1}"#);
        assert!(matches!(OpenAi::models(), Err(ChatError::Failed(m)) if m.contains("bogus")));
        ember_plugin_sdk::set_native_config("{}");
    }
}
