//! The `describe`/`models`/`chat` glue every HTTP provider plugin shares. A provider states its
//! API ([`HttpApi`]: name, defaults, paths, how the key is sent, and its own request and response
//! mapping); [`describe`], [`models`] and [`chat`] turn that into the provider world's exports,
//! with one configuration shape ([`HttpConfig`]) for all of them.

use std::collections::BTreeMap;

use ember_plugin_sdk::provider::{ChatError, ChatRequest, ChatResponse, Descriptor};
use ember_plugin_sdk::ConfigError;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use crate::Endpoint;

/// What distinguishes one HTTP provider from another.
pub trait HttpApi {
    /// The plugin's name, e.g. `openai`.
    const NAME: &'static str;
    /// The plugin's version (its crate's `CARGO_PKG_VERSION`).
    const VERSION: &'static str;
    /// One line for the plugins page.
    const DESCRIPTION: &'static str;
    const DEFAULT_BASE_URL: &'static str;
    /// The secret holding the API key unless the configuration names another (or none).
    const DEFAULT_API_KEY_SECRET: &'static str;
    /// Path of the chat call below the base URL, e.g. `/chat/completions`.
    const CHAT_PATH: &'static str;
    /// Path of the model listing below the base URL.
    const MODELS_PATH: &'static str;
    /// The header that carries the key, for the configuration's description.
    const KEY_HEADER: &'static str;

    /// Adds the API's fixed headers and the secret header carrying the key (none when
    /// `api_key_secret` is absent or empty).
    fn authenticate(endpoint: Endpoint, api_key_secret: Option<&str>) -> Endpoint;
    /// The API's request body for a chat request.
    fn chat_body(chat: &ChatRequest) -> Result<Value, ChatError>;
    /// The chat record of the API's answer.
    fn chat_response(answer: &Value, model: &str) -> Result<ChatResponse, ChatError>;
    /// The model ids of the API's model listing.
    fn model_ids(listing: &Value) -> Result<Vec<String>, ChatError>;
}

/// Where to send and with which credentials: every HTTP provider's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpConfig {
    /// API root; the chat and model paths are appended to it.
    pub base_url: String,
    /// Name of the secret holding the API key; `None` sends no key (local servers).
    pub api_key_secret: Option<String>,
    /// Extra plain headers (e.g. OpenRouter's `HTTP-Referer`, Anthropic's `anthropic-beta`).
    pub headers: BTreeMap<String, String>,
    /// Timeout of one HTTP request; the host clamps it to the call's deadline.
    pub timeout_ms: u32,
    /// Models `models()` returns without asking the API.
    pub models: Option<Vec<String>>,
}

/// The configuration as sent: absent fields take the API's defaults.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SentConfig {
    base_url: Option<String>,
    /// Absent: the default secret; `null` or `""`: no key.
    #[serde(default, deserialize_with = "present")]
    api_key_secret: Option<Option<String>>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    timeout_ms: Option<u32>,
    models: Option<Vec<String>>,
}

/// Tells a field sent as `null` (`Some(None)`) from an absent one (`None`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// Timeout of one request when the configuration sets none.
const DEFAULT_TIMEOUT_MS: u32 = 60_000;

impl HttpConfig {
    /// Parses a configuration document (empty counts as `{}`) with `A`'s defaults.
    pub fn parse<A: HttpApi>(json: &str) -> Result<Self, ConfigError> {
        let sent: SentConfig = ember_plugin_sdk::parse_config(json)?;
        let api_key_secret = match sent.api_key_secret {
            None => Some(A::DEFAULT_API_KEY_SECRET.to_owned()),
            Some(secret) => secret.filter(|name| !name.trim().is_empty()),
        };
        Ok(Self {
            base_url: sent.base_url.unwrap_or_else(|| A::DEFAULT_BASE_URL.to_owned()),
            api_key_secret,
            headers: sent.headers,
            timeout_ms: sent.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS),
            models: sent.models,
        })
    }

    /// The configuration the host gave this call.
    pub fn current<A: HttpApi>() -> Result<Self, ConfigError> {
        Self::parse::<A>(&ember_plugin_sdk::config_json())
    }

    /// The endpoint this configuration describes, authenticated as `A` does it.
    pub fn endpoint<A: HttpApi>(&self) -> Endpoint {
        let endpoint = Endpoint::new(A::NAME, &self.base_url, &self.headers, self.timeout_ms);
        A::authenticate(endpoint, self.api_key_secret.as_deref())
    }
}

/// The `describe` export: name, version, description and the configuration's JSON Schema.
pub fn describe<A: HttpApi>() -> Descriptor {
    Descriptor::new(A::NAME, A::VERSION, A::DESCRIPTION).config_schema(json!({
        "type": "object",
        "properties": {
            "base_url": {"type": "string", "default": A::DEFAULT_BASE_URL,
                "description": format!("API root; chat posts to {{base_url}}{}.", A::CHAT_PATH)},
            "api_key_secret": {"type": ["string", "null"], "default": A::DEFAULT_API_KEY_SECRET,
                "description": format!("Secret holding the API key; null or empty sends no {} header.", A::KEY_HEADER)},
            "headers": {"type": "object", "additionalProperties": {"type": "string"},
                "description": "Extra plain headers."},
            "timeout_ms": {"type": "integer", "minimum": 1, "default": DEFAULT_TIMEOUT_MS},
            "models": {"type": "array", "items": {"type": "string"},
                "description": format!("Models to list instead of asking {{base_url}}{}.", listing_path::<A>())}
        },
        "additionalProperties": false
    }))
}

/// The model listing's path without its query.
fn listing_path<A: HttpApi>() -> &'static str {
    A::MODELS_PATH.split('?').next().unwrap_or(A::MODELS_PATH)
}

/// The `models` export: the configured models, else the API's listing.
pub fn models<A: HttpApi>() -> Result<Vec<String>, ChatError> {
    let config = HttpConfig::current::<A>()?;
    if let Some(models) = config.models {
        return Ok(models);
    }
    let endpoint = config.endpoint::<A>();
    let listing = endpoint.send_json(&endpoint.request("GET", A::MODELS_PATH, None))?;
    A::model_ids(&listing)
}

/// The `chat` export: the API's body posted to its chat path, the answer mapped back.
pub fn chat<A: HttpApi>(chat: ChatRequest) -> Result<ChatResponse, ChatError> {
    let config = HttpConfig::current::<A>()?;
    let endpoint = config.endpoint::<A>();
    let body = A::chat_body(&chat)?;
    let answer = endpoint.send_json(&endpoint.request("POST", A::CHAT_PATH, Some(&body)))?;
    A::chat_response(&answer, &chat.model)
}
