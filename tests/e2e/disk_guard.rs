//! The disk guard: with an allocated capacity and thresholds (Phoenix's settings), ingest is
//! refused with 507 / RESOURCE_EXHAUSTED once the database is past the block threshold, while
//! reads and deletes go on and `/readyz` and `/metrics` say why; on SQLite, deleting data brings
//! usage back under the threshold and ingest resumes by itself.

use std::time::{Duration, Instant};

use ember_workload::TraceGenerator;
use prost::Message;

use crate::harness::{Backend, Ember, TestDb};
use crate::support::{grpc_export, post_protobuf};
use crate::tally::readyz;

async fn metric(ember: &Ember, name: &str) -> f64 {
    let text = ember.client.get(ember.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    let line = text.lines().find(|line| line.starts_with(&format!("{name} "))).unwrap_or_default();
    line.rsplit(' ').next().and_then(|value| value.parse().ok()).unwrap_or_else(|| panic!("{name} missing"))
}

async fn ingest_stops_at_the_block_threshold(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    // SQLite starts at about 1 MiB (16 KiB pages), PostgreSQL at about 8 MiB: each gets a few
    // MiB of room before the block threshold.
    let (capacity, block) = match backend {
        Backend::Sqlite => ("0.005", "60"),
        Backend::Postgres => ("0.02", "70"),
    };
    let env = [
        ("PHOENIX_DATABASE_ALLOCATED_STORAGE_CAPACITY_GIBIBYTES", capacity),
        ("EMBER_DATABASE_USAGE_WARNING_THRESHOLD_PERCENTAGE", "1"),
        ("EMBER_DATABASE_USAGE_BLOCKING_THRESHOLD_PERCENTAGE", block),
        ("EMBER_DATABASE_USAGE_CHECK_SECONDS", "1"),
    ];
    let ember = Ember::start_with(&db, &env).await;
    let mut generator = TraceGenerator::new();
    let (mut acknowledged, started) = (0, Instant::now());
    let refusal = loop {
        let request = generator.request(50, "guarded");
        let (status, _, body) = post_protobuf(&ember, request.encode_to_vec(), &[]).await;
        match status {
            200 => acknowledged += 200,
            507 => break tonic_types::Status::decode(body).expect("a google.rpc.Status body"),
            other => panic!("unexpected status {other}"),
        }
        assert!(started.elapsed() < Duration::from_secs(90), "never blocked after {acknowledged} spans");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(acknowledged > 0);
    assert_eq!(refusal.code, tonic::Code::ResourceExhausted as i32);
    assert!(refusal.message.contains("of its allocated"), "{}", refusal.message);
    let err = grpc_export(&ember, &generator.request(1, "guarded")).await.expect_err("refused over gRPC");
    assert_eq!(err.code(), tonic::Code::ResourceExhausted);
    let (status, reason) = readyz(&ember).await;
    assert_eq!(status, 200, "reads still work, so the server stays in rotation");
    assert!(reason.contains("ingest blocked"), "{reason}");
    assert_eq!(metric(&ember, "ember_database_ingest_blocked").await, 1.0);
    assert!(metric(&ember, "ember_database_used_bytes").await > 0.0);
    let (status, _) = ember.get_json("/v1/projects/guarded/spans?limit=10").await;
    assert_eq!(status, 200, "reads go on");
    eprintln!("{backend:?}: blocked after {acknowledged} acknowledged spans: {}", refusal.message);

    if backend == Backend::Sqlite {
        // Deleting the project frees its pages: ingest resumes without a restart.
        let status = ember.client.delete(ember.url("/v1/projects/guarded")).send().await.expect("delete").status();
        assert_eq!(status.as_u16(), 204, "deletes go on");
        let resumed = Instant::now();
        loop {
            let (status, _, _) = post_protobuf(&ember, generator.request(5, "after").encode_to_vec(), &[]).await;
            if status == 200 {
                break;
            }
            assert_eq!(status, 507);
            assert!(resumed.elapsed() < Duration::from_secs(20), "ingest did not resume after the delete");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(metric(&ember, "ember_database_ingest_blocked").await, 0.0);
    }
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_stops_at_the_block_threshold_sqlite() {
    ingest_stops_at_the_block_threshold(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_stops_at_the_block_threshold_postgres() {
    ingest_stops_at_the_block_threshold(Backend::Postgres).await;
}
