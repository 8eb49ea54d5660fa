//! Plugins in the server: the sandbox, the registered plugin versions loaded in it, and the
//! ingest pipeline that runs redactors and span processors over each decoded batch.
//!
//! The database is the registry of record (see `store::registry`); this host keeps every enabled
//! version compiled and linked, and loads one from its stored blob on first use when another
//! replica registered it.

mod call;
mod manifest;
mod pipeline;
mod processing;
mod redaction;
mod registry;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use ember_sandbox::{LoadError, Plugin, Sandbox, SandboxConfig, Services};

pub use call::{CallError, EvaluatorReport};
/// The sandbox's vocabulary the rest of the server speaks: what a plugin is, what it may use, and
/// what an evaluator takes and returns. Callers reach the sandbox only through this module.
pub use ember_sandbox::{EvalInput, Grants, Limits, Score, World};
pub use manifest::{check_name, check_version, Manifest, ManifestError, RequestedLimits};
pub use pipeline::{OnError, Pipeline, PipelineConfig, PipelineError, PipelineStage, StageReport};
pub use registry::{RegistryError, Upload};

use crate::metrics::Metrics;
use crate::store::PluginRecord;

/// Why the plugin host could not start or install a plugin.
#[derive(Debug, thiserror::Error)]
pub enum PluginHostError {
    #[error("plugin sandbox: {0}")]
    Sandbox(#[from] LoadError),
    #[error("reading {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("plugin {name}: {source}")]
    Load { name: String, source: LoadError },
}

/// One registered plugin version loaded in the sandbox, with its limits and grants applied.
#[derive(Clone, Debug)]
pub struct InstalledPlugin {
    pub record: Arc<PluginRecord>,
    pub plugin: Plugin,
}

/// A plugin picked by [`PluginHost::resolve`], with the identity stored scores record.
#[derive(Clone, Debug)]
pub struct ResolvedPlugin {
    pub id: i64,
    pub name: String,
    pub version: String,
    pub sha256: String,
    pub plugin: Plugin,
}

impl ResolvedPlugin {
    /// The same plugin version called with `config` (a JSON object) as its configuration.
    pub fn with_config(self, config: impl Into<Arc<str>>) -> Self {
        Self { plugin: self.plugin.with_config(config), ..self }
    }

    /// The world the plugin implements.
    pub fn world(&self) -> World {
        self.plugin.world()
    }
}

impl From<&InstalledPlugin> for ResolvedPlugin {
    fn from(installed: &InstalledPlugin) -> Self {
        Self {
            id: installed.record.id,
            name: installed.record.name.clone(),
            version: installed.record.version.clone(),
            sha256: installed.record.sha256.clone(),
            plugin: installed.plugin.clone(),
        }
    }
}

/// `plugin` under the limits, grants and configuration stored in its registry row, with the
/// server's outbound HTTP and `llm` services.
fn with_policy(plugin: &Plugin, record: &PluginRecord, services: &Services) -> Plugin {
    let limits: Limits = serde_json::from_str(&record.limits).unwrap_or_default();
    let grants: Grants = serde_json::from_str(&record.grants).unwrap_or_default();
    plugin.with_limits(limits).with_grants(grants).with_config(record.config.as_str()).with_services(services.clone())
}

/// One-stage pipelines by plugin name, each with the registry row of the version it runs.
type SingleStages = HashMap<String, (Arc<PluginRecord>, Arc<Pipeline>)>;

/// The sandbox and the plugin versions loaded in it, by registry id.
#[derive(Clone)]
pub struct PluginHost {
    sandbox: Sandbox,
    installed: Arc<RwLock<BTreeMap<i64, InstalledPlugin>>>,
    /// Set once at start, before any plugin is loaded.
    services: Arc<OnceLock<Services>>,
    /// One-stage pipelines by plugin name, with the registry row of the version each was built
    /// from: a version replaced, updated or removed gets a new row, so a stale entry never matches.
    single_stages: Arc<Mutex<SingleStages>>,
    /// Slots in which a component may be received and compiled (see [`PluginHost::upload_slot`]).
    uploads: Arc<tokio::sync::Semaphore>,
    /// Where every call is recorded (see `call.rs`).
    metrics: Arc<Metrics>,
}

/// Components received and compiled at once. Receiving and compiling a component holds about
/// twice its size (three concurrent 127 MiB uploads took 830 MiB): two at a time keeps a burst of
/// uploads to a few hundred MiB whatever its size.
const CONCURRENT_UPLOADS: usize = 2;

/// How long an upload waits for a slot before it is refused with 503.
const UPLOAD_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost").field("plugins", &self.names()).finish_non_exhaustive()
    }
}

impl PluginHost {
    /// A sandbox caching compiled components in `cache_dir`, running at most `max_calls` calls
    /// whose memory limits and host copies (`Limits::reserved_bytes`) add up to at most
    /// `memory_budget` bytes, and recording every call in `metrics`.
    pub fn new(
        cache_dir: &std::path::Path,
        max_calls: u32,
        memory_budget: u64,
        metrics: Arc<Metrics>,
    ) -> Result<Self, PluginHostError> {
        let sandbox = Sandbox::new(SandboxConfig {
            cache_dir: Some(cache_dir.to_owned()),
            max_concurrent_calls: max_calls,
            memory_budget,
            ..SandboxConfig::default()
        })?;
        Ok(Self {
            sandbox,
            installed: Arc::default(),
            services: Arc::default(),
            single_stages: Arc::default(),
            uploads: Arc::new(tokio::sync::Semaphore::new(CONCURRENT_UPLOADS)),
            metrics,
        })
    }

