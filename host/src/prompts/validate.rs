//! Checks a prompt version body (Phoenix's `PromptVersionData`) against Phoenix's schema: the
//! enums, the template's shape and that it matches `template_type`, the tools, the response
//! format and each provider's invocation parameters. Parts are kept as the JSON that was sent.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::model::prompt::VersionData;

/// Why a prompt version body was refused; `field` is the JSON path that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    pub field: String,
    pub reason: String,
}

fn error(field: &str, reason: impl Into<String>) -> ValidationError {
    ValidationError { field: field.to_owned(), reason: reason.into() }
}

/// Phoenix's `ModelProvider` enum.
pub const MODEL_PROVIDERS: [&str; 17] = [
    "OPENAI",
    "AZURE_OPENAI",
    "ANTHROPIC",
    "GOOGLE",
    "DEEPSEEK",
    "XAI",
    "OLLAMA",
    "AWS",
    "CEREBRAS",
    "FIREWORKS",
    "GROQ",
    "MOONSHOT",
    "MINIMAX",
    "PERPLEXITY",
    "TOGETHER",
    "ZAI",
    "META",
];

#[derive(Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
#[allow(dead_code)] // Parsed only to check the shape.
enum Template {
    #[serde(rename = "chat")]
    Chat { messages: Vec<Message> },
    #[serde(rename = "string")]
    String { template: String },
}

