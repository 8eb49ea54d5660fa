//! Shared plumbing of Ember's HTTP provider plugins (`openai`, `anthropic`): building and sending
//! JSON requests through the host, mapping HTTP failures to `chat-error` (the one place that does
//! it, so both providers fail alike), the JSON conversions of tool-call arguments, and the
//! provider exports themselves (`http_provider`: one configuration, `describe`, `models`, `chat`).
//!
//! A library linked into the provider plugins, not a plugin itself.

pub mod errors;
pub mod http_provider;

use ember_plugin_sdk::provider::http::{self, Header, Request, SecretHeader};
use ember_plugin_sdk::provider::ChatError;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub use errors::{map_http_error, provider_message, retry_after_ms, status_error};
pub use http_provider::{HttpApi, HttpConfig};

/// Where a provider sends and with which headers; built from its configuration.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Provider name for error messages, e.g. `openai`.
    pub provider: &'static str,
    /// Base URL without a trailing slash.
    pub base_url: String,
    /// Plain headers sent with every request.
    pub headers: Vec<Header>,
    /// Headers the host fills from secrets (the API key).
    pub secret_headers: Vec<SecretHeader>,
    /// Timeout of one HTTP request.
    pub timeout_ms: u32,
}

impl Endpoint {
    /// An endpoint at `base_url` (trailing slashes removed) with the configured extra headers.
    pub fn new(
        provider: &'static str,
        base_url: &str,
        extra_headers: &BTreeMap<String, String>,
        timeout_ms: u32,
    ) -> Self {
        let mut headers = vec![header("content-type", "application/json"), header("accept", "application/json")];
        headers.extend(extra_headers.iter().map(|(name, value)| header(name, value)));
        Self {
            provider,
            base_url: base_url.trim_end_matches('/').to_owned(),
            headers,
            secret_headers: Vec::new(),
            timeout_ms,
        }
    }

    /// Adds a header whose value the host builds from the secret `secret` (`template` holds
    /// `{secret}`); an absent or empty secret name adds nothing.
    pub fn with_secret(mut self, name: &str, secret: Option<&str>, template: &str) -> Self {
        if let Some(secret) = secret.filter(|s| !s.trim().is_empty()) {
            self.secret_headers.push(SecretHeader {
                name: name.to_owned(),
                secret: secret.to_owned(),
                template: template.to_owned(),
            });
        }
        self
    }

    /// Adds a plain header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push(header(name, value));
        self
    }

    /// The request for `method` at `{base_url}{path}`, with a JSON body when given.
    pub fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Request {
        Request {
            method: method.to_owned(),
            url: format!("{}{path}", self.base_url),
            headers: self.headers.clone(),
            secret_headers: self.secret_headers.clone(),
            body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
            timeout_ms: Some(self.timeout_ms),
        }
    }

    /// Sends through the host and returns the JSON body of a 2xx answer; anything else becomes
    /// the matching `chat-error`.
    pub fn send_json(&self, request: &Request) -> Result<Value, ChatError> {
        let response = http::send(request).map_err(|e| map_http_error(&request.url, request.timeout_ms, e))?;
        if !(200..300).contains(&response.status) {
            return Err(status_error(self.provider, response.status, &response.headers, &response.body));
        }
        parse_body(self.provider, &response.body)
    }
}

/// A plain header.
pub fn header(name: &str, value: &str) -> Header {
    Header { name: name.to_owned(), value: value.to_owned() }
}

/// Parses a 2xx body; an unparsable one is `failed`.
pub fn parse_body(provider: &str, body: &[u8]) -> Result<Value, ChatError> {
    serde_json::from_slice(body).map_err(|e| ChatError::Failed(format!("unparsable {provider} response: {e}")))
}

/// Parses a JSON field of the chat request (`response-format`, a tool's `parameters`); bad JSON
/// is the caller's mistake, so `invalid-request`.
pub fn parse_request_json(what: &str, text: &str) -> Result<Value, ChatError> {
    serde_json::from_str(text).map_err(|e| ChatError::InvalidRequest(format!("{what} is not valid JSON: {e}")))
}

/// Merges the request's `extra` (a JSON object) into the body; its keys win, except `stream`:
/// these plugins read one JSON answer, never an event stream.
pub fn merge_extra(body: &mut Map<String, Value>, extra: Option<&str>) -> Result<(), ChatError> {
    let Some(extra) = extra.filter(|e| !e.trim().is_empty()) else { return Ok(()) };
    let Value::Object(extra) = parse_request_json("extra", extra)? else {
        return Err(ChatError::InvalidRequest("extra must be a JSON object".into()));
    };
    for (key, value) in extra {
        if key == "stream" {
            continue;
        }
        body.insert(key, value);
    }
    Ok(())
}

