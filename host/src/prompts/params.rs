//! A version's invocation parameters, tools and response format as provider-neutral settings.

use serde_json::{json, Map, Value};

use super::{ChatParts, PromptVersion, ToolSpec};

/// Invocation parameter keys mapped onto `ChatParts` fields, so they are not repeated in `extra`.
const MAPPED: [&str; 7] =
    ["temperature", "top_p", "max_tokens", "max_completion_tokens", "max_output_tokens", "stop", "stop_sequences"];

/// The model call settings of `version`. Invocation parameters may be Phoenix's wrapped shape
/// (`{"type": "openai", "openai": {...}}`, any provider) or a flat object. The token limit is
/// `max_completion_tokens`, else `max_tokens`, else Google's `max_output_tokens`; stop sequences
/// are `stop` or `stop_sequences`.
pub fn chat_parts(version: &PromptVersion) -> ChatParts {
    let params = provider_params(&version.invocation_parameters);
    let number = |key: &str| params.get(key).and_then(Value::as_f64);
    let max_tokens = ["max_completion_tokens", "max_tokens", "max_output_tokens"]
        .iter()
        .find_map(|key| params.get(*key).and_then(Value::as_u64))
        .and_then(|n| u32::try_from(n).ok());
    let stop = ["stop", "stop_sequences"]
        .iter()
        .find_map(|key| params.get(*key))
        .map(|value| match value {
            Value::String(one) => vec![one.clone()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ => Vec::new(),
        })
        .unwrap_or_default();
    let mut extra: Map<String, Value> =
        params.iter().filter(|(key, _)| !MAPPED.contains(&key.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    let tools = version.tools.as_ref();
    if tools.and_then(|t| t.get("disable_parallel_tool_calls")).and_then(Value::as_bool) == Some(true) {
        extra.insert("parallel_tool_calls".into(), Value::Bool(false));
    }
    ChatParts {
        temperature: number("temperature"),
        max_tokens,
        top_p: number("top_p"),
        stop,
        tools: tools.and_then(|t| t.get("tools")).and_then(Value::as_array).map(|l| tool_specs(l)).unwrap_or_default(),
        tool_choice: tools.and_then(|t| t.get("tool_choice")).and_then(tool_choice),
        response_format: version.response_format.clone().filter(|v| !v.is_null()),
        extra,
    }
}

/// The provider's parameter object: `value[value.type]` when wrapped, else `value` itself.
fn provider_params(value: &Value) -> Map<String, Value> {
    let wrapped = value.get("type").and_then(Value::as_str).and_then(|kind| value.get(kind)).and_then(Value::as_object);
    if let Some(inner) = wrapped {
        return inner.clone();
    }
    let mut flat = value.as_object().cloned().unwrap_or_default();
    flat.remove("type");
    flat
}

/// Function tools, and raw tools in OpenAI (`{"type":"function","function":{...}}`) or
/// Anthropic (`{"name", "input_schema"}`) form; other raw tools are skipped.
fn tool_specs(tools: &[Value]) -> Vec<ToolSpec> {
    tools
        .iter()
        .filter_map(|tool| {
            let definition = match tool.get("type").and_then(Value::as_str) {
                Some("function") => tool.get("function")?,
                Some("raw") => {
                    let raw = tool.get("raw")?;
                    raw.get("function").unwrap_or(raw)
                }
                _ => return None,
            };
            let name = definition.get("name")?.as_str()?.to_owned();
            let description = definition.get("description").and_then(Value::as_str).unwrap_or_default().to_owned();
            let parameters = definition
                .get("parameters")
                .or_else(|| definition.get("input_schema"))
                .cloned()
                .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
            Some(ToolSpec { name, description, parameters })
        })
        .collect()
}

/// Phoenix's tool choice (`none`, `zero_or_more`, `one_or_more`, `specific_function`).
fn tool_choice(choice: &Value) -> Option<String> {
    match choice.get("type")?.as_str()? {
        "none" => Some("none".into()),
        "zero_or_more" => Some("auto".into()),
        "one_or_more" => Some("required".into()),
        "specific_function" => choice.get("function_name").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(invocation_parameters: Value, tools: Option<Value>, response_format: Option<Value>) -> PromptVersion {
        PromptVersion {
            id: 1,
            prompt_id: 1,
            prompt_name: "p".into(),
            description: None,
            model_provider: "OPENAI".into(),
            model_name: "m".into(),
            template_type: "CHAT".into(),
            template_format: "MUSTACHE".into(),
            template: json!({"type": "chat", "messages": []}),
            invocation_parameters,
            tools,
            response_format,
        }
    }

    #[test]
    fn openai_parameters_map_and_the_rest_is_extra() {
        let params = json!({"type": "openai", "openai": {"temperature": 0.2, "max_tokens": 10,
            "max_completion_tokens": 99, "top_p": 0.9, "stop": ["\n"], "seed": 7, "reasoning_effort": "low"}});
        let parts = chat_parts(&version(params, None, None));
        assert_eq!(parts.temperature, Some(0.2));
        assert_eq!(parts.max_tokens, Some(99));
        assert_eq!(parts.top_p, Some(0.9));
        assert_eq!(parts.stop, ["\n"]);
        assert_eq!(Value::Object(parts.extra), json!({"seed": 7, "reasoning_effort": "low"}));
        assert!(parts.tools.is_empty() && parts.tool_choice.is_none() && parts.response_format.is_none());
    }

    #[test]
    fn anthropic_google_and_flat_shapes() {
        let anthropic = json!({"type": "anthropic", "anthropic": {"max_tokens": 1000, "stop_sequences": ["END"]}});
        let parts = chat_parts(&version(anthropic, None, None));
        assert_eq!((parts.max_tokens, parts.stop), (Some(1000), vec!["END".to_owned()]));
        let google = json!({"type": "google", "google": {"max_output_tokens": 64, "top_k": 3}});
        let parts = chat_parts(&version(google, None, None));
        assert_eq!(parts.max_tokens, Some(64));
        assert_eq!(Value::Object(parts.extra), json!({"top_k": 3}));
        let flat = chat_parts(&version(json!({"temperature": 1, "stop": "x"}), None, None));
        assert_eq!((flat.temperature, flat.stop), (Some(1.0), vec!["x".to_owned()]));
    }

    #[test]
    fn tools_choice_and_response_format() {
        let tools = json!({"type": "tools", "disable_parallel_tool_calls": true,
        "tool_choice": {"type": "specific_function", "function_name": "lookup"},
        "tools": [
            {"type": "function", "function": {"name": "lookup", "description": "find",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}},
            {"type": "function", "function": {"name": "noop"}},
            {"type": "raw", "raw": {"name": "anth", "input_schema": {"type": "object"}}},
        ]});
        let format = json!({"type": "json_schema", "json_schema": {"name": "out", "schema": {"type": "object"}}});
        let parts = chat_parts(&version(json!({"type": "openai", "openai": {}}), Some(tools), Some(format.clone())));
        let names: Vec<&str> = parts.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["lookup", "noop", "anth"]);
        assert_eq!(parts.tools[0].description, "find");
        assert_eq!(parts.tools[1].parameters, json!({"type": "object", "properties": {}}));
        assert_eq!(parts.tools[2].parameters, json!({"type": "object"}));
        assert_eq!(parts.tool_choice.as_deref(), Some("lookup"));
        assert_eq!(parts.response_format, Some(format));
        assert_eq!(parts.extra.get("parallel_tool_calls"), Some(&Value::Bool(false)));
        for (kind, expected) in [("none", "none"), ("zero_or_more", "auto"), ("one_or_more", "required")] {
            assert_eq!(tool_choice(&json!({"type": kind})).as_deref(), Some(expected));
        }
    }
}
