//! Registering plugin versions: check the component and its manifest, store it in the registry,
//! and load it into the sandbox.

use std::path::Path;

use ember_sandbox::{Grants, LoadError};

use super::{check_name, check_version, InstalledPlugin, Manifest, ManifestError, PluginHost};
use crate::store::{NewPlugin, Registered, Store, StoreError};

/// Why a plugin could not be registered or loaded.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{0}")]
    Manifest(#[from] ManifestError),
    #[error("{0}")]
    Component(#[from] LoadError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("the plugin's stored component {0} is missing")]
    MissingBlob(String),
    #[error("plugin loading was interrupted: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// A component to register, with what it asks for and what it is granted.
#[derive(Debug, Clone)]
pub struct Upload {
    pub wasm: Vec<u8>,
    pub manifest: Manifest,
    pub grants: Grants,
    /// `upload` or `bundled`.
    pub source: &'static str,
    /// Name used when neither the manifest nor the component's descriptor gives one.
    pub fallback_name: Option<String>,
}

impl PluginHost {
    /// Checks, stores and loads a plugin version. Returns it and whether it is new: registering
    /// the same name, version and bytes again changes nothing.
    pub async fn register(&self, store: &Store, upload: Upload) -> Result<(InstalledPlugin, bool), RegistryError> {
        let sandbox = self.sandbox.clone();
        let Upload { wasm, mut manifest, grants, source, fallback_name } = upload;
        // Compiling (on a cache miss) and `describe` are CPU work for the blocking pool.
        let (wasm, plugin) = tokio::task::spawn_blocking(move || {
            let plugin = sandbox.load(&wasm, ember_sandbox::Limits::interpreted());
            (wasm, plugin)
        })
        .await?;
        let plugin = plugin?;
        let info = plugin.info().clone();
        let descriptor = info.descriptor.clone();
        let name = manifest
            .name
            .clone()
            .or(fallback_name)
            .or_else(|| descriptor.as_ref().map(|d| d.name.clone()))
            .unwrap_or_default();
        let version = manifest
            .version
            .clone()
            .or_else(|| descriptor.as_ref().map(|d| d.version.clone()))
            .unwrap_or_else(|| "0.0.0".to_owned());
        check_name(&name)?;
        check_version(&version)?;
        let limits = manifest.limits(&info, self.sandbox.config().max_plugin_memory)?;
        manifest.check_grants(&grants)?;
        // `describe` ran under generous limits; a plugin that cannot even be instantiated under
        // the limits it will run with (say, an 80 MiB static under 64 MiB) would fail every call.
        let probe = plugin.with_limits(limits.clone());
        let described = tokio::task::spawn_blocking(move || probe.describe().outcome).await?;
        if let Err(err) = described {
            return Err(RegistryError::Component(LoadError::Describe(Box::new(err))));
        }
        manifest.name = Some(name.clone());
        manifest.version = Some(version.clone());
        if manifest.description.is_none() {
            manifest.description = descriptor.as_ref().map(|d| d.description.clone());
        }
        let (manifest_text, grants_text, limits_text) = (json_text(&manifest), json_text(&grants), json_text(&limits));
        let new = NewPlugin {
            name: &name,
            version: &version,
            world: info.world.as_str(),
            wit_version: &info.wit_version,
            sha256: &info.sha256,
            manifest: &manifest_text,
            grants: &grants_text,
            limits: &limits_text,
            source,
        };
        let registered = store.register_plugin(&new, &wasm).await?;
        let created = !matches!(registered, Registered::Unchanged(_));
        let record = registered.record().clone();
        // The row's limits and grants apply (an unchanged row keeps the ones it had).
        let plugin = self.with_policy(&plugin, &record);
        let installed = InstalledPlugin { plugin, record: std::sync::Arc::new(record) };
        self.insert(installed.clone());
        Ok((installed, created))
    }

    /// Loads every enabled registered version from the database (at start).
    pub async fn load_registered(&self, store: &Store) -> Result<usize, RegistryError> {
        let mut loaded = 0;
        for record in store.list_plugins().await? {
            if !record.enabled || self.by_id(record.id).is_some() {
                continue;
            }
            let (id, name) = (record.id, format!("{}@{}", record.name, record.version));
            match self.load_from_store(store, record).await {
                Ok(_) => loaded += 1,
                Err(err) => tracing::error!(plugin = %name, id, error = %err, "registered plugin not loaded"),
            }
        }
        Ok(loaded)
    }

    /// The version with registry id `id`, loading it from its stored blob when this server has
    /// not loaded it yet (another replica registered it). `None` when no such version exists.
    pub async fn installed(&self, store: &Store, id: i64) -> Result<Option<InstalledPlugin>, RegistryError> {
        if let Some(installed) = self.by_id(id) {
            return Ok(Some(installed));
        }
        let Some(record) = store.plugin_by_id(id).await? else { return Ok(None) };
        self.load_from_store(store, record).await.map(Some)
    }

    async fn load_from_store(
        &self,
        store: &Store,
        record: crate::store::PluginRecord,
    ) -> Result<InstalledPlugin, RegistryError> {
        let wasm = store
            .plugin_blob(&record.sha256)
            .await?
            .ok_or_else(|| RegistryError::MissingBlob(record.sha256.clone()))?;
        let host = self.clone();
        let installed = tokio::task::spawn_blocking(move || host.load_record(record, &wasm)).await??;
        self.insert(installed.clone());
        Ok(installed)
    }

    /// Registers every `*.wasm` in `dir` as a bundled plugin named after its file (`pii.wasm` →
    /// `pii`). A component that fails is logged and skipped, so one bad file does not stop the
    /// server.
    pub async fn register_dir(&self, store: &Store, dir: &Path) -> Result<Vec<String>, super::PluginHostError> {
        let read_error = |source| super::PluginHostError::Read { path: dir.display().to_string(), source };
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(read_error)?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
            .collect();
        paths.sort();
        let mut registered = Vec::new();
        for path in paths {
            let Some(name) = path.file_stem().and_then(|stem| stem.to_str()).map(str::to_owned) else { continue };
            let wasm = match std::fs::read(&path) {
                Ok(wasm) => wasm,
                Err(err) => {
                    tracing::error!(path = %path.display(), error = %err, "plugin not readable");
                    continue;
                }
            };
            let manifest = match bundled_manifest(&path) {
                Ok(manifest) => Manifest { name: Some(name.clone()), ..manifest },
                Err(err) => {
                    tracing::error!(path = %path.display(), error = %err, "plugin manifest not usable; plugin skipped");
                    continue;
                }
            };
            let upload = Upload { wasm, manifest, grants: Grants::default(), source: "bundled", fallback_name: None };
            match self.register(store, upload).await {
                Ok((installed, _)) => {
                    let record = &installed.record;
                    tracing::info!(plugin = %record.name, version = %record.version, world = %record.world, sha256 = %record.sha256, "plugin installed");
                    registered.push(format!("{}@{}", record.name, record.version));
                }
                Err(err) => tracing::error!(path = %path.display(), error = %err, "plugin not installed"),
            }
        }
        Ok(registered)
    }
}

/// The manifest shipped beside a bundled component (`name.manifest.json`), or the default one.
fn bundled_manifest(wasm: &Path) -> Result<Manifest, String> {
    let path = wasm.with_extension("manifest.json");
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|err| format!("{}: {err}", path.display())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::default()),
        Err(err) => Err(format!("{}: {err}", path.display())),
    }
}

/// A registry JSON column's text: plain structs, which cannot fail to serialize.
fn json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned())
}

impl From<super::PluginHostError> for RegistryError {
    fn from(err: super::PluginHostError) -> Self {
        match err {
            super::PluginHostError::Load { source, .. } | super::PluginHostError::Sandbox(source) => {
                Self::Component(source)
            }
            super::PluginHostError::Read { path, .. } => Self::MissingBlob(path),
        }
    }
}
