//! Checks each provider's invocation parameters (`{"type": t, t: {...}}`) against Phoenix's
//! schema: a known type, the content under that key, known keys with the right JSON types.

use serde_json::Value;

use super::validate::ValidationError;

fn error(field: &str, reason: impl Into<String>) -> ValidationError {
    ValidationError { field: field.to_owned(), reason: reason.into() }
}

/// Invocation parameter types that take OpenAI's parameters.
const OPENAI_FAMILY: [&str; 13] = [
    "openai",
    "azure_openai",
    "deepseek",
    "xai",
    "ollama",
    "cerebras",
    "fireworks",
    "groq",
    "moonshot",
    "perplexity",
    "together",
    "zai",
    "meta",
];

/// `{"type": t, t: {...}}` with `t` a known provider type and known, well-typed keys.
pub(super) fn check(value: &Value) -> Result<(), ValidationError> {
    let field = "invocation_parameters";
    let object = value.as_object().ok_or_else(|| error(field, "expected an object"))?;
    let kind = object.get("type").and_then(Value::as_str).ok_or_else(|| error(field, "\"type\" is required"))?;
    let (allowed, required): (&[(&str, Kind)], &[&str]) = match kind {
        k if OPENAI_FAMILY.contains(&k) => (&OPENAI_KEYS, &[]),
        "anthropic" => (&ANTHROPIC_KEYS, &["max_tokens"]),
        "google" => (&GOOGLE_KEYS, &[]),
        "aws" => (&AWS_KEYS, &[]),
        other => return Err(error(field, format!("unknown invocation parameters type {other:?}"))),
    };
    if let Some(extra) = object.keys().find(|k| *k != "type" && *k != kind) {
        return Err(error(field, format!("unexpected key {extra:?} for type {kind:?}")));
    }
    let content_field = format!("{field}.{kind}");
    let content =
        object.get(kind).and_then(Value::as_object).ok_or_else(|| error(&content_field, "object required"))?;
    if let Some(missing) = required.iter().find(|key| !content.contains_key(**key)) {
        return Err(error(&format!("{content_field}.{missing}"), "field required"));
    }
    for (key, value) in content {
        let at = format!("{content_field}.{key}");
        let kind = allowed.iter().find(|(name, _)| name == key).map(|(_, kind)| *kind);
        let kind = kind.ok_or_else(|| error(&at, "unknown parameter"))?;
        if !kind.accepts(value) {
            return Err(error(&at, format!("expected {}, got {value}", kind.name())));
        }
    }
    Ok(())
}

/// The JSON type an invocation parameter must have.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Number,
    Integer,
    Strings,
    Text,
    Object,
}

impl Kind {
    fn accepts(self, value: &Value) -> bool {
        match self {
            Kind::Number => value.is_number(),
            Kind::Integer => value.is_i64() || value.is_u64(),
            Kind::Strings => value.as_array().is_some_and(|items| items.iter().all(Value::is_string)),
            Kind::Text => value.is_string(),
            Kind::Object => value.is_object(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Number => "a number",
            Kind::Integer => "an integer",
            Kind::Strings => "a list of strings",
            Kind::Text => "a string",
            Kind::Object => "an object",
        }
    }
}

const OPENAI_KEYS: [(&str, Kind); 10] = [
    ("temperature", Kind::Number),
    ("max_tokens", Kind::Integer),
    ("max_completion_tokens", Kind::Integer),
    ("frequency_penalty", Kind::Number),
    ("presence_penalty", Kind::Number),
    ("top_p", Kind::Number),
    ("seed", Kind::Integer),
    ("stop", Kind::Strings),
    ("reasoning_effort", Kind::Text),
    ("extra_body", Kind::Object),
];

const ANTHROPIC_KEYS: [(&str, Kind); 7] = [
    ("max_tokens", Kind::Integer),
    ("temperature", Kind::Number),
    ("top_p", Kind::Number),
    ("stop_sequences", Kind::Strings),
    ("output_config", Kind::Object),
    ("thinking", Kind::Object),
    ("extra_body", Kind::Object),
];

const GOOGLE_KEYS: [(&str, Kind); 8] = [
    ("temperature", Kind::Number),
    ("max_output_tokens", Kind::Integer),
    ("stop_sequences", Kind::Strings),
    ("presence_penalty", Kind::Number),
    ("frequency_penalty", Kind::Number),
    ("top_p", Kind::Number),
    ("top_k", Kind::Integer),
    ("thinking_config", Kind::Object),
];

const AWS_KEYS: [(&str, Kind); 4] = [
    ("max_tokens", Kind::Integer),
    ("temperature", Kind::Number),
    ("top_p", Kind::Number),
    ("stop_sequences", Kind::Strings),
];
