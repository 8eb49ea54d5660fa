//! Retention: policies by age and by count, assigned in Phoenix's shape, the server default from
//! Phoenix's variable, and a sweeper that deletes old traces with their spans, annotations and
//! sessions while leaving everything younger alone.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::datasets::post_json;
use crate::harness::{Backend, Ember};
use crate::on_both_backends;
use crate::support::send_aged;

/// Sends `traces` traces (4 spans each) to `project`, started `days_ago` days ago; their span ids.
async fn send(ember: &Ember, project: &str, traces: usize, days_ago: u64) -> Vec<String> {
    ember_workload::span_ids(&send_aged(ember, project, traces, days_ago).await)
}

async fn span_count(ember: &Ember, project: &str) -> usize {
    let (status, body) = ember.get_json(&format!("/v1/projects/{project}/spans?limit=1000")).await;
    assert_eq!(status, 200, "{body}");
    body["data"].as_array().map_or(0, Vec::len)
}

async fn patch(ember: &Ember, path: &str, body: &Value) -> (u16, Value) {
    let response = ember.client.patch(ember.url(path)).json(body).send().await.expect("PATCH");
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

/// Waits until `project` holds `count` spans (the sweeper runs every second here).
async fn wait_for_count(ember: &Ember, project: &str, count: usize) {
    let started = Instant::now();
    loop {
        let now = span_count(ember, project).await;
        if now == count {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{project} still holds {now} spans, not {count}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn policies_delete_what_projects_no_longer_keep(backend: Backend) {
    let Some(db) = crate::harness::TestDb::new(backend).await else { return };
    let env = [("EMBER_RETENTION_SWEEP_SECONDS", "1"), ("PHOENIX_DEFAULT_RETENTION_POLICY_DAYS", "100")];
    let ember = Ember::start_with(&db, &env).await;

    // aged: 10 traces 40 days old and 10 new; counted: 30 new traces; kept: traces 40 and 200
    // days old under the server default of 100 days.
    let old = send(&ember, "aged", 10, 40).await;
    let young = send(&ember, "aged", 10, 0).await;
    for batch in 0..3 {
        send(&ember, "counted", 10, 3 - batch).await;
    }
    send(&ember, "kept", 5, 40).await;
    send(&ember, "kept", 5, 200).await;
    // An annotation on an old span goes with it; one on a young span stays.
    let annotation = json!({ "data": [{ "span_id": old[0], "name": "quality", "annotator_kind": "HUMAN",
        "result": { "label": "good", "score": 1.0 } }] });
    let (status, body) = post_json(&ember, "/v1/span_annotations?sync=true", &annotation).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(db.count("SELECT count(*) FROM span_annotations").await, 1);

    // The server default, from Phoenix's variable, sweeps the 200-day-old traces of every project.
    wait_for_count(&ember, "kept", 20).await;
    let (status, listed) = ember.get_json("/v1/retention_policies").await;
    assert_eq!(status, 200);
    assert_eq!(listed["data"][0]["id"], "UHJvamVjdFRyYWNlUmV0ZW50aW9uUG9saWN5OjA=", "the default is policy 0");
    assert_eq!(listed["data"][0]["rule"]["max_days"], 100.0);

    // Policies: by age, by count; refused when empty, duplicated or unknown.
    let (status, month) =
        post_json(&ember, "/v1/retention_policies", &json!({ "name": "month", "rule": { "max_days": 30 } })).await;
    assert_eq!(status, 201, "{month}");
    let (status, ten) =
        post_json(&ember, "/v1/retention_policies", &json!({ "name": "ten", "rule": { "max_count": 10 } })).await;
    assert_eq!(status, 201, "{ten}");
    let (status, _) = post_json(&ember, "/v1/retention_policies", &json!({ "name": "none", "rule": {} })).await;
    assert_eq!(status, 422);
    let (status, _) =
        post_json(&ember, "/v1/retention_policies", &json!({ "name": "month", "rule": { "max_days": 7 } })).await;
    assert_eq!(status, 409);
    let (status, _) = patch(&ember, "/v1/projects/aged/retention", &json!({ "policy_id": "999" })).await;
    assert_eq!(status, 404);

    let (status, set) =
        patch(&ember, "/v1/projects/aged/retention", &json!({ "policy_id": month["data"]["id"] })).await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["data"]["policy_id"], month["data"]["id"]);
    let (status, _) = patch(&ember, "/v1/projects/counted/retention", &json!({ "policy_id": ten["data"]["id"] })).await;
    assert_eq!(status, 200);

    wait_for_count(&ember, "aged", young.len()).await;
    wait_for_count(&ember, "counted", 40).await;
    let (_, remaining) = ember.get_json("/v1/projects/aged/spans?limit=1000").await;
    let remaining: Vec<&str> = remaining["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|span| span["context"]["span_id"].as_str())
        .collect();
    assert!(young.iter().all(|id| remaining.contains(&id.as_str())), "young spans are kept");
    assert_eq!(db.count("SELECT count(*) FROM span_annotations").await, 0, "the old span's annotation went with it");
    let (_, sessions) = ember.get_json("/v1/projects/aged/sessions").await;
    // Each ten-trace export spans three sessions (of 4, 4 and 2 traces): the old export's are gone.
    assert_eq!(sessions["data"].as_array().map(Vec::len), Some(3), "old traces' sessions are gone: {sessions}");

    // Back on the default; the policy's own view and the counters.
    let (status, _) = patch(&ember, "/v1/projects/counted/retention", &json!({ "policy_id": null })).await;
    assert_eq!(status, 200);
    let (_, counted) = ember.get_json("/v1/projects/counted/retention").await;
    assert_eq!(counted["data"]["policy"]["name"], "Default");
    let metrics = ember.client.get(ember.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains("ember_retention_deleted_spans_total 140"), "{metrics}");
    db.cleanup().await;
}

on_both_backends!(policies_delete_what_projects_no_longer_keep);
