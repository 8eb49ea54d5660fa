//! `ember plugin inspect` and `ember plugin run`, as a plugin author uses them.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn ember(args: &[&str]) -> (bool, Value) {
    let home = tempfile::tempdir().expect("home");
    let output = Command::new(env!("CARGO_BIN_EXE_ember"))
        .args(args)
        .env("HOME", home.path())
        .env("RUST_LOG", "error")
        .output()
        .expect("run ember");
    let stdout = String::from_utf8_lossy(&output.stdout);
    (output.status.success(), serde_json::from_str(&stdout).unwrap_or(Value::String(stdout.into_owned())))
}

fn component(dir: &str, name: &str) -> String {
    let path = repo().join(dir).join("dist").join(format!("{name}.wasm"));
    assert!(path.exists(), "{} missing: tests/run.sh builds it", path.display());
    path.display().to_string()
}

#[test]
fn inspect_reports_world_imports_exports_and_digest() {
    let (ok, info) = ember(&["plugin", "inspect", &component("plugins", "pii")]);
    assert!(ok, "{info}");
    assert_eq!(info["world"], "redactor");
    assert_eq!(info["wit_version"], "0.1.0");
    assert_eq!(info["descriptor"]["name"], "pii");
    assert_eq!(info["sha256"].as_str().map(str::len), Some(64));
    assert!(info["exports"].as_array().unwrap().iter().any(|e| e == "redact"), "{info}");
    assert!(info["imports"].as_array().unwrap().iter().all(|i| i.as_str().unwrap().starts_with("ember:plugin/")));
}

#[test]
fn run_prints_scores_and_instructions() {
    let input = r#"{"input": "capital of France?", "output": "paris", "expected": "Paris"}"#;
    let exact = component("plugins", "exact_match");
    let (ok, out) = ember(&["plugin", "run", &exact, "--input", input, "--config", r#"{"case_insensitive": true}"#]);
    assert!(ok, "{out}");
    assert_eq!(out["scores"][0]["score"], 1.0, "{out}");
    assert!(out["instructions"].as_u64().unwrap() > 0, "{out}");

    let (ok, out) = ember(&["plugin", "run", &exact, "--input", input]);
    assert!(ok, "{out}");
    assert_eq!(out["scores"][0]["score"], 0.0, "case matters by default: {out}");
}

#[test]
fn run_reports_a_trap_as_a_typed_error() {
    let input = r#"{"input": "q", "output": "a", "expected": "a"}"#;
    let (ok, out) =
        ember(&["plugin", "run", &component("tests/plugins", "hostile_loop"), "--input", input, "--fuel", "5000000"]);
    assert!(ok, "a plugin failure is a result, not a CLI failure: {out}");
    assert_eq!(out["error"]["kind"], "out_of_fuel", "{out}");
    assert_eq!(out["instructions"], 5_000_000, "{out}");

    let (ok, out) = ember(&["plugin", "run", &component("plugins", "pii"), "--input", input]);
    assert!(!ok, "pii is not an evaluator: {out}");
}
