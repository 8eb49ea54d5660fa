//! Plugins with their call statistics, and datasets and experiments with server-side evaluations.

use std::time::Duration;

use serde_json::{json, Value};

use super::{data, error};
use crate::datasets::post_json;
use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;

const PLUGINS: &str = "{ plugins { name world version sha256 enabled stats { calls instructionsP50 instructionsP99
  errors { kind count } } } }";

/// The nearest-rank percentile of sorted values.
fn nearest_rank(sorted: &[u64], percent: usize) -> u64 {
    sorted[(sorted.len() * percent).div_ceil(100) - 1]
}

async fn plugin_stats(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start_with_plugins(&db, &[]).await;

    // Before any call: every plugin listed as REST lists it, with empty statistics.
    let (status, rest) = ember.get_json("/v1/plugins").await;
    assert_eq!(status, 200, "{rest}");
    let rest = rest["data"].as_array().expect("data").clone();
    let before = data(&ember, PLUGINS, json!({})).await["plugins"].as_array().expect("plugins").clone();
    assert!(before.len() >= 10, "bundled plugins: {before:?}");
    let mut expected: Vec<Value> = rest
        .iter()
        .map(|p| {
            json!({ "name": p["name"], "world": p["world"], "version": p["version"], "sha256": p["sha256"],
                    "enabled": p["enabled"],
                    "stats": { "calls": 0, "instructionsP50": null, "instructionsP99": null, "errors": [] } })
        })
        .collect();
    let key = |p: &Value| (p["name"].as_str().unwrap_or_default().to_owned(), p["version"].to_string());
    let mut sorted_before = before.clone();
    sorted_before.sort_by_key(key);
    expected.sort_by_key(key);
    assert_eq!(sorted_before, expected);

    // Two scored calls and one failing (no expected value), each reporting its instructions.
    let bodies = [
        json!({ "output": "Paris", "expected": "Paris" }),
        json!({ "output": "Lyon", "expected": "Paris" }),
        json!({ "output": "Paris" }),
    ];
    let mut instructions = Vec::new();
    let mut failure = None;
    for body in &bodies {
        let (status, reply) = post_json(&ember, "/v1/plugins/exact_match/evaluate", body).await;
        assert_eq!(status, 200, "{reply}");
        instructions.push(reply["data"]["instructions"].as_u64().expect("instructions"));
        if let Some(kind) = reply["data"]["error"]["kind"].as_str() {
            failure = Some(kind.to_owned());
        }
    }
    let failure = failure.expect("a call without `expected` fails");
    instructions.sort_unstable();

    let after = data(&ember, PLUGINS, json!({})).await["plugins"].as_array().expect("plugins").clone();
    assert_eq!(after.len(), before.len());
    for plugin in &after {
        let stats = &plugin["stats"];
        if plugin["name"] == "exact_match" {
            assert_eq!(plugin["world"], "evaluator");
            assert_eq!(
                stats,
                &json!({
                    "calls": 3,
                    "instructionsP50": nearest_rank(&instructions, 50) as f64,
                    "instructionsP99": nearest_rank(&instructions, 99) as f64,
                    "errors": [{ "kind": failure, "count": 1 }],
                }),
                "instructions {instructions:?}"
            );
        } else {
            assert_eq!(stats, &json!({ "calls": 0, "instructionsP50": null, "instructionsP99": null, "errors": [] }));
        }
    }
    db.cleanup().await;
}

/// Polls the experiment's evaluator jobs until none is pending or running.
async fn wait_for_jobs(ember: &Ember, experiment: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = ember.get_json(&format!("/v1/experiments/{experiment}/evaluators")).await;
        assert_eq!(status, 200, "{body}");
        let jobs = &body["data"]["jobs"];
        if jobs["total"] != 0 && jobs["pending"] == 0 && jobs["running"] == 0 {
            return body;
        }
        assert!(tokio::time::Instant::now() < deadline, "jobs not finished: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const EXPERIMENT: &str = "query($id: ID!) { experiment(id: $id) { id name datasetId runCount
  runs { exampleId repetitionNumber output error evaluations { name label score plugin error } }
  aggregates evaluators } }";

const DATASET: &str = "query($id: ID!) { dataset(id: $id) { id name description exampleCount versions { id }
  examples { id input output } experiments { id name } } }";

