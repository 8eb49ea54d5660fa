//! Ember's plugin sandbox: WIT-defined Wasm components run in wasmtime with an instruction
//! (fuel) budget, a memory limit and a wall-clock deadline per call.
//!
//! One [`Sandbox`] owns the wasmtime `Engine`, the pooling allocator, the on-disk compile cache
//! and the epoch ticker. [`Sandbox::load`] compiles (or loads from the cache) a component, works
//! out which world it implements and pre-links it; the returned [`Plugin`] is cheap to clone and
//! every call on it runs in a fresh `Store`, so no state leaks between calls. A trap never escapes
//! a call: it comes back as a typed [`SandboxError`] in the call's [`Report`].
//!
//! Calls are synchronous and CPU-bound; async servers run them on a blocking pool.
//!
//! ```no_run
//! use ember_sandbox::{EvalInput, Limits, Sandbox, SandboxConfig};
//!
//! let sandbox = Sandbox::new(SandboxConfig::default())?;
//! let plugin = sandbox.load(&std::fs::read("exact_match.wasm")?, Limits::default())?;
//! let input = EvalInput::new("\"Paris\"", "\"Paris\"").expected("\"Paris\"");
//! let report = plugin.evaluate(&input);
//! println!("{:?} in {} instructions", report.outcome, report.instructions);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod admission;
mod bindings;
mod cache;
mod call;
mod egress;
mod error;
mod inspect;
mod limits;
mod plugin;
mod sandbox;
mod services;
mod state;
mod wasi;

pub use bindings::{
    ChatError, ChatRequest, ChatResponse, Descriptor, EvalInput, Field, Message, Redaction, Role, Score, Span,
    SpanChange, Tool, ToolCall, Usage,
};
pub use cache::CacheOutcome;
pub use egress::is_private_ip;
pub use error::{LoadError, PluginErrorKind, SandboxError};
pub use inspect::{ComponentInfo, World};
pub use limits::{Grants, Limits};
pub use plugin::Plugin;
pub use sandbox::{Sandbox, SandboxConfig};
pub use services::{
    LlmBroker, LlmCaller, Outbound, OutboundError, OutboundRequest, OutboundResponse, SecretHeader, Services,
};
pub use state::{LogLevel, LogLine};

/// What one call did: its outcome, plus what it cost and what it logged.
#[derive(Debug)]
pub struct Report<T> {
    /// The export's return value, or why the call failed.
    pub outcome: Result<T, SandboxError>,
    /// Fuel consumed by the export call (instantiation excluded): roughly Wasm instructions.
    pub instructions: u64,
    /// Wall-clock time of the whole call, instantiation included.
    pub elapsed: std::time::Duration,
    /// Lines the plugin logged (through `host.log`, or stdout/stderr for WASI guests), capped.
    pub log: Vec<LogLine>,
    /// Log lines (or bytes of output) dropped because the cap was reached.
    pub log_dropped: u64,
}

impl<T> Report<T> {
    /// The outcome alone, for callers that do not need the costs.
    pub fn into_result(self) -> Result<T, SandboxError> {
        self.outcome
    }
}
