//! Typed errors: what loading a component and calling a plugin can fail with.

use std::time::Duration;

/// Why a component could not be loaded as a plugin.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("not a valid Wasm component: {0}")]
    Invalid(String),
    #[error("the component implements no Ember world ({0})")]
    UnknownWorld(String),
    #[error("the component imports `{import}`, which the {world} world does not provide")]
    UnsupportedImport { world: &'static str, import: String },
    #[error("linking failed: {0}")]
    Link(String),
    #[error("compile cache: {0}")]
    Cache(#[from] std::io::Error),
    #[error("`describe` failed: {0}")]
    Describe(Box<SandboxError>),
    #[error("sandbox setup failed: {0}")]
    Engine(String),
}

/// Category of an error the plugin returned itself (`plugin-error` in the WIT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginErrorKind {
    InvalidConfig,
    InvalidInput,
    Failed,
}

/// Why one call failed. Every variant leaves the server and other calls unaffected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SandboxError {
    /// The call used its whole instruction budget.
    #[error("out of fuel: the call used its budget of {budget} instructions")]
    OutOfFuel { budget: u64 },
    /// The plugin asked for more linear memory than its limit.
    #[error("out of memory: the plugin asked for {requested} bytes, over its limit of {limit} bytes")]
    OutOfMemory { limit: u64, requested: u64 },
    /// The call ran past its wall-clock deadline.
    #[error("deadline exceeded: the call ran longer than {0:?}")]
    Deadline(Duration),
    /// The plugin overflowed its Wasm stack (usually unbounded recursion).
    #[error("stack overflow")]
    StackOverflow,
    /// Any other trap: a panic, `unreachable`, an out-of-bounds access, a bad conversion.
    #[error("trap: {0}")]
    Trap(String),
    /// The plugin tried to use a capability it was not granted.
    #[error("capability denied: {capability}: {detail}")]
    CapabilityDenied { capability: &'static str, detail: String },
    /// The plugin handed the host a value (its result, or an import's arguments) that would cost
    /// more host memory than the call's transfer cap; the copy stopped before it.
    #[error("output too large: the plugin handed the host a value over its limit of {limit} bytes (string bytes plus each list entry's size on the host)")]
    OutputTooLarge { limit: u64 },
    /// The plugin's own error (`plugin-error` in the WIT): the call completed.
    #[error("plugin error ({kind:?}): {message}")]
    Plugin { kind: PluginErrorKind, message: String },
    /// The call was refused because the sandbox is at its concurrency or memory budget.
    #[error("sandbox busy: {0}")]
    Busy(String),
    /// The export called does not exist for this plugin's world.
    #[error("the plugin is a {actual} plugin, not a {expected}")]
    WrongWorld { expected: &'static str, actual: &'static str },
    /// Instantiation failed for a reason other than a trap or a limit.
    #[error("instantiation failed: {0}")]
    Instantiate(String),
}

impl SandboxError {
    /// A short stable name for metrics and API replies.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::OutOfFuel { .. } => "out_of_fuel",
            Self::OutOfMemory { .. } => "out_of_memory",
            Self::Deadline(_) => "deadline",
            Self::StackOverflow => "stack_overflow",
            Self::Trap(_) => "trap",
            Self::CapabilityDenied { .. } => "capability_denied",
            Self::OutputTooLarge { .. } => "output_too_large",
            Self::Plugin { .. } => "plugin_error",
            Self::Busy(_) => "busy",
            Self::WrongWorld { .. } => "wrong_world",
            Self::Instantiate(_) => "instantiate",
        }
    }

    /// Whether retrying the same call later might succeed (only capacity refusals).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Busy(_))
    }
}
