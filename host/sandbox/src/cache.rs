//! The on-disk compile cache: compiled components keyed by the Wasm's sha256 and the engine's
//! compatibility hash, so that a restart (or a second load) deserializes instead of compiling.

use std::io::Write;
use std::path::Path;

use wasmtime::component::Component;
use wasmtime::Engine;

use crate::error::LoadError;

/// Where a loaded component's machine code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheOutcome {
    /// Compiled now; written to the cache when there is one.
    Compiled,
    /// Deserialized from the cache.
    Cached,
}

pub(crate) fn load_or_compile(
    engine: &Engine,
    dir: Option<&Path>,
    engine_hash: &str,
    sha256: &str,
    wasm: &[u8],
) -> Result<(Component, CacheOutcome), LoadError> {
    let Some(dir) = dir else {
        return Ok((compile(engine, wasm)?, CacheOutcome::Compiled));
    };
    let path = dir.join(format!("{sha256}-{engine_hash}.cwasm"));
    if path.exists() {
        match deserialize(engine, &path) {
            Ok(component) => return Ok((component, CacheOutcome::Cached)),
            Err(err) => tracing::warn!(path = %path.display(), %err, "discarding an unusable cached component"),
        }
    }
    let component = compile(engine, wasm)?;
    let bytes = component.serialize().map_err(|err| LoadError::Engine(format!("serializing: {err:#}")))?;
    // Written under a unique name and renamed, so a concurrent reader never sees half a file.
    let mut file = tempfile_in(dir)?;
    file.1.write_all(&bytes)?;
    file.1.sync_all()?;
    std::fs::rename(&file.0, &path)?;
    Ok((component, CacheOutcome::Compiled))
}

fn compile(engine: &Engine, wasm: &[u8]) -> Result<Component, LoadError> {
    Component::new(engine, wasm).map_err(|err| LoadError::Invalid(format!("{err:#}")))
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: the file is machine code this process (or an earlier run of it) compiled and wrote
    // into the server's private cache directory; wasmtime also checks that it was produced by a
    // compatible engine. The cache directory must not be writable by anyone else.
    unsafe { Component::deserialize_file(engine, path) }
}

fn tempfile_in(dir: &Path) -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = format!(".tmp-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
    let path = dir.join(name);
    let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
    Ok((path, file))
}
