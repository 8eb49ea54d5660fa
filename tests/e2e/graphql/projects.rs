//! Projects with their totals, and the span listing: filters, both orders, cursor paging, errors.

use serde_json::{json, Value};

use super::{data, error, ids, ingest_fixture, ORDER, PROJECT};
use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;

const TOTALS: &str = "id name spanCount traceCount tokenPrompt tokenCompletion tokenTotal costTotal \
                      latencyP50Ms latencyP99Ms lastSpanTime";

async fn project_totals(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;
    ingest_fixture(&ember).await;

    let found = data(&ember, &format!("{{ projects {{ {TOTALS} spanNames models }} }}"), json!({})).await;
    let projects = found["projects"].as_array().expect("projects");
    assert_eq!(projects.len(), 2, "{found}");
    let (_, rest) = ember.get_json(&format!("/v1/projects/{PROJECT}")).await;
    let id = rest["data"]["id"].as_str().expect("REST id").to_owned();
    // Nearest-rank percentiles over 100, 250, 400 and 1000 ms: rank 2 and rank 4, read from the
    // rollups' latency sketch (1% relative accuracy; the largest is exact).
    let p50 = projects[0]["latencyP50Ms"].as_f64().expect("a p50");
    assert!((p50 / 250.0 - 1.0).abs() <= 0.01, "p50 {p50}");
    let mut first = projects[0].clone();
    first["latencyP50Ms"] = json!(250.0);
    assert_eq!(
        first,
        json!({
            "id": id, "name": "gql", "spanCount": 8, "traceCount": 4,
            "tokenPrompt": 33, "tokenCompletion": 16, "tokenTotal": 49, "costTotal": 1.75,
            "latencyP50Ms": 250.0, "latencyP99Ms": 1000.0, "lastSpanTime": "2023-11-14T22:14:00.005000+00:00",
            "spanNames": ["agent", "llm_call", "pipeline", "retrieve", "search"], "models": ["claude-3", "gpt-4o"],
        })
    );
    let other = &projects[1];
    assert_eq!(other["name"], "other");
    assert_eq!((other["spanCount"].as_i64(), other["traceCount"].as_i64()), (Some(1), Some(1)));
    assert_eq!((other["tokenTotal"].as_i64(), other["costTotal"].as_f64()), (Some(0), Some(0.0)));
    assert_eq!((other["latencyP50Ms"].as_f64(), other["latencyP99Ms"].as_f64()), (Some(30.0), Some(30.0)));
    assert_eq!(other["lastSpanTime"], "2023-11-14T22:14:10+00:00");
    assert_eq!(other["models"], json!([]));

    // By global id and by name; unknown ids and names are null.
    let query = "query($id: ID!) { project(id: $id) { id name spanCount tokenTotal } }";
    for key in [id.as_str(), PROJECT] {
        let found = data(&ember, query, json!({ "id": key })).await;
        assert_eq!(found["project"], json!({ "id": id, "name": "gql", "spanCount": 8, "tokenTotal": 49 }), "{key}");
    }
    for key in ["nope".to_owned(), ember::ids::global_id("Project", 999_999)] {
        assert_eq!(data(&ember, query, json!({ "id": key })).await, json!({ "project": null }), "{key}");
    }
    db.cleanup().await;
}

const SPANS: &str = "query($first: Int, $after: String, $filter: SpanFilter, $sort: SpanSort) {
  project(id: \"gql\") { spans(first: $first, after: $after, filter: $filter, sort: $sort) {
    nodes { spanId name spanKind statusCode model } pageInfo { hasNextPage endCursor } } } }";

/// The span ids one page shows, with its page info.
async fn page(ember: &Ember, variables: Value) -> (Vec<String>, Value) {
    let found = data(ember, SPANS, variables).await;
    let spans = &found["project"]["spans"];
    let nodes = spans["nodes"].as_array().expect("nodes");
    (nodes.iter().map(|n| n["spanId"].as_str().expect("spanId").to_owned()).collect(), spans["pageInfo"].clone())
}

async fn filtered(ember: &Ember, filter: Value) -> Vec<String> {
    page(ember, json!({ "first": 100, "filter": filter, "sort": "START_TIME_ASC" })).await.0
}

