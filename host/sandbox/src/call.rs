//! One call: admission, a fresh `Store` with limits, instantiation, fuel armed just before the
//! export, and every way it can fail mapped to a [`SandboxError`].

use std::cell::Cell;
use std::time::{Duration, Instant};

use wasmtime::{Store, Trap};

use crate::error::SandboxError;
use crate::plugin::Plugin;
use crate::state::HostState;
use crate::{ChatError, ChatResponse, Descriptor, Redaction, Report, Score, SpanChange};

thread_local! {
    /// Calls in progress on this thread.
    static NESTING: Cell<u32> = const { Cell::new(0) };
}

/// Marks this thread as inside a call until dropped.
struct Nested;

impl Nested {
    fn enter() -> Self {
        NESTING.with(|depth| depth.set(depth.get() + 1));
        Nested
    }
}

impl Drop for Nested {
    fn drop(&mut self) {
        NESTING.with(|depth| depth.set(depth.get().saturating_sub(1)));
    }
}

/// Bytes of strings and lists in a returned value, checked against `max_output_bytes`.
pub(crate) trait OutputSize {
    fn output_size(&self) -> u64;
}

/// A report for a call that never started.
pub(crate) fn failed<T>(error: SandboxError) -> Report<T> {
    Report { outcome: Err(error), instructions: 0, elapsed: Duration::ZERO, log: Vec::new(), log_dropped: 0 }
}

/// The same report with its outcome converted.
pub(crate) fn map_outcome<T, U>(
    report: Report<T>,
    convert: impl FnOnce(Result<T, SandboxError>) -> Result<U, SandboxError>,
) -> Report<U> {
    Report {
        outcome: convert(report.outcome),
        instructions: report.instructions,
        elapsed: report.elapsed,
        log: report.log,
        log_dropped: report.log_dropped,
    }
}

/// Runs `invoke` on a fresh instance made by `instantiate`, under the plugin's limits.
pub(crate) fn run<I, R: OutputSize>(
    plugin: &Plugin,
    instantiate: impl FnOnce(&mut Store<HostState>) -> wasmtime::Result<I>,
    invoke: impl FnOnce(&I, &mut Store<HostState>) -> wasmtime::Result<R>,
) -> Report<R> {
    let sandbox = &plugin.sandbox().inner;
    let limits = &*plugin.limits;
    let started = Instant::now();
    if limits.memory_bytes > sandbox.config.max_plugin_memory {
        return failed(SandboxError::Instantiate(format!(
            "the plugin's memory limit ({} bytes) exceeds the sandbox's per-plugin maximum ({} bytes)",
            limits.memory_bytes, sandbox.config.max_plugin_memory
        )));
    }
    // A call made from inside another call on this thread (an evaluator's `llm` import running a
    // provider) rides on the outer call's admission: waiting for a slot the outer call holds
    // could deadlock a saturated sandbox.
    let _ticket = if NESTING.with(Cell::get) > 0 {
        None
    } else {
        match sandbox.admission.admit(limits.memory_bytes, sandbox.config.admission_wait) {
            Ok(ticket) => Some(ticket),
            Err(err) => return failed(err),
        }
    };
    let _nested = Nested::enter();

    let state = HostState::new(limits, plugin.config.clone(), plugin.grants.clone(), plugin.services.clone(), started);
    let mut store = Store::new(&sandbox.engine, state);
    store.limiter(|state| &mut state.limiter);
    let tick = sandbox.config.epoch_tick.as_nanos().max(1);
    let ticks = limits.deadline.as_nanos().div_ceil(tick) + 1;
    store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
    store.epoch_deadline_trap();

    // Instantiation runs start functions and data initialisers: bound it with the same budget,
    // then re-arm the full budget for the export itself.
    let instance = store.set_fuel(limits.fuel).and_then(|()| instantiate(&mut store));
    let outcome = match instance {
        Err(err) => Err(classify(&err, store.data(), limits, Phase::Instantiate)),
        Ok(instance) => store
            .set_fuel(limits.fuel)
            .and_then(|()| invoke(&instance, &mut store))
            .map_err(|err| classify(&err, store.data(), limits, Phase::Call)),
    };
    let instructions = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
    let outcome = outcome.and_then(|value| {
        let size = value.output_size();
        if size > limits.max_output_bytes {
            return Err(SandboxError::OutputTooLarge { size, limit: limits.max_output_bytes });
        }
        Ok(value)
    });
    finish(store, outcome, instructions, started)
}

