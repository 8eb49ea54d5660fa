//! The Phoenix-compatible REST API: projects, paging, filters, deletes, duplicates.

use std::collections::HashSet;

use ember_workload::TraceGenerator;
use serde_json::{json, Value};

use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;
use crate::support::export_generated;

async fn projects_crud(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;
    let create = |body: Value| ember.client.post(ember.url("/v1/projects")).json(&body).send();
    let created: Value =
        create(json!({"name": "alpha", "description": "first"})).await.expect("create").json().await.expect("json");
    let id = created["data"]["id"].as_str().expect("id").to_owned();
    assert_eq!(created["data"]["name"], "alpha");
    assert_eq!(create(json!({"name": "alpha"})).await.expect("dup").status().as_u16(), 409);
    assert_eq!(create(json!({"name": "a/b"})).await.expect("bad").status().as_u16(), 422);
    assert_eq!(create(json!({"nom": "x"})).await.expect("bad").status().as_u16(), 422);
    for name in ["beta", "gamma"] {
        create(json!({ "name": name })).await.expect("create");
    }
    let (_, by_name) = ember.get_json("/v1/projects/alpha").await;
    let (_, by_id) = ember.get_json(&format!("/v1/projects/{id}")).await;
    assert_eq!(by_name, by_id);
    let updated: Value = ember
        .client
        .put(ember.url("/v1/projects/alpha"))
        .json(&json!({"description": "renamed"}))
        .send()
        .await
        .expect("put")
        .json()
        .await
        .expect("json");
    assert_eq!(updated["data"]["description"], "renamed");

    // Newest first, two per page, the cursor continuing where the page ended.
    let (_, page1) = ember.get_json("/v1/projects?limit=2").await;
    let names: Vec<_> = page1["data"].as_array().expect("data").iter().map(|p| p["name"].clone()).collect();
    assert_eq!(names, vec![json!("gamma"), json!("beta")]);
    let cursor = page1["next_cursor"].as_str().expect("cursor");
    let cursor: String = form_urlencoded::byte_serialize(cursor.as_bytes()).collect();
    let (_, page2) = ember.get_json(&format!("/v1/projects?limit=2&cursor={cursor}")).await;
    assert_eq!(page2["data"][0]["name"], "alpha");
    assert_eq!(page2["next_cursor"], Value::Null);
    let (_, filtered) = ember.get_json("/v1/projects?name_contains=ET").await;
    assert_eq!(filtered["data"].as_array().map(Vec::len), Some(1));

    let delete = ember.client.delete(ember.url(&format!("/v1/projects/{id}"))).send().await.expect("delete");
    assert_eq!(delete.status().as_u16(), 204);
    let (status, body) = ember.get_json("/v1/projects/alpha").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    create(json!({"name": "default"})).await.expect("create default");
    let refused = ember.client.delete(ember.url("/v1/projects/default")).send().await.expect("delete default");
    assert_eq!(refused.status().as_u16(), 403);
    let version = ember.client.get(ember.url("/arize_phoenix_version")).send().await.expect("version");
    assert_eq!(version.status().as_u16(), 200);
    let version = version.text().await.expect("text");
    assert!(version.split('.').count() == 3 && version.split('.').all(|p| p.parse::<u32>().is_ok()), "{version}");
    assert_eq!(ember.client.get(ember.url("/readyz")).send().await.expect("readyz").status().as_u16(), 200);
    assert_eq!(ember.client.get(ember.url("/healthz")).send().await.expect("healthz").status().as_u16(), 200);
    db.cleanup().await;
}

