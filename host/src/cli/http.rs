//! A small JSON client for a running Ember (or Phoenix) server, shared by `ember dataset` and
//! `ember experiment`.

use std::fmt;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use serde_json::Value;

/// Where the server is.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Base URL of the Ember server.
    #[arg(long, global = true, env = "EMBER_SERVER_URL", default_value = "http://127.0.0.1:6006")]
    pub server: String,
    /// API key for a server with authentication on [default: `PHOENIX_API_KEY` when set].
    #[arg(long, global = true, env = "EMBER_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
}

/// A failed request: the status and the server's own message (its `detail`, `error` or `message`
/// field, else the body text).
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP method and path.
    pub request: String,
    /// The HTTP status.
    pub status: u16,
    /// What the server said.
    pub message: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed with HTTP {}: {}", self.request, self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

/// Whether `err` is an [`ApiError`] with `status`.
pub fn has_status(err: &anyhow::Error, status: u16) -> bool {
    err.downcast_ref::<ApiError>().is_some_and(|e| e.status == status)
}

/// One part of a `multipart/form-data` body.
pub struct Part {
    name: String,
    file: Option<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Part {
    /// A plain text field.
    pub fn text(name: &str, value: &str) -> Self {
        Self { name: name.into(), file: None, headers: Vec::new(), body: value.as_bytes().to_vec() }
    }

    /// A file field with its file name, content type and extra part headers.
    pub fn file(name: &str, file_name: &str, content_type: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Self {
        Self {
            name: name.into(),
            file: Some((file_name.into(), content_type.into())),
            headers: headers.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect(),
            body,
        }
    }
}

/// Encodes `parts` as `multipart/form-data`; returns the content type (with its boundary) and
/// the body.
pub fn multipart(parts: &[Part]) -> (String, Vec<u8>) {
    let boundary = format!("ember-{:032x}", rand::random::<u128>());
    let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"").replace(['\r', '\n'], " ");
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", quote(&part.name));
        if let Some((file_name, _)) = &part.file {
            disposition.push_str(&format!("; filename=\"{}\"", quote(file_name)));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some((_, content_type)) = &part.file {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        for (key, value) in &part.headers {
            body.extend_from_slice(format!("{key}: {value}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&part.body);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Percent-encodes one path segment or query value.
pub fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>().replace('+', "%20")
}

/// A JSON client bound to one server.
#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    /// A client for the server at `args.server`.
    pub fn new(args: &ServerArgs) -> Result<Self> {
        let key = args.api_key.clone().or_else(|| std::env::var("PHOENIX_API_KEY").ok()).filter(|key| !key.is_empty());
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(key) = key {
            let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", key.trim()))
                .context("the API key is not a valid header value")?;
            value.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .build()
            .context("building the HTTP client")?;
        Ok(Self { base: args.server.trim_end_matches('/').to_owned(), http })
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET path`, parsed as JSON.
    pub async fn get(&self, path: &str) -> Result<Value> {
        let text = self.send("GET", path, self.http.get(self.url(path))).await?;
        parse(&text, "GET", path)
    }

    /// `GET path`, the body as text.
    pub async fn get_text(&self, path: &str) -> Result<String> {
        self.send("GET", path, self.http.get(self.url(path))).await
    }

    /// `POST path` with a JSON body, the answer parsed as JSON (`Null` when empty).
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        let text = self.send("POST", path, self.http.post(self.url(path)).json(body)).await?;
        parse(&text, "POST", path)
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Result<()> {
        self.send("DELETE", path, self.http.delete(self.url(path))).await.map(drop)
    }

    /// `POST path` with a `multipart/form-data` body.
    pub async fn post_multipart(&self, path: &str, parts: &[Part]) -> Result<Value> {
        let (content_type, body) = multipart(parts);
        let request = self
            .http
            .post(self.url(path))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body);
        let text = self.send("POST", path, request).await?;
        parse(&text, "POST", path)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send(&self, method: &str, path: &str, request: reqwest::RequestBuilder) -> Result<String> {
        let response =
            request.send().await.with_context(|| format!("{method} {}{path}: cannot reach the server", self.base))?;
        let status = response.status().as_u16();
        let text = response.text().await.with_context(|| format!("{method} {path}: reading the answer"))?;
        if !(200..300).contains(&status) {
            return Err(ApiError { request: format!("{method} {path}"), status, message: server_message(&text) }.into());
        }
        Ok(text)
    }
}

fn parse(text: &str, method: &str, path: &str) -> Result<Value> {
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(text).with_context(|| format!("{method} {path}: the answer is not JSON"))
}

/// The message in an error body: FastAPI's `detail` (a string or a list of `{msg}`), or an
/// `error`/`message` field, else the text itself.
pub fn server_message(text: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return text.trim().to_owned();
    };
    for key in ["detail", "error", "message"] {
        match &value[key] {
            Value::String(s) => return s.clone(),
            Value::Array(items) => {
                let messages: Vec<String> =
                    items.iter().map(|i| i["msg"].as_str().map_or_else(|| i.to_string(), str::to_owned)).collect();
                return messages.join("; ");
            }
            Value::Object(inner) => {
                if let Some(Value::String(s)) = inner.get("message") {
                    return s.clone();
                }
            }
            _ => {}
        }
    }
    text.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_are_unwrapped() {
        assert_eq!(server_message(r#"{"detail": "unknown plugin nope@1"}"#), "unknown plugin nope@1");
        assert_eq!(server_message(r#"{"detail": [{"msg": "a"}, {"msg": "b"}]}"#), "a; b");
        assert_eq!(server_message(r#"{"error": {"message": "bad"}}"#), "bad");
        assert_eq!(server_message("plain text\n"), "plain text");
    }

    #[test]
    fn multipart_bodies_carry_fields_and_files() {
        let (content_type, body) = multipart(&[
            Part::text("name", "qa"),
            Part::file("file", "a.csv", "text/csv", &[("Content-Encoding", "gzip")], b"x,y".to_vec()),
        ]);
        let boundary = content_type.split("boundary=").nth(1).unwrap();
        let body = String::from_utf8(body).unwrap();
        assert!(
            body.starts_with(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nqa\r\n"))
        );
        assert!(body.contains(
            "name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\nContent-Encoding: gzip\r\n\r\nx,y\r\n"
        ));
        assert!(body.ends_with(&format!("--{boundary}--\r\n")));
    }

    #[test]
    fn encoding_escapes_query_values() {
        assert_eq!(encode("my set/1"), "my%20set%2F1");
    }
}
