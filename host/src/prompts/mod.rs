//! Prompts as Phoenix stores them: versions, references to a version, template rendering into
//! chat messages, and the model call settings a version carries.
//!
//! The REST API is `api::prompts`, storage `store::prompts`; this module is the part both share
//! and that the playground and prompt tasks call.

mod invocation;
mod params;
mod render;
mod template;
#[cfg(test)]
mod tests;
pub mod validate;

pub use params::chat_parts;
pub use render::render;
pub use template::{render_text, RenderError, TemplateFormat};

pub use crate::model::prompt::{is_identifier, PromptIdentifier, PromptRef, PromptVersion, VersionData};

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
