//! Finds the components the test setup builds (`plugins/build.sh`, `tests/plugins/build.sh`,
//! `examples/build.sh`) and loads them into a shared sandbox.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use ember_sandbox::{Limits, Plugin, Sandbox, SandboxConfig};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Reads a built component, failing with the command that builds it when it is missing.
pub fn component(dir: &str, name: &str) -> Vec<u8> {
    let path = repo().join(dir).join("dist").join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|err| {
        panic!("{}: {err}; build it first with `bash {dir}/build.sh` (tests/run.sh does)", path.display())
    })
}

/// One sandbox for the whole test binary, with an on-disk cache so that big guests compile once.
pub fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let cache_dir = repo().join("target/ember-test-cache");
        Sandbox::new(SandboxConfig { cache_dir: Some(cache_dir), ..SandboxConfig::default() }).expect("sandbox")
    })
}

pub fn hostile(name: &str) -> Plugin {
    sandbox().load(&component("tests/plugins", name), Limits::default()).expect(name)
}

pub fn first_party(name: &str) -> Plugin {
    sandbox().load(&component("plugins", name), Limits::default()).expect(name)
}

pub fn example(name: &str) -> Plugin {
    sandbox().load(&component("examples", name), Limits::interpreted()).expect(name)
}
