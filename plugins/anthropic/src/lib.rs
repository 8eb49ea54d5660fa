//! `anthropic` provider: Ember's chat records over the Anthropic Messages API.
//!
//! `chat` posts to `{base_url}/v1/messages`; `models` returns the configured `models` or lists
//! `{base_url}/v1/models`. The API key travels as a secret header (`x-api-key: {secret}`) that the
//! host fills in, so the key never enters the sandbox.

pub mod request;
pub mod response;

use ember_plugin_sdk::provider::{ChatError, ChatRequest, ChatResponse, Descriptor, Provider};
use provider_common::Endpoint;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

/// The plugin's name.
pub const NAME: &str = "anthropic";

/// The API version these requests are written against.
pub const API_VERSION: &str = "2023-06-01";

/// Where to send and with which credentials.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// API root; requests go to `{base_url}/v1/…`.
    pub base_url: String,
    /// Name of the secret holding the API key; `null` or `""` sends no `x-api-key` header.
    pub api_key_secret: Option<String>,
    /// Extra plain headers (e.g. `anthropic-beta`).
    pub headers: BTreeMap<String, String>,
    /// Timeout of one HTTP request; the host clamps it to the call's deadline.
    pub timeout_ms: u32,
    /// Models `models()` returns without asking the API.
    pub models: Option<Vec<String>>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            base_url: "https://api.anthropic.com".into(),
            api_key_secret: Some("ANTHROPIC_API_KEY".into()),
            headers: BTreeMap::new(),
            timeout_ms: 60_000,
            models: None,
        }
    }
}

impl Config {
    /// The endpoint this configuration describes.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::new(NAME, &self.base_url, &self.headers, self.timeout_ms)
            .with_header("anthropic-version", API_VERSION)
            .with_secret("x-api-key", self.api_key_secret.as_deref(), "{secret}")
    }
}

/// The plugin.
pub struct Anthropic;

impl Provider for Anthropic {
    fn describe() -> Descriptor {
        Descriptor::new(NAME, env!("CARGO_PKG_VERSION"), "Anthropic Messages API").config_schema(json!({
            "type": "object",
            "properties": {
                "base_url": {"type": "string", "default": "https://api.anthropic.com",
                    "description": "API root; chat posts to {base_url}/v1/messages."},
                "api_key_secret": {"type": ["string", "null"], "default": "ANTHROPIC_API_KEY",
                    "description": "Secret holding the API key; null or empty sends no x-api-key header."},
                "headers": {"type": "object", "additionalProperties": {"type": "string"},
                    "description": "Extra plain headers."},
                "timeout_ms": {"type": "integer", "minimum": 1, "default": 60000},
                "models": {"type": "array", "items": {"type": "string"},
                    "description": "Models to list instead of asking {base_url}/v1/models."}
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
        // The listing is paginated (20 per page by default); one large page covers every model.
        let body = endpoint.send_json(&endpoint.request("GET", "/v1/models?limit=1000", None))?;
        response::model_ids(&body)
    }

    fn chat(chat: ChatRequest) -> Result<ChatResponse, ChatError> {
        let config: Config = ember_plugin_sdk::config()?;
        let endpoint = config.endpoint();
        let body = request::body(&chat)?;
        let answer = endpoint.send_json(&endpoint.request("POST", "/v1/messages", Some(&body)))?;
        response::chat_response(&answer, &chat.model)
    }
}

ember_plugin_sdk::export_provider!(Anthropic);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_sends_the_key_as_a_secret_and_the_version() {
        let config: Config = ember_plugin_sdk::parse_config("{}").unwrap();
        let request = config.endpoint().request("POST", "/v1/messages", None);
        assert_eq!(request.url, "https://api.anthropic.com/v1/messages");
        assert!(request.headers.iter().any(|h| h.name == "anthropic-version" && h.value == API_VERSION));
        assert!(request.headers.iter().all(|h| h.name != "x-api-key"));
        assert_eq!(request.secret_headers.len(), 1);
        assert_eq!(request.secret_headers[0].name, "x-api-key");
        assert_eq!(request.secret_headers[0].secret, "ANTHROPIC_API_KEY");
        assert_eq!(request.secret_headers[0].template, "{secret}");
    }

    #[test]
    fn configured_base_url_and_no_key() {
        let config: Config =
            ember_plugin_sdk::parse_config(r#"{"base_url": "http://127.0.0.1:9/", "api_key_secret": null}"#).unwrap();
        let request = config.endpoint().request("GET", "/v1/models?limit=1000", None);
        assert_eq!(request.url, "http://127.0.0.1:9/v1/models?limit=1000");
        assert!(request.secret_headers.is_empty());
    }

    #[test]
    fn configured_models_need_no_http() {
        ember_plugin_sdk::set_native_config(r#"{"models": ["claude-a"]}"#);
        assert_eq!(Anthropic::models().unwrap(), ["claude-a"]);
        ember_plugin_sdk::set_native_config("{}");
    }
}
