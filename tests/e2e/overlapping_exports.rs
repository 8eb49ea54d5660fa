//! Concurrent exports that repeat each other's spans, as clients retrying a timed-out export do,
//! in opposite orders. On PostgreSQL the writer commits two batches at once (two lanes), so the
//! same trace and span rows are written by concurrent transactions: they must queue behind each
//! other (one lock order for sessions, traces and spans), never deadlock or fail, and each span
//! must be stored once.

use std::collections::HashSet;

use ember_workload::TraceGenerator;
use prost::Message;

use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;
use crate::support::post_protobuf;

const ROUNDS: usize = 6;
const COPIES: usize = 12;

/// `request` with its spans in the opposite order.
fn reversed(
    mut request: opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest,
) -> opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
    request.resource_spans.reverse();
    for resource in &mut request.resource_spans {
        resource.scope_spans.reverse();
        for scope in &mut resource.scope_spans {
            scope.spans.reverse();
        }
    }
    request
}

async fn overlapping_exports_are_stored_once_without_write_errors(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;
    let mut generator = TraceGenerator::new();
    let mut expected = HashSet::new();
    for _ in 0..ROUNDS {
        let request = generator.request(150, "overlap");
        expected.extend(ember_workload::span_ids(&request));
        let forward = request.encode_to_vec();
        let backward = reversed(request).encode_to_vec();
        let sends = (0..COPIES).map(|copy| {
            let body = if copy % 2 == 0 { forward.clone() } else { backward.clone() };
            let ember = &ember;
            async move { post_protobuf(ember, body, &[]).await.0 }
        });
        let statuses = futures::future::join_all(sends).await;
        assert!(statuses.iter().all(|status| *status == 200), "every copy acknowledged: {statuses:?}");
    }

    let stored = db.stored_span_ids().await;
    assert_eq!(stored, expected, "each span stored exactly once");
    let metrics = ember.client.get(ember.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let errors: Vec<&str> = metrics
        .lines()
        .filter(|line| line.starts_with("ember_writer_errors_total{") && !line.ends_with(" 0"))
        .collect();
    assert!(errors.is_empty(), "no batch write failed (a deadlock is a failed write): {errors:?}");
    let duplicates = metrics
        .lines()
        .find_map(|line| line.strip_prefix("ember_writer_spans_duplicate_total "))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .unwrap_or_default();
    assert_eq!(duplicates as usize, expected.len() * (COPIES - 1), "every repeated span was recognised as a duplicate");
    db.cleanup().await;
}

on_both_backends!(overlapping_exports_are_stored_once_without_write_errors);
