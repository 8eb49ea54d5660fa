//! Host-side bindings for the four worlds of `ember:plugin@0.1.0`, generated from `wit/`.
//!
//! Interfaces shared between worlds are generated once (with the evaluator world, or the first
//! world that uses them) and mapped into the others with `with`, so that one Rust type and one
//! host implementation serve every world.

#![allow(missing_docs, clippy::too_many_arguments)]

pub(crate) mod evaluator {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "evaluator",
        additional_derives: [PartialEq, serde::Serialize, serde::Deserialize],
        imports: {
            "ember:plugin/llm": trappable,
            default: tracing,
        },
    });
}

pub(crate) mod span_processor {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "span-processor",
        additional_derives: [PartialEq, serde::Serialize, serde::Deserialize],
        with: {
            "ember:plugin/types": super::evaluator::ember::plugin::types,
            "ember:plugin/host": super::evaluator::ember::plugin::host,
        },
    });
}

pub(crate) mod redactor {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "redactor",
        with: {
            "ember:plugin/types": super::evaluator::ember::plugin::types,
            "ember:plugin/host": super::evaluator::ember::plugin::host,
            "ember:plugin/spans": super::span_processor::ember::plugin::spans,
        },
    });
}

pub(crate) mod provider {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "provider",
        additional_derives: [PartialEq, serde::Serialize, serde::Deserialize],
        imports: {
            "ember:plugin/outbound-http": trappable,
            default: tracing,
        },
        with: {
            "ember:plugin/types": super::evaluator::ember::plugin::types,
            "ember:plugin/host": super::evaluator::ember::plugin::host,
            "ember:plugin/chat": super::evaluator::ember::plugin::chat,
        },
    });
}

pub(crate) use evaluator::ember::plugin::{host, llm, types};
pub(crate) use provider::ember::plugin::outbound_http;

pub use evaluator::ember::plugin::chat::{ChatError, ChatRequest, ChatResponse, Message, Role, Tool, ToolCall, Usage};
pub use evaluator::ember::plugin::evaluation::{EvalInput, Score};
pub use span_processor::ember::plugin::spans::{Field, Redaction, Span, SpanChange};
pub use types::Descriptor;

impl EvalInput {
    /// An input with `input` and `output` (JSON text), no expected value and empty metadata.
    pub fn new(input: impl Into<String>, output: impl Into<String>) -> Self {
        Self { input: input.into(), output: output.into(), expected: None, metadata: "{}".into() }
    }

    /// Sets the reference answer (JSON text).
    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    /// Sets the metadata (a JSON object as text).
    pub fn metadata(mut self, metadata: impl Into<String>) -> Self {
        self.metadata = metadata.into();
        self
    }
}
