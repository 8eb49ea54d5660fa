//! The web UI and GraphQL under `EMBER_ROOT_PATH`: requests with and without the prefix.

use prost::Message;
use serde_json::{json, Value};

use super::{fixture_trace, gql_at, request, OTHER};
use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;
use crate::support::post_protobuf;

async fn get_html(ember: &Ember, path: &str) -> (u16, String, String) {
    let response = ember.client.get(ember.url(path)).header("accept", "text/html").send().await.expect("GET");
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (status, content_type, response.text().await.expect("body"))
}

async fn ui_under_root_path(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start_with(&db, &[("EMBER_ROOT_PATH", "/ember")]).await;
    let (status, _, _) = post_protobuf(&ember, request(OTHER, fixture_trace(5)).encode_to_vec(), &[]).await;
    assert_eq!(status, 200);
    ember.wait_for_spans(OTHER, 1).await;

    // GraphQL answers the same with and without the prefix.
    let query = "{ projects { name spanCount traceCount latencyP50Ms } }";
    let prefixed = gql_at(&ember, "/ember/graphql", query, json!({})).await;
    assert_eq!(
        prefixed,
        json!({ "data": { "projects": [{ "name": OTHER, "spanCount": 1, "traceCount": 1, "latencyP50Ms": 30.0 }] } })
    );
    assert_eq!(gql_at(&ember, "/graphql", query, json!({})).await, prefixed);

    // Deep links get the SPA's page with the root path injected, with or without the prefix.
    for path in ["/ember/projects/anything", "/projects/anything", "/ember", "/ember/"] {
        let (status, content_type, page) = get_html(&ember, path).await;
        assert_eq!(status, 200, "{path}: {page}");
        assert!(content_type.starts_with("text/html"), "{path}: {content_type}");
        assert!(page.contains("<base href=\"/ember/\">"), "{path}: {page}");
        assert!(page.contains("\"rootPath\":\"/ember\""), "{path}: {page}");
        let base = page.find("<base").expect("base");
        assert!(page.find("<script").is_none_or(|script| script > base), "{path}: base precedes every script");
    }

    // Unknown API routes are JSON 404s, missing assets plain 404s, never the page.
    for path in ["/ember/v1/nope", "/v1/nope"] {
        let (status, content_type, body) = get_html(&ember, path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(content_type.starts_with("application/json"), "{path}: {content_type}");
        let parsed: Value = serde_json::from_str(&body).expect("JSON body");
        assert!(parsed.is_object(), "{parsed}");
    }
    for path in ["/ember/assets/missing.js", "/assets/missing.js"] {
        let (status, _, body) = get_html(&ember, path).await;
        assert_eq!(status, 404, "{path}");
        assert!(!body.contains("__EMBER__"), "{path}: {body}");
    }

    // A browser opening /graphql gets GraphiQL, pointed at the prefixed endpoint.
    for path in ["/graphql", "/ember/graphql"] {
        let (status, content_type, page) = get_html(&ember, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(content_type.starts_with("text/html"), "{path}: {content_type}");
        assert!(page.to_lowercase().contains("graphiql"), "{path}: {page}");
        assert!(page.contains("/ember/graphql"), "{path}: {page}");
        assert!(!page.contains("__EMBER__"), "GraphiQL, not the SPA: {page}");
    }
    db.cleanup().await;
}

on_both_backends!(ui_under_root_path);