async fn span_paging_filters_and_deletes(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;
    let mut generator = TraceGenerator::new();
    let mut sent = Vec::new();
    for _ in 0..3 {
        let (status, ids) = export_generated(&ember, &mut generator, 25, "paging").await;
        assert_eq!(status, 200);
        sent.extend(ids);
    }
    ember.wait_for_spans("paging", 300).await;

    for sort in ["id", "start_time"] {
        for order in ["asc", "desc"] {
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut path = format!("/v1/projects/paging/spans?limit=70&sort={sort}&order={order}");
                if let Some(c) = &cursor {
                    let encoded: String = form_urlencoded::byte_serialize(c.as_bytes()).collect();
                    path.push_str(&format!("&cursor={encoded}"));
                }
                let (status, page) = ember.get_json(&path).await;
                assert_eq!(status, 200, "{page}");
                seen.extend(
                    page["data"]
                        .as_array()
                        .expect("data")
                        .iter()
                        .map(|s| s["context"]["span_id"].as_str().expect("id").to_owned()),
                );
                match page["next_cursor"].as_str() {
                    Some(next) => cursor = Some(next.to_owned()),
                    None => break,
                }
            }
            let unique: HashSet<_> = seen.iter().collect();
            assert_eq!(seen.len(), 300, "sort={sort} order={order} pages every span once");
            assert_eq!(unique.len(), 300);
        }
    }
    let (_, by_time) = ember.get_json("/v1/projects/paging/spans?sort=start_time&order=asc&limit=1000").await;
    let starts: Vec<&str> =
        by_time["data"].as_array().expect("data").iter().map(|s| s["start_time"].as_str().expect("t")).collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "start_time ascending");

    let (_, llm) = ember.get_json("/v1/projects/paging/spans?span_kind=LLM&span_kind=TOOL&limit=1000").await;
    assert_eq!(llm["data"].as_array().map(Vec::len), Some(150));
    let (_, roots) = ember.get_json("/v1/projects/paging/spans?parent_id=null&limit=1000").await;
    assert_eq!(roots["data"].as_array().map(Vec::len), Some(75));
    // Values compare with their JSON type on both databases: 350 matches, "350" does not.
    let (_, number) = ember.get_json("/v1/projects/paging/spans?attribute=llm.token_count.prompt:350").await;
    assert_eq!(number["data"].as_array().map(Vec::len), Some(1), "{number}");
    let (_, text) = ember.get_json("/v1/projects/paging/spans?attribute=llm.token_count.prompt:%22350%22").await;
    assert_eq!(text["data"].as_array().map(Vec::len), Some(0), "{text}");
    let (_, gold) = ember.get_json("/v1/projects/paging/spans?attribute=metadata.tier:gold&limit=1000").await;
    assert_eq!(gold["data"].as_array().map(Vec::len), Some(75));
    let (_, ok) = ember.get_json("/v1/projects/paging/spans?status_code=OK&limit=1").await;
    assert_eq!(ok["data"].as_array().map(Vec::len), Some(1));
    let (_, future) = ember.get_json("/v1/projects/paging/spans?start_time=2999-01-01T00:00:00Z").await;
    assert_eq!(future["data"].as_array().map(Vec::len), Some(0));

    let one = llm["data"][0].clone();
    let trace_id = one["context"]["trace_id"].as_str().expect("trace").to_owned();
    let (_, trace_spans) = ember.get_json(&format!("/v1/projects/paging/spans?trace_id={trace_id}")).await;
    assert_eq!(trace_spans["data"].as_array().map(Vec::len), Some(4));

    let (_, traces) = ember.get_json("/v1/projects/paging/traces?limit=10&sort=latency_ms").await;
    assert_eq!(traces["data"].as_array().map(Vec::len), Some(10));
    assert!(traces["next_cursor"].is_string());
    let (_, sessions) = ember.get_json("/v1/projects/paging/sessions?limit=2").await;
    assert_eq!(sessions["data"].as_array().map(Vec::len), Some(2));

    // Delete one span by its GlobalID, then its whole trace by OpenTelemetry id.
    let span_gid = one["id"].as_str().expect("gid");
    let status =
        ember.client.delete(ember.url(&format!("/v1/spans/{span_gid}"))).send().await.expect("delete").status();
    assert_eq!(status.as_u16(), 204);
    let (_, after) = ember.get_json(&format!("/v1/projects/paging/spans?trace_id={trace_id}")).await;
    assert_eq!(after["data"].as_array().map(Vec::len), Some(3));
    let status =
        ember.client.delete(ember.url(&format!("/v1/traces/{trace_id}"))).send().await.expect("delete").status();
    assert_eq!(status.as_u16(), 204);
    let (status, _) = ember.get_json(&format!("/v1/traces/{trace_id}")).await;
    assert_eq!(status, 404);
    let (_, gone) = ember.get_json(&format!("/v1/projects/paging/spans?trace_id={trace_id}")).await;
    assert_eq!(gone["data"].as_array().map(Vec::len), Some(0));
    assert_eq!(db.stored_span_ids().await.len(), 296);
    assert_eq!(sent.len(), 300);
    db.cleanup().await;
}

async fn duplicate_spans_are_ignored(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;
    let request = TraceGenerator::new().request(5, "dups");
    let body = prost::Message::encode_to_vec(&request);
    for _ in 0..3 {
        let (status, _, _) = crate::support::post_protobuf(&ember, body.clone(), &[]).await;
        assert_eq!(status, 200);
    }
    let grpc = crate::support::grpc_export(&ember, &request).await.expect("grpc export");
    assert!(grpc.partial_success.is_none());
    ember.wait_for_spans("dups", 20).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(db.stored_span_ids().await.len(), 20);
    let metrics = ember.client.get(ember.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    let duplicates =
        metrics.lines().find(|l| l.starts_with("ember_writer_spans_duplicate_total")).expect("duplicate counter");
    assert!(duplicates.ends_with(" 60"), "{duplicates}");
    db.cleanup().await;
}

on_both_backends!(projects_crud, span_paging_filters_and_deletes, duplicate_spans_are_ignored);
