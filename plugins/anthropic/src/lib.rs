//! `anthropic` provider: Ember's chat records over the Anthropic Messages API.
//!
//! `chat` posts to `{base_url}/v1/messages`; `models` returns the configured `models` or lists
//! `{base_url}/v1/models`. The API key travels as a secret header (`x-api-key: {secret}`) that the
//! host fills in, so the key never enters the sandbox. The configuration and the exports are
//! `provider_common::http_provider`'s; this crate is the API's mapping.

pub mod request;
pub mod response;

use ember_plugin_sdk::provider::{ChatError, ChatRequest, ChatResponse, Descriptor, Provider};
use provider_common::{http_provider, Endpoint, HttpApi};
use serde_json::Value;

/// The API version these requests are written against.
pub const API_VERSION: &str = "2023-06-01";

/// The plugin.
pub struct Anthropic;

impl HttpApi for Anthropic {
    const NAME: &'static str = "anthropic";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Anthropic Messages API";
    const DEFAULT_BASE_URL: &'static str = "https://api.anthropic.com";
    const DEFAULT_API_KEY_SECRET: &'static str = "ANTHROPIC_API_KEY";
    const CHAT_PATH: &'static str = "/v1/messages";
    /// The listing is paginated (20 per page by default); one large page covers every model.
    const MODELS_PATH: &'static str = "/v1/models?limit=1000";
    const KEY_HEADER: &'static str = "x-api-key";

    fn authenticate(endpoint: Endpoint, api_key_secret: Option<&str>) -> Endpoint {
        endpoint.with_header("anthropic-version", API_VERSION).with_secret("x-api-key", api_key_secret, "{secret}")
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

impl Provider for Anthropic {
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

ember_plugin_sdk::export_provider!(Anthropic);

#[cfg(test)]
mod tests {
    use super::*;
    use provider_common::HttpConfig;

    #[test]
    fn default_config_sends_the_key_as_a_secret_and_the_version() {
        let config = HttpConfig::parse::<Anthropic>("{}").unwrap();
        let request = config.endpoint::<Anthropic>().request("POST", "/v1/messages", None);
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
        let config =
            HttpConfig::parse::<Anthropic>(r#"{"base_url": "http://127.0.0.1:9/", "api_key_secret": null}"#).unwrap();
        let request = config.endpoint::<Anthropic>().request("GET", Anthropic::MODELS_PATH, None);
        assert_eq!(request.url, "http://127.0.0.1:9/v1/models?limit=1000");
        assert!(request.secret_headers.is_empty());
    }

    #[test]
    fn configured_models_need_no_http() {
        ember_plugin_sdk::set_native_config(r#"{"models": ["claude-a"]}"#);
        assert_eq!(Anthropic::models().unwrap(), ["claude-a"]);
        ember_plugin_sdk::set_native_config("{}");
    }

    #[test]
    fn the_schema_describes_the_listing_without_its_query() {
        let schema: Value = serde_json::from_str(Anthropic::describe().config_schema.as_deref().unwrap()).unwrap();
        let models = schema["properties"]["models"]["description"].as_str().unwrap();
        assert!(models.ends_with("{base_url}/v1/models."), "{models}");
    }
}
