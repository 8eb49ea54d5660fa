//! Rollups against a full recomputation from spans, on both stores, through ingest, duplicates,
//! deletes, a retention sweep, a move between projects and an upgrade backfill.

use std::collections::HashMap;
use std::sync::Arc;

use super::maintain::{facts_sql, fold, FactRow};
use super::{bucket_of, cost_of, Rollup, BUCKET_NS};
use crate::model::SpanRecord;
use crate::store::sql::Param;
use crate::store::temp_postgres::{on_postgres, on_sqlite};
use crate::store::Store;

/// Start of the test's first hour: an arbitrary hour boundary.
const T0: i64 = 1_700_000_000_000_000_000 - 1_700_000_000_000_000_000 % BUCKET_NS;

/// `traces` traces of four spans (a root and three children, one an LLM call) in `project`,
/// spread over three hours; ids start after `first`.
fn spans(project: &str, first: usize, traces: usize) -> Vec<SpanRecord> {
    let project: Arc<str> = Arc::from(project);
    let mut out = Vec::new();
    for t in first..first + traces {
        let start = T0 + (t as i64 % 3) * BUCKET_NS + t as i64 * 1_000_003;
        let root = format!("{:016x}", t * 4 + 1);
        for s in 0..4usize {
            let llm = s == 2;
            let model = ["gpt-4o", "claude-3", "llama"][t % 3];
            out.push(SpanRecord {
                project: project.clone(),
                trace_id: format!("{t:032x}"),
                span_id: format!("{:016x}", t * 4 + 1 + s),
                parent_id: (s > 0).then(|| root.clone()),
                name: format!("step-{s}"),
                span_kind: if llm { "LLM" } else { "CHAIN" }.to_owned(),
                status_code: if (t + s) % 7 == 0 { "ERROR" } else { "OK" },
                status_message: String::new(),
                start_ns: start + s as i64 * 1_000,
                end_ns: start + s as i64 * 1_000 + (t as i64 % 50 + 1) * 1_000_000 / (s as i64 + 1),
                model_name: llm.then(|| model.to_owned()),
                token_prompt: llm.then_some(10 + t as i64),
                token_completion: llm.then_some(3),
                token_total: llm.then_some(13 + t as i64),
                input_value: None,
                input_mime_type: None,
                output_value: None,
                output_mime_type: None,
                session_id: None,
                attributes: if llm {
                    format!(r#"{{"llm":{{"model_name":"{model}","cost":{{"total":{}}}}}}}"#, 0.25 * (t % 4) as f64)
                } else {
                    r#"{"note":"cost"}"#.to_owned()
                },
                events: "[]".to_owned(),
            });
        }
    }
    out
}

/// The totals of each project recomputed from every stored span.
async fn recomputed(store: &Store, projects: &[i64]) -> HashMap<i64, Rollup> {
    let mut sql = facts_sql(store.dialect());
    sql.push("project_id IN ").bind_list(projects.iter().map(|id| Param::I64(*id)));
    let rows: Vec<FactRow> = store.fetch_all(&sql).await.expect("reads spans");
    let mut totals: HashMap<i64, Rollup> = HashMap::new();
    for ((project_id, _), rollup) in fold(&rows) {
        totals.entry(project_id).or_default().merge(&rollup);
    }
    totals
}

async fn assert_true(store: &Store, projects: &[i64], when: &str) {
    let stored = store.project_rollups(projects).await.expect("reads rollups");
    let truth = recomputed(store, projects).await;
    assert_eq!(stored.len(), truth.len(), "{when}: projects with spans");
    for (project, want) in &truth {
        let got = stored.get(project).unwrap_or_else(|| panic!("{when}: no rollup of project {project}"));
        let counts = |r: &Rollup| {
            (r.span_count, r.error_count, r.root_count, r.token_prompt, r.token_completion, r.last_start_ns)
        };
        assert_eq!(counts(got), counts(want), "{when}: project {project}");
        assert_eq!(got.models, want.models, "{when}: models of project {project}");
        assert!((got.cost_total - want.cost_total).abs() < 1e-9, "{when}: cost {got:?} vs {want:?}");
        assert_eq!(got.latency.count(), want.latency.count(), "{when}: latencies of project {project}");
        for q in [0.5, 0.9, 0.99] {
            assert_eq!(got.latency_quantile(q), want.latency_quantile(q), "{when}: p{q} of project {project}");
        }
    }
    // Each trace's sums against its spans.
    let mut sql = store.sql();
    let cost = super::traces::cost_expr(store.dialect(), "s");
    let sum = |column: &str| {
        format!("(SELECT COALESCE(SUM({column}), 0) FROM spans s WHERE s.trace_rowid = t.id AND s.span_kind = 'LLM')")
    };
    sql.push(&format!(
        "SELECT t.trace_id, t.token_prompt, t.token_completion, t.cost_total, CAST({} AS BIGINT), CAST({} AS BIGINT), \
         CAST({} AS DOUBLE PRECISION) FROM traces t WHERE t.project_id IN ",
        sum("s.token_prompt"),
        sum("s.token_completion"),
        sum(&cost)
    ))
    .bind_list(projects.iter().map(|id| Param::I64(*id)));
    let traces: Vec<(String, i64, i64, f64, i64, i64, f64)> = store.fetch_all(&sql).await.expect("reads traces");
    assert!(!traces.is_empty());
    for (trace, prompt, completion, cost, want_prompt, want_completion, want_cost) in traces {
        assert_eq!((prompt, completion), (want_prompt, want_completion), "{when}: tokens of trace {trace}");
        assert!((cost - want_cost).abs() < 1e-9, "{when}: cost of trace {trace}: {cost} vs {want_cost}");
    }
    // And the plain counts straight from SQL, independently of the fold.
    for project in projects {
        let mut sql = store.sql();
        sql.push("SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(CASE WHEN parent_id IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT) FROM spans WHERE project_id = ")
            .bind(Param::I64(*project));
        let (count, roots): (i64, i64) = store.fetch_optional(&sql).await.expect("counts").expect("a row");
        let got = stored.get(project).map_or((0, 0), |r| (r.span_count, r.root_count));
        assert_eq!(got, (count, roots), "{when}: counted in SQL, project {project}");
    }
}

async fn project_id(store: &Store, name: &str) -> i64 {
    store.project_by_name(name).await.expect("reads").expect("project exists").id
}

async fn rollups_stay_true(store: &Store) {
    let first = spans("alpha", 0, 60);
    store.write_batch(&first).await.expect("writes");
    store.write_batch(&spans("beta", 1_000, 30)).await.expect("writes");
    let (alpha, beta) = (project_id(store, "alpha").await, project_id(store, "beta").await);
    let both = [alpha, beta];
    assert_true(store, &both, "after ingest").await;
    assert!(store.project_rollups(&both).await.expect("reads")[&alpha].cost_total > 1.0);

    // A client's retry stores nothing twice and counts nothing twice.
    let outcome = store.write_batch(&first[..100]).await.expect("writes");
    assert_eq!(outcome.inserted, 0);
    store.write_batch(&spans("alpha", 60, 30)).await.expect("writes");
    assert_true(store, &both, "after duplicates").await;
    store.settle_rollups().await.expect("settles");
    let mut rows = store.sql();
    rows.push("SELECT CAST(COUNT(*) AS BIGINT) FROM span_rollups");
    let (after_merge,): (i64,) = store.fetch_optional(&rows).await.expect("counts").expect("a row");
    assert_eq!(after_merge, 6, "one row per project and hour once merged");
    assert_true(store, &both, "after merging").await;

    // Deletes, a retention sweep and a move between projects, then the maintainer catches up.
    let trace = store.find_trace(None, &format!("{:032x}", 5)).await.expect("reads").expect("trace 5");
    assert!(store.delete_trace(&trace).await.expect("deletes"));
    // The LLM span of trace 7: its trace's sums go down.
    let span = store.find_span(None, &format!("{:016x}", 7 * 4 + 3)).await.expect("reads").expect("a span");
    assert_eq!(span.span_kind, "LLM");
    assert!(store.delete_span(span.id).await.expect("deletes"));
    let swept = store.delete_traces_before(alpha, T0 + BUCKET_NS + 20_000_000, 1_000).await.expect("sweeps");
    assert!(swept.traces > 0 && swept.spans > 0, "{swept:?}");
    let moving: Vec<i64> = {
        let mut sql = store.sql();
        sql.push("SELECT id FROM traces WHERE project_id = ").bind(Param::I64(beta)).push(" ORDER BY id LIMIT 5");
        let rows: Vec<(i64,)> = store.fetch_all(&sql).await.expect("reads");
        rows.into_iter().map(|(id,)| id).collect()
    };
    assert_eq!(store.transfer_traces(&moving, alpha).await.expect("moves"), 5);
    let stale = store.project_rollups(&both).await.expect("reads");
    assert_ne!(stale[&beta].span_count, recomputed(store, &both).await[&beta].span_count, "stale before maintenance");
    store.settle_rollups().await.expect("settles");
    assert_true(store, &both, "after deletes, a sweep and a move").await;

    // A database from before rollups: its spans are folded in by the backfill, in batches, while
    // new spans arrive and old ones are deleted.
    for statement in
        ["DELETE FROM span_rollups", "UPDATE traces SET token_prompt = 0, token_completion = 0, cost_total = 0"]
    {
        let mut sql = store.sql();
        sql.push(statement);
        store.execute(&sql).await.expect("forgets the rollups");
    }
    let mut sql = store.sql();
    sql.push("UPDATE span_rollup_backfill SET below_id = (SELECT MAX(id) + 1 FROM spans)");
    store.execute(&sql).await.expect("rewinds");
    store.write_batch(&spans("beta", 2_000, 10)).await.expect("writes");
    let old = store.find_trace(None, &format!("{:032x}", 1_010)).await.expect("reads").expect("trace 1010");
    assert!(store.delete_trace(&old).await.expect("deletes"));
    store.settle_rollups().await.expect("settles");
    assert_true(store, &both, "after the backfill").await;
}

#[tokio::test]
async fn sqlite_rollups_equal_a_recomputation() {
    on_sqlite(rollups_stay_true).await;
}

#[tokio::test]
async fn postgres_rollups_equal_a_recomputation() {
    on_postgres("rollups", rollups_stay_true).await;
}

#[test]
fn buckets_are_hours_and_cost_is_read_only_where_it_is() {
    assert_eq!(bucket_of(T0 + 1), T0);
    assert_eq!(bucket_of(T0 + BUCKET_NS - 1), T0);
    assert_eq!(bucket_of(T0 + BUCKET_NS), T0 + BUCKET_NS);
    assert_eq!(cost_of(r#"{"llm":{"cost":{"total":1.5}}}"#), Some(1.5));
    assert_eq!(cost_of(r#"{"llm":{"cost":{"total":2}}}"#), Some(2.0));
    assert_eq!(cost_of(r#"{"llm":{"cost":{"total":"2"}}}"#), None);
    assert_eq!(cost_of(r#"{"llm":"cost"}"#), None);
    assert_eq!(cost_of(r#"{"note":"no price here"}"#), None);
}
