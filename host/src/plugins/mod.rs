//! Plugins in the server: the sandbox, the installed components by name, and the ingest
//! pipeline that runs redactors and span processors over each decoded batch.

mod pipeline;
mod processing;
mod redaction;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use ember_sandbox::{Limits, LoadError, Plugin, Sandbox, SandboxConfig};

pub use pipeline::{OnError, Pipeline, PipelineConfig, PipelineError, PipelineStage, StageReport};

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

/// A plugin picked by [`PluginHost::resolve`], with the name, version and digest that scores
/// produced by it record.
#[derive(Clone, Debug)]
pub struct ResolvedPlugin {
    pub name: String,
    pub version: String,
    pub sha256: String,
    pub plugin: Plugin,
}

/// The sandbox and the plugins installed in it, by name.
#[derive(Clone)]
pub struct PluginHost {
    sandbox: Sandbox,
    installed: Arc<RwLock<BTreeMap<String, Plugin>>>,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost").field("plugins", &self.names()).finish_non_exhaustive()
    }
}

impl PluginHost {
    /// A sandbox caching compiled components in `cache_dir`, running at most `max_calls` calls
    /// whose memory limits add up to at most `memory_budget` bytes.
    pub fn new(cache_dir: &Path, max_calls: u32, memory_budget: u64) -> Result<Self, PluginHostError> {
        let sandbox = Sandbox::new(SandboxConfig {
            cache_dir: Some(cache_dir.to_owned()),
            max_concurrent_calls: max_calls,
            memory_budget,
            ..SandboxConfig::default()
        })?;
        Ok(Self { sandbox, installed: Arc::default() })
    }

    /// Installs every `*.wasm` in `dir` under its file name (`pii.wasm` → `pii`). A component
    /// that fails to load is reported and skipped, so one bad file does not stop the server.
    pub fn install_dir(&self, dir: &Path) -> Result<Vec<String>, PluginHostError> {
        let read_error = |source| PluginHostError::Read { path: dir.display().to_string(), source };
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(read_error)?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
            .collect();
        paths.sort();
        let mut installed = Vec::new();
        for path in paths {
            let Some(name) = path.file_stem().and_then(|stem| stem.to_str()).map(str::to_owned) else { continue };
            let wasm = std::fs::read(&path)
                .map_err(|source| PluginHostError::Read { path: path.display().to_string(), source })?;
            match self.install(&name, &wasm, Limits::default()) {
                Ok(plugin) => {
                    let info = plugin.info();
                    tracing::info!(plugin = %name, world = %info.world, sha256 = %info.sha256, "plugin installed");
                    installed.push(name);
                }
                Err(err) => tracing::error!(path = %path.display(), error = %err, "plugin not installed"),
            }
        }
        Ok(installed)
    }

    /// Loads `wasm` and installs it as `name`, replacing any plugin of that name.
    pub fn install(&self, name: &str, wasm: &[u8], limits: Limits) -> Result<Plugin, PluginHostError> {
        let plugin = self
            .sandbox
            .load(wasm, limits)
            .map_err(|source| PluginHostError::Load { name: name.to_owned(), source })?;
        if let Ok(mut installed) = self.installed.write() {
            installed.insert(name.to_owned(), plugin.clone());
        }
        Ok(plugin)
    }

    /// The installed plugin called `name`.
    pub fn get(&self, name: &str) -> Option<Plugin> {
        self.installed.read().ok()?.get(name).cloned()
    }

    /// The installed plugin a reference names: `name` (its newest enabled version) or
    /// `name@version`, with the identity a stored score records.
    pub fn resolve(&self, reference: &str) -> Option<ResolvedPlugin> {
        let (name, version) = match reference.split_once('@') {
            Some((name, version)) => (name, Some(version)),
            None => (reference, None),
        };
        let plugin = self.get(name)?;
        let info = plugin.info();
        let installed_version = info.descriptor.as_ref().map(|d| d.version.clone()).unwrap_or_default();
        if version.is_some_and(|version| version != installed_version) {
            return None;
        }
        Some(ResolvedPlugin { name: name.to_owned(), version: installed_version, sha256: info.sha256.clone(), plugin })
    }

    /// Names of the installed plugins, sorted.
    pub fn names(&self) -> Vec<String> {
        self.installed.read().map(|installed| installed.keys().cloned().collect()).unwrap_or_default()
    }

    /// Every installed plugin, sorted by name.
    pub fn list(&self) -> Vec<(String, Plugin)> {
        self.installed
            .read()
            .map(|installed| installed.iter().map(|(name, plugin)| (name.clone(), plugin.clone())).collect())
            .unwrap_or_default()
    }
}
