//! Ember's `chat-request` as an Anthropic Messages API body.
//!
//! The differences from the OpenAI shape: system messages become the top-level `system`, tool
//! calls and tool results are content blocks (`tool_use` on the assistant side, `tool_result` in
//! a user turn), consecutive turns of one role are merged (tool results of one assistant turn must
//! share a user turn), `max_tokens` is required, and there is no `response_format`: it becomes a
//! system instruction.

use ember_plugin_sdk::log;
use ember_plugin_sdk::provider::{ChatError, ChatRequest, Message, Role, Tool};
use provider_common::{arguments_value, merge_extra, parse_request_json};
use serde_json::{json, Map, Value};

/// `max_tokens` when the request sets none: the API requires one, and 1024 is enough for a chat
/// turn or a judge's verdict without letting a runaway answer cost much.
pub const DEFAULT_MAX_TOKENS: u32 = 1024;

/// The JSON body of `POST {base_url}/v1/messages`.
pub fn body(request: &ChatRequest) -> Result<Value, ChatError> {
    let mut body = Map::new();
    body.insert("model".into(), json!(request.model));
    let mut system: Vec<String> = request
        .messages
        .iter()
        .filter(|m| matches!(m.role, Role::System) && !m.content.trim().is_empty())
        .map(|m| m.content.clone())
        .collect();
    if let Some(format) = request.response_format.as_deref().filter(|f| !f.trim().is_empty()) {
        system.extend(format_instruction(&parse_request_json("response_format", format)?));
    }
    if !system.is_empty() {
        body.insert("system".into(), json!(system.join("\n\n")));
    }
    body.insert("messages".into(), Value::Array(turns(&request.messages)?));
    body.insert("max_tokens".into(), json!(request.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS)));
    if !request.tools.is_empty() {
        let tools = request.tools.iter().map(tool).collect::<Result<Vec<_>, _>>()?;
        body.insert("tools".into(), Value::Array(tools));
        if let Some(choice) = request.tool_choice.as_deref().filter(|c| !c.is_empty()) {
            body.insert("tool_choice".into(), tool_choice(choice));
        }
    }
    if let Some(temperature) = request.temperature {
        body.insert("temperature".into(), json!(temperature));
    }
    if let Some(top_p) = request.top_p {
        body.insert("top_p".into(), json!(top_p));
    }
    if !request.stop.is_empty() {
        body.insert("stop_sequences".into(), json!(request.stop));
    }
    merge_extra(&mut body, request.extra.as_deref())?;
    Ok(Value::Object(body))
}

