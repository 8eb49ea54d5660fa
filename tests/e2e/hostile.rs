//! The hostile plugin corpus installed in a running server: a component that cannot load is
//! skipped, each misbehaving call fails with its typed error over HTTP, and the server keeps
//! answering (health, well-behaved plugins, ingestion) while they run.

use std::path::PathBuf;

use ember_workload::TraceGenerator;
use serde_json::{json, Value};

use crate::harness::{Backend, Ember, TestDb};
use crate::support::export_generated;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A plugin directory holding the whole hostile corpus plus `exact_match`.
pub fn plugin_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("plugin dir");
    let corpus = repo().join("tests/plugins/dist");
    let entries = std::fs::read_dir(&corpus).unwrap_or_else(|err| panic!("{}: {err}", corpus.display()));
    for entry in entries.flatten() {
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy component");
    }
    std::fs::copy(repo().join("plugins/dist/exact_match.wasm"), dir.path().join("exact_match.wasm")).expect("copy");
    dir
}

/// Each misbehaving evaluator of the corpus and the error kind its call must end with.
pub const HOSTILE_OUTCOMES: [(&str, &str); 7] = [
    ("hostile_loop", "out_of_fuel"),
    ("hostile_memory", "out_of_memory"),
    ("hostile_recursion", "stack_overflow"),
    ("hostile_panic", "trap"),
    ("hostile_output", "output_too_large"),
    ("hostile_llm", "capability_denied"),
    ("hostile_sleep", "capability_denied"),
];

async fn evaluate(client: &reqwest::Client, base: &str, plugin: &str) -> Value {
    let body = json!({"input": "q", "output": "a", "expected": "a"});
    let url = format!("{base}/v1/plugins/{plugin}/evaluate");
    let response = client.post(url).json(&body).send().await.expect("POST");
    assert_eq!(response.status().as_u16(), 200, "{plugin}");
    response.json::<Value>().await.expect("JSON")["data"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_plugins_fail_alone_while_the_server_keeps_serving() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else { return };
    let plugins = plugin_dir();
    let cache = repo().join("target/ember-test-cache").display().to_string();
    let dir = plugins.path().display().to_string();
    let ember = Ember::start_with(&db, &[("EMBER_PLUGIN_DIR", &dir), ("EMBER_PLUGIN_CACHE_DIR", &cache)]).await;

    let (_, listed) = ember.get_json("/v1/plugins").await;
    let names: Vec<&str> = listed["data"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
    assert!(names.contains(&"hostile_loop") && names.contains(&"polite_echo"), "{names:?}");
    assert!(!names.contains(&"hostile_start"), "a component that cannot even be described is skipped: {names:?}");

    let expectations = HOSTILE_OUTCOMES;
    let hostile: Vec<_> = expectations
        .iter()
        .map(|(plugin, _)| {
            let (client, base, plugin) = (ember.client.clone(), ember.http.clone(), plugin.to_string());
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                for _ in 0..3 {
                    outcomes.push(evaluate(&client, &base, &plugin).await["error"]["kind"].clone());
                }
                outcomes
            })
        })
        .collect();

    // Meanwhile: health, a well-behaved plugin and ingestion all keep working.
    let mut generator = TraceGenerator::new();
    for _ in 0..5 {
        let (status, _) = ember.get_json("/healthz").await;
        assert_eq!(status, 200);
        let polite = evaluate(&ember.client, &ember.http, "polite_echo").await;
        assert_eq!(polite["scores"][0]["score"], 1.0, "{polite}");
        let exact = evaluate(&ember.client, &ember.http, "exact_match").await;
        assert_eq!(exact["scores"][0]["score"], 1.0, "{exact}");
        let (status, _) = export_generated(&ember, &mut generator, 5, "during").await;
        assert_eq!(status, 200);
    }
    for (handle, (plugin, kind)) in hostile.into_iter().zip(expectations) {
        let outcomes = handle.await.expect("task");
        assert!(outcomes.iter().all(|outcome| outcome == kind), "{plugin}: {outcomes:?}");
    }
    let wasi = evaluate(&ember.client, &ember.http, "hostile_wasi").await;
    let observed: Value = serde_json::from_str(wasi["scores"][0]["metadata"].as_str().unwrap()).unwrap();
    assert_eq!(observed["env_count"], 0, "{observed}");
    ember.wait_for_spans("during", 100).await;

    let metrics = ember.client.get(ember.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains(r#"ember_plugin_calls_total{plugin="hostile_loop",outcome="out_of_fuel"} 3"#),
        "{metrics}"
    );
    db.cleanup().await;
}
