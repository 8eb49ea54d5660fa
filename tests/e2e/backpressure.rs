//! A stalled database turns into explicit backpressure (503 + Retry-After, RESOURCE_EXHAUSTED),
//! exports wait for the commit of their spans before they are acknowledged, and every
//! acknowledged span is stored once the database is back.

use std::time::Duration;

use ember_workload::TraceGenerator;
use prost::Message;
use sqlx::Connection;

use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;
use crate::support::{grpc_export, post_protobuf};

/// Holds the spans table locked against writes until dropped (rolled back).
enum WriteLock {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

async fn lock_writes(db: &TestDb) -> WriteLock {
    match db.backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", db.dir.path().join("ember.db").display());
            let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("open sqlite");
            sqlx::query("BEGIN EXCLUSIVE").execute(&mut conn).await.expect("lock");
            WriteLock::Sqlite(conn)
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.server_url().expect("pg url")).await.expect("open pg");
            sqlx::query("BEGIN").execute(&mut conn).await.expect("begin");
            sqlx::query("LOCK TABLE projects, traces, spans, sessions IN EXCLUSIVE MODE")
                .execute(&mut conn)
                .await
                .expect("lock");
            WriteLock::Postgres(conn)
        }
    }
}

async fn unlock(lock: WriteLock) {
    match lock {
        WriteLock::Sqlite(mut conn) => {
            sqlx::query("ROLLBACK").execute(&mut conn).await.expect("unlock");
        }
        WriteLock::Postgres(mut conn) => {
            sqlx::query("ROLLBACK").execute(&mut conn).await.expect("unlock");
        }
    }
}

/// `ember_ingest_queue_depth_spans` from `/metrics`.
async fn queue_depth(ember: &Ember) -> String {
    let metrics = ember.client.get(ember.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    let line = metrics.lines().find(|line| line.starts_with("ember_ingest_queue_depth_spans "));
    line.unwrap_or_default().to_owned()
}

async fn full_queue_pushes_back_and_loses_nothing(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let env = [("EMBER_QUEUE_CAPACITY", "100"), ("EMBER_INGEST_ACK_TIMEOUT_SECONDS", "120")];
    let ember = Ember::start_with(&db, &env).await;
    let lock = lock_writes(&db).await;
    let mut generator = TraceGenerator::new();
    let mut acknowledged = Vec::new();

    // 40 spans each: two fit in a queue of 100 while the writer is stalled, the third does not.
    // The two wait for their commit: nothing is acknowledged while the database is locked.
    let mut waiting = Vec::new();
    for _ in 0..2 {
        let request = generator.request(10, "pressure");
        acknowledged.extend(ember_workload::span_ids(&request));
        let (client, url) = (ember.client.clone(), ember.url("/v1/traces"));
        waiting.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .header("content-type", "application/x-protobuf")
                .body(request.encode_to_vec())
                .send()
                .await
                .expect("POST /v1/traces");
            response.status().as_u16()
        }));
    }
    let queued = std::time::Instant::now();
    while queue_depth(&ember).await != "ember_ingest_queue_depth_spans 80" {
        assert!(queued.elapsed() < Duration::from_secs(30), "the two exports were never queued");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(waiting.iter().all(|task| !task.is_finished()), "acknowledged before the spans were committed");
    let refused = generator.request(10, "pressure");
    let (status, headers, body) = post_protobuf(&ember, refused.encode_to_vec(), &[]).await;
    assert_eq!(status, 503);
    assert_eq!(headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    // The HTTP body's google.rpc.Status carries the code the same refusal gets over gRPC.
    let body = tonic_types::Status::decode(body).expect("a google.rpc.Status body");
    assert_eq!(body.code, tonic::Code::ResourceExhausted as i32, "{}", body.message);
    let err = grpc_export(&ember, &refused).await.expect_err("grpc refused");
    assert_eq!(err.code(), tonic::Code::ResourceExhausted);
    let retry = tonic_types::StatusExt::get_details_retry_info(&err).and_then(|info| info.retry_delay);
    assert_eq!(retry, Some(std::time::Duration::from_secs(1)), "RetryInfo tells the exporter when to retry");

    let metrics = ember.client.get(ember.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains("ember_ingest_queue_depth_spans 80"), "queue depth exported:\n{metrics}");
    assert!(metrics.contains(r#"ember_ingest_requests_rejected_total{reason="queue_full"} 2"#));

    unlock(lock).await;
    for task in waiting {
        assert_eq!(task.await.expect("export task"), 200, "acknowledged once committed");
    }
    let stored = db.stored_span_ids().await;
    assert!(acknowledged.iter().all(|id| stored.contains(id)), "every acknowledged span stored");
    assert_eq!(stored.len(), 80, "the refused request was not half-stored");

    // Once drained, the refused request goes through on retry.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (status, _, _) = post_protobuf(&ember, refused.encode_to_vec(), &[]).await;
    assert_eq!(status, 200);
    ember.wait_for_spans("pressure", 120).await;
    db.cleanup().await;
}

/// A commit that does not come in time: the export is refused with a retryable 503 (not
/// acknowledged), its spans are still written once the database is back, and the client's retry
/// of the same spans is acknowledged without storing them twice.
async fn a_late_commit_is_not_acknowledged(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start_with(&db, &[("EMBER_INGEST_ACK_TIMEOUT_SECONDS", "1")]).await;
    let lock = lock_writes(&db).await;
    let request = TraceGenerator::new().request(10, "late");
    let (status, headers, body) = post_protobuf(&ember, request.encode_to_vec(), &[]).await;
    assert_eq!(status, 503);
    assert_eq!(headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    let body = tonic_types::Status::decode(body).expect("a google.rpc.Status body");
    assert_eq!(body.code, tonic::Code::Unavailable as i32);
    assert!(body.message.contains("not yet stored"), "{}", body.message);

    unlock(lock).await;
    ember.wait_for_spans("late", 40).await;
    let (status, _, _) = post_protobuf(&ember, request.encode_to_vec(), &[]).await;
    assert_eq!(status, 200, "the retry is acknowledged");
    let metrics = ember.client.get(ember.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains("ember_writer_spans_duplicate_total 40"), "the retry was deduplicated:\n{metrics}");
    assert_eq!(db.stored_span_ids().await.len(), 40);
    db.cleanup().await;
}

on_both_backends!(full_queue_pushes_back_and_loses_nothing, a_late_commit_is_not_acknowledged);
