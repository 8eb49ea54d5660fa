//! Chat records as the API shows them (OpenAI-like JSON), and chat requests built from either a
//! JSON body or a rendered prompt version.

use ember_sandbox::{ChatRequest, ChatResponse, Message, Role, Tool, ToolCall};
use serde_json::{json, Map, Value};

use crate::prompts::{ChatParts, RenderedMessage};

/// Why a chat request body was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    #[error("message {index}: {reason}")]
    Message { index: usize, reason: String },
    #[error("tool {index}: {reason}")]
    Tool { index: usize, reason: String },
    #[error("invocation parameter {name}: {reason}")]
    Parameter { name: &'static str, reason: String },
}

fn role(name: &str) -> Option<Role> {
    Some(match name {
        "system" | "developer" => Role::System,
        "user" | "human" => Role::User,
        "assistant" | "ai" | "model" => Role::Assistant,
        "tool" => Role::Tool,
        _ => return None,
    })
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

/// A tool call from `{"id", "name", "arguments"}` or OpenAI's `{"id", "function": {…}}`, with
/// arguments as an object or as JSON text.
fn tool_call(value: &Value) -> Option<ToolCall> {
    let function = value.get("function").unwrap_or(value);
    let name = function.get("name")?.as_str()?.to_owned();
    let arguments = match function.get("arguments") {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => "{}".to_owned(),
    };
    let id = value.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    Some(ToolCall { id, name, arguments })
}

/// Messages from a JSON array of `{"role", "content", "tool_calls", "tool_call_id"}`.
pub fn messages(value: &Value) -> Result<Vec<Message>, WireError> {
    let Some(items) = value.as_array() else {
        return Err(WireError::Message { index: 0, reason: "messages must be an array".into() });
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let bad = |reason: &str| WireError::Message { index, reason: reason.to_owned() };
            let role = item
                .get("role")
                .and_then(Value::as_str)
                .and_then(role)
                .ok_or_else(|| bad("role must be one of system, developer, user, assistant, tool"))?;
            let content = match item.get("content") {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(text)) => text.clone(),
                Some(_) => return Err(bad("content must be a string")),
            };
            let tool_calls = match item.get("tool_calls") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(calls)) => calls
                    .iter()
                    .map(|call| tool_call(call).ok_or_else(|| bad("a tool call has no name")))
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(bad("tool_calls must be an array")),
            };
            let tool_call_id = item.get("tool_call_id").and_then(Value::as_str).map(str::to_owned);
            Ok(Message { role, content, tool_calls, tool_call_id })
        })
        .collect()
}

/// Tools from OpenAI tool objects (`{"type": "function", "function": {…}}`) or bare functions.
pub fn tools(value: &Value) -> Result<Vec<Tool>, WireError> {
    let Some(items) = value.as_array() else {
        return Err(WireError::Tool { index: 0, reason: "tools must be an array".into() });
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let function = item.get("function").unwrap_or(item);
            let name = function.get("name").and_then(Value::as_str).filter(|n| !n.is_empty());
            let name = name.ok_or_else(|| WireError::Tool { index, reason: "a tool needs a name".into() })?;
            Ok(Tool {
                name: name.to_owned(),
                description: function.get("description").and_then(Value::as_str).unwrap_or_default().to_owned(),
                parameters: function
                    .get("parameters")
                    .cloned()
                    .unwrap_or_else(|| json!({"type": "object"}))
                    .to_string(),
            })
        })
        .collect()
}

/// A chat request from loose invocation parameters (`temperature`, `max_tokens` or
/// `max_completion_tokens`, `top_p`, `stop`, `tool_choice`; the rest passed through as `extra`).
pub fn request(
    model: String,
    messages: Vec<Message>,
    tools: Vec<Tool>,
    response_format: Option<Value>,
    parameters: &Map<String, Value>,
) -> Result<ChatRequest, WireError> {
    let mut extra = parameters.clone();
    let number = |name: &'static str, extra: &mut Map<String, Value>| -> Result<Option<f64>, WireError> {
        match extra.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value
                .as_f64()
                .map(Some)
                .ok_or(WireError::Parameter { name, reason: format!("{value} is not a number") }),
        }
    };
    let temperature = number("temperature", &mut extra)?;
    let top_p = number("top_p", &mut extra)?;
    let max_tokens = match (number("max_completion_tokens", &mut extra)?, number("max_tokens", &mut extra)?) {
        (Some(tokens), _) | (None, Some(tokens)) => {
            if !(1.0..=f64::from(u32::MAX)).contains(&tokens) || tokens.fract() != 0.0 {
                return Err(WireError::Parameter {
                    name: "max_tokens",
                    reason: format!("{tokens} is not a positive integer"),
                });
            }
            Some(tokens as u32)
        }
        (None, None) => None,
    };
    let stop = match extra.remove("stop") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(stop)) => vec![stop],
        Some(Value::Array(items)) => items.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect(),
        Some(other) => return Err(WireError::Parameter { name: "stop", reason: format!("{other} is not text") }),
    };
    let tool_choice = match extra.remove("tool_choice") {
        None | Some(Value::Null) => None,
        Some(Value::String(choice)) => Some(choice),
        Some(other) => other.pointer("/function/name").and_then(Value::as_str).map(str::to_owned),
    };
    let response_format = response_format.or_else(|| extra.remove("response_format")).filter(|f| !f.is_null());
    Ok(ChatRequest {
        model,
        messages,
        tools,
        tool_choice,
        response_format: response_format.map(|format| format.to_string()),
        temperature,
        max_tokens,
        top_p,
        stop,
        extra: (!extra.is_empty()).then(|| Value::Object(extra).to_string()),
    })
}