/// A tool call's `arguments` (WIT JSON text) as a JSON value; text that is not JSON is kept as a
/// JSON string.
pub fn arguments_value(arguments: &str) -> Value {
    if arguments.trim().is_empty() {
        return Value::Object(Map::new());
    }
    serde_json::from_str(arguments).unwrap_or_else(|_| Value::String(arguments.to_owned()))
}

/// The arguments string OpenAI-style APIs expect: the JSON text of an object, or the raw string
/// when the arguments were kept as one (they did not parse when they came back).
pub fn arguments_string(arguments: &str) -> String {
    match arguments_value(arguments) {
        Value::String(raw) => raw,
        value => value.to_string(),
    }
}

/// The WIT JSON text for arguments a provider returned as a string: the JSON itself when it
/// parses, else the raw string as a JSON string.
pub fn arguments_from_string(raw: &str) -> String {
    if raw.trim().is_empty() {
        return "{}".to_owned();
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(value) => value.to_string(),
        Err(_) => Value::String(raw.to_owned()).to_string(),
    }
}

/// A token count from the provider, saturated to `u32`; absent or not a number gives 0.
pub fn token_count(value: &Value) -> u32 {
    value.as_u64().map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// The value as a string when it is one.
pub fn string_of(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn endpoint_builds_requests_with_secret_headers() {
        let extra = BTreeMap::from([("x-team".to_owned(), "a".to_owned())]);
        let endpoint = Endpoint::new("openai", "https://api.example.com/v1/", &extra, 5_000).with_secret(
            "authorization",
            Some("OPENAI_API_KEY"),
            "Bearer {secret}",
        );
        let request = endpoint.request("POST", "/chat/completions", Some(&json!({"a": 1})));
        assert_eq!(request.url, "https://api.example.com/v1/chat/completions");
        assert_eq!(request.body, br#"{"a":1}"#);
        assert_eq!(request.timeout_ms, Some(5_000));
        assert!(request.headers.iter().any(|h| h.name == "x-team" && h.value == "a"));
        assert!(!request.headers.iter().any(|h| h.name == "authorization"));
        assert_eq!(request.secret_headers.len(), 1);
        assert_eq!(request.secret_headers[0].secret, "OPENAI_API_KEY");
        assert_eq!(request.secret_headers[0].template, "Bearer {secret}");
        let anonymous = Endpoint::new("openai", "http://x", &BTreeMap::new(), 1).with_secret("a", Some(""), "{secret}");
        assert!(anonymous.with_secret("a", None, "{secret}").secret_headers.is_empty());
    }

    #[test]
    fn extra_is_merged_but_never_streams() {
        let mut body = Map::new();
        body.insert("temperature".into(), json!(1.0));
        merge_extra(&mut body, Some(r#"{"temperature": 0.5, "seed": 7, "stream": true}"#)).unwrap();
        assert_eq!(Value::Object(body.clone()), json!({"temperature": 0.5, "seed": 7}));
        assert!(merge_extra(&mut body, Some("[1]")).is_err());
        assert!(matches!(merge_extra(&mut body, Some("{bad")), Err(ChatError::InvalidRequest(_))));
        merge_extra(&mut body, None).unwrap();
    }

    #[test]
    fn arguments_round_trip() {
        assert_eq!(arguments_from_string(r#"{"city": "Paris"}"#), r#"{"city":"Paris"}"#);
        assert_eq!(arguments_from_string("{not json"), r#""{not json""#);
        assert_eq!(arguments_from_string(""), "{}");
        assert_eq!(arguments_string(r#"{"city":"Paris"}"#), r#"{"city":"Paris"}"#);
        assert_eq!(arguments_string(r#""{not json""#), "{not json");
        assert_eq!(arguments_value(""), json!({}));
        assert_eq!(arguments_value("oops"), json!("oops"));
    }

    #[test]
    fn token_counts_saturate() {
        assert_eq!(token_count(&json!(12)), 12);
        assert_eq!(token_count(&json!(u64::MAX)), u32::MAX);
        assert_eq!(token_count(&json!(null)), 0);
        assert_eq!(token_count(&json!(-1)), 0);
    }
}
