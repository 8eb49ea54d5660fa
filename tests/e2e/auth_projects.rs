//! Per-project roles: once a project has members, everyone else (but admins) finds none of its
//! spans, traces, sessions, annotations, datasets built from its spans or experiments on them,
//! through REST, GraphQL and the live subscription; and a project role narrows what a member
//! may do there.

use std::time::Duration;

use ember_workload::TraceGenerator;
use futures::{SinkExt, StreamExt};
use prost::Message as _;
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::auth::{admin_key, call, create_key, login, start_with_auth, USER_PASSWORD};
use crate::auth_clients::wait_for_spans;
use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;
use crate::support::post_protobuf;

/// Creates a user with global `role`; returns their id and a `write`-scoped key of theirs.
async fn user(ember: &Ember, admin: &str, username: &str, role: &str) -> (String, String) {
    let user = json!({ "user": {
        "username": username, "email": format!("{username}@example.com"), "role": role,
        "auth_method": "LOCAL", "password": USER_PASSWORD,
    }});
    let (status, body) = call(ember, Method::POST, "/v1/users", Some(admin), Some(user)).await;
    assert_eq!(status, 201, "create {username}: {body}");
    let id = body["data"]["id"].as_str().expect("user id").to_owned();
    let session = login(ember, username, USER_PASSWORD).await;
    (id, create_key(ember, &session.access, "/v1/user/api_keys", "write").await)
}

/// Sends 3 traces (with sessions) to `project` with `key`; returns the span ids.
async fn ingest(ember: &Ember, key: &str, run_id: u32, project: &str) -> Vec<String> {
    let request = TraceGenerator::with_run_id(run_id).request(3, project);
    let ids = ember_workload::span_ids(&request);
    let auth = format!("Bearer {key}");
    let (status, _, _) = post_protobuf(ember, request.encode_to_vec(), &[("authorization", &auth)]).await;
    assert_eq!(status, 200, "ingest into {project}");
    wait_for_spans(ember, key, project, ids.len()).await;
    ids
}

async fn set_member(ember: &Ember, admin: &str, project: &str, user_id: &str, role: &str) {
    let path = format!("/v1/projects/{project}/members/{user_id}");
    let (status, body) = call(ember, Method::PUT, &path, Some(admin), Some(json!({ "role": role }))).await;
    assert_eq!(status, 200, "{body}");
}

async fn gql(ember: &Ember, key: &str, query: &str) -> Value {
    let (status, body) = call(ember, Method::POST, "/graphql", Some(key), Some(json!({ "query": query }))).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn names(listing: &Value) -> Vec<String> {
    listing.as_array().expect("a list").iter().filter_map(|p| p["name"].as_str().map(str::to_owned)).collect()
}

/// What one caller sees of a project's data, by REST and GraphQL.
struct Probe<'a> {
    project: &'a str,
    span: &'a str,
    trace: &'a str,
    session: &'a str,
    dataset: &'a str,
    experiment: &'a str,
}

