//! Ember's `chat-request` as an OpenAI chat-completions body.

use ember_plugin_sdk::provider::{ChatError, ChatRequest, Message, Role, Tool};
use provider_common::{arguments_string, merge_extra, parse_request_json};
use serde_json::{json, Map, Value};

/// The JSON body of `POST {base_url}/chat/completions`.
pub fn body(request: &ChatRequest) -> Result<Value, ChatError> {
    let mut body = Map::new();
    body.insert("model".into(), json!(request.model));
    body.insert("messages".into(), Value::Array(request.messages.iter().map(message).collect()));
    if !request.tools.is_empty() {
        let tools = request.tools.iter().map(tool).collect::<Result<Vec<_>, _>>()?;
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = request.tool_choice.as_deref().filter(|c| !c.is_empty()) {
        body.insert("tool_choice".into(), tool_choice(choice));
    }
    if let Some(format) = request.response_format.as_deref().filter(|f| !f.trim().is_empty()) {
        body.insert("response_format".into(), parse_request_json("response_format", format)?);
    }
    if let Some(temperature) = request.temperature {
        body.insert("temperature".into(), json!(temperature));
    }
    if let Some(max_tokens) = request.max_tokens {
        body.insert("max_tokens".into(), json!(max_tokens));
    }
    if let Some(top_p) = request.top_p {
        body.insert("top_p".into(), json!(top_p));
    }
    if !request.stop.is_empty() {
        body.insert("stop".into(), json!(request.stop));
    }
    merge_extra(&mut body, request.extra.as_deref())?;
    // Reasoning models refuse `max_tokens` next to (or instead of) `max_completion_tokens`: a
    // request that sets the latter through `extra` means it.
    if body.contains_key("max_completion_tokens") {
        body.remove("max_tokens");
    }
    Ok(Value::Object(body))
}

/// One message. An assistant message that only calls tools has `content: null`, as OpenAI sends it.
fn message(message: &Message) -> Value {
    match message.role {
        Role::System => json!({"role": "system", "content": message.content}),
        Role::User => json!({"role": "user", "content": message.content}),
        Role::Tool => json!({
            "role": "tool",
            "tool_call_id": message.tool_call_id.clone().unwrap_or_default(),
            "content": message.content,
        }),
        Role::Assistant => {
            let mut out = Map::new();
            out.insert("role".into(), json!("assistant"));
            let content = if message.content.is_empty() && !message.tool_calls.is_empty() {
                Value::Null
            } else {
                json!(message.content)
            };
            out.insert("content".into(), content);
            if !message.tool_calls.is_empty() {
                let calls: Vec<Value> = message
                    .tool_calls
                    .iter()
                    .map(|call| {
                        json!({
                            "id": call.id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": arguments_string(&call.arguments)},
                        })
                    })
                    .collect();
                out.insert("tool_calls".into(), Value::Array(calls));
            }
            Value::Object(out)
        }
    }
}

/// One function tool.
fn tool(tool: &Tool) -> Result<Value, ChatError> {
    let mut function = Map::new();
    function.insert("name".into(), json!(tool.name));
    if !tool.description.is_empty() {
        function.insert("description".into(), json!(tool.description));
    }
    let parameters = if tool.parameters.trim().is_empty() {
        json!({"type": "object", "properties": {}})
    } else {
        parse_request_json(&format!("parameters of tool {:?}", tool.name), &tool.parameters)?
    };
    function.insert("parameters".into(), parameters);
    Ok(json!({"type": "function", "function": function}))
}

/// `auto`, `none` and `required` pass through; anything else names a tool.
fn tool_choice(choice: &str) -> Value {
    match choice {
        "auto" | "none" | "required" => json!(choice),
        name => json!({"type": "function", "function": {"name": name}}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_plugin_sdk::provider::ToolCall;

    fn request(messages: Vec<Message>) -> ChatRequest {
        ChatRequest::new("gpt-4o-mini", messages)
    }

    #[test]
    fn minimal_request() {
        let body = body(&request(vec![Message::system("be brief"), Message::user("hi")])).unwrap();
        assert_eq!(
            body,
            json!({"model": "gpt-4o-mini", "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "hi"},
            ]})
        );
    }

    #[test]
    fn tools_tool_calls_and_results() {
        let mut assistant = Message::assistant("");
        assistant.tool_calls = vec![
            ToolCall { id: "call_1".into(), name: "weather".into(), arguments: r#"{"city":"Paris"}"#.into() },
            ToolCall { id: "call_2".into(), name: "weather".into(), arguments: r#""{broken""#.into() },
        ];
        let mut result = Message::new(Role::Tool, "sunny");
        result.tool_call_id = Some("call_1".into());
        let mut req = request(vec![Message::user("weather?"), assistant, result]);
        req.tools = vec![Tool {
            name: "weather".into(),
            description: "Current weather".into(),
            parameters: r#"{"type":"object","properties":{"city":{"type":"string"}}}"#.into(),
        }];
        req.tool_choice = Some("weather".into());
        let body = body(&req).unwrap();
        assert_eq!(
            body["messages"][1],
            json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "weather", "arguments": "{broken"}},
            ]})
        );
        assert_eq!(body["messages"][2], json!({"role": "tool", "tool_call_id": "call_1", "content": "sunny"}));
        assert_eq!(
            body["tools"],
            json!([{"type": "function", "function": {"name": "weather", "description": "Current weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}])
        );
        assert_eq!(body["tool_choice"], json!({"type": "function", "function": {"name": "weather"}}));
        req.tool_choice = Some("required".into());
        assert_eq!(super::body(&req).unwrap()["tool_choice"], json!("required"));
    }

    #[test]
    fn parameters_format_and_extra() {
        let mut req = request(vec![Message::user("json please")]);
        req.response_format = Some(r#"{"type":"json_object"}"#.into());
        req.temperature = Some(0.2);
        req.max_tokens = Some(50);
        req.top_p = Some(0.9);
        req.stop = vec!["END".into()];
        req.extra = Some(r#"{"seed": 42, "temperature": 0.0, "stream": true}"#.into());
        let body = body(&req).unwrap();
        assert_eq!(body["response_format"], json!({"type": "json_object"}));
        assert_eq!(body["temperature"], json!(0.0));
        assert_eq!(body["max_tokens"], json!(50));
        assert_eq!(body["top_p"], json!(0.9));
        assert_eq!(body["stop"], json!(["END"]));
        assert_eq!(body["seed"], json!(42));
        assert!(body.get("stream").is_none());
        req.extra = Some(r#"{"max_completion_tokens": 99}"#.into());
        let body = super::body(&req).unwrap();
        assert_eq!(body["max_completion_tokens"], json!(99));
        assert!(body.get("max_tokens").is_none());
    }

    #[test]
    fn bad_json_is_an_invalid_request() {
        let mut req = request(vec![Message::user("x")]);
        req.response_format = Some("{nope".into());
        assert!(matches!(body(&req), Err(ChatError::InvalidRequest(m)) if m.contains("response_format")));
        let mut req = request(vec![Message::user("x")]);
        req.tools = vec![Tool { name: "t".into(), description: String::new(), parameters: "[".into() }];
        assert!(matches!(body(&req), Err(ChatError::InvalidRequest(m)) if m.contains("\"t\"")));
    }
}
