//! What a component is: which Ember world it implements, at which WIT version, what it imports
//! and exports. Worked out from the component's type, before anything runs.

use wasmtime::component::Component;
use wasmtime::Engine;

use crate::error::LoadError;
use crate::Descriptor;

/// The WIT package every world below belongs to.
pub const PACKAGE: &str = "ember:plugin";

/// The WIT package versions this host can load.
pub const SUPPORTED_VERSIONS: &[&str] = &["0.1.0"];

/// The kind of plugin a component is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum World {
    Evaluator,
    SpanProcessor,
    Redactor,
    Provider,
}

impl World {
    /// The world's name in the WIT.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Evaluator => "evaluator",
            Self::SpanProcessor => "span-processor",
            Self::Redactor => "redactor",
            Self::Provider => "provider",
        }
    }

    /// The `ember:plugin` interfaces the world may import.
    fn interfaces(self) -> &'static [&'static str] {
        match self {
            Self::Evaluator => &["types", "evaluation", "host", "llm", "chat"],
            Self::SpanProcessor | Self::Redactor => &["types", "spans", "host"],
            Self::Provider => &["types", "chat", "host", "outbound-http"],
        }
    }

    /// The export that identifies the world.
    fn signature_export(self) -> &'static str {
        match self {
            Self::Evaluator => "evaluate",
            Self::SpanProcessor => "process",
            Self::Redactor => "redact",
            Self::Provider => "chat",
        }
    }
}

impl std::fmt::Display for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A component's identity and shape, as `ember plugin inspect` prints it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ComponentInfo {
    pub world: World,
    /// Version of the `ember:plugin` package the component was built against.
    pub wit_version: String,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    /// Whether the component imports WASI (Python and JavaScript guests do).
    pub imports_wasi: bool,
    pub size_bytes: usize,
    pub sha256: String,
    /// What the plugin says about itself; filled in once `describe` has run.
    pub descriptor: Option<DescriptorInfo>,
}

/// A serializable copy of the plugin's `describe` answer.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DescriptorInfo {
    pub name: String,
    pub version: String,
    pub description: String,
    pub config_schema: Option<String>,
}

impl From<Descriptor> for DescriptorInfo {
    fn from(value: Descriptor) -> Self {
        Self {
            name: value.name,
            version: value.version,
            description: value.description,
            config_schema: value.config_schema,
        }
    }
}

pub(crate) fn describe_component(
    engine: &Engine,
    component: &Component,
    size_bytes: usize,
    sha256: String,
) -> Result<ComponentInfo, LoadError> {
    let ty = component.component_type();
    let imports: Vec<String> = ty.imports(engine).map(|(name, _)| name.to_owned()).collect();
    let exports: Vec<String> = ty.exports(engine).map(|(name, _)| name.to_owned()).collect();
    let world = [World::Evaluator, World::SpanProcessor, World::Redactor, World::Provider]
        .into_iter()
        .find(|world| exports.iter().any(|name| name == world.signature_export()))
        .ok_or_else(|| {
            LoadError::UnknownWorld(format!(
                "it exports [{}]; an Ember plugin exports one of evaluate, process, redact or chat",
                exports.join(", ")
            ))
        })?;

    let mut wit_version = None;
    for import in &imports {
        if import.starts_with("wasi:") {
            continue;
        }
        let (interface, version) = split_ember_import(import)
            .ok_or_else(|| LoadError::UnsupportedImport { world: world.as_str(), import: import.clone() })?;
        if !world.interfaces().contains(&interface) {
            return Err(LoadError::UnsupportedImport { world: world.as_str(), import: import.clone() });
        }
        if !SUPPORTED_VERSIONS.contains(&version) {
            return Err(LoadError::UnknownWorld(format!(
                "it was built against {PACKAGE}@{version}; this server supports {}",
                SUPPORTED_VERSIONS.join(", ")
            )));
        }
        wit_version.get_or_insert_with(|| version.to_owned());
    }
    Ok(ComponentInfo {
        world,
        wit_version: wit_version.unwrap_or_else(|| SUPPORTED_VERSIONS[0].to_owned()),
        imports_wasi: imports.iter().any(|name| name.starts_with("wasi:")),
        imports,
        exports,
        size_bytes,
        sha256,
        descriptor: None,
    })
}

/// `ember:plugin/host@0.1.0` → (`host`, `0.1.0`).
fn split_ember_import(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix(PACKAGE)?.strip_prefix('/')?;
    rest.split_once('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ember_import_names_split_into_interface_and_version() {
        assert_eq!(split_ember_import("ember:plugin/host@0.1.0"), Some(("host", "0.1.0")));
        assert_eq!(split_ember_import("ember:plugin/outbound-http@0.2.0"), Some(("outbound-http", "0.2.0")));
        assert_eq!(split_ember_import("other:pkg/host@0.1.0"), None);
        assert_eq!(split_ember_import("ember:plugin/host"), None);
    }
}
