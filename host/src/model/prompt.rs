//! The prompt types storage and the prompt service share: a stored version, a reference to one,
//! a prompt's identifier, and a validated version not yet stored.

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

/// A valid, not yet stored, prompt version.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionData {
    pub description: Option<String>,
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub model_provider: String,
    pub model_name: String,
    pub template_type: String,
    pub template_format: String,
    pub template: serde_json::Value,
    pub invocation_parameters: serde_json::Value,
    pub tools: Option<serde_json::Value>,
    pub response_format: Option<serde_json::Value>,
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
