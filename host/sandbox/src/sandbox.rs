//! The sandbox: one engine, one linker with every host import, the epoch ticker and the cache.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::admission::Admission;
use crate::bindings::{evaluator, host, llm, outbound_http, types};
use crate::cache::{self, CacheOutcome};
use crate::error::LoadError;
use crate::inspect::{self, ComponentInfo};
use crate::limits::Limits;
use crate::plugin::Plugin;
use crate::state::{HostState, MAX_TABLE_ELEMENTS};

/// How the sandbox is set up; fixed for its lifetime.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where compiled components are cached; `None` compiles on every load.
    pub cache_dir: Option<PathBuf>,
    /// Calls that may run at once (pool slots).
    pub max_concurrent_calls: u32,
    /// Sum of what the calls running at once reserve (`Limits::reserved_bytes`), in bytes.
    pub memory_budget: u64,
    /// The largest memory limit any plugin may be given, in bytes (reserved per pool slot).
    pub max_plugin_memory: u64,
    /// Period of the epoch ticker: the resolution of call deadlines.
    pub epoch_tick: Duration,
    /// How long a call waits for admission before it is refused as busy.
    pub admission_wait: Duration,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            cache_dir: None,
            max_concurrent_calls: 64,
            memory_budget: 2 << 30,
            max_plugin_memory: 1 << 30,
            epoch_tick: Duration::from_millis(5),
            admission_wait: Duration::from_secs(5),
        }
    }
}

/// The plugin runtime. Cheap to clone; the epoch ticker stops when the last clone is dropped.
#[derive(Clone)]
pub struct Sandbox {
    pub(crate) inner: Arc<SandboxInner>,
}

pub(crate) struct SandboxInner {
    pub engine: Engine,
    pub linker: Linker<HostState>,
    pub config: SandboxConfig,
    pub admission: Admission,
    engine_hash: String,
    ticker_stop: Arc<AtomicBool>,
}

impl Drop for SandboxInner {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Builds the engine (fuel, epochs, pooling allocator) and links every host import.
    pub fn new(config: SandboxConfig) -> Result<Self, LoadError> {
        let engine = Engine::new(&engine_config(&config)).map_err(|err| LoadError::Engine(format!("{err:#}")))?;
        let linker = build_linker(&engine).map_err(|err| LoadError::Engine(format!("{err:#}")))?;
        let engine_hash = {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::hash::DefaultHasher::new();
            engine.precompile_compatibility_hash().hash(&mut hasher);
            format!("{:016x}", hasher.finish())
        };
        if let Some(dir) = &config.cache_dir {
            std::fs::create_dir_all(dir)?;
        }
        let ticker_stop = Arc::new(AtomicBool::new(false));
        let inner = Arc::new(SandboxInner {
            admission: Admission::new(config.max_concurrent_calls, config.memory_budget),
            engine,
            linker,
            config,
            engine_hash,
            ticker_stop: ticker_stop.clone(),
        });
        spawn_epoch_ticker(Arc::downgrade(&inner), ticker_stop);
        Ok(Self { inner })
    }

    /// Compiles `wasm` (or loads it from the cache), checks the world it implements, pre-links it
    /// and calls `describe` under `limits`.
    pub fn load(&self, wasm: &[u8], limits: Limits) -> Result<Plugin, LoadError> {
        self.load_with_outcome(wasm, limits).map(|(plugin, _)| plugin)
    }

    /// Like [`Sandbox::load`], also telling whether the compiled code came from the cache.
    pub fn load_with_outcome(&self, wasm: &[u8], limits: Limits) -> Result<(Plugin, CacheOutcome), LoadError> {
        let sha256 = hex::encode(Sha256::digest(wasm));
        let (component, outcome) = cache::load_or_compile(
            &self.inner.engine,
            self.inner.config.cache_dir.as_deref(),
            &self.inner.engine_hash,
            &sha256,
            wasm,
        )?;
        let info = inspect::describe_component(&self.inner.engine, &component, wasm.len(), sha256)?;
        let plugin = Plugin::link(self.clone(), component, info, limits)?;
        Ok((plugin, outcome))
    }