    /// Gives every plugin loaded from now on the server's outbound HTTP client and `llm` broker.
    /// Call once, before loading plugins; later calls are ignored.
    pub fn set_services(&self, services: Services) {
        if self.services.set(services).is_err() {
            tracing::warn!("plugin services were already set");
        }
    }

    /// Waits for a slot to receive and compile a component in; take it before reading the body.
    /// `None` when no slot freed up in time: the caller answers 503.
    pub async fn upload_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        tokio::time::timeout(UPLOAD_WAIT, self.uploads.clone().acquire_owned()).await.ok()?.ok()
    }

    fn services(&self) -> Services {
        self.services.get().cloned().unwrap_or_default()
    }

    /// `plugin` under `record`'s policy and the server's services.
    pub(crate) fn with_policy(&self, plugin: &Plugin, record: &PluginRecord) -> Plugin {
        with_policy(plugin, record, &self.services())
    }

    /// The sandbox plugins run in.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// Links `wasm` as the plugin version `record` describes (limits and grants from the record).
    /// Runs the compiler on a cache miss: call it on the blocking pool.
    pub fn load_record(&self, record: PluginRecord, wasm: &[u8]) -> Result<InstalledPlugin, PluginHostError> {
        // `describe` runs at load under the generous limits; calls get the plugin's own.
        let plugin = self
            .sandbox
            .load(wasm, Limits::interpreted())
            .map_err(|source| PluginHostError::Load { name: record.name.clone(), source })?;
        Ok(InstalledPlugin { plugin: self.with_policy(&plugin, &record), record: Arc::new(record) })
    }

    /// Makes a loaded version available (replacing an older copy of the same id).
    pub fn insert(&self, installed: InstalledPlugin) {
        if let Ok(mut map) = self.installed.write() {
            map.insert(installed.record.id, installed);
        }
    }

    /// Forgets a version (deleted from the registry).
    pub fn remove(&self, id: i64) {
        if let Ok(mut map) = self.installed.write() {
            map.remove(&id);
        }
    }

    /// Updates the stored row of a loaded version (enabled flag, limits, grants) in place.
    pub fn update_record(&self, record: PluginRecord) {
        let services = self.services();
        if let Ok(mut map) = self.installed.write() {
            if let Some(installed) = map.get_mut(&record.id) {
                installed.plugin = with_policy(&installed.plugin, &record, &services);
                installed.record = Arc::new(record);
            }
        }
    }

    /// A loaded version by registry id, enabled or not.
    pub fn by_id(&self, id: i64) -> Option<InstalledPlugin> {
        self.installed.read().ok()?.get(&id).cloned()
    }

    /// The enabled version a reference names: `name@version`, or `name` for the most recently
    /// registered enabled version.
    pub fn resolve(&self, reference: &str) -> Option<ResolvedPlugin> {
        let (name, version) = match reference.split_once('@') {
            Some((name, version)) => (name, Some(version)),
            None => (reference, None),
        };
        let map = self.installed.read().ok()?;
        map.values()
            .rev()
            .filter(|installed| installed.record.enabled && installed.record.name == name)
            .find(|installed| version.is_none_or(|version| installed.record.version == version))
            .map(ResolvedPlugin::from)
    }

    /// A pipeline whose only stage is the enabled plugin `reference` names (see
    /// [`PluginHost::resolve`]) over every project, with the default stage limits and no
    /// configuration. Built once per loaded version and reused until that version changes.
    pub fn single_stage(&self, reference: &str) -> Option<Arc<Pipeline>> {
        let resolved = self.resolve(reference)?;
        let record = self.by_id(resolved.id)?.record;
        let mut cache = self.single_stages.lock().ok()?;
        if let Some((built_for, pipeline)) = cache.get(reference) {
            if Arc::ptr_eq(built_for, &record) {
                return Some(pipeline.clone());
            }
        }
        let stage = PipelineStage {
            plugin: reference.to_owned(),
            projects: vec!["*".into()],
            on_error: None,
            config: None,
            limits: None,
        };
        let pipeline = Arc::new(Pipeline::build(PipelineConfig { stages: vec![stage] }, self).ok()?);
        cache.insert(reference.to_owned(), (record, pipeline.clone()));
        Some(pipeline)
    }

    /// The plugin a reference names (see [`PluginHost::resolve`]).
    pub fn get(&self, reference: &str) -> Option<Plugin> {
        self.resolve(reference).map(|resolved| resolved.plugin)
    }

    /// Names of the enabled plugins, sorted and without duplicates.
    pub fn names(&self) -> Vec<String> {
        let Ok(map) = self.installed.read() else { return Vec::new() };
        let mut names: Vec<String> = map.values().filter(|i| i.record.enabled).map(|i| i.record.name.clone()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// Every loaded version, by name then registration order.
    pub fn list(&self) -> Vec<InstalledPlugin> {
        let Ok(map) = self.installed.read() else { return Vec::new() };
        let mut all: Vec<InstalledPlugin> = map.values().cloned().collect();
        all.sort_by(|a, b| a.record.name.cmp(&b.record.name).then(a.record.id.cmp(&b.record.id)));
        all
    }
}