async fn span_listing(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;
    ingest_fixture(&ember).await;
    let ascending = ids(&ORDER);
    let mut descending = ascending.clone();
    descending.reverse();

    // Both orders; newest first by default.
    assert_eq!(page(&ember, json!({ "sort": "START_TIME_ASC" })).await.0, ascending);
    assert_eq!(page(&ember, json!({ "sort": "START_TIME_DESC" })).await.0, descending);
    let (all, info) = page(&ember, json!({})).await;
    assert_eq!(all, descending);
    assert_eq!(info, json!({ "hasNextPage": false, "endCursor": null }));

    // Filters, each alone and combined.
    let cases = [
        (json!({ "kinds": ["llm"] }), vec![(1, 2), (2, 2), (3, 1)]),
        (json!({ "kinds": ["TOOL", "retriever"] }), vec![(1, 3), (4, 2)]),
        (json!({ "statusCodes": ["ERROR"] }), vec![(1, 3)]),
        (json!({ "statusCodes": ["ok", "ERROR"] }), vec![(1, 2), (1, 3), (2, 2), (3, 1)]),
        (json!({ "names": ["pipeline", "agent"] }), vec![(1, 1), (2, 1), (4, 1)]),
        (json!({ "models": ["gpt-4o"] }), vec![(1, 2), (3, 1)]),
        (json!({ "attributes": [{ "key": "llm.model_name", "value": "claude-3" }] }), vec![(2, 2)]),
        (json!({ "attributes": [{ "key": "llm.token_count.prompt", "value": 10 }] }), vec![(1, 2)]),
        (json!({ "attributes": [{ "key": "llm.token_count.prompt", "value": "10" }] }), vec![]),
        (json!({ "attributes": [{ "key": "session.id", "value": "sess-B" }], "kinds": ["RETRIEVER"] }), vec![(4, 2)]),
        (json!({ "rootOnly": true }), vec![(1, 1), (2, 1), (3, 1), (4, 1)]),
        (json!({ "rootOnly": true, "models": ["gpt-4o"] }), vec![(3, 1)]),
        // From the start of trace 2 (inclusive) to the start of trace 4 (exclusive).
        (
            json!({ "startTime": "2023-11-14T22:13:40Z", "endTime": "2023-11-14T22:14:00Z" }),
            vec![(2, 1), (2, 2), (3, 1)],
        ),
        (json!({ "startTime": "2023-11-14T23:14:00.005+01:00" }), vec![(4, 2)]),
    ];
    for (filter, expected) in cases {
        assert_eq!(filtered(&ember, filter.clone()).await, ids(&expected), "filter {filter}");
    }
    let found = data(&ember, SPANS, json!({ "filter": { "statusCodes": ["ERROR"] } })).await;
    assert_eq!(
        found["project"]["spans"]["nodes"],
        json!([{ "spanId": ids(&[(1, 3)])[0], "name": "search", "spanKind": "TOOL", "statusCode": "ERROR", "model": null }])
    );

    // Cursor paging, two at a time, walks every span exactly once in either order.
    for (sort, expected) in [("START_TIME_ASC", &ascending), ("START_TIME_DESC", &descending)] {
        let (mut seen, mut after, mut pages) = (Vec::new(), Value::Null, 0);
        loop {
            let (ids, info) = page(&ember, json!({ "first": 2, "after": after, "sort": sort })).await;
            pages += 1;
            assert_eq!(ids.len(), 2, "{sort} page {pages}");
            seen.extend(ids);
            if info["hasNextPage"] == false {
                assert_eq!(info["endCursor"], Value::Null);
                break;
            }
            assert!(info["endCursor"].is_string(), "{info}");
            after = info["endCursor"].clone();
            assert!(pages < 10, "paging does not end");
        }
        assert_eq!((&seen, pages), (expected, 4), "{sort}");
    }
    // Paging combines with a filter.
    let (first, info) =
        page(&ember, json!({ "first": 2, "filter": { "kinds": ["LLM"] }, "sort": "START_TIME_ASC" })).await;
    assert_eq!(first, ids(&[(1, 2), (2, 2)]));
    let variables =
        json!({ "first": 2, "after": info["endCursor"], "filter": { "kinds": ["LLM"] }, "sort": "START_TIME_ASC" });
    let (rest, info) = page(&ember, variables).await;
    assert_eq!((rest, info["hasNextPage"].as_bool()), (ids(&[(3, 1)]), Some(false)));

    // Bad input is a GraphQL error naming the problem.
    let message = error(&ember, SPANS, json!({ "filter": { "kinds": ["BOGUS"] } })).await;
    assert!(message.contains("BOGUS") && message.contains("kind"), "{message}");
    let message = error(&ember, SPANS, json!({ "filter": { "statusCodes": ["MAYBE"] } })).await;
    assert!(message.contains("MAYBE"), "{message}");
    let message = error(&ember, SPANS, json!({ "after": "not-a-cursor" })).await;
    assert!(message.contains("cursor"), "{message}");
    let message = error(&ember, SPANS, json!({ "filter": { "startTime": "yesterday" } })).await;
    assert!(message.contains("startTime") && message.contains("yesterday"), "{message}");
    let message = error(&ember, SPANS, json!({ "filter": { "endTime": "2024-13-45" } })).await;
    assert!(message.contains("endTime"), "{message}");
    db.cleanup().await;
}

/// Listings nested under lists of parents are refused before they run; a big page on its own is
/// fine.
async fn costly_queries_are_refused(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;
    ingest_fixture(&ember).await;
    let nested = "{ projects { spans(first: 500) { nodes { spanId } } } }";
    assert_eq!(error(&ember, nested, json!({})).await, "Query is too complex.");
    let nested = "{ datasets { experiments { runs { output evaluations { name score } } } } }";
    assert_eq!(error(&ember, nested, json!({})).await, "Query is too complex.");
    let page = "{ project(id: \"gql\") { spans(first: 500) { nodes { spanId name spanKind latencyMs } } } }";
    let found = data(&ember, page, json!({})).await;
    assert_eq!(found["project"]["spans"]["nodes"].as_array().map(Vec::len), Some(ORDER.len()));
    db.cleanup().await;
}

on_both_backends!(project_totals, span_listing, costly_queries_are_refused);