/// The non-system messages as alternating turns of content blocks.
fn turns(messages: &[Message]) -> Result<Vec<Value>, ChatError> {
    let mut turns: Vec<(&str, Vec<Value>)> = Vec::new();
    for message in messages {
        let (role, blocks) = match message.role {
            Role::System => continue,
            Role::User => ("user", text_block(&message.content).into_iter().collect()),
            Role::Tool => ("user", vec![tool_result(message)?]),
            Role::Assistant => ("assistant", assistant_blocks(message)),
        };
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((last_role, last_blocks)) if *last_role == role => last_blocks.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    Ok(turns.into_iter().map(|(role, content)| json!({"role": role, "content": content})).collect())
}

/// A text block; the API refuses empty ones.
fn text_block(text: &str) -> Option<Value> {
    (!text.is_empty()).then(|| json!({"type": "text", "text": text}))
}

/// An assistant message's text and `tool_use` blocks.
fn assistant_blocks(message: &Message) -> Vec<Value> {
    let mut blocks: Vec<Value> = text_block(&message.content).into_iter().collect();
    for call in &message.tool_calls {
        let input = match arguments_value(&call.arguments) {
            Value::Object(input) => Value::Object(input),
            other => {
                // `input` must be an object; arguments the model garbled cannot be sent back.
                log::warn(format!("tool call {} has non-object arguments {other}; sending {{}}", call.id));
                json!({})
            }
        };
        blocks.push(json!({"type": "tool_use", "id": call.id, "name": call.name, "input": input}));
    }
    blocks
}

/// A `tool` message as a `tool_result` block.
fn tool_result(message: &Message) -> Result<Value, ChatError> {
    let Some(id) = message.tool_call_id.as_deref().filter(|id| !id.is_empty()) else {
        return Err(ChatError::InvalidRequest("a tool message needs a tool_call_id".into()));
    };
    Ok(json!({"type": "tool_result", "tool_use_id": id, "content": message.content}))
}

/// One tool, its JSON Schema as `input_schema`.
fn tool(tool: &Tool) -> Result<Value, ChatError> {
    let mut out = Map::new();
    out.insert("name".into(), json!(tool.name));
    if !tool.description.is_empty() {
        out.insert("description".into(), json!(tool.description));
    }
    let schema = if tool.parameters.trim().is_empty() {
        json!({"type": "object", "properties": {}})
    } else {
        parse_request_json(&format!("parameters of tool {:?}", tool.name), &tool.parameters)?
    };
    out.insert("input_schema".into(), schema);
    Ok(Value::Object(out))
}

/// `auto` → auto, `required` → any, `none` → none, anything else names a tool.
fn tool_choice(choice: &str) -> Value {
    match choice {
        "auto" => json!({"type": "auto"}),
        "required" | "any" => json!({"type": "any"}),
        "none" => json!({"type": "none"}),
        name => json!({"type": "tool", "name": name}),
    }
}

/// The system instruction standing in for an OpenAI-style `response_format`.
fn format_instruction(format: &Value) -> Option<String> {
    match format["type"].as_str() {
        Some("json_object") => {
            Some("Answer with a single JSON object and nothing else: no prose, no code fence.".into())
        }
        Some("json_schema") => {
            let schema = format["json_schema"].get("schema").unwrap_or(&format["json_schema"]);
            Some(format!(
                "Answer with a single JSON value that matches this JSON Schema, and nothing else: no prose, no \
                 code fence.\n{schema}"
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_plugin_sdk::provider::ToolCall;

    fn request(messages: Vec<Message>) -> ChatRequest {
        ChatRequest::new("claude-sonnet-4-5", messages)
    }

    #[test]
    fn system_messages_move_to_the_top() {
        let req = request(vec![Message::system("be brief"), Message::user("hi"), Message::system("be kind")]);
        assert_eq!(
            body(&req).unwrap(),
            json!({"model": "claude-sonnet-4-5", "system": "be brief\n\nbe kind", "max_tokens": 1024,
                "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]})
        );
    }

    #[test]
    fn tool_use_and_results_become_blocks() {
        let mut assistant = Message::assistant("Let me check.");
        assistant.tool_calls = vec![
            ToolCall { id: "toolu_1".into(), name: "weather".into(), arguments: r#"{"city":"Paris"}"#.into() },
            ToolCall { id: "toolu_2".into(), name: "weather".into(), arguments: r#"{"city":"Rome"}"#.into() },
        ];
        let result = |id: &str, text: &str| {
            let mut m = Message::new(Role::Tool, text);
            m.tool_call_id = Some(id.into());
            m
        };
        let mut req =
            request(vec![Message::user("weather?"), assistant, result("toolu_1", "sunny"), result("toolu_2", "rain")]);
        req.tools = vec![Tool {
            name: "weather".into(),
            description: "Current weather".into(),
            parameters: r#"{"type":"object","properties":{"city":{"type":"string"}}}"#.into(),
        }];
        req.tool_choice = Some("required".into());
        let body = body(&req).unwrap();
        assert_eq!(
            body["messages"][1],
            json!({"role": "assistant", "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "weather", "input": {"city": "Rome"}},
            ]})
        );
        assert_eq!(
            body["messages"][2],
            json!({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "rain"},
            ]})
        );
        assert_eq!(
            body["tools"],
            json!([{"name": "weather", "description": "Current weather",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}])
        );
        assert_eq!(body["tool_choice"], json!({"type": "any"}));
        req.tool_choice = Some("weather".into());
        assert_eq!(super::body(&req).unwrap()["tool_choice"], json!({"type": "tool", "name": "weather"}));
    }

    #[test]
    fn tool_message_without_id_is_invalid() {
        let req = request(vec![Message::user("x"), Message::new(Role::Tool, "result")]);
        assert!(matches!(body(&req), Err(ChatError::InvalidRequest(m)) if m.contains("tool_call_id")));
    }

    #[test]
    fn parameters_and_defaults() {
        let mut req = request(vec![Message::user("x")]);
        req.temperature = Some(0.3);
        req.top_p = Some(0.8);
        req.stop = vec!["END".into()];
        req.tool_choice = Some("auto".into());
        req.extra = Some(r#"{"top_k": 5}"#.into());
        let body = body(&req).unwrap();
        assert_eq!(body["max_tokens"], json!(1024));
        assert_eq!(body["temperature"], json!(0.3));
        assert_eq!(body["top_p"], json!(0.8));
        assert_eq!(body["stop_sequences"], json!(["END"]));
        assert_eq!(body["top_k"], json!(5));
        assert!(body.get("tool_choice").is_none(), "no tools, no tool_choice");
        assert!(body.get("stop").is_none());
        req.max_tokens = Some(10);
        assert_eq!(super::body(&req).unwrap()["max_tokens"], json!(10));
    }

    #[test]
    fn response_format_becomes_a_system_instruction() {
        let mut req = request(vec![Message::system("You grade answers."), Message::user("x")]);
        req.response_format = Some(
            r#"{"type":"json_schema","json_schema":{"name":"grade","schema":{"type":"object","properties":{"ok":{"type":"boolean"}}}}}"#
                .into(),
        );
        let body = body(&req).unwrap();
        let system = body["system"].as_str().unwrap();
        assert!(system.starts_with("You grade answers.\n\nAnswer with a single JSON value"), "{system}");
        assert!(system.ends_with(r#"{"properties":{"ok":{"type":"boolean"}},"type":"object"}"#), "{system}");
        assert!(body.get("response_format").is_none());
        req.response_format = Some(r#"{"type":"json_object"}"#.into());
        assert!(super::body(&req).unwrap()["system"].as_str().unwrap().contains("single JSON object"));
        req.response_format = Some(r#"{"type":"text"}"#.into());
        assert_eq!(super::body(&req).unwrap()["system"], json!("You grade answers."));
    }
}