/// Content is checked part by part in `check_template`, for errors that say which part is wrong.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Message {
    role: Role,
    content: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Role {
    User,
    Assistant,
    Model,
    Ai,
    Tool,
    System,
    Developer,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[allow(dead_code)]
enum Part {
    Text { text: String },
    ToolCall { tool_call_id: String, tool_call: ToolCallFunction },
    ToolResult { tool_call_id: String, tool_result: Value },
}

/// A one-value enum standing for a constant `"type"` field.
#[derive(Deserialize)]
enum FunctionType {
    #[serde(rename = "function")]
    Function,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ToolCallFunction {
    #[serde(rename = "type")]
    kind: FunctionType,
    name: String,
    arguments: String,
}

#[derive(Deserialize)]
enum ToolsType {
    #[serde(rename = "tools")]
    Tools,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Tools {
    #[serde(rename = "type")]
    kind: ToolsType,
    tools: Vec<Tool>,
    tool_choice: Option<ToolChoice>,
    disable_parallel_tool_calls: Option<bool>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[allow(dead_code)]
enum Tool {
    Function { function: FunctionDefinition },
    Raw { raw: Map<String, Value> },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct FunctionDefinition {
    name: String,
    description: Option<String>,
    parameters: Option<Map<String, Value>>,
    strict: Option<bool>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[allow(dead_code)]
enum ToolChoice {
    None,
    ZeroOrMore,
    OneOrMore,
    SpecificFunction { function_name: String },
}

#[derive(Deserialize)]
enum ResponseFormatType {
    #[serde(rename = "json_schema")]
    JsonSchema,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ResponseFormat {
    #[serde(rename = "type")]
    kind: ResponseFormatType,
    json_schema: JsonSchemaDefinition,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct JsonSchemaDefinition {
    name: String,
    description: Option<String>,
    schema: Option<Map<String, Value>>,
    strict: Option<bool>,
}

fn check_shape<T: DeserializeOwned>(field: &str, value: &Value) -> Result<(), ValidationError> {
    T::deserialize(value).map(|_| ()).map_err(|e| error(field, e.to_string()))
}

fn string_field(body: &Map<String, Value>, key: &str) -> Result<Option<String>, ValidationError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(error(key, format!("expected a string, got {other}"))),
    }
}

fn one_of(body: &Map<String, Value>, key: &str, options: &[&str]) -> Result<String, ValidationError> {
    let value = string_field(body, key)?.ok_or_else(|| error(key, "field required"))?;
    if options.contains(&value.as_str()) {
        return Ok(value);
    }
    Err(error(key, format!("must be one of {}, got {value:?}", options.join(", "))))
}

/// The template's shape, then each chat message's content: a string or a non-empty part list.
fn check_template(template: &Value) -> Result<(), ValidationError> {
    check_shape::<Template>("template", template)?;
    let messages = template.get("messages").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    for (i, message) in messages.iter().enumerate() {
        let field = format!("template.messages[{i}].content");
        match message.get("content") {
            Some(Value::String(_)) => {}
            Some(Value::Array(parts)) if parts.is_empty() => {
                return Err(error(&field, "at least one part is required"))
            }
            Some(Value::Array(parts)) => {
                for (j, part) in parts.iter().enumerate() {
                    check_shape::<Part>(&format!("{field}[{j}]"), part)?;
                }
            }
            _ => return Err(error(&field, "expected a string or a list of parts")),
        }
    }
    Ok(())
}

/// Validates a `PromptVersionData` object.
pub fn version_data(body: &Value) -> Result<VersionData, ValidationError> {
    let body = body.as_object().ok_or_else(|| error("version", "expected an object"))?;
    let template_type = one_of(body, "template_type", &["CHAT", "STR"])?;
    let template_format = one_of(body, "template_format", &["MUSTACHE", "F_STRING", "NONE"])?;
    let model_provider = one_of(body, "model_provider", &MODEL_PROVIDERS)?;
    let model_name = string_field(body, "model_name")?.ok_or_else(|| error("model_name", "field required"))?;
    let template = body.get("template").cloned().ok_or_else(|| error("template", "field required"))?;
    check_template(&template)?;
    let expected = if template_type == "CHAT" { "chat" } else { "string" };
    if template.get("type").and_then(Value::as_str) != Some(expected) {
        return Err(error("template", format!("template_type {template_type} needs a template of type {expected:?}")));
    }
    let invocation_parameters =
        body.get("invocation_parameters").cloned().ok_or_else(|| error("invocation_parameters", "field required"))?;
    super::invocation::check(&invocation_parameters)?;
    let present = |key: &str| body.get(key).filter(|v| !v.is_null()).cloned();
    let tools = present("tools");
    if let Some(tools) = &tools {
        check_shape::<Tools>("tools", tools)?;
        if tools.get("tools").and_then(Value::as_array).is_some_and(Vec::is_empty) {
            return Err(error("tools.tools", "at least one tool is required"));
        }
    }
    let response_format = present("response_format");
    if let Some(format) = &response_format {
        check_shape::<ResponseFormat>("response_format", format)?;
    }
    let metadata = match body.get("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(other) => return Err(error("metadata", format!("expected an object, got {other}"))),
    };
    Ok(VersionData {
        description: string_field(body, "description")?,
        metadata,
        model_provider,
        model_name,
        template_type,
        template_format,
        template,
        invocation_parameters,
        tools,
        response_format,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body() -> Value {
        json!({
            "model_provider": "OPENAI", "model_name": "gpt-4o-mini",
            "template_type": "CHAT", "template_format": "MUSTACHE",
            "template": {"type": "chat", "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "{{q}}"}]},
                {"role": "assistant", "content": [{"type": "tool_call", "tool_call_id": "c",
                    "tool_call": {"type": "function", "name": "f", "arguments": "{}"}}]},
                {"role": "tool", "content": [{"type": "tool_result", "tool_call_id": "c", "tool_result": [1]}]}]},
            "invocation_parameters": {"type": "openai", "openai": {"temperature": 0.1, "max_completion_tokens": 5}},
            "tools": {"type": "tools", "tools": [{"type": "function", "function": {"name": "f"}}],
                "tool_choice": {"type": "zero_or_more"}},
            "response_format": {"type": "json_schema", "json_schema": {"name": "out", "schema": {}, "strict": true}},
        })
    }

    fn refused(mutate: impl FnOnce(&mut Value)) -> ValidationError {
        let mut value = body();
        mutate(&mut value);
        version_data(&value).expect_err("must be refused")
    }

    #[test]
    fn a_full_version_is_accepted_as_sent() {
        let data = version_data(&body()).unwrap();
        assert_eq!(data.template, body()["template"]);
        assert_eq!(data.tools, Some(body()["tools"].clone()));
        assert!(data.metadata.is_empty() && data.description.is_none());
    }

    #[test]
    fn enums_and_template_shapes_are_checked() {
        assert_eq!(refused(|v| v["template_type"] = json!("STRING")).field, "template_type");
        assert_eq!(refused(|v| v["template_format"] = json!("JINJA")).field, "template_format");
        assert_eq!(refused(|v| v["model_provider"] = json!("openai")).field, "model_provider");
        assert_eq!(refused(|v| v["template_type"] = json!("STR")).field, "template");
        assert_eq!(refused(|v| v["template"]["messages"][0]["role"] = json!("narrator")).field, "template");
        assert_eq!(
            refused(|v| v["template"]["messages"][1]["content"] = json!([])).field,
            "template.messages[1].content"
        );
        let bad_part = refused(|v| v["template"]["messages"][1]["content"][0]["type"] = json!("image"));
        assert_eq!(bad_part.field, "template.messages[1].content[0]");
        assert_eq!(refused(|v| v["template"]["extra"] = json!(1)).field, "template");
        let mut string = body();
        string["template_type"] = json!("STR");
        string["template"] = json!({"type": "string", "template": "{{q}}"});
        assert!(version_data(&string).is_ok());
    }

    #[test]
    fn invocation_parameters_tools_and_formats_are_checked() {
        let field = |e: ValidationError| e.field;
        assert_eq!(field(refused(|v| v["invocation_parameters"]["type"] = json!("bard"))), "invocation_parameters");
        assert_eq!(
            field(refused(|v| v["invocation_parameters"]["openai"]["temperature"] = json!("hot"))),
            "invocation_parameters.openai.temperature"
        );
        assert_eq!(
            field(refused(|v| v["invocation_parameters"] = json!({"type": "anthropic", "anthropic": {}}))),
            "invocation_parameters.anthropic.max_tokens"
        );
        assert_eq!(field(refused(|v| v["tools"]["tools"] = json!([]))), "tools.tools");
        assert_eq!(field(refused(|v| v["tools"]["tool_choice"] = json!({"type": "any"}))), "tools");
        assert_eq!(field(refused(|v| v["response_format"]["type"] = json!("json_object"))), "response_format");
        let mut nulls = body();
        nulls["tools"] = Value::Null;
        nulls["response_format"] = Value::Null;
        assert_eq!(version_data(&nulls).unwrap().tools, None);
    }
}