    /// What a component is (world, imports, exports, size, digest) without running it.
    pub fn inspect(&self, wasm: &[u8]) -> Result<ComponentInfo, LoadError> {
        let sha256 = hex::encode(Sha256::digest(wasm));
        let component =
            Component::new(&self.inner.engine, wasm).map_err(|err| LoadError::Invalid(format!("{err:#}")))?;
        inspect::describe_component(&self.inner.engine, &component, wasm.len(), sha256)
    }

    /// The configuration the sandbox was built with.
    pub fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }
}

/// Linear memory per slot reset in place rather than returned to the kernel after a call: covers
/// the stack, data and heap a small guest touches.
const KEEP_RESIDENT_BYTES: usize = 4 << 20;

fn engine_config(config: &SandboxConfig) -> Config {
    // Twice the admitted calls: a call made from inside another (an evaluator's `llm` import
    // running a provider) is not admitted separately but still needs its own instance slot.
    let slots = config.max_concurrent_calls.max(1).saturating_mul(2);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(slots)
        .total_core_instances(slots.saturating_mul(16))
        .total_memories(slots.saturating_mul(4))
        .total_tables(slots.saturating_mul(8))
        .max_core_instances_per_component(64)
        .max_memories_per_component(4)
        .max_tables_per_component(16)
        .max_memory_size(usize::try_from(config.max_plugin_memory).unwrap_or(usize::MAX))
        .table_elements(MAX_TABLE_ELEMENTS)
        .max_component_instance_size(4 << 20)
        .max_core_instance_size(4 << 20)
        // Reset a slot's dirty pages with memset (found with the PAGEMAP_SCAN ioctl where the
        // kernel has it) instead of madvise: system calls take the process-wide mmap lock, which
        // made two threads calling plugins slower than one.
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(1 << 20)
        .pagemap_scan(Enabled::Auto)
        .decommit_batch_size(32);
    let mut engine = Config::new();
    engine
        .wasm_component_model(true)
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack(512 << 10)
        // No virtual-memory tricks: bounds are checked in code. With guard regions and
        // signal-based traps, every call that grows memory (Rust's allocator always grows) costs
        // two mprotect calls, and a TLB shootdown across cores, when its pool slot is reused;
        // without them a slot simply stays accessible. Calls got 2× cheaper on 2 cores.
        .signals_based_traps(false)
        .memory_reservation(config.max_plugin_memory)
        .memory_guard_size(0)
        .guard_before_linear_memory(false)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    engine
}

fn build_linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    types::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |state| state)?;
    host::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |state| state)?;
    evaluator::ember::plugin::chat::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |state| state)?;
    evaluator::ember::plugin::evaluation::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |state| state)?;
    crate::bindings::span_processor::ember::plugin::spans::add_to_linker::<_, HasSelf<HostState>>(
        &mut linker,
        |state| state,
    )?;
    llm::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |state| state)?;
    outbound_http::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |state| state)?;
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    deny_timers(&mut linker)?;
    Ok(linker)
}

/// Advances the engine's epoch every tick until the sandbox is dropped.
fn spawn_epoch_ticker(inner: Weak<SandboxInner>, stop: Arc<AtomicBool>) {
    let tick = inner.upgrade().map_or(Duration::from_millis(5), |inner| inner.config.epoch_tick);
    let engine = inner.upgrade().map(|inner| inner.engine.weak());
    let Some(engine) = engine else { return };
    let spawned = std::thread::Builder::new().name("ember-epoch".into()).spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(tick);
            match engine.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => return,
            }
        }
    });
    if let Err(err) = spawned {
        tracing::error!(%err, "could not start the epoch ticker: plugin deadlines will not fire");
    }
}

/// Replaces WASI's timers with functions that end the call: a sleeping guest would block its
/// thread in the host, where the epoch deadline cannot interrupt it. Clocks already read zero, so
/// a plugin has no use for timers.
fn deny_timers(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    type Pollable = wasmtime::component::Resource<wasmtime_wasi::p2::DynPollable>;
    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    for name in ["subscribe-duration", "subscribe-instant"] {
        clock.func_wrap(name, move |mut store, (_,): (u64,)| -> wasmtime::Result<(Pollable,)> {
            let state: &mut HostState = store.data_mut();
            Err(state.deny("clock", format!("timers are not granted ({name})")))
        })?;
    }
    linker.allow_shadowing(false);
    Ok(())
}

/// The monotonic-clock interface as wasmtime-wasi defines it; guests built against any 0.2.x
/// match it.
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";
