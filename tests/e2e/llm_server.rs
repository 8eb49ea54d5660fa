//! A fake LLM provider on loopback speaking the OpenAI (`POST /v1/chat/completions`) and
//! Anthropic (`POST /v1/messages`) wire formats, plus `GET /v1/models` for both and `/echo`.
//!
//! The request's `model` picks the behaviour:
//! - `echo`: replies with the last user message's text; usage from word counts
//!   (prompt = words of every message, completion = words of the reply);
//! - `tool`: calls the first tool offered with arguments `{"q": <last user text>}`;
//! - `rate-limit-once`: a conversation's first request gets a 429 (`retry-after: 0`), the next
//!   identical one an echo;
//! - `always-429`, `always-500`: that status with the provider's own error body;
//! - `slow`: an echo after [`SLOW_DELAY`];
//! - `huge`: a valid reply of [`HUGE_REPLY_BYTES`] of content;
//! - `judge`: answers `LABEL: <label>\nEXPLANATION: …` with the bad rail when the prompt contains
//!   [`JUDGE_BAD_MARKER`], else the good one (rails found in the judge template's text);
//! - anything else: 404 `model not found`, as the providers answer.
//!
//! Whatever the model, a last user message containing [`FORCE_500_MARKER`] gets a 500. `/echo`
//! (any method) answers with the request's headers in the body (`{"method","path","headers",
//! "body"}`) and as `x-echo-<name>` response headers. Every request is recorded.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::{json, Value};

/// Models the server knows, as `GET /v1/models` lists them.
pub const MODELS: [&str; 8] = ["echo", "tool", "rate-limit-once", "always-429", "always-500", "slow", "huge", "judge"];
/// How long `slow` waits before answering.
pub const SLOW_DELAY: Duration = Duration::from_secs(10);
/// Size of `huge`'s reply content: twice the 1 MiB cap the tests configure.
pub const HUGE_REPLY_BYTES: usize = 2 << 20;
/// Text that makes `judge` pick the bad label.
pub const JUDGE_BAD_MARKER: &str = "WRONG";
/// Text in the last user message that makes any model answer 500.
pub const FORCE_500_MARKER: &str = "FORCE_500";
/// The message of OpenAI-format 500s.
pub const OPENAI_500_MESSAGE: &str = "The server had an error while processing your request. Sorry about that!";
/// The message of Anthropic-format 500s.
pub const ANTHROPIC_500_MESSAGE: &str = "Internal server error (fake anthropic)";

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Lower-cased names, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The body's `model`, for chat requests.
    pub fn model(&self) -> Option<String> {
        self.json()["model"].as_str().map(str::to_owned)
    }

    /// Everything received, as text: what a leak search looks through.
    pub fn text(&self) -> String {
        let headers: Vec<String> = self.headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
        format!("{} {}\n{}\n\n{}", self.method, self.path, headers.join("\n"), String::from_utf8_lossy(&self.body))
    }
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<Recorded>>,
    /// Conversations `rate-limit-once` has refused once.
    limited: Mutex<HashSet<String>>,
}

