//! Experiments over the REST API: create, list, read, update, delete; runs and evaluations as
//! Phoenix's client posts them; incomplete runs and evaluations; JSON and CSV exports.

use serde_json::{json, Value};

use crate::datasets::post_json;
use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;

async fn patch_json(ember: &Ember, path: &str, body: &Value) -> (u16, Value) {
    let response = ember.client.patch(ember.url(path)).json(body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn run(example: &Value, repetition: i64, output: Value, error: Option<&str>) -> Value {
    json!({
        "dataset_example_id": example["id"], "output": output, "repetition_number": repetition,
        "start_time": "2024-01-01T00:00:00+00:00", "end_time": "2024-01-01T00:00:00.250000+00:00",
        "trace_id": null, "error": error,
    })
}

fn evaluation(run_id: &str, name: &str, score: f64, error: Option<&str>) -> Value {
    json!({
        "experiment_run_id": run_id, "name": name, "annotator_kind": "CODE",
        "start_time": "2024-01-01T00:00:01+00:00", "end_time": "2024-01-01T00:00:02+00:00",
        "result": {"label": "ok", "score": score, "explanation": "because"}, "error": error,
        "metadata": {"by": "test"},
    })
}

async fn experiment_lifecycle(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;
    let upload =
        json!({"name": "ds", "inputs": [{"q": 1}, {"q": 2}, {"q": 3}], "outputs": [{"a": 1}, {"a": 2}, {"a": 3}]});
    let (_, uploaded) = post_json(&ember, "/v1/datasets/upload?sync=true", &upload).await;
    let dataset_id = uploaded["data"]["dataset_id"].as_str().unwrap().to_owned();
    let version_id = uploaded["data"]["version_id"].as_str().unwrap().to_owned();
    let (_, examples) = ember.get_json(&format!("/v1/datasets/{dataset_id}/examples")).await;
    let examples = examples["data"]["examples"].as_array().unwrap().clone();

    // Create (latest version by default), list, get.
    let (status, created) = post_json(
        &ember,
        &format!("/v1/datasets/{dataset_id}/experiments"),
        &json!({"name": "exp", "description": "d", "metadata": {"model": "m"}, "repetitions": 2}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let exp = created["data"].clone();
    let exp_id = exp["id"].as_str().unwrap().to_owned();
    assert_eq!(exp["dataset_version_id"], version_id);
    assert_eq!(exp["example_count"], 3);
    assert_eq!(exp["missing_run_count"], 6);
    assert!(exp["project_name"].as_str().unwrap().starts_with("Experiment-"));
    let (_, listed) = ember.get_json(&format!("/v1/datasets/{dataset_id}/experiments")).await;
    assert_eq!(listed["data"][0]["id"], exp_id.as_str());
    let (status, bad) =
        post_json(&ember, &format!("/v1/datasets/{dataset_id}/experiments"), &json!({"repetitions": 0})).await;
    assert_eq!(status, 422, "{bad}");

    // Patch: omitted fields stay.
    let (status, patched) = patch_json(&ember, &format!("/v1/experiments/{exp_id}"), &json!({"name": "exp2"})).await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["data"]["name"], "exp2");
    assert_eq!(patched["data"]["description"], "d");
    assert_eq!(patched["data"]["metadata"], json!({"model": "m"}));

    // Runs: five of six, one failed.
    let runs_path = format!("/v1/experiments/{exp_id}/runs");
    let mut run_ids = Vec::new();
    for (i, example) in examples.iter().enumerate() {
        for rep in 1..=2 {
            if i == 2 && rep == 2 {
                continue;
            }
            let error = (i == 1 && rep == 2).then_some("boom");
            let (status, body) = post_json(&ember, &runs_path, &run(example, rep, json!({"answer": i}), error)).await;
            assert_eq!(status, 200, "{body}");
            run_ids.push(body["data"]["id"].as_str().unwrap().to_owned());
        }
    }
    let (status, _) = post_json(&ember, &runs_path, &run(&examples[0], 1, json!("again"), None)).await;
    assert_eq!(status, 409, "a successful run is immutable");
    let (status, _) = post_json(&ember, &runs_path, &run(&examples[0], 3, json!(1), None)).await;
    assert_eq!(status, 422, "repetition out of range");
    let (_, exp_now) = ember.get_json(&format!("/v1/experiments/{exp_id}")).await;
    assert_eq!(exp_now["data"]["successful_run_count"], 4);
    assert_eq!(exp_now["data"]["failed_run_count"], 1);
    assert_eq!(exp_now["data"]["missing_run_count"], 1);

    // Listing: all by default, pages with limit.
    let (_, all) = ember.get_json(&runs_path).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 5);
    assert_eq!(all["data"][0]["output"], json!({"answer": 0}));
    assert_eq!(all["data"][0]["start_time"], "2024-01-01T00:00:00+00:00");
    let (_, page) = ember.get_json(&format!("{runs_path}?limit=3")).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 3);
    let (_, page2) =
        ember.get_json(&format!("{runs_path}?limit=3&cursor={}", page["next_cursor"].as_str().unwrap())).await;
    assert_eq!(page2["data"].as_array().unwrap().len(), 2);
    assert!(page2["next_cursor"].is_null());

    // Incomplete runs: example 1 rep 2 (failed) and example 2 rep 2 (missing), paged one example at a time.
    let (_, incomplete) = ember.get_json(&format!("/v1/experiments/{exp_id}/incomplete-runs?limit=1")).await;
    assert_eq!(incomplete["data"][0]["dataset_example"]["id"], examples[1]["id"]);
    assert_eq!(incomplete["data"][0]["repetition_numbers"], json!([2]));
    let cursor = incomplete["next_cursor"].as_str().unwrap();
    let (_, rest) = ember.get_json(&format!("/v1/experiments/{exp_id}/incomplete-runs?limit=1&cursor={cursor}")).await;
    assert_eq!(rest["data"][0]["dataset_example"]["id"], examples[2]["id"]);
    assert!(rest["next_cursor"].is_null());

    // A failed run can be replaced by a new attempt.
    let (status, replaced) =
        post_json(&ember, &runs_path, &run(&examples[1], 2, json!({"answer": "fixed"}), None)).await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["data"]["id"], run_ids[3].as_str());

    // Evaluations: upsert by (run, name); incomplete evaluations name what is missing or failed.
    let (status, first) =
        post_json(&ember, "/v1/experiment_evaluations", &evaluation(&run_ids[0], "acc", 0.5, None)).await;
    assert_eq!(status, 200, "{first}");
    let (_, second) = post_json(&ember, "/v1/experiment_evaluations", &evaluation(&run_ids[0], "acc", 1.0, None)).await;
    assert_eq!(first["data"]["id"], second["data"]["id"], "same run and name is an update");
    post_json(&ember, "/v1/experiment_evaluations", &evaluation(&run_ids[1], "acc", 0.0, Some("judge down"))).await;
    let mut bad_kind = evaluation(&run_ids[0], "acc", 1.0, None);
    bad_kind["annotator_kind"] = json!("ROBOT");
    assert_eq!(post_json(&ember, "/v1/experiment_evaluations", &bad_kind).await.0, 422);
    let mut unknown_run = evaluation(&run_ids[0], "acc", 1.0, None);
    unknown_run["experiment_run_id"] = json!(ember::ids::global_id("ExperimentRun", 999_999));
    assert_eq!(post_json(&ember, "/v1/experiment_evaluations", &unknown_run).await.0, 404);
    let path =
        format!("/v1/experiments/{exp_id}/incomplete-evaluations?evaluation_name=acc&evaluation_name=f1&limit=50");
    let (_, pending) = ember.get_json(&path).await;
    let pending = pending["data"].as_array().unwrap();
    assert_eq!(pending.len(), 5, "every successful run lacks f1");
    assert_eq!(pending[0]["evaluation_names"], json!(["f1"]));
    assert_eq!(pending[1]["evaluation_names"], json!(["acc", "f1"]), "a failed evaluation is incomplete");
    assert!(pending[0]["experiment_run"]["id"].is_string() && pending[0]["dataset_example"]["input"].is_object());
    assert_eq!(ember.get_json(&format!("/v1/experiments/{exp_id}/incomplete-evaluations")).await.0, 400);

    // Exports.
    let (status, exported) = ember.get_json(&format!("/v1/experiments/{exp_id}/json")).await;
    assert_eq!(status, 200);
    let records = exported.as_array().unwrap();
    assert_eq!(records.len(), 5);
    assert_eq!(records[0]["example_id"], examples[0]["id"]);
    assert_eq!(records[0]["reference_output"], json!({"a": 1}));
    assert_eq!(records[0]["latency_ms"], 250.0);
    assert_eq!(records[0]["annotations"][0]["score"], 1.0);
    assert!(records[0]["annotations"][0].as_object().unwrap().contains_key("plugin_sha256"));
    let response = ember.client.get(ember.url(&format!("/v1/experiments/{exp_id}/csv"))).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let csv = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    for column in
        ["example_id", "output", "annotation_acc_score", "annotation_acc_plugin_name", "annotation_acc_error_kind"]
    {
        assert!(header.contains(&column.to_owned()), "{column} in {header:?}");
    }
    assert_eq!(reader.records().count(), 5);

    // Unknown ids, then delete.
    let missing = ember::ids::global_id("Experiment", 999_999);
    assert_eq!(ember.get_json(&format!("/v1/experiments/{missing}")).await.0, 404);
    assert_eq!(ember.get_json(&format!("/v1/experiments/{missing}/runs")).await.0, 404);
    assert_eq!(ember.get_json("/v1/experiments/not-an-id").await.0, 422);
    let response = ember.client.delete(ember.url(&format!("/v1/experiments/{exp_id}"))).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(ember.get_json(&format!("/v1/experiments/{exp_id}")).await.0, 404);
    db.cleanup().await;
}

on_both_backends!(experiment_lifecycle);
