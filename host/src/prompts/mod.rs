//! Prompts as Phoenix stores them: versions, references to a version, template rendering into
//! chat messages, and the model call settings a version carries.
//!
//! The REST API is `api::prompts`, storage `store::prompts`; this module is the part both share
//! and that the playground and prompt tasks call.

mod invocation;
mod params;
mod render;
#[cfg(test)]
mod store_tests;
mod template;
pub mod validate;

pub use params::chat_parts;
pub use render::render;
pub use template::{render_text, RenderError, TemplateFormat};

/// One immutable version of a prompt, with its JSON parts as Phoenix's API writes them.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptVersion {
    pub id: i64,
    pub prompt_id: i64,
    pub prompt_name: String,
    pub description: Option<String>,
    /// Phoenix's `ModelProvider` enum, e.g. `OPENAI`.
    pub model_provider: String,
    pub model_name: String,
    /// `CHAT` or `STR`.
    pub template_type: String,
    /// `MUSTACHE`, `F_STRING` or `NONE`.
    pub template_format: String,
    /// `{"type": "chat", "messages": [...]}` or `{"type": "string", "template": "..."}`.
    pub template: serde_json::Value,
    /// `{"type": "<provider>", "<provider>": {...}}`.
    pub invocation_parameters: serde_json::Value,
    /// `{"type": "tools", "tools": [...], "tool_choice"?: {...}}`.
    pub tools: Option<serde_json::Value>,
    /// `{"type": "json_schema", "json_schema": {...}}`.
    pub response_format: Option<serde_json::Value>,
}

/// Which version of which prompt to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptRef {
    /// A version by row id.
    Version(i64),
    /// The newest version of a prompt given by name or Prompt GlobalID.
    Latest(String),
    /// The version a tag (second) points at, in a prompt given by name or GlobalID (first).
    Tag(String, String),
}

/// A rendered chat message, provider-neutral.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedMessage {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    pub content: String,
    pub tool_calls: Vec<RenderedToolCall>,
    /// For `tool` messages: the call this message answers.
    pub tool_call_id: Option<String>,
}

/// A tool call an assistant message carries.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedToolCall {
    pub id: String,
    pub name: String,
    /// The call's arguments: parsed JSON, or the raw string when it is not JSON.
    pub arguments: serde_json::Value,
}

/// A version's model call settings, normalised from any provider's invocation parameters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatParts {
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
    pub top_p: Option<f64>,
    pub stop: Vec<String>,
    pub tools: Vec<ToolSpec>,
    /// `auto`, `none`, `required` or a tool name.
    pub tool_choice: Option<String>,
    /// OpenAI style: `{"type": "json_schema", "json_schema": {...}}`.
    pub response_format: Option<serde_json::Value>,
    /// Invocation parameters not mapped to a field above (e.g. `seed`, `reasoning_effort`).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A function tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments.
    pub parameters: serde_json::Value,
}

/// How a prompt is named in a path or reference: a Prompt GlobalID or a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptIdentifier {
    Id(i64),
    Name(String),
}

impl PromptIdentifier {
    /// A Prompt GlobalID becomes its row id; anything else must be a valid name.
    pub fn parse(identifier: &str) -> Option<Self> {
        if let Some(id) = crate::ids::parse_global_id("Prompt", identifier) {
            return Some(Self::Id(id));
        }
        is_identifier(identifier).then(|| Self::Name(identifier.to_owned()))
    }
}

/// Phoenix's `Identifier` rule for prompt and tag names: `^[a-z0-9]([_a-z0-9-]*[a-z0-9])?$`.
pub fn is_identifier(name: &str) -> bool {
    let bytes = name.as_bytes();
    let edge = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let inner = |b: &u8| edge(b) || *b == b'_' || *b == b'-';
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => edge(first) && edge(last) && bytes.iter().all(inner),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_follow_phoenix_rules() {
        for good in ["a", "my-prompt", "v2_final", "0x", "a-b_c-1"] {
            assert!(is_identifier(good), "{good}");
        }
        for bad in ["", "-a", "a-", "_a", "a_", "My", "a b", "naïve", "a.b"] {
            assert!(!is_identifier(bad), "{bad}");
        }
    }

    #[test]
    fn prompt_identifiers_are_ids_or_names() {
        let id = crate::ids::global_id("Prompt", 7);
        assert_eq!(PromptIdentifier::parse(&id), Some(PromptIdentifier::Id(7)));
        assert_eq!(PromptIdentifier::parse("qa"), Some(PromptIdentifier::Name("qa".into())));
        assert_eq!(PromptIdentifier::parse(&crate::ids::global_id("Dataset", 7)), None);
        assert_eq!(PromptIdentifier::parse("Not Valid"), None);
    }
}