/// A chat request from a rendered prompt version.
pub fn prompt_request(model: String, rendered: Vec<RenderedMessage>, parts: ChatParts) -> ChatRequest {
    let messages = rendered
        .into_iter()
        .map(|message| Message {
            role: role(&message.role).unwrap_or(Role::User),
            content: message.content,
            tool_calls: message
                .tool_calls
                .into_iter()
                .map(|call| ToolCall { id: call.id, name: call.name, arguments: call.arguments.to_string() })
                .collect(),
            tool_call_id: message.tool_call_id,
        })
        .collect();
    let tools = parts
        .tools
        .into_iter()
        .map(|tool| Tool { name: tool.name, description: tool.description, parameters: tool.parameters.to_string() })
        .collect();
    ChatRequest {
        model,
        messages,
        tools,
        tool_choice: parts.tool_choice,
        response_format: parts.response_format.map(|format| format.to_string()),
        temperature: parts.temperature,
        max_tokens: parts.max_tokens,
        top_p: parts.top_p,
        stop: parts.stop,
        extra: (!parts.extra.is_empty()).then(|| Value::Object(parts.extra).to_string()),
    }
}

/// Tool call arguments as JSON when they parse, else as the text the model produced.
fn arguments(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// A message as the API shows it.
pub fn message_json(message: &Message) -> Value {
    let mut out = json!({ "role": role_name(message.role), "content": message.content });
    if !message.tool_calls.is_empty() {
        out["tool_calls"] = message
            .tool_calls
            .iter()
            .map(|call| json!({ "id": call.id, "name": call.name, "arguments": arguments(&call.arguments) }))
            .collect();
    }
    if let Some(id) = &message.tool_call_id {
        out["tool_call_id"] = json!(id);
    }
    out
}

/// What a task run stores as its output: the answer's text, or text and tool calls.
pub fn run_output(response: &ChatResponse) -> Value {
    if response.message.tool_calls.is_empty() {
        return Value::String(response.message.content.clone());
    }
    let message = message_json(&response.message);
    json!({ "content": response.message.content, "tool_calls": message["tool_calls"] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_parameters_become_a_request() {
        let messages = messages(&json!([
            {"role": "system", "content": "be brief"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": "{\"q\":1}"}}]},
            {"role": "tool", "content": "42", "tool_call_id": "c1"}
        ]))
        .unwrap();
        assert_eq!(messages[1].tool_calls[0].arguments, "{\"q\":1}");
        let tools =
            tools(&json!([{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}])).unwrap();
        let params = json!({"temperature": 0.2, "max_completion_tokens": 20, "stop": "END", "seed": 7});
        let request = request("m".into(), messages, tools, None, params.as_object().unwrap()).unwrap();
        assert_eq!((request.temperature, request.max_tokens), (Some(0.2), Some(20)));
        assert_eq!(request.stop, vec!["END".to_owned()]);
        assert_eq!(request.extra.as_deref(), Some("{\"seed\":7}"));
    }

    #[test]
    fn bad_bodies_name_what_is_wrong() {
        assert!(matches!(
            messages(&json!([{"role": "wizard", "content": "x"}])),
            Err(WireError::Message { index: 0, .. })
        ));
        assert!(matches!(tools(&json!([{"description": "nameless"}])), Err(WireError::Tool { index: 0, .. })));
        let params = json!({"max_tokens": -3});
        assert!(request("m".into(), vec![], vec![], None, params.as_object().unwrap()).is_err());
    }
}