/// The running fake provider; stops when dropped.
pub struct LlmServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LlmServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LlmServer {
    /// Listens on an ephemeral loopback port.
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let router = Router::new().fallback(handle).layer(DefaultBodyLimit::disable()).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake llm server");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("fake llm server");
        });
        Self { shared, addr, task }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// How many chat requests named `model`.
    pub fn count(&self, model: &str) -> usize {
        self.requests().iter().filter(|r| r.model().as_deref() == Some(model)).count()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Wire {
    OpenAi,
    Anthropic,
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let recorded = Recorded {
        method: method.to_string(),
        path: uri.path().to_owned(),
        headers: headers
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body: body.to_vec(),
    };
    shared.requests.lock().unwrap().push(recorded.clone());
    let anthropic_client = headers.contains_key("anthropic-version") || headers.contains_key("x-api-key");
    match (method, uri.path()) {
        (_, "/echo") => echo_route(&recorded),
        (Method::GET, "/v1/models") => models(if anthropic_client { Wire::Anthropic } else { Wire::OpenAi }),
        (Method::POST, "/v1/chat/completions") => chat(&shared, Wire::OpenAi, recorded.json()).await,
        (Method::POST, "/v1/messages") => chat(&shared, Wire::Anthropic, recorded.json()).await,
        (_, path) => {
            (StatusCode::NOT_FOUND, Json(json!({"error": {"message": format!("no route {path}")}}))).into_response()
        }
    }
}

/// The request's headers, in the body and as `x-echo-*` headers.
fn echo_route(recorded: &Recorded) -> Response {
    let mut response_headers = HeaderMap::new();
    for (name, value) in &recorded.headers {
        let (Ok(name), Ok(value)) = (HeaderName::try_from(format!("x-echo-{name}")), HeaderValue::from_str(value))
        else {
            continue;
        };
        response_headers.append(name, value);
    }
    let headers: serde_json::Map<String, Value> =
        recorded.headers.iter().map(|(n, v)| (n.clone(), Value::String(v.clone()))).collect();
    let body = json!({"method": recorded.method, "path": recorded.path, "headers": headers,
                      "body": String::from_utf8_lossy(&recorded.body)});
    (StatusCode::OK, response_headers, Json(body)).into_response()
}

fn models(wire: Wire) -> Response {
    let data: Vec<Value> = match wire {
        Wire::OpenAi => MODELS
            .iter()
            .map(|id| json!({"id": id, "object": "model", "created": 1_700_000_000, "owned_by": "ember-tests"}))
            .collect(),
        Wire::Anthropic => MODELS
            .iter()
            .map(|id| json!({"type": "model", "id": id, "display_name": id, "created_at": "2025-01-01T00:00:00Z"}))
            .collect(),
    };
    let body = match wire {
        Wire::OpenAi => json!({"object": "list", "data": data}),
        Wire::Anthropic => {
            json!({"data": data, "has_more": false, "first_id": MODELS[0], "last_id": MODELS[MODELS.len() - 1]})
        }
    };
    Json(body).into_response()
}

/// The text of a message's `content`: a string, or the text of its text blocks / parts.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => {
            parts.iter().filter_map(|p| p["text"].as_str().or(p.as_str())).collect::<Vec<_>>().join("\n")
        }
        _ => String::new(),
    }
}

/// A chat request's parts the behaviours look at.
struct Conversation {
    model: String,
    /// Every text: the system prompt(s) then each message.
    texts: Vec<String>,
    last_user: String,
    first_tool: Option<String>,
}

impl Conversation {
    fn parse(wire: Wire, body: &Value) -> Self {
        let messages = body["messages"].as_array().cloned().unwrap_or_default();
        let mut texts = Vec::new();
        if wire == Wire::Anthropic {
            texts.push(content_text(&body["system"]));
        }
        texts.extend(messages.iter().map(|m| content_text(&m["content"])));
        let last_user = messages
            .iter()
            .rev()
            .find(|m| m["role"] == "user")
            .map(|m| content_text(&m["content"]))
            .unwrap_or_default();
        let first_tool = match wire {
            Wire::OpenAi => body["tools"][0]["function"]["name"].as_str(),
            Wire::Anthropic => body["tools"][0]["name"].as_str(),
        };
        Self {
            model: body["model"].as_str().unwrap_or_default().to_owned(),
            texts,
            last_user,
            first_tool: first_tool.map(str::to_owned),
        }
    }

    fn prompt(&self) -> String {
        self.texts.join("\n")
    }
}

/// Whitespace-separated words: the fake server's token count.
pub fn word_count(text: &str) -> u32 {
    text.split_whitespace().count() as u32
}

/// The judge's `(good, bad)` labels, from the rails its template names. The most specific pairs
/// come first: a faithfulness template may say "hallucinated", a hallucination one "incorrect".
pub fn judge_rails(prompt: &str) -> (&'static str, &'static str) {
    let prompt = prompt.to_lowercase();
    let pairs = [
        ("non-toxic", "non-toxic", "toxic"),
        ("unfaithful", "faithful", "unfaithful"),
        ("hallucinated", "factual", "hallucinated"),
        ("unrelated", "relevant", "unrelated"),
    ];
    for (needle, good, bad) in pairs {
        if prompt.contains(needle) {
            return (good, bad);
        }
    }
    ("correct", "incorrect")
}

/// The judge's answer to `prompt`. The explanation avoids every rail word.
pub fn judge_reply(prompt: &str) -> String {
    let (good, bad) = judge_rails(prompt);
    let marked = prompt.contains(JUDGE_BAD_MARKER);
    let label = if marked { bad } else { good };
    let why = if marked { "the bad marker is present" } else { "no bad marker is present" };
    format!("LABEL: {label}\nEXPLANATION: fake judge says {why}")
}

