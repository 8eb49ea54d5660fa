//! An OpenAI chat-completions answer (and a models listing) as Ember's records.

use ember_plugin_sdk::provider::{ChatError, ChatResponse, Message, Role, ToolCall, Usage};
use provider_common::{arguments_from_string, provider_message, string_of, token_count};
use serde_json::Value;

/// The first choice of a chat-completions answer. `model` is the requested model, used when the
/// answer does not name one.
pub fn chat_response(body: &Value, model: &str) -> Result<ChatResponse, ChatError> {
    let Some(choice) = body["choices"].as_array().and_then(|c| c.first()) else {
        // Some compatible servers answer 200 with an error object.
        if !body["error"].is_null() {
            return Err(ChatError::Failed(provider_message(body.to_string().as_bytes())));
        }
        return Err(ChatError::Failed("openai response has no choices".into()));
    };
    let message = &choice["message"];
    let tool_calls = message["tool_calls"]
        .as_array()
        .map(|calls| calls.iter().enumerate().map(|(index, call)| tool_call(index, call)).collect())
        .unwrap_or_default();
    Ok(ChatResponse {
        model: string_of(&body["model"]).unwrap_or_else(|| model.to_owned()),
        message: Message {
            role: Role::Assistant,
            content: content(&message["content"]),
            tool_calls,
            tool_call_id: None,
        },
        finish_reason: string_of(&choice["finish_reason"]),
        usage: usage(&body["usage"]),
    })
}

/// Message content: a string, or (some compatible servers) a list of text parts.
fn content(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str().or(p.as_str())).collect(),
        _ => String::new(),
    }
}

/// One tool call; arguments arrive as a JSON string (or, from some servers, as an object).
fn tool_call(index: usize, call: &Value) -> ToolCall {
    let function = &call["function"];
    let arguments = match &function["arguments"] {
        Value::String(raw) => arguments_from_string(raw),
        Value::Null => "{}".to_owned(),
        other => other.to_string(),
    };
    ToolCall {
        id: string_of(&call["id"]).unwrap_or_else(|| format!("call_{index}")),
        name: string_of(&function["name"]).unwrap_or_default(),
        arguments,
    }
}

/// Token usage, when reported; a missing total is the sum of the others.
fn usage(usage: &Value) -> Option<Usage> {
    if !usage.is_object() {
        return None;
    }
    let prompt_tokens = token_count(&usage["prompt_tokens"]);
    let completion_tokens = token_count(&usage["completion_tokens"]);
    let total_tokens = match usage["total_tokens"].as_u64() {
        Some(_) => token_count(&usage["total_tokens"]),
        None => prompt_tokens.saturating_add(completion_tokens),
    };
    Some(Usage { prompt_tokens, completion_tokens, total_tokens })
}

/// Model ids from `GET {base_url}/models` (`{"data": [{"id": …}]}`).
pub fn model_ids(body: &Value) -> Result<Vec<String>, ChatError> {
    let Some(data) = body["data"].as_array() else {
        return Err(ChatError::Failed("openai models response has no `data` list".into()));
    };
    Ok(data.iter().filter_map(|m| string_of(&m["id"])).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_answer_with_usage() {
        let body = json!({
            "id": "chatcmpl-1", "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}
        });
        let response = chat_response(&body, "gpt-4o-mini").unwrap();
        assert_eq!(response.model, "gpt-4o-mini-2024-07-18");
        assert_eq!(response.message.content, "Hello!");
        assert!(matches!(response.message.role, Role::Assistant));
        assert_eq!(response.finish_reason.as_deref(), Some("stop"));
        let usage = response.usage.unwrap();
        assert_eq!((usage.prompt_tokens, usage.completion_tokens, usage.total_tokens), (9, 3, 12));
    }

    #[test]
    fn tool_calls_are_parsed() {
        let body = json!({
            "choices": [{"message": {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "weather", "arguments": "{\"city\": \"Paris\"}"}},
                {"type": "function", "function": {"name": "broken", "arguments": "{city: Paris"}},
                {"id": "call_c", "type": "function", "function": {"name": "obj", "arguments": {"n": 1}}}
            ]}, "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 7}
        });
        let response = chat_response(&body, "m").unwrap();
        assert_eq!(response.model, "m");
        assert_eq!(response.message.content, "");
        assert_eq!(response.finish_reason.as_deref(), Some("tool_calls"));
        let calls = &response.message.tool_calls;
        assert_eq!(calls.len(), 3);
        assert_eq!((calls[0].id.as_str(), calls[0].name.as_str()), ("call_a", "weather"));
        assert_eq!(calls[0].arguments, r#"{"city":"Paris"}"#);
        assert_eq!(calls[1].id, "call_1");
        assert_eq!(calls[1].arguments, r#""{city: Paris""#);
        assert_eq!(calls[2].arguments, r#"{"n":1}"#);
        assert_eq!(response.usage.unwrap().total_tokens, 12);
    }

    #[test]
    fn length_finish_and_content_parts() {
        let body = json!({"choices": [{"message": {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            "finish_reason": "length"}]});
        let response = chat_response(&body, "m").unwrap();
        assert_eq!(response.message.content, "ab");
        assert_eq!(response.finish_reason.as_deref(), Some("length"));
        assert!(response.usage.is_none());
    }

    #[test]
    fn answers_without_choices_fail() {
        let err = chat_response(&json!({"error": {"message": "context too long"}}), "m").unwrap_err();
        assert!(matches!(&err, ChatError::Failed(m) if m == "context too long"), "{err:?}");
        let err = chat_response(&json!({"choices": []}), "m").unwrap_err();
        assert!(matches!(err, ChatError::Failed(_)), "{err:?}");
    }

    #[test]
    fn model_listing() {
        let body = json!({"object": "list", "data": [{"id": "gpt-4o"}, {"id": "gpt-4o-mini"}, {"name": "x"}]});
        assert_eq!(model_ids(&body).unwrap(), ["gpt-4o", "gpt-4o-mini"]);
        assert!(model_ids(&json!({"models": []})).is_err());
    }
}
