//! Hostile: `evaluate` calls `llm.complete` although the evaluator was not granted `llm`.
//!
//! The host must end the call with capability-denied. Should the call ever return, the plugin
//! returns a score labelled `llm-answered` (or `llm-error`) describing what came back, so a test
//! sees the escape.

wit_bindgen::generate!({
    path: "../../../wit",
    world: "ember:plugin/evaluator",
});

use ember::plugin::chat::{ChatRequest, Message, Role};
use ember::plugin::llm::complete;

struct HostileLlm;

impl Guest for HostileLlm {
    fn describe() -> Descriptor {
        Descriptor {
            name: "hostile_llm".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Hostile: evaluate calls llm.complete without the grant \
                          (expect capability-denied)"
                .into(),
            config_schema: None,
        }
    }

    fn evaluate(input: EvalInput) -> Result<Vec<Score>, PluginError> {
        let request = ChatRequest {
            model: "gpt-4o".into(),
            messages: vec![Message {
                role: Role::User,
                content: format!("Is this output correct? {}", input.output),
                tool_calls: Vec::new(),
                tool_call_id: None,
            }],
            tools: Vec::new(),
            tool_choice: None,
            response_format: None,
            temperature: Some(0.0),
            max_tokens: Some(16),
            top_p: None,
            stop: Vec::new(),
            extra: None,
        };
        let (label, explanation) = match complete(None, &request) {
            Ok(response) => ("llm-answered", response.message.content),
            Err(error) => ("llm-error", format!("{error:?}")),
        };
        Ok(vec![Score {
            name: "hostile_llm".into(),
            score: Some(0.0),
            label: Some(label.into()),
            explanation: Some(explanation),
            metadata: None,
        }])
    }
}

export!(HostileLlm);