async fn chat(shared: &Shared, wire: Wire, body: Value) -> Response {
    let conversation = Conversation::parse(wire, &body);
    if conversation.last_user.contains(FORCE_500_MARKER) {
        return server_error(wire);
    }
    match conversation.model.as_str() {
        "echo" => reply(wire, &conversation, Reply::Text(conversation.last_user.clone())),
        "tool" => match &conversation.first_tool {
            Some(tool) => reply(wire, &conversation, Reply::Tool(tool.clone())),
            None => reply(wire, &conversation, Reply::Text(conversation.last_user.clone())),
        },
        "rate-limit-once" => {
            let key = body["messages"].to_string();
            if shared.limited.lock().unwrap().insert(key) {
                return rate_limited(wire);
            }
            reply(wire, &conversation, Reply::Text(conversation.last_user.clone()))
        }
        "always-429" => rate_limited(wire),
        "always-500" => server_error(wire),
        "slow" => {
            tokio::time::sleep(SLOW_DELAY).await;
            reply(wire, &conversation, Reply::Text(conversation.last_user.clone()))
        }
        "huge" => reply(wire, &conversation, Reply::Text("x".repeat(HUGE_REPLY_BYTES))),
        "judge" => reply(wire, &conversation, Reply::Text(judge_reply(&conversation.prompt()))),
        other => model_not_found(wire, other),
    }
}

enum Reply {
    Text(String),
    /// A call of this tool.
    Tool(String),
}

fn reply(wire: Wire, conversation: &Conversation, reply: Reply) -> Response {
    let prompt_tokens: u32 = conversation.texts.iter().map(|t| word_count(t)).sum();
    let model = &conversation.model;
    let arguments = json!({"q": conversation.last_user});
    let completion_tokens = match &reply {
        Reply::Text(text) => word_count(text),
        Reply::Tool(_) => word_count(&conversation.last_user) + 1,
    };
    let body = match (wire, &reply) {
        (Wire::OpenAi, _) => {
            let (message, finish) = match &reply {
                Reply::Text(text) => (json!({"role": "assistant", "content": text, "refusal": null}), "stop"),
                Reply::Tool(name) => (
                    json!({"role": "assistant", "content": null, "refusal": null, "tool_calls": [{
                        "id": "call_fake_1", "type": "function",
                        "function": {"name": name, "arguments": arguments.to_string()}}]}),
                    "tool_calls",
                ),
            };
            json!({
                "id": "chatcmpl-fake", "object": "chat.completion", "created": 1_700_000_000, "model": model,
                "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                          "total_tokens": prompt_tokens + completion_tokens},
                "system_fingerprint": "fp_fake",
            })
        }
        (Wire::Anthropic, _) => {
            let (content, stop) = match &reply {
                Reply::Text(text) => (json!([{"type": "text", "text": text}]), "end_turn"),
                Reply::Tool(name) => {
                    (json!([{"type": "tool_use", "id": "toolu_fake_1", "name": name, "input": arguments}]), "tool_use")
                }
            };
            json!({
                "id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": content,
                "stop_reason": stop, "stop_sequence": null,
                "usage": {"input_tokens": prompt_tokens, "output_tokens": completion_tokens},
            })
        }
    };
    Json(body).into_response()
}

fn rate_limited(wire: Wire) -> Response {
    let body = match wire {
        Wire::OpenAi => json!({"error": {"message": "Rate limit reached for requests per min (RPM): Limit 3, Used 3",
            "type": "requests", "param": null, "code": "rate_limit_exceeded"}}),
        Wire::Anthropic => json!({"type": "error", "error": {"type": "rate_limit_error",
            "message": "Number of requests has exceeded your per-minute rate limit"}}),
    };
    (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "0")], Json(body)).into_response()
}

fn server_error(wire: Wire) -> Response {
    let body = match wire {
        Wire::OpenAi => {
            json!({"error": {"message": OPENAI_500_MESSAGE, "type": "server_error", "param": null, "code": null}})
        }
        Wire::Anthropic => json!({"type": "error", "error": {"type": "api_error", "message": ANTHROPIC_500_MESSAGE}}),
    };
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}

fn model_not_found(wire: Wire, model: &str) -> Response {
    let message = format!("The model `{model}` does not exist or you do not have access to it.");
    let body = match wire {
        Wire::OpenAi => json!({"error": {"message": message, "type": "invalid_request_error", "param": null,
            "code": "model_not_found"}}),
        Wire::Anthropic => json!({"type": "error", "error": {"type": "not_found_error", "message": message}}),
    };
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

#[cfg(test)]
mod tests;
