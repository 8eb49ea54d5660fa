//! An Anthropic Messages API answer (and a models listing) as Ember's records.

use ember_plugin_sdk::provider::{ChatError, ChatResponse, Message, Role, ToolCall, Usage};
use provider_common::{string_of, token_count};
use serde_json::Value;

/// A Messages API answer. `model` is the requested model, used when the answer does not name one.
pub fn chat_response(body: &Value, model: &str) -> Result<ChatResponse, ChatError> {
    let Some(blocks) = body["content"].as_array() else {
        return Err(ChatError::Failed("anthropic response has no content list".into()));
    };
    let mut content = String::new();
    let mut tool_calls = Vec::new();
    for block in blocks {
        match block["type"].as_str() {
            Some("text") => content.push_str(block["text"].as_str().unwrap_or_default()),
            Some("tool_use") => tool_calls.push(ToolCall {
                id: string_of(&block["id"]).unwrap_or_else(|| format!("toolu_{}", tool_calls.len())),
                name: string_of(&block["name"]).unwrap_or_default(),
                arguments: if block["input"].is_null() { "{}".to_owned() } else { block["input"].to_string() },
            }),
            // Thinking and server-tool blocks are not part of Ember's chat records.
            _ => {}
        }
    }
    Ok(ChatResponse {
        model: string_of(&body["model"]).unwrap_or_else(|| model.to_owned()),
        message: Message { role: Role::Assistant, content, tool_calls, tool_call_id: None },
        finish_reason: body["stop_reason"].as_str().map(finish_reason),
        usage: usage(&body["usage"]),
    })
}

/// Anthropic's `stop_reason` in OpenAI's vocabulary, which Ember's records use; unknown reasons
/// pass through.
pub fn finish_reason(stop_reason: &str) -> String {
    match stop_reason {
        "end_turn" | "stop_sequence" => "stop",
        "max_tokens" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        other => other,
    }
    .to_owned()
}

/// Token usage; cached prompt tokens (read or written) count as prompt tokens.
fn usage(usage: &Value) -> Option<Usage> {
    if !usage.is_object() {
        return None;
    }
    let prompt_tokens = token_count(&usage["input_tokens"])
        .saturating_add(token_count(&usage["cache_creation_input_tokens"]))
        .saturating_add(token_count(&usage["cache_read_input_tokens"]));
    let completion_tokens = token_count(&usage["output_tokens"]);
    Some(Usage { prompt_tokens, completion_tokens, total_tokens: prompt_tokens.saturating_add(completion_tokens) })
}

/// Model ids from `GET {base_url}/v1/models` (`{"data": [{"id": …}]}`).
pub fn model_ids(body: &Value) -> Result<Vec<String>, ChatError> {
    let Some(data) = body["data"].as_array() else {
        return Err(ChatError::Failed("anthropic models response has no `data` list".into()));
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
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
            "content": [{"type": "text", "text": "Hello"}, {"type": "text", "text": "!"}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 10, "output_tokens": 2, "cache_read_input_tokens": 5}
        });
        let response = chat_response(&body, "claude").unwrap();
        assert_eq!(response.model, "claude-sonnet-4-5-20250929");
        assert_eq!(response.message.content, "Hello!");
        assert_eq!(response.finish_reason.as_deref(), Some("stop"));
        let usage = response.usage.unwrap();
        assert_eq!((usage.prompt_tokens, usage.completion_tokens, usage.total_tokens), (15, 2, 17));
    }

    #[test]
    fn tool_use_blocks_become_tool_calls() {
        let body = json!({
            "content": [
                {"type": "thinking", "thinking": "hmm"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_9", "name": "weather", "input": {"city": "Paris"}}
            ],
            "stop_reason": "tool_use", "usage": {"input_tokens": 1, "output_tokens": 1}
        });
        let response = chat_response(&body, "claude").unwrap();
        assert_eq!(response.model, "claude");
        assert_eq!(response.message.content, "Checking.");
        assert_eq!(response.finish_reason.as_deref(), Some("tool_calls"));
        let call = &response.message.tool_calls[0];
        assert_eq!(
            (call.id.as_str(), call.name.as_str(), call.arguments.as_str()),
            ("toolu_9", "weather", r#"{"city":"Paris"}"#)
        );
    }

    #[test]
    fn stop_reasons_are_mapped() {
        assert_eq!(finish_reason("end_turn"), "stop");
        assert_eq!(finish_reason("stop_sequence"), "stop");
        assert_eq!(finish_reason("max_tokens"), "length");
        assert_eq!(finish_reason("tool_use"), "tool_calls");
        assert_eq!(finish_reason("pause_turn"), "pause_turn");
    }

    #[test]
    fn malformed_answers_fail() {
        assert!(matches!(chat_response(&json!({"type": "message"}), "m"), Err(ChatError::Failed(_))));
        assert_eq!(model_ids(&json!({"data": [{"id": "claude-a"}], "has_more": false})).unwrap(), ["claude-a"]);
        assert!(model_ids(&json!([])).is_err());
    }
}
