//! A prompt version's template rendered into provider-neutral chat messages.

use serde_json::{Map, Value};

use super::template::{render_text, RenderError, TemplateFormat};
use super::{PromptVersion, RenderedMessage, RenderedToolCall};

/// Renders `version`'s template with `variables`: a CHAT template gives one message per template
/// message, a STR template one `user` message. Text (strings and `text` parts) is rendered; tool
/// call arguments and tool results are passed through as stored, like Phoenix's client does.
/// Several text parts in one message are concatenated without a separator.
pub fn render(version: &PromptVersion, variables: &Map<String, Value>) -> Result<Vec<RenderedMessage>, RenderError> {
    let format = TemplateFormat::parse(&version.template_format)
        .ok_or_else(|| invalid(format!("unknown template_format {:?}", version.template_format)))?;
    let template = &version.template;
    match template.get("type").and_then(Value::as_str) {
        Some("string") => {
            let text = template
                .get("template")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("string template without a \"template\" string"))?;
            Ok(vec![message("user", render_text(text, format, variables)?)])
        }
        Some("chat") => {
            let messages = template
                .get("messages")
                .and_then(Value::as_array)
                .ok_or_else(|| invalid("chat template without a \"messages\" list"))?;
            messages.iter().map(|m| render_message(m, format, variables)).collect()
        }
        other => Err(invalid(format!("unknown template type {other:?}"))),
    }
}

fn invalid(reason: impl Into<String>) -> RenderError {
    RenderError::InvalidPrompt(reason.into())
}

fn message(role: &str, content: String) -> RenderedMessage {
    RenderedMessage { role: role.to_owned(), content, tool_calls: Vec::new(), tool_call_id: None }
}

/// Phoenix's roles mapped onto the four chat roles.
fn chat_role(role: &str) -> Option<&'static str> {
    match role {
        "user" => Some("user"),
        "assistant" | "model" | "ai" => Some("assistant"),
        "system" | "developer" => Some("system"),
        "tool" => Some("tool"),
        _ => None,
    }
}

fn render_message(
    stored: &Value,
    format: TemplateFormat,
    variables: &Map<String, Value>,
) -> Result<RenderedMessage, RenderError> {
    let role = stored.get("role").and_then(Value::as_str).unwrap_or_default();
    let role = chat_role(role).ok_or_else(|| invalid(format!("unknown message role {role:?}")))?;
    let mut rendered = message(role, String::new());
    match stored.get("content") {
        Some(Value::String(text)) => rendered.content = render_text(text, format, variables)?,
        Some(Value::Array(parts)) => {
            for part in parts {
                render_part(part, format, variables, &mut rendered)?;
            }
        }
        _ => return Err(invalid("message content must be a string or a list of parts")),
    }
    Ok(rendered)
}

fn render_part(
    part: &Value,
    format: TemplateFormat,
    variables: &Map<String, Value>,
    into: &mut RenderedMessage,
) -> Result<(), RenderError> {
    let text_field = |key: &str| part.get(key).and_then(Value::as_str);
    match text_field("type") {
        Some("text") => {
            let text = text_field("text").ok_or_else(|| invalid("text part without text"))?;
            into.content.push_str(&render_text(text, format, variables)?);
        }
        Some("tool_call") => {
            let call = part.get("tool_call").ok_or_else(|| invalid("tool_call part without tool_call"))?;
            let name = call.get("name").and_then(Value::as_str).ok_or_else(|| invalid("tool call without a name"))?;
            let raw = call.get("arguments").and_then(Value::as_str).unwrap_or("{}");
            let arguments = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()));
            let id = text_field("tool_call_id").unwrap_or_default().to_owned();
            into.tool_calls.push(RenderedToolCall { id, name: name.to_owned(), arguments });
        }
        Some("tool_result") => {
            into.tool_call_id = text_field("tool_call_id").map(str::to_owned);
            match part.get("tool_result") {
                Some(Value::String(text)) => into.content.push_str(text),
                Some(other) => into.content.push_str(&other.to_string()),
                None => {}
            }
        }
        other => return Err(invalid(format!("unknown content part type {other:?}"))),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn version(template_type: &str, format: &str, template: Value) -> PromptVersion {
        PromptVersion {
            id: 1,
            prompt_id: 1,
            prompt_name: "p".into(),
            description: None,
            model_provider: "OPENAI".into(),
            model_name: "gpt-4o-mini".into(),
            template_type: template_type.into(),
            template_format: format.into(),
            template,
            invocation_parameters: json!({"type": "openai", "openai": {}}),
            tools: None,
            response_format: None,
        }
    }

    fn vars(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn chat_roles_map_and_text_renders() {
        let template = json!({"type": "chat", "messages": [
            {"role": "developer", "content": "Be {{tone}}."},
            {"role": "user", "content": [{"type": "text", "text": "Q: "}, {"type": "text", "text": "{{q}}"}]},
            {"role": "model", "content": "ok"},
            {"role": "ai", "content": "ok"},
        ]});
        let out = render(&version("CHAT", "MUSTACHE", template), &vars(json!({"tone": "terse", "q": 42}))).unwrap();
        let roles: Vec<&str> = out.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["system", "user", "assistant", "assistant"]);
        assert_eq!(out[0].content, "Be terse.");
        assert_eq!(out[1].content, "Q: 42");
    }

    #[test]
    fn tool_calls_and_results_pass_through_unrendered() {
        let template = json!({"type": "chat", "messages": [
            {"role": "assistant", "content": [{"type": "tool_call", "tool_call_id": "c1",
                "tool_call": {"type": "function", "name": "lookup", "arguments": "{\"q\": \"{{x}}\"}"}}]},
            {"role": "tool", "content": [{"type": "tool_result", "tool_call_id": "c1", "tool_result": {"v": 1}}]},
        ]});
        let out = render(&version("CHAT", "MUSTACHE", template), &Map::new()).unwrap();
        assert_eq!(
            out[0].tool_calls,
            [RenderedToolCall { id: "c1".into(), name: "lookup".into(), arguments: json!({"q": "{{x}}"}) }]
        );
        assert_eq!(out[1].role, "tool");
        assert_eq!(out[1].tool_call_id.as_deref(), Some("c1"));
        assert_eq!(out[1].content, r#"{"v":1}"#);
    }

    #[test]
    fn string_templates_become_one_user_message() {
        let template = json!({"type": "string", "template": "Translate {text}"});
        let out = render(&version("STR", "F_STRING", template), &vars(json!({"text": "hola"}))).unwrap();
        assert_eq!(out, [message("user", "Translate hola".into())]);
    }

    #[test]
    fn missing_variables_and_bad_templates_are_errors() {
        let template = json!({"type": "chat", "messages": [{"role": "user", "content": "{{q}}"}]});
        let err = render(&version("CHAT", "MUSTACHE", template.clone()), &Map::new()).unwrap_err();
        assert_eq!(err, RenderError::MissingVariable("q".into()));
        assert_eq!(render(&version("CHAT", "NONE", template.clone()), &Map::new()).unwrap()[0].content, "{{q}}");
        assert!(matches!(render(&version("CHAT", "JINJA", template), &Map::new()), Err(RenderError::InvalidPrompt(_))));
        let bad_role = json!({"type": "chat", "messages": [{"role": "narrator", "content": "x"}]});
        assert!(matches!(render(&version("CHAT", "NONE", bad_role), &Map::new()), Err(RenderError::InvalidPrompt(_))));
    }
}