fn finish<R>(
    mut store: Store<HostState>,
    outcome: Result<R, SandboxError>,
    instructions: u64,
    started: Instant,
) -> Report<R> {
    let state = store.data_mut();
    state.collect_wasi_output();
    Report {
        outcome,
        instructions,
        elapsed: started.elapsed(),
        log: std::mem::take(&mut state.log),
        log_dropped: state.log_dropped,
    }
}

/// Which part of a call failed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Instantiate,
    Call,
}

/// Maps a wasmtime error to the typed reason, using what the host state saw during the call.
fn classify(err: &wasmtime::Error, state: &HostState, limits: &crate::Limits, phase: Phase) -> SandboxError {
    if let Some(denial) = &state.denial {
        return SandboxError::CapabilityDenied { capability: denial.capability, detail: denial.detail.clone() };
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => SandboxError::OutOfFuel { budget: limits.fuel },
        Some(Trap::Interrupt) => SandboxError::Deadline(limits.deadline),
        Some(Trap::StackOverflow) => SandboxError::StackOverflow,
        _ if state.limiter.refused.is_some() => SandboxError::OutOfMemory {
            limit: limits.memory_bytes,
            requested: state.limiter.refused.map_or(0, |bytes| bytes as u64),
        },
        Some(trap) => SandboxError::Trap(trap.to_string()),
        None => {
            let message = format!("{err:#}");
            if phase == Phase::Call {
                // A bad pointer, length, UTF-8 or variant in what the guest returned.
                SandboxError::Trap(message)
            } else if message.contains("concurrent") && message.contains("limit") {
                SandboxError::Busy(message)
            } else {
                SandboxError::Instantiate(message)
            }
        }
    }
}

impl OutputSize for String {
    fn output_size(&self) -> u64 {
        self.len() as u64
    }
}

impl<T: OutputSize> OutputSize for Option<T> {
    fn output_size(&self) -> u64 {
        self.as_ref().map_or(0, OutputSize::output_size)
    }
}

impl<T: OutputSize> OutputSize for Vec<T> {
    fn output_size(&self) -> u64 {
        self.iter().map(|item| item.output_size() + 8).sum()
    }
}

impl OutputSize for Score {
    fn output_size(&self) -> u64 {
        self.name.output_size()
            + self.label.output_size()
            + self.explanation.output_size()
            + self.metadata.output_size()
    }
}

impl OutputSize for SpanChange {
    fn output_size(&self) -> u64 {
        self.set_attributes.output_size() + self.remove_attributes.output_size()
    }
}

impl OutputSize for Redaction {
    fn output_size(&self) -> u64 {
        self.value.output_size()
    }
}

impl OutputSize for Descriptor {
    fn output_size(&self) -> u64 {
        self.name.output_size()
            + self.version.output_size()
            + self.description.output_size()
            + self.config_schema.output_size()
    }
}

impl OutputSize for crate::bindings::types::PluginError {
    fn output_size(&self) -> u64 {
        match self {
            Self::InvalidConfig(message) | Self::InvalidInput(message) | Self::Failed(message) => message.output_size(),
        }
    }
}

impl OutputSize for ChatError {
    fn output_size(&self) -> u64 {
        match self {
            Self::InvalidRequest(message) | Self::Unavailable(message) | Self::Failed(message) => message.output_size(),
            Self::RateLimited(_) => 0,
        }
    }
}

impl OutputSize for ChatResponse {
    fn output_size(&self) -> u64 {
        let message = &self.message;
        self.model.output_size()
            + message.content.output_size()
            + message.tool_calls.iter().map(|call| call.name.len() as u64 + call.arguments.len() as u64).sum::<u64>()
    }
}
