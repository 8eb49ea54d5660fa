//! Phoenix's bulk deletes and moves: a project's traces by time range and by id, sessions one by
//! one and in bulk, and traces transferred to another project, each taking or moving the spans,
//! annotations and sessions that go with them.

use serde_json::{json, Value};

use crate::datasets::post_json;
use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;
use crate::support::send_aged;

/// Sends `traces` traces to `project`, started `days_ago` days ago; their trace ids.
async fn send(ember: &Ember, project: &str, traces: usize, days_ago: u64) -> Vec<String> {
    let request = send_aged(ember, project, traces, days_ago).await;
    let spans = request.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans);
    let mut ids: Vec<String> = spans.map(|span| hex::encode(&span.trace_id)).collect();
    ids.dedup();
    ids
}

async fn spans_in(ember: &Ember, project: &str) -> usize {
    let (status, body) = ember.get_json(&format!("/v1/projects/{project}/spans?limit=1000")).await;
    assert_eq!(status, 200, "{body}");
    body["data"].as_array().map_or(0, Vec::len)
}

async fn sessions_in(ember: &Ember, project: &str) -> Vec<Value> {
    let (_, body) = ember.get_json(&format!("/v1/projects/{project}/sessions")).await;
    body["data"].as_array().cloned().unwrap_or_default()
}

fn days_ago(days: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::days(days)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn deletes_and_moves_take_what_goes_with_them(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;
    send(&ember, "moves", 10, 10).await;
    let middle = send(&ember, "moves", 10, 5).await;
    let recent = send(&ember, "moves", 10, 0).await;
    assert_eq!(spans_in(&ember, "moves").await, 120);

    // By time range: the 10-day-old traces go, with their sessions.
    let range = format!("/v1/projects/moves/traces?start_time={}&end_time={}", days_ago(11), days_ago(7));
    let status = ember.client.delete(ember.url(&range)).send().await.expect("DELETE").status().as_u16();
    assert_eq!(status, 204);
    assert_eq!(spans_in(&ember, "moves").await, 80);
    assert_eq!(sessions_in(&ember, "moves").await.len(), 6, "each ten-trace export spans three sessions");
    let status = ember.client.delete(ember.url("/v1/projects/moves/traces")).send().await.expect("DELETE").status();
    assert_eq!(status.as_u16(), 422, "a range or ids are required");

    // By id.
    let by_id = format!("/v1/projects/moves/traces?trace_id={}&trace_id={}", middle[0], middle[1]);
    assert_eq!(ember.client.delete(ember.url(&by_id)).send().await.expect("DELETE").status().as_u16(), 204);
    assert_eq!(spans_in(&ember, "moves").await, 72);

    // Transfer the recent traces (and the sessions that are wholly theirs) to another project.
    let (status, _) = post_json(&ember, "/v1/projects", &json!({ "name": "archive" })).await;
    assert_eq!(status, 200);
    let body = json!({ "trace_identifiers": recent, "destination_project_identifier": "archive" });
    let (status, moved) = post_json(&ember, "/v1/traces/transfer", &body).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["data"]["transferred_trace_count"], 10);
    assert_eq!(spans_in(&ember, "archive").await, 40);
    assert_eq!(spans_in(&ember, "moves").await, 32);
    let archived = sessions_in(&ember, "archive").await;
    assert_eq!(archived.len(), 3, "the recent traces' sessions moved with them");
    let unknown = json!({ "trace_identifiers": ["00000000000000000000000000000000"], "destination_project_identifier": "archive" });
    assert_eq!(post_json(&ember, "/v1/traces/transfer", &unknown).await.0, 404);

    // Sessions: one by id, the rest in bulk (unknown ids skipped).
    let first = archived[0]["id"].as_str().expect("session id");
    let status = ember.client.delete(ember.url(&format!("/v1/sessions/{first}"))).send().await.expect("DELETE");
    assert_eq!(status.status().as_u16(), 204);
    assert_eq!(sessions_in(&ember, "archive").await.len(), 2);
    let rest: Vec<Value> =
        archived[1..].iter().map(|s| s["session_id"].clone()).chain([json!("no-such-session")]).collect();
    let status =
        ember.client.post(ember.url("/v1/sessions/delete")).json(&json!({ "session_identifiers": rest })).send().await;
    assert_eq!(status.expect("POST").status().as_u16(), 204);
    assert_eq!(spans_in(&ember, "archive").await, 0, "a session's traces go with it");
    assert_eq!(sessions_in(&ember, "archive").await.len(), 0);
    let status = ember.client.delete(ember.url(&format!("/v1/sessions/{first}"))).send().await.expect("DELETE");
    assert_eq!(status.status().as_u16(), 404);
    db.cleanup().await;
}

on_both_backends!(deletes_and_moves_take_what_goes_with_them);