/// Asserts that `key` finds nothing of the probe's project anywhere, and can write nothing there:
/// its writes answer `refused` (404 for a member elsewhere, 403 for a viewer, who writes nowhere).
async fn sees_none_of(ember: &Ember, key: &str, p: &Probe<'_>, refused: u16) {
    let (_, projects) = call(ember, Method::GET, "/v1/projects", Some(key), None).await;
    assert!(!names(&projects["data"]).contains(&p.project.to_owned()), "{projects}");
    for path in [
        format!("/v1/projects/{}", p.project),
        format!("/v1/projects/{}/spans", p.project),
        format!("/v1/projects/{}/traces", p.project),
        format!("/v1/projects/{}/sessions", p.project),
        format!("/v1/projects/{}/span_annotations?span_ids={}", p.project, p.span),
        format!("/v1/traces/{}", p.trace),
        format!("/v1/sessions/{}", p.session),
        format!("/v1/datasets/{}", p.dataset),
        format!("/v1/datasets/{}/examples", p.dataset),
        format!("/v1/datasets/{}/experiments", p.dataset),
        format!("/v1/experiments/{}", p.experiment),
        format!("/v1/experiments/{}/runs", p.experiment),
        format!("/v1/compare?experiment_id={}", p.experiment),
    ] {
        let (status, body) = call(ember, Method::GET, &path, Some(key), None).await;
        assert_eq!(status, 404, "GET {path} must not find another project's data: {body}");
    }
    let (_, datasets) = call(ember, Method::GET, "/v1/datasets", Some(key), None).await;
    assert!(datasets["data"].as_array().unwrap().iter().all(|d| d["id"] != p.dataset), "{datasets}");
    let query = json!({ "queries": [{}] });
    let path = format!("/v1/spans?project_name={}", p.project);
    let (status, body) = call(ember, Method::POST, &path, Some(key), Some(query)).await;
    assert!(status == 200 || status == 404, "{status} {body}");
    assert!(!body.to_string().contains(p.span), "the span query leaked a span: {body}");

    let annotation = json!({ "data": [{ "span_id": p.span, "name": "leak", "annotator_kind": "HUMAN",
        "result": { "label": "x" } }] });
    let (status, _) = call(ember, Method::POST, "/v1/span_annotations", Some(key), Some(annotation)).await;
    assert_eq!(status, refused, "annotating a hidden span");
    let from_spans = json!({ "name": "stolen", "span_ids": [p.span] });
    let (status, _) = call(ember, Method::POST, "/v1/datasets/from_spans", Some(key), Some(from_spans)).await;
    assert_eq!(status, refused, "a dataset from hidden spans");
    let (status, _) = call(ember, Method::DELETE, &format!("/v1/spans/{}", p.span), Some(key), None).await;
    assert_eq!(status, refused, "deleting a hidden span");

    let body = gql(ember, key, "{ projects { name } datasets { id } }").await;
    assert!(!names(&body["data"]["projects"]).contains(&p.project.to_owned()), "{body}");
    assert!(!body.to_string().contains(p.dataset), "{body}");
    let one = format!(
        r#"{{ project(id: "{}") {{ name }} trace(traceId: "{}") {{ traceId }} span(spanId: "{}") {{ name }}
            session(sessionId: "{}") {{ sessionId }} dataset(id: "{}") {{ name }} experiment(id: "{}") {{ name }} }}"#,
        p.project, p.trace, p.span, p.session, p.dataset, p.experiment
    );
    let body = gql(ember, key, &one).await;
    for field in ["project", "trace", "span", "session", "dataset", "experiment"] {
        assert_eq!(body["data"][field], Value::Null, "GraphQL {field} must be null: {body}");
    }
    let mutation =
        format!(r#"mutation {{ addSpanAnnotation(spanId: "{}", name: "leak", label: "x") {{ name }} }}"#, p.span);
    let body = gql(ember, key, &mutation).await;
    assert!(body["errors"].is_array(), "annotating a hidden span through GraphQL: {body}");
}

/// Opens `/graphql/ws` as `key` and subscribes to `project`'s notices.
async fn subscribe(
    ember: &Ember,
    key: &str,
    project: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let url = ember.url("/graphql/ws").replacen("http", "ws", 1);
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("authorization", format!("Bearer {key}").parse().unwrap());
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("websocket");
    socket.send(Message::text(json!({ "type": "connection_init", "payload": {} }).to_string())).await.unwrap();
    let query = format!(r#"subscription {{ spansStored(project: "{project}") {{ project count }} }}"#);
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": query } });
    socket.send(Message::text(subscribe.to_string())).await.unwrap();
    socket
}

/// The next message after the connection's acknowledgement, within 10 s.
async fn next_message(
    socket: &mut tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next()).await.expect("a message in time");
        let Some(Ok(Message::Text(text))) = message else { continue };
        let value: Value = serde_json::from_str(&text).unwrap();
        if value["type"] != "connection_ack" && value["type"] != "ping" {
            return value;
        }
    }
}

