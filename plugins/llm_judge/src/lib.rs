//! Shared core of Ember's LLM-as-judge evaluators (`hallucination`, `qa_correctness`,
//! `relevance`, `toxicity`, `faithfulness`): each plugin is a [`Judge`] — a template and two
//! labels — and this crate builds the prompt, calls the configured provider through the host's
//! `llm` import, reads the label from the reply ([`rails`]) and turns it into a score.
//!
//! A library linked into the judge plugins, not a plugin itself.

pub mod checks;
pub mod inputs;
pub mod rails;
pub mod template;

use ember_plugin_sdk::evaluator::llm::{self, ChatError, ChatRequest, ChatResponse, Message};
use ember_plugin_sdk::evaluator::{Descriptor, EvalInput, PluginError, Score};
use inputs::Reference;
use serde::Deserialize;
use serde_json::json;

/// One judge: what it asks the model and how it reads the answer.
#[derive(Debug, Clone, Copy)]
pub struct Judge {
    /// Plugin and score name.
    pub name: &'static str,
    /// One line for listings.
    pub description: &'static str,
    /// The prompt; variables `{input}`, `{output}` and `{reference}` (see [`template`]).
    pub template: &'static str,
    /// The label scoring 1.0.
    pub good: &'static str,
    /// The label scoring 0.0.
    pub bad: &'static str,
    /// Where the judge finds its reference text.
    pub reference: Reference,
    /// Names the reference in the `invalid-input` error when it is missing.
    pub reference_name: &'static str,
}

/// How a judge calls its model.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Name of the provider plugin to call (required).
    pub provider: Option<String>,
    /// Model name as the provider knows it (required).
    pub model: Option<String>,
    /// Sampling temperature; 0 by default, so that a verdict is as repeatable as the model allows.
    pub temperature: f64,
    /// Cap on the reply's tokens; the provider's default when absent.
    pub max_tokens: Option<u32>,
    /// A template replacing the built-in one, with the same variables; it must still ask for the
    /// judge's two labels.
    pub template: Option<String>,
}

impl Config {
    /// The provider and model, or `invalid-config` naming the missing key.
    pub fn target(&self) -> Result<(&str, &str), PluginError> {
        let provider = required(&self.provider, "provider", "the name of the provider plugin the judge calls")?;
        let model = required(&self.model, "model", "the model the provider should use")?;
        Ok((provider, model))
    }
}

/// The value of a required string key, or `invalid-config` naming it.
fn required<'a>(value: &'a Option<String>, key: &str, what: &str) -> Result<&'a str, PluginError> {
    value
        .as_deref()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| PluginError::invalid_config(format!("missing `{key}`: {what}")))
}

impl Judge {
    /// The descriptor every judge plugin returns.
    pub fn describe(&self) -> Descriptor {
        Descriptor::new(self.name, env!("CARGO_PKG_VERSION"), self.description).config_schema(json!({
            "type": "object",
            "properties": {
                "provider": {"type": "string", "description": "Provider plugin to call, e.g. openai."},
                "model": {"type": "string", "description": "Model name as the provider knows it."},
                "temperature": {"type": "number", "default": 0.0},
                "max_tokens": {"type": "integer", "minimum": 1},
                "template": {"type": "string",
                    "description": "Replaces the built-in prompt; variables {input}, {output}, {reference}."}
            },
            "required": ["provider", "model"],
            "additionalProperties": false
        }))
    }

    /// The prompt for this example.
    pub fn prompt(&self, template: &str, input: &EvalInput) -> Result<String, PluginError> {
        let reference = match inputs::reference(input, self.reference) {
            Some(reference) => reference,
            None if self.reference == Reference::None => String::new(),
            None => {
                return Err(PluginError::invalid_input(format!(
                    "{} needs {}: set metadata `reference` or `context`, `expected`, or an input field `context` or \
                     `reference`",
                    self.name, self.reference_name
                )))
            }
        };
        let question = inputs::question(input);
        let output = inputs::output(input);
        let variables = [("input", question.as_str()), ("output", output.as_str()), ("reference", reference.as_str())];
        template::render(template, &variables).map_err(|e| PluginError::invalid_config(e.to_string()))
    }

    /// The score for a model's reply.
    pub fn score(&self, reply: &str) -> Result<Score, PluginError> {
        let Some(verdict) = rails::parse(reply, [self.good, self.bad]) else {
            return Err(PluginError::failed(format!(
                "unparsable judge reply: expected `{}` or `{}`, got {:?}",
                self.good,
                self.bad,
                shorten(reply)
            )));
        };
        let value = if verdict.label == self.good { 1.0 } else { 0.0 };
        let score = Score::new(self.name).score(value).label(verdict.label);
        Ok(match verdict.explanation {
            Some(explanation) => score.explanation(explanation),
            None => score,
        })
    }

    /// Scores one example with `config`, calling the model through `complete(provider, request)`.
    pub fn evaluate_with(
        &self,
        config: &Config,
        input: &EvalInput,
        complete: impl FnOnce(&str, &ChatRequest) -> Result<ChatResponse, ChatError>,
    ) -> Result<Score, PluginError> {
        let (provider, model) = config.target()?;
        let prompt = self.prompt(config.template.as_deref().unwrap_or(self.template), input)?;
        let mut request = ChatRequest::new(model, vec![Message::user(prompt)]);
        request.temperature = Some(config.temperature);
        request.max_tokens = config.max_tokens;
        let response = complete(provider, &request).map_err(|e| llm_error(provider, &e))?;
        let score = self.score(&response.message.content)?;
        Ok(score.metadata(json!({"provider": provider, "model": response.model})))
    }

    /// The plugin's `evaluate`: reads the configuration and calls the host's `llm` import.
    pub fn evaluate(&self, input: EvalInput) -> Result<Vec<Score>, PluginError> {
        let config: Config = ember_plugin_sdk::config()?;
        let score = self.evaluate_with(&config, &input, |provider, request| llm::complete(Some(provider), request))?;
        Ok(vec![score])
    }
}

/// The plugin error for a failed llm call, naming the `chat-error` case.
pub fn llm_error(provider: &str, error: &ChatError) -> PluginError {
    let what = match error {
        ChatError::InvalidRequest(message) => format!("invalid-request: {message}"),
        ChatError::RateLimited(Some(ms)) => format!("rate-limited (retry after {ms} ms)"),
        ChatError::RateLimited(None) => "rate-limited".to_owned(),
        ChatError::Unavailable(message) => format!("unavailable: {message}"),
        ChatError::Failed(message) => format!("failed: {message}"),
    };
    PluginError::failed(format!("llm call through `{provider}` failed: {what}"))
}

/// At most 200 characters of a reply, for error messages.
fn shorten(text: &str) -> String {
    const MAX_CHARS: usize = 200;
    match text.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests;
