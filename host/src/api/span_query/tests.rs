use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

use super::scan::{matching_spans, ScanBudget, Scope};
use super::*;
use crate::model::SpanRecord;
use crate::store::Store;

/// The plan of a JSON body, as the route's extractor would parse it.
fn plan_of(body: serde_json::Value) -> ApiResult<Plan> {
    plan(serde_json::from_value(body).map_err(|err| ApiError::invalid(format!("invalid request body: {err}")))?)
}

fn refusal(body: serde_json::Value) -> String {
    let err = plan_of(body).expect_err("refused");
    let message = format!("{err:?}");
    assert_eq!(err.into_response().status(), StatusCode::UNPROCESSABLE_ENTITY, "{message}");
    message
}

#[test]
fn query_count_is_capped() {
    let ten = vec![json!({}); MAX_QUERIES];
    assert_eq!(plan_of(json!({ "queries": ten })).expect("fits").dsls.len(), MAX_QUERIES);
    let eleven = vec![json!({}); MAX_QUERIES + 1];
    assert!(refusal(json!({ "queries": eleven })).contains("at most 10 queries"));
}

#[test]
fn limit_must_be_positive_and_bounded() {
    assert_eq!(plan_of(json!({})).expect("default").limit, 1000);
    assert_eq!(plan_of(json!({"limit": 100000})).expect("max").limit, 100_000);
    for limit in [0, -1, i64::MIN, MAX_LIMIT + 1] {
        assert!(refusal(json!({ "limit": limit })).contains("limit must be from 1 to 100000"));
    }
    refusal(json!({ "limit": 1.5 }));
}

#[test]
fn bad_conditions_are_422_with_a_short_message() {
    let deep = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
    let nots = format!("{}a", "not ".repeat(1_000));
    for cond in [deep, nots, "span_kind ==".to_owned()] {
        let message = refusal(json!({"queries": [{"filter": {"condition": cond}}]}));
        assert!(message.contains("invalid filter condition"), "{message}");
        assert!(message.len() < 500, "the condition is not echoed whole: {} bytes", message.len());
    }
}

fn span(i: usize, kind: &str) -> SpanRecord {
    SpanRecord {
        project: Arc::from("default"),
        trace_id: format!("{:032x}", i + 1),
        span_id: format!("{:016x}", i + 1),
        parent_id: None,
        name: format!("span {i}"),
        span_kind: kind.to_owned(),
        status_code: "OK",
        status_message: String::new(),
        start_ns: 1_000 + i as i64,
        end_ns: 2_000 + i as i64,
        model_name: None,
        token_prompt: None,
        token_completion: None,
        token_total: None,
        input_value: None,
        input_mime_type: None,
        output_value: None,
        output_mime_type: None,
        session_id: None,
        attributes: "{}".to_owned(),
        events: "[]".to_owned(),
    }
}

#[tokio::test]
async fn a_compiled_condition_reads_only_matches_and_the_rest_is_bounded_by_the_budget() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::connect(None, dir.path()).await.expect("store");
    // Spans 0..20; every fifth is an LLM span.
    let spans: Vec<SpanRecord> = (0..20).map(|i| span(i, if i % 5 == 0 { "LLM" } else { "CHAIN" })).collect();
    store.write_batch(&spans).await.expect("written");
    let project = store.project_by_name("default").await.expect("read").expect("project");
    let scope =
        Scope { project_id: project.id, start_ns: None, end_ns: None, roots_only: false, orphans_are_roots: true };
    let llm = filter::parse("span_kind == 'LLM'").expect("parses");
    let none = filter::parse("span_kind == 'TOOL'").expect("parses");
    // Not compilable (a field against a field), so evaluated here on every row read.
    let llm_or_same = filter::parse("span_kind == 'LLM' or name == span_kind").expect("parses");
    let names = |spans: &[Span]| spans.iter().map(|s| s.row.name.clone()).collect::<Vec<_>>();

    // The database selects the four LLM spans: a budget of four rows is enough.
    let mut budget = ScanBudget::new(4);
    let found = matching_spans(&store, &scope, Some(&llm), 100, &mut budget, 5).await.expect("scan");
    assert_eq!(names(&found), ["span 0", "span 5", "span 10", "span 15"]);
    assert!(!budget.exhausted());
    // A condition matching nothing reads nothing.
    let mut budget = ScanBudget::new(1);
    assert!(matching_spans(&store, &scope, Some(&none), 100, &mut budget, 5).await.expect("scan").is_empty());
    assert!(!budget.exhausted());

    // What cannot be compiled reads rows until the budget of 12 is spent, 5 at a time.
    let mut budget = ScanBudget::new(12);
    let found = matching_spans(&store, &scope, Some(&llm_or_same), 100, &mut budget, 5).await.expect("scan");
    assert_eq!(names(&found), ["span 0", "span 5", "span 10"]);
    assert!(budget.exhausted());
    // The budget is the request's: a second query finds it spent.
    let found = matching_spans(&store, &scope, None, 100, &mut budget, 5).await.expect("scan");
    assert!(found.is_empty());
    let mut budget = ScanBudget::new(1_000);
    let found = matching_spans(&store, &scope, Some(&llm_or_same), 100, &mut budget, 7).await.expect("scan");
    assert_eq!(found.len(), 4);
    assert!(!budget.exhausted());

    // `limit` still ends the scan first.
    let mut budget = ScanBudget::new(1_000);
    let found = matching_spans(&store, &scope, None, 3, &mut budget, 2).await.expect("scan");
    assert_eq!(names(&found), ["span 0", "span 1", "span 2"]);
    assert!(!budget.exhausted());
}

#[test]
fn a_spent_budget_is_an_error_that_names_it() {
    let response = budget_exceeded().into_response();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let message = format!("{:?}", budget_exceeded());
    assert!(message.contains("scan_budget_exceeded") && message.contains("1000000 spans"), "{message}");
}
