//! The one way the server calls an evaluator plugin.
//!
//! Trying a plugin from its page, `evaluate_spans` and experiment jobs all call
//! [`PluginHost::evaluate_blocking`] (or [`PluginHost::evaluate`] from async code), which owns what
//! every call needs: the `plugin_call` tracing span, isolation from a host panic, a brief retry
//! while the sandbox is at capacity, and the call's metrics and plugin-page statistics.

use std::time::Duration;

use ember_sandbox::{EvalInput, LogLine, SandboxError, Score};

use super::{PluginHost, ResolvedPlugin};

/// Attempts of a call the sandbox refused for lack of capacity.
const BUSY_ATTEMPTS: u32 = 5;
/// The wait after the n-th refused attempt is n times this.
const BUSY_BACKOFF: Duration = Duration::from_millis(50);

/// Why an evaluator call produced no scores.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// The sandbox refused or stopped the call, or the plugin failed (typed by the sandbox).
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// The host panicked while running the call: a host bug, contained to this call.
    #[error("the host panicked while running the plugin")]
    HostPanic,
    /// The blocking task running the call was cancelled (the server is shutting down).
    #[error("the plugin call did not complete: {0}")]
    Interrupted(String),
}

impl CallError {
    /// A short machine-readable name (`out_of_fuel`, `trap`, `host_panic`, …) for metrics,
    /// stored errors and API answers.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sandbox(err) => err.kind(),
            Self::HostPanic => "host_panic",
            Self::Interrupted(_) => "interrupted",
        }
    }

    /// Whether the same call may succeed later: the sandbox was at capacity, or the call ran out
    /// of wall-clock time on a loaded machine. A trap, exhausted fuel or memory, or a
    /// plugin-reported error would fail the same way again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Sandbox(SandboxError::Busy(_) | SandboxError::Deadline(_)))
    }
}

/// What one evaluator call returned, with what its last attempt cost and logged.
#[derive(Debug)]
pub struct EvaluatorReport {
    pub outcome: Result<Vec<Score>, CallError>,
    /// Fuel used by the last attempt: roughly Wasm instructions.
    pub instructions: u64,
    /// Wall-clock time of the last attempt.
    pub elapsed: Duration,
    /// Lines the plugin logged in the last attempt, capped by the sandbox.
    pub log: Vec<LogLine>,
    pub log_dropped: u64,
    /// Attempts made (more than one when the sandbox was busy).
    pub attempts: u32,
}

impl EvaluatorReport {
    fn failed(error: CallError, attempts: u32) -> Self {
        Self {
            outcome: Err(error),
            instructions: 0,
            elapsed: Duration::ZERO,
            log: Vec::new(),
            log_dropped: 0,
            attempts,
        }
    }
}

impl PluginHost {
    /// Runs the evaluator `plugin` (with its configuration already applied) on `input`, on the
    /// calling thread: call it on the blocking pool. `subject` names what is evaluated (a job, a
    /// span) in the tracing span. Every attempt is recorded in the metrics and call statistics.
    pub fn evaluate_blocking(
        &self,
        plugin: &ResolvedPlugin,
        input: &EvalInput,
        subject: &dyn std::fmt::Display,
    ) -> EvaluatorReport {
        // Debug level: experiment jobs make tens of thousands of calls a second.
        let span = tracing::debug_span!("plugin_call", plugin = %plugin.name, world = "evaluator", subject = %subject);
        let _entered = span.enter();
        let mut attempt = 0;
        loop {
            attempt += 1;
            // The sandbox turns guest failures into errors; a panic here would be a host bug,
            // and must cost this call only, not the thread's other work.
            let call = std::panic::AssertUnwindSafe(|| plugin.plugin.evaluate(input));
            let Ok(report) = std::panic::catch_unwind(call) else {
                tracing::error!(plugin = %plugin.name, "the host panicked in a plugin call");
                self.metrics.record_call(&plugin.name, CallError::HostPanic.kind(), 0, Duration::ZERO);
                return EvaluatorReport::failed(CallError::HostPanic, attempt);
            };
            let kind = report.outcome.as_ref().err().map_or("ok", SandboxError::kind);
            self.metrics.record_call(&plugin.name, kind, report.instructions, report.elapsed);
            match report.outcome {
                Err(SandboxError::Busy(_)) if attempt < BUSY_ATTEMPTS => {
                    std::thread::sleep(BUSY_BACKOFF * attempt);
                }
                outcome => {
                    return EvaluatorReport {
                        outcome: outcome.map_err(CallError::from),
                        instructions: report.instructions,
                        elapsed: report.elapsed,
                        log: report.log,
                        log_dropped: report.log_dropped,
                        attempts: attempt,
                    }
                }
            }
        }
    }

    /// [`PluginHost::evaluate_blocking`] on the blocking pool.
    pub async fn evaluate(&self, plugin: ResolvedPlugin, input: EvalInput, subject: String) -> EvaluatorReport {
        let host = self.clone();
        tokio::task::spawn_blocking(move || host.evaluate_blocking(&plugin, &input, &subject))
            .await
            .unwrap_or_else(|err| EvaluatorReport::failed(CallError::Interrupted(err.to_string()), 1))
    }

    /// Records one call of a plugin made outside this module (provider chats), so that every
    /// plugin call reaches the same metrics and statistics.
    pub fn record_call(&self, plugin: &str, outcome: &str, instructions: u64, elapsed: Duration) {
        self.metrics.record_call(plugin, outcome, instructions, elapsed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_and_deadlines_are_retryable_traps_and_panics_are_not() {
        assert!(CallError::Sandbox(SandboxError::Busy("full".into())).is_retryable());
        assert!(CallError::Sandbox(SandboxError::Deadline(Duration::from_secs(1))).is_retryable());
        assert!(!CallError::Sandbox(SandboxError::StackOverflow).is_retryable());
        assert!(!CallError::Sandbox(SandboxError::Trap("unreachable".into())).is_retryable());
        assert!(!CallError::HostPanic.is_retryable());
        assert_eq!(CallError::HostPanic.kind(), "host_panic");
        assert_eq!(CallError::Sandbox(SandboxError::StackOverflow).kind(), SandboxError::StackOverflow.kind());
    }
}
