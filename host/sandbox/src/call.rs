//! One call: admission, a fresh `Store` with limits, instantiation, fuel armed just before the
//! export, and every way it can fail mapped to a [`SandboxError`].
//!
//! What a plugin hands the host (its result, and the arguments of every import it calls, WASI's
//! included) is bounded where wasmtime copies it: the store's hostcall fuel is the call's
//! transfer cap, charged with each string's bytes and each list entry's host size as they are
//! lifted, before the host allocates them. So strings that alias one buffer, or millions of empty
//! entries, end the call with `output_too_large` instead of costing the host gigabytes.

use std::cell::Cell;
use std::time::{Duration, Instant};

use wasmtime::{Store, Trap};

use crate::error::SandboxError;
use crate::limits::MAX_HANDLES;
use crate::plugin::Plugin;
use crate::state::HostState;
use crate::Report;

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
pub(crate) fn run<I, R>(
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
    // Every call reserves its linear memory and what the host may hold for it. A call made from
    // inside another on this thread (an evaluator's `llm` import running a provider) reserves
    // memory but no slot: it runs in the outer call's slot, and waiting for a slot the outer call
    // holds could deadlock a saturated sandbox (the pool has an instance slot for it).
    let slot = NESTING.with(Cell::get) == 0;
    let _ticket = match sandbox.admission.admit(limits.reserved_bytes(), slot, sandbox.config.admission_wait) {
        Ok(ticket) => ticket,
        Err(err) => return failed(err),
    };
    let _nested = Nested::enter();

    let state = HostState::new(limits, plugin.config.clone(), plugin.grants.clone(), plugin.services.clone(), started);
    let mut store = Store::new(&sandbox.engine, state);
    store.limiter(|state| &mut state.limiter);
    store.set_hostcall_fuel(usize::try_from(limits.transfer_bytes()).unwrap_or(usize::MAX));
    store.set_max_component_handles(MAX_HANDLES);
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

/// How wasmtime reports a value that would cost the host more than the store's hostcall fuel (its
/// error type is private; `hostile.rs` pins the wording for the wasmtime version in use).
const HOSTCALL_FUEL_EXHAUSTED: &str = "fuel allocated for hostcalls has been exhausted";

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
            if message.contains(HOSTCALL_FUEL_EXHAUSTED) {
                return SandboxError::OutputTooLarge { limit: limits.transfer_bytes() };
            }
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
