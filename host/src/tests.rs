//! The module map's import rule, checked over the source: a module imports only from layers
//! below it, and only the plugin host and the providers name `ember_sandbox`.

use std::path::{Path, PathBuf};

/// Layers, bottom first, each with the `crate::` modules it holds.
const LAYERS: [&[&str]; 5] = [
    &["ids", "time", "model", "attributes", "metrics", "call_stats", "log_writer", "supervise", "body_read", "tls"],
    &["store"],
    &["plugins"],
    &["ingest", "evaluation", "providers", "prompts", "secrets", "live", "auth"],
    &["api", "server", "config", "exposure"],
];

/// Where `ember_sandbox` may be named: the call seam, the provider world and the wiring.
const SANDBOX_USERS: [&str; 4] = ["plugins", "providers", "server", "cli"];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a source file belongs to (`api/spans.rs` → `api`, `metrics.rs` → `metrics`).
fn top_module(root: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(root).unwrap_or(file);
    let first = relative.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned());
    first.unwrap_or_default().trim_end_matches(".rs").to_owned()
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The `crate::x` modules a file's code (comments excluded) names.
fn crate_modules(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines().map(str::trim_start).filter(|line| !line.starts_with("//")) {
        for (at, _) in line.match_indices("crate::") {
            let rest = &line[at + "crate::".len()..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                found.push(name);
            }
        }
    }
    found
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    assert!(files.len() > 50, "the source tree was not found at {}", root.display());
    let mut upward = Vec::new();
    for file in &files {
        let module = top_module(&root, file);
        let Some(own) = layer_of(&module) else { continue };
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for imported in crate_modules(&text) {
            if layer_of(&imported).is_some_and(|layer| layer > own) {
                upward.push(format!("{} imports crate::{imported}", file.display()));
            }
        }
        let names_sandbox = text.lines().any(|l| !l.trim_start().starts_with("//") && l.contains("ember_sandbox"));
        if names_sandbox && !SANDBOX_USERS.contains(&module.as_str()) {
            upward.push(format!("{} names ember_sandbox outside the plugin host", file.display()));
        }
    }
    assert!(upward.is_empty(), "imports against the module map:\n{}", upward.join("\n"));
}

#[test]
fn the_checker_sees_an_upward_import() {
    assert_eq!(crate_modules("use crate::api::AppState;\n// crate::server in a comment"), ["api"]);
    assert_eq!(layer_of("api"), Some(4));
    assert!(layer_of("store") < layer_of("plugins"));
}