async fn datasets_and_experiments(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start_with_plugins(&db, &[]).await;
    let upload = json!({
        "name": "capitals", "description": "three capitals",
        "inputs": [{ "country": "France" }, { "country": "Italy" }, { "country": "Spain" }],
        "outputs": [{ "answer": "Paris" }, { "answer": "Rome" }, { "answer": "Madrid" }],
    });
    let (status, uploaded) = post_json(&ember, "/v1/datasets/upload?sync=true", &upload).await;
    assert_eq!(status, 200, "{uploaded}");
    let dataset = uploaded["data"]["dataset_id"].as_str().expect("dataset id").to_owned();
    let version = uploaded["data"]["version_id"].as_str().expect("version id").to_owned();
    let (_, examples) = ember.get_json(&format!("/v1/datasets/{dataset}/examples")).await;
    let examples = examples["data"]["examples"].as_array().expect("examples").clone();
    assert_eq!(examples.len(), 3);

    let (status, created) =
        post_json(&ember, &format!("/v1/datasets/{dataset}/experiments"), &json!({ "name": "baseline" })).await;
    assert_eq!(status, 200, "{created}");
    let experiment = created["data"]["id"].as_str().expect("experiment id").to_owned();
    let outputs = ["Paris", "Roma", "Madrid"];
    for (example, output) in examples.iter().zip(outputs) {
        let run = json!({ "dataset_example_id": example["id"], "output": output, "repetition_number": 1,
                          "start_time": "2024-01-01T00:00:00+00:00", "end_time": "2024-01-01T00:00:01+00:00" });
        let (status, body) = post_json(&ember, &format!("/v1/experiments/{experiment}/runs"), &run).await;
        assert_eq!(status, 200, "{body}");
    }
    let attach = json!({ "evaluators": [{ "plugin": "exact_match" }] });
    let (status, body) = post_json(&ember, &format!("/v1/experiments/{experiment}/evaluators"), &attach).await;
    assert!((200..300).contains(&status), "{status} {body}");
    let rest_evaluators = wait_for_jobs(&ember, &experiment).await;
    assert_eq!(rest_evaluators["data"]["jobs"]["done"], 3, "{rest_evaluators}");

    let found = data(&ember, EXPERIMENT, json!({ "id": experiment })).await["experiment"].clone();
    assert_eq!((found["id"].as_str(), found["name"].as_str()), (Some(experiment.as_str()), Some("baseline")));
    assert_eq!((found["datasetId"].as_str(), found["runCount"].as_i64()), (Some(dataset.as_str()), Some(3)));
    let runs = found["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 3);
    for ((run, example), output) in runs.iter().zip(&examples).zip(outputs) {
        let hit = output == example["output"]["answer"];
        let evaluation = json!({ "name": "exact_match", "label": if hit { "match" } else { "no_match" },
                                 "score": if hit { 1.0 } else { 0.0 }, "plugin": "exact_match", "error": null });
        let expected = json!({ "exampleId": example["id"], "repetitionNumber": 1, "output": output, "error": null,
                               "evaluations": [evaluation] });
        assert_eq!(run, &expected);
    }
    let aggregates = found["aggregates"].as_array().expect("aggregates");
    assert_eq!(aggregates.len(), 1, "{aggregates:?}");
    let mean = aggregates[0]["mean"].as_f64().expect("mean");
    assert!((mean - 2.0 / 3.0).abs() < 1e-9, "{mean}");
    let mut aggregate = aggregates[0].clone();
    aggregate["mean"] = Value::Null;
    assert_eq!(
        aggregate,
        json!({ "name": "exact_match", "count": 3, "scored": 3, "errors": 0, "mean": null, "min": 0.0, "max": 1.0,
                "labels": { "match": 2, "no_match": 1 } })
    );
    assert_eq!(found["evaluators"], rest_evaluators["data"]);
    assert_eq!(found["evaluators"]["evaluators"][0]["plugin"]["name"], "exact_match");

    let found = data(&ember, DATASET, json!({ "id": dataset })).await["dataset"].clone();
    let example = |e: &Value| json!({ "id": e["id"], "input": e["input"], "output": e["output"] });
    assert_eq!(
        found,
        json!({
            "id": dataset, "name": "capitals", "description": "three capitals", "exampleCount": 3,
            "versions": [{ "id": version }],
            "examples": examples.iter().map(example).collect::<Vec<_>>(),
            "experiments": [{ "id": experiment, "name": "baseline" }],
        })
    );
    assert_eq!(found["examples"][1]["output"], json!({ "answer": "Rome" }));
    let listed = data(&ember, "{ datasets { id exampleCount } }", json!({})).await;
    assert_eq!(listed, json!({ "datasets": [{ "id": dataset, "exampleCount": 3 }] }));

    // Unknown ids are null; malformed ones an error.
    let missing = ember::ids::global_id("Dataset", 999_999);
    assert_eq!(data(&ember, DATASET, json!({ "id": missing })).await, json!({ "dataset": null }));
    let missing = ember::ids::global_id("Experiment", 999_999);
    assert_eq!(data(&ember, EXPERIMENT, json!({ "id": missing })).await, json!({ "experiment": null }));
    let message = error(&ember, EXPERIMENT, json!({ "id": "not-an-id" })).await;
    assert!(message.contains("not-an-id"), "{message}");
    db.cleanup().await;
}

on_both_backends!(plugin_stats, datasets_and_experiments);
