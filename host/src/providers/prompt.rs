//! A prompt version as a chat request: which version, which provider plugin, and the rendered
//! messages with the version's invocation parameters, tools and response format.

use ember_sandbox::ChatRequest;
use serde_json::{Map, Value};

use super::wire;
use crate::prompts::{self, PromptRef, PromptVersion, RenderError};
use crate::store::{Store, StoreError};

/// Names a prompt version: by version id, by prompt and tag, or the prompt's latest.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PromptSelector {
    /// A prompt's name or id.
    #[serde(default)]
    pub prompt: Option<String>,
    /// A `PromptVersion` id; wins over `prompt`.
    #[serde(default)]
    pub prompt_version_id: Option<String>,
    /// A tag of `prompt` (`production`, …); its latest version without one.
    #[serde(default)]
    pub tag: Option<String>,
}

/// Why a prompt could not become a request.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("name a prompt (`prompt`, with an optional `tag`) or a `prompt_version_id`")]
    Unnamed,
    #[error("invalid prompt version id {0:?}")]
    BadVersionId(String),
    #[error("no prompt version matches {0}")]
    NotFound(String),
    #[error("the prompt's model provider {0:?} has no installed provider plugin; name one with `provider`")]
    NoProvider(String),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PromptSelector {
    fn reference(&self) -> Result<PromptRef, PromptError> {
        if let Some(id) = &self.prompt_version_id {
            let row = crate::ids::parse_global_id("PromptVersion", id)
                .or_else(|| id.parse().ok())
                .ok_or_else(|| PromptError::BadVersionId(id.clone()))?;
            return Ok(PromptRef::Version(row));
        }
        let prompt = self.prompt.clone().ok_or(PromptError::Unnamed)?;
        Ok(match &self.tag {
            Some(tag) => PromptRef::Tag(prompt, tag.clone()),
            None => PromptRef::Latest(prompt),
        })
    }

    /// The version this selector names.
    pub async fn resolve(&self, store: &Store) -> Result<PromptVersion, PromptError> {
        let reference = self.reference()?;
        store.resolve_prompt_version(&reference).await?.ok_or_else(|| PromptError::NotFound(format!("{reference:?}")))
    }
}

/// The provider plugin for `version`: `explicit` when given, else the plugin named after the
/// version's model provider (`OPENAI` → `openai`), which `installed` must report.
pub fn provider_for(
    version: &PromptVersion,
    explicit: Option<&str>,
    installed: impl Fn(&str) -> bool,
) -> Result<String, PromptError> {
    if let Some(name) = explicit {
        return Ok(name.to_owned());
    }
    let name = version.model_provider.to_ascii_lowercase().replace(['_', ' '], "-");
    let name = match name.as_str() {
        "azure-openai" if !installed(&name) => "openai".to_owned(),
        _ => name,
    };
    if installed(&name) {
        Ok(name)
    } else {
        Err(PromptError::NoProvider(version.model_provider.clone()))
    }
}

/// `version` rendered with `variables` as a chat request for `model` (the version's own model
/// when `None`).
pub fn request(
    version: &PromptVersion,
    variables: &Map<String, Value>,
    model: Option<String>,
) -> Result<ChatRequest, PromptError> {
    let rendered = prompts::render(version, variables)?;
    let parts = prompts::chat_parts(version);
    Ok(wire::prompt_request(model.unwrap_or_else(|| version.model_name.clone()), rendered, parts))
}