async fn project_members_isolate_projects(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = start_with_auth(&db, &[]).await;
    let admin = admin_key(&ember).await;
    let (alice_id, alice) = user(&ember, &admin, "alice", "MEMBER").await;
    let (bob_id, bob) = user(&ember, &admin, "bob", "MEMBER").await;
    let (_, vic) = user(&ember, &admin, "vic", "VIEWER").await;

    let alpha_spans = ingest(&ember, &admin, 1, "alpha").await;
    let beta_spans = ingest(&ember, &admin, 2, "beta").await;
    let gamma_spans = ingest(&ember, &admin, 3, "gamma").await;
    ingest(&ember, &admin, 4, "open").await;
    set_member(&ember, &admin, "alpha", &alice_id, "MEMBER").await;
    set_member(&ember, &admin, "beta", &bob_id, "MEMBER").await;
    set_member(&ember, &admin, "gamma", &alice_id, "VIEWER").await;
    set_member(&ember, &admin, "gamma", &bob_id, "MEMBER").await;
    let (status, members) = call(&ember, Method::GET, "/v1/projects/gamma/members", Some(&admin), None).await;
    assert_eq!(status, 200);
    assert_eq!(members["data"].as_array().unwrap().len(), 2, "{members}");
    let (status, _) = call(&ember, Method::GET, "/v1/projects/gamma/members", Some(&bob), None).await;
    assert_eq!(status, 403, "only admins manage members");

    // Bob, a member of beta, builds beta's data: an annotation, a dataset, an experiment.
    let span = beta_spans[0].as_str();
    let annotation = json!({ "data": [{ "span_id": span, "name": "quality", "annotator_kind": "HUMAN",
        "result": { "label": "good" } }] });
    let (status, body) = call(&ember, Method::POST, "/v1/span_annotations", Some(&bob), Some(annotation)).await;
    assert_eq!(status, 200, "{body}");
    let from_spans = json!({ "name": "beta-picks", "span_ids": [span], "project": "beta" });
    let (status, body) = call(&ember, Method::POST, "/v1/datasets/from_spans", Some(&bob), Some(from_spans)).await;
    assert_eq!(status, 200, "{body}");
    let dataset = body["data"]["dataset_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/datasets/{dataset}/experiments");
    let (status, body) = call(&ember, Method::POST, &path, Some(&bob), Some(json!({ "name": "exp" }))).await;
    assert_eq!(status, 200, "{body}");
    let experiment = body["data"]["id"].as_str().unwrap().to_owned();
    let experiment_project = body["data"]["project_name"].as_str().unwrap().to_owned();
    let (_, spans) = call(&ember, Method::GET, "/v1/projects/beta/spans?limit=1", Some(&bob), None).await;
    let trace = spans["data"][0]["context"]["trace_id"].as_str().unwrap().to_owned();
    let (_, sessions) = call(&ember, Method::GET, "/v1/projects/beta/sessions", Some(&bob), None).await;
    let session = sessions["data"][0]["session_id"].as_str().expect("a session").to_owned();
    let beta =
        Probe { project: "beta", span, trace: &trace, session: &session, dataset: &dataset, experiment: &experiment };

    // Bob and the admin see it all (so the refusals below are not an empty server's).
    for key in [&bob, &admin] {
        for path in [
            format!("/v1/traces/{trace}"),
            format!("/v1/sessions/{session}"),
            format!("/v1/datasets/{dataset}/examples"),
            format!("/v1/experiments/{experiment}"),
            format!("/v1/projects/beta/span_annotations?span_ids={span}"),
        ] {
            let (status, body) = call(&ember, Method::GET, &path, Some(key), None).await;
            assert_eq!(status, 200, "GET {path}: {body}");
        }
        let body = gql(&ember, key, &format!(r#"{{ span(spanId: "{span}") {{ name }} }}"#)).await;
        assert!(body["data"]["span"]["name"].is_string(), "{body}");
    }

    // Alice (member of alpha, viewer of gamma) and Vic (a viewer in no project) find none of it.
    sees_none_of(&ember, &alice, &beta, 404).await;
    sees_none_of(&ember, &vic, &beta, 403).await;
    let path = format!("/v1/projects/{experiment_project}");
    let (status, _) = call(&ember, Method::GET, &path, Some(&alice), None).await;
    assert_eq!(status, 404, "the project of an experiment on beta's spans is beta's");
    let (status, _) = call(&ember, Method::GET, &path, Some(&bob), None).await;
    assert_eq!(status, 200);
    let (_, listed) = call(&ember, Method::GET, "/v1/projects", Some(&alice), None).await;
    let mut visible = names(&listed["data"]);
    visible.sort();
    assert_eq!(visible, ["alpha", "gamma", "open"], "{listed}");
    let (_, listed) = call(&ember, Method::GET, "/v1/projects", Some(&vic), None).await;
    assert_eq!(names(&listed["data"]), ["open"], "a project without members stays open to all");
    let (_, annotations) =
        call(&ember, Method::GET, &format!("/v1/projects/beta/span_annotations?span_ids={span}"), Some(&bob), None)
            .await;
    assert_eq!(annotations["data"].as_array().unwrap().len(), 1, "the leak attempts wrote nothing: {annotations}");

    // A project role narrows: Alice may annotate alpha's spans but only read gamma's.
    let annotate = |span: &str| json!({ "data": [{ "span_id": span, "name": "ok", "annotator_kind": "HUMAN", "result": { "label": "y" } }] });
    let (status, body) =
        call(&ember, Method::POST, "/v1/span_annotations", Some(&alice), Some(annotate(&alpha_spans[0]))).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = call(&ember, Method::GET, "/v1/projects/gamma/spans", Some(&alice), None).await;
    assert_eq!(status, 200, "a viewer of gamma reads it");
    let (status, body) =
        call(&ember, Method::POST, "/v1/span_annotations", Some(&alice), Some(annotate(&gamma_spans[0]))).await;
    assert_eq!(status, 403, "a viewer of gamma may not annotate it: {body}");
    let (status, _) = call(&ember, Method::DELETE, &format!("/v1/spans/{}", gamma_spans[0]), Some(&alice), None).await;
    assert_eq!(status, 403);

    // The live subscription: Alice is refused beta's notices but gets alpha's; Bob gets beta's.
    let mut refused = subscribe(&ember, &alice, "beta").await;
    let message = next_message(&mut refused).await;
    let refusal = message["payload"]["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(refusal.contains("not found") && message["payload"]["data"].is_null(), "{message}");
    let mut alpha_feed = subscribe(&ember, &alice, "alpha").await;
    let mut beta_feed = subscribe(&ember, &bob, "beta").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    ingest(&ember, &admin, 5, "alpha").await;
    ingest(&ember, &admin, 6, "beta").await;
    let notice = next_message(&mut alpha_feed).await;
    assert_eq!(notice["payload"]["data"]["spansStored"]["project"], "alpha", "{notice}");
    let notice = next_message(&mut beta_feed).await;
    assert_eq!(notice["payload"]["data"]["spansStored"]["project"], "beta", "{notice}");

    // Removing beta's last member opens it to every user again, on this server at once.
    let (status, _) =
        call(&ember, Method::DELETE, &format!("/v1/projects/beta/members/{bob_id}"), Some(&admin), None).await;
    assert_eq!(status, 204);
    let (status, _) = call(&ember, Method::GET, &format!("/v1/traces/{trace}"), Some(&alice), None).await;
    assert_eq!(status, 200, "beta is open again");
    let (_, audit) = call(&ember, Method::GET, "/v1/audit", Some(&admin), None).await;
    let actions: Vec<&str> = audit["data"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"project.member.set") && actions.contains(&"project.member.remove"), "{actions:?}");
}

on_both_backends!(project_members_isolate_projects);
