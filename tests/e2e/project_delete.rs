//! `DELETE /v1/projects/{p}` answers at once: the project is gone from every read and its name is
//! free again straight away, while its spans are deleted in the background by the sweeper, which
//! finishes the job after a `kill -9` too.

use std::time::{Duration, Instant};

use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;
use crate::support::send_aged;

const TRACES: usize = 2_000;

/// Small batches, so that emptying the project takes many transactions.
const SLOW_SWEEP: &[(&str, &str)] = &[("EMBER_RETENTION_BATCH_TRACES", "10")];

async fn deleting_a_project_answers_at_once_and_finishes_in_the_background(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start_with(&db, SLOW_SWEEP).await;
    for _ in 0..TRACES / 500 {
        send_aged(&ember, "doomed", 500, 1).await;
    }
    send_aged(&ember, "kept", 5, 1).await;
    let doomed_id = db.count("SELECT id FROM projects WHERE name = 'doomed'").await;
    let spans_of_doomed = format!("SELECT COUNT(*) FROM spans WHERE project_id = {doomed_id}");
    let stored = db.count(&spans_of_doomed).await;
    assert_eq!(stored, (TRACES * 4) as i64);

    let started = Instant::now();
    let response = ember.client.delete(ember.url("/v1/projects/doomed")).send().await.expect("DELETE");
    let answered = started.elapsed();
    assert_eq!(response.status().as_u16(), 204);
    let left = db.count(&spans_of_doomed).await;
    eprintln!("{backend:?}: DELETE answered in {answered:?}; {left} of {stored} spans still to delete");
    assert!(left > 0, "the spans went before the answer: the delete is not in the background");

    // Gone from every read at once, and the name can be taken again.
    let (status, _) = ember.get_json("/v1/projects/doomed").await;
    assert_eq!(status, 404);
    let (_, projects) = ember.get_json("/v1/projects").await;
    let names: Vec<&str> =
        projects["data"].as_array().expect("data").iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names.iter().filter(|name| name.contains("doomed")).count(), 0, "{names:?}");
    send_aged(&ember, "doomed", 1, 0).await;
    let (status, body) = ember.get_json("/v1/projects/doomed/spans?limit=1000").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"].as_array().map(Vec::len), Some(4), "the new project holds only the new spans");

    // A crash mid-way: the mark is in the database, so the next start finishes the job.
    ember.kill_9().await;
    let ember = Ember::start_with(&db, SLOW_SWEEP).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    while db.count(&format!("SELECT COUNT(*) FROM projects WHERE id = {doomed_id}")).await > 0 {
        assert!(Instant::now() < deadline, "{} spans of the deleted project remain", db.count(&spans_of_doomed).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(db.count(&spans_of_doomed).await, 0);
    assert_eq!(db.count(&format!("SELECT COUNT(*) FROM sessions WHERE project_id = {doomed_id}")).await, 0);
    let (_, kept) = ember.get_json("/v1/projects/kept/spans?limit=1000").await;
    assert_eq!(kept["data"].as_array().map(Vec::len), Some(20), "other projects keep their spans");
    let (_, doomed) = ember.get_json("/v1/projects/doomed/spans?limit=1000").await;
    assert_eq!(doomed["data"].as_array().map(Vec::len), Some(4), "the new project of that name is untouched");
    ember.terminate();
    assert!(ember.wait(Duration::from_secs(30)).await);
    db.cleanup().await;
}

on_both_backends!(deleting_a_project_answers_at_once_and_finishes_in_the_background);
