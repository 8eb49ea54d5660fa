//! Plugins that hand the server values built to amplify its copies (the hand-written components
//! in `tests/plugins/wat`), 64 calls at once beside the rest of the hostile corpus: each call
//! fails alone with `output_too_large`, health, polite calls and OTLP ingest keep working, and the
//! server's peak resident memory stays under its plugin memory budget plus a stated constant. The
//! server runs inside a memory cgroup at that bound, so a case that escaped would get it
//! OOM-killed rather than pass unnoticed.

use std::time::{Duration, Instant};

use ember_workload::TraceGenerator;
use serde_json::{json, Value};

use crate::harness::{Backend, Ember, TestDb};
use crate::hostile::{plugin_dir, repo, HOSTILE_OUTCOMES};
use crate::memory_cap::MemoryCap;
use crate::support::export_generated;

/// `EMBER_PLUGIN_MEMORY_BUDGET_MIB` for this test: room for six default calls at once (each
/// reserves its 64 MiB memory limit plus about 21 MiB of host copies).
const BUDGET_MIB: u64 = 512;

/// What the server may hold beyond the plugin budget while the storm runs: 64 requests in flight
/// and their replies, the ingest queue and SQLite's cache, the corpus's compiled code and the
/// allocator's slack. Measured here at about a third of it (see BENCHMARKS.md).
const CONSTANT_MIB: u64 = 256;

const SHAPES: [&str; 4] = ["alias", "empty", "llm", "nested"];

/// One evaluation of `plugin` with `input` as the example's input; returns the error kind, or
/// `ok`.
async fn evaluate(client: &reqwest::Client, base: &str, plugin: &str, input: &str) -> String {
    let body = json!({"input": input, "output": "a", "expected": "a"});
    let response = client.post(format!("{base}/v1/plugins/{plugin}/evaluate")).json(&body).send().await.expect("POST");
    assert_eq!(response.status().as_u16(), 200, "{plugin} {input}");
    let data = response.json::<Value>().await.expect("JSON")["data"].clone();
    data["error"]["kind"].as_str().unwrap_or("ok").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn amplifying_values_stay_inside_the_plugin_memory_budget() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else { return };
    let plugins = plugin_dir();
    let cache = repo().join("target/ember-test-cache").display().to_string();
    let dir = plugins.path().display().to_string();
    let budget = BUDGET_MIB.to_string();
    let ember = Ember::start_with(
        &db,
        &[("EMBER_PLUGIN_DIR", &dir), ("EMBER_PLUGIN_CACHE_DIR", &cache), ("EMBER_PLUGIN_MEMORY_BUDGET_MIB", &budget)],
    )
    .await;
    // Spans of project `hostile` go through the hostile redactor and span processor; their
    // failures keep the spans as they came.
    let pipeline = json!({"stages": [
        {"plugin": "hostile_redact", "projects": ["hostile"], "on_error": "keep"},
        {"plugin": "hostile_nested", "projects": ["hostile"], "on_error": "keep"},
    ]});
    let response = ember.client.put(ember.url("/v1/ingest_pipeline")).json(&pipeline).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);

    // Warm up every path once, then measure from a settled server.
    let mut generator = TraceGenerator::new();
    assert_eq!(evaluate(&ember.client, &ember.http, "hostile_values", "polite").await, "ok");
    assert_eq!(export_generated(&ember, &mut generator, 2, "during").await.0, 200);
    let pid = ember.pid();
    let before = ember.proc_status_bytes("VmRSS");
    ember.reset_peak_memory();
    let bound = before + ((BUDGET_MIB + CONSTANT_MIB) << 20);
    let cap = MemoryCap::confine(pid, (BUDGET_MIB + CONSTANT_MIB) << 20);

    let started = Instant::now();
    let storm: Vec<_> = (0..64)
        .map(|i| {
            let (client, base) = (ember.client.clone(), ember.http.clone());
            let shape = SHAPES[i % SHAPES.len()];
            tokio::spawn(async move { (shape, evaluate(&client, &base, "hostile_values", shape).await) })
        })
        .collect();
    // The rest of the corpus at the same time.
    let corpus: Vec<_> = HOSTILE_OUTCOMES
        .iter()
        .chain(&[("hostile_wasi", "ok")])
        .map(|&(plugin, expected)| {
            let (client, base) = (ember.client.clone(), ember.http.clone());
            tokio::spawn(async move { (plugin, expected, evaluate(&client, &base, plugin, "q").await) })
        })
        .collect();
    let models = {
        let (client, url) = (ember.client.clone(), ember.url("/v1/plugins/hostile_provider/models"));
        tokio::spawn(async move {
            let response = client.get(url).send().await.expect("GET models");
            (response.status().as_u16(), response.text().await.unwrap_or_default())
        })
    };

    // Meanwhile health answers within a second, polite calls succeed and ingest is acknowledged,
    // also through the hostile pipeline stages.
    let (mut rounds, mut hostile_spans) = (0, 0);
    while rounds < 5 || !storm.iter().all(|task| task.is_finished()) {
        let asked = Instant::now();
        let (status, _) = ember.get_json("/healthz").await;
        assert_eq!(status, 200);
        assert!(asked.elapsed() < Duration::from_secs(1), "/healthz took {:?}", asked.elapsed());
        assert_eq!(evaluate(&ember.client, &ember.http, "polite_echo", "q").await, "ok");
        assert_eq!(export_generated(&ember, &mut generator, 2, "during").await.0, 200);
        let (status, ids) = export_generated(&ember, &mut generator, 2, "hostile").await;
        assert_eq!(status, 200);
        hostile_spans += ids.len();
        rounds += 1;
        assert!(started.elapsed() < Duration::from_secs(120), "the storm did not end");
    }
    for task in storm {
        let (shape, kind) = task.await.expect("task");
        assert_eq!(kind, "output_too_large", "shape {shape}");
    }
    for task in corpus {
        let (plugin, expected, kind) = task.await.expect("task");
        assert_eq!(kind, expected, "{plugin}");
    }
    let (status, body) = models.await.expect("task");
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("output too large"), "{body}");
    ember.wait_for_spans("hostile", hostile_spans.min(1000)).await;

    let peak = ember.proc_status_bytes("VmHWM");
    let mib = |bytes: u64| bytes >> 20;
    eprintln!(
        "amplification storm: {rounds} rounds in {:?}; resident before {} MiB, peak {} MiB (+{} MiB), bound {} MiB{}",
        started.elapsed(),
        mib(before),
        mib(peak),
        mib(peak.saturating_sub(before)),
        mib(bound),
        cap.as_ref().map_or(String::new(), |cap| format!(", cgroup limit {} MiB", mib(cap.limit())))
    );
    assert!(peak <= bound, "peak resident {} MiB over the bound of {} MiB", mib(peak), mib(bound));
    if let Some(cap) = &cap {
        assert_eq!(cap.oom_kills(), 0, "the OOM killer ended a process of the server's group");
    }
    let (status, _) = ember.get_json("/healthz").await;
    assert_eq!(status, 200, "the server is still up");
    drop(cap);
    db.cleanup().await;
}
