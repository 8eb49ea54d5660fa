//! Prompts over the REST API, Phoenix's shapes: create, versions (immutable, paginated), latest,
//! tags (unique per prompt, moved when set again), patch, delete, and the 404/422 answers.

use serde_json::{json, Value};

use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;

async fn send(ember: &Ember, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
    let mut request = ember.client.request(method, ember.url(path));
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn post(ember: &Ember, path: &str, body: &Value) -> (u16, Value) {
    send(ember, reqwest::Method::POST, path, Some(body)).await
}

fn chat_version(question: &str) -> Value {
    json!({
        "description": "answers questions",
        "model_provider": "OPENAI",
        "model_name": "gpt-4o-mini",
        "template_type": "CHAT",
        "template_format": "MUSTACHE",
        "template": {"type": "chat", "messages": [
            {"role": "system", "content": "You answer in one word."},
            {"role": "user", "content": [{"type": "text", "text": question}]},
        ]},
        "invocation_parameters": {"type": "openai", "openai": {"temperature": 0.2, "max_completion_tokens": 16}},
        "tools": {"type": "tools", "tools": [{"type": "function", "function": {
            "name": "lookup", "description": "look a city up",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
            "tool_choice": {"type": "zero_or_more"}},
        "response_format": {"type": "json_schema", "json_schema": {"name": "answer",
            "schema": {"type": "object", "properties": {"answer": {"type": "string"}}}, "strict": true}},
    })
}

async fn prompts_versions_and_tags(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;

    // Create: the prompt and its first version; the version reads back exactly as sent.
    let v1_body = chat_version("Capital of {{ country }}?");
    let body = json!({"prompt": {"name": "capitals", "description": "geo", "metadata": {"team": "qa"}},
        "version": v1_body});
    let (status, created) = post(&ember, "/v1/prompts", &body).await;
    assert_eq!(status, 200, "{created}");
    let v1 = created["data"]["id"].as_str().unwrap().to_owned();
    for key in ["template", "invocation_parameters", "tools", "response_format", "model_name", "template_format"] {
        assert_eq!(created["data"][key], v1_body[key], "{key}");
    }
    let (status, got) = ember.get_json(&format!("/v1/prompt_versions/{v1}")).await;
    assert_eq!(status, 200);
    assert_eq!(got["data"], created["data"]);

    // The prompt is listed with a Prompt GlobalID; it resolves by name and by id.
    let (_, listed) = ember.get_json("/v1/prompts").await;
    let prompt = &listed["data"][0];
    assert_eq!((prompt["name"].as_str(), prompt["description"].as_str()), (Some("capitals"), Some("geo")));
    assert_eq!(prompt["metadata"], json!({"team": "qa"}));
    let prompt_id = prompt["id"].as_str().unwrap().to_owned();
    assert_eq!(ember.get_json(&format!("/v1/prompts/{prompt_id}/latest")).await.1["data"]["id"], v1);

    // Posting the same name again adds a version and leaves the prompt's description alone.
    let again = json!({"prompt": {"name": "capitals", "description": "ignored"},
        "version": chat_version("Capital city of {{ country }}?")});
    let (status, second) = post(&ember, "/v1/prompts", &again).await;
    assert_eq!(status, 200, "{second}");
    let v2 = second["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(ember.get_json("/v1/prompts/capitals/latest").await.1["data"]["id"], v2);
    assert_eq!(ember.get_json("/v1/prompts").await.1["data"][0]["description"], "geo");

    // A version with tags through /versions (201); STR templates are accepted when typed STR.
    let str_version = json!({"version": {"model_provider": "ANTHROPIC", "model_name": "claude-3-5-haiku",
        "template_type": "STR", "template_format": "F_STRING",
        "template": {"type": "string", "template": "Capital of {country}?"},
        "invocation_parameters": {"type": "anthropic", "anthropic": {"max_tokens": 256}}},
        "tags": [{"name": "production", "description": "live"}]});
    let (status, third) = post(&ember, "/v1/prompts/capitals/versions", &str_version).await;
    assert_eq!(status, 201, "{third}");
    let v3 = third["data"]["id"].as_str().unwrap().to_owned();
    assert!(third["data"].get("tools").is_none(), "absent tools are left out: {third}");
    assert_eq!(third["data"]["description"], "");

    // Versions newest first with a cursor.
    let (_, page) = ember.get_json("/v1/prompts/capitals/versions?limit=2").await;
    let ids: Vec<&str> = page["data"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [v3.as_str(), v2.as_str()]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = ember.get_json(&format!("/v1/prompts/capitals/versions?limit=2&cursor={cursor}")).await;
    assert_eq!(rest["data"][0]["id"], v1);
    assert!(rest["next_cursor"].is_null());

    // Tags: get by tag, then setting it on v1 moves it (one per prompt).
    assert_eq!(ember.get_json("/v1/prompts/capitals/tags/production").await.1["data"]["id"], v3);
    let (status, _) = post(&ember, &format!("/v1/prompt_versions/{v1}/tags"), &json!({"name": "production"})).await;
    assert_eq!(status, 204);
    assert_eq!(ember.get_json(&format!("/v1/prompts/{prompt_id}/tags/production")).await.1["data"]["id"], v1);
    let (_, v3_tags) = ember.get_json(&format!("/v1/prompt_versions/{v3}/tags")).await;
    assert_eq!(v3_tags["data"], json!([]));
    post(&ember, &format!("/v1/prompt_versions/{v1}/tags"), &json!({"name": "staging", "description": "s"})).await;
    let (_, v1_tags) = ember.get_json(&format!("/v1/prompt_versions/{v1}/tags?limit=1")).await;
    assert_eq!(v1_tags["data"][0]["name"], "staging");
    assert_eq!(v1_tags["data"][0]["description"], "s");
    let cursor = v1_tags["next_cursor"].as_str().unwrap();
    let (_, more) = ember.get_json(&format!("/v1/prompt_versions/{v1}/tags?limit=1&cursor={cursor}")).await;
    assert_eq!(more["data"][0]["name"], "production");
    assert!(more["data"][0]["description"].is_null(), "re-setting a tag replaces its description");

    // Deleting a tag through any version of the prompt; a second delete is a 404.
    let path = format!("/v1/prompt_versions/{v2}/tags/staging");
    assert_eq!(send(&ember, reqwest::Method::DELETE, &path, None).await.0, 204);
    assert_eq!(send(&ember, reqwest::Method::DELETE, &path, None).await.0, 404);
    assert_eq!(ember.get_json("/v1/prompts/capitals/tags/staging").await.0, 404);

    // Patch: description cleared, metadata replaced.
    let patch = json!({"description": null, "metadata": {"owner": "ops"}});
    let (status, patched) = send(&ember, reqwest::Method::PATCH, "/v1/prompts/capitals", Some(&patch)).await;
    assert_eq!(status, 200, "{patched}");
    assert!(patched["data"]["description"].is_null());
    assert_eq!(patched["data"]["metadata"], json!({"owner": "ops"}));

    // Delete takes the versions and tags with it.
    assert_eq!(send(&ember, reqwest::Method::DELETE, "/v1/prompts/capitals", None).await.0, 204);
    assert_eq!(ember.get_json(&format!("/v1/prompt_versions/{v1}")).await.0, 404);
    assert_eq!(ember.get_json("/v1/prompts/capitals/latest").await.0, 404);
    assert_eq!(ember.get_json("/v1/prompts").await.1["data"], json!([]));
    db.cleanup().await;
}

async fn prompts_refuse_bad_input(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start(&db).await;
    let create = |name: &str, version: Value| json!({"prompt": {"name": name}, "version": version});

    let refusals = [
        ("bad name", create("Has Spaces", chat_version("q"))),
        ("trailing dash", create("bad-", chat_version("q"))),
        ("type mismatch", {
            let mut v = chat_version("q");
            v["template_type"] = json!("STR");
            create("ok", v)
        }),
        ("provider", {
            let mut v = chat_version("q");
            v["model_provider"] = json!("openai");
            create("ok", v)
        }),
        ("format", {
            let mut v = chat_version("q");
            v["template_format"] = json!("JINJA");
            create("ok", v)
        }),
        ("empty parts", {
            let mut v = chat_version("q");
            v["template"]["messages"][1]["content"] = json!([]);
            create("ok", v)
        }),
        ("parameter type", {
            let mut v = chat_version("q");
            v["invocation_parameters"]["openai"]["temperature"] = json!("hot");
            create("ok", v)
        }),
        ("anthropic max_tokens", {
            let mut v = chat_version("q");
            v["invocation_parameters"] = json!({"type": "anthropic", "anthropic": {}});
            create("ok", v)
        }),
        ("no version", json!({"prompt": {"name": "ok"}})),
    ];
    for (what, body) in refusals {
        let (status, answer) = post(&ember, "/v1/prompts", &body).await;
        assert_eq!(status, 422, "{what}: {answer}");
        assert!(!answer["error"]["message"].as_str().unwrap_or_default().is_empty(), "{what}: {answer}");
    }
    assert_eq!(ember.get_json("/v1/prompts").await.1["data"], json!([]), "nothing was written");

    let (status, created) = post(&ember, "/v1/prompts", &create("ok", chat_version("q"))).await;
    assert_eq!(status, 200, "{created}");
    let version = created["data"]["id"].as_str().unwrap().to_owned();

    // Unknown things are 404; malformed identifiers are 422.
    for path in ["/v1/prompts/missing/latest", "/v1/prompts/missing/versions", "/v1/prompts/ok/tags/nope"] {
        assert_eq!(ember.get_json(path).await.0, 404, "{path}");
    }
    let unknown_version = "UHJvbXB0VmVyc2lvbjo5OTk="; // PromptVersion:999
    assert_eq!(ember.get_json(&format!("/v1/prompt_versions/{unknown_version}")).await.0, 404);
    assert_eq!(ember.get_json(&format!("/v1/prompt_versions/{unknown_version}/tags")).await.0, 404);
    for path in ["/v1/prompt_versions/not-an-id", "/v1/prompts/Bad%20Name/latest", "/v1/prompts/ok/tags/Bad%20Tag"] {
        assert_eq!(ember.get_json(path).await.0, 422, "{path}");
    }
    let (status, _) = post(&ember, &format!("/v1/prompt_versions/{version}/tags"), &json!({"name": "UPPER"})).await;
    assert_eq!(status, 422);
    let (status, _) = post(&ember, &format!("/v1/prompt_versions/{unknown_version}/tags"), &json!({"name": "x"})).await;
    assert_eq!(status, 404);
    let (status, _) = post(&ember, "/v1/prompts/missing/versions", &json!({"version": chat_version("q")})).await;
    assert_eq!(status, 404);
    let (status, _) = send(&ember, reqwest::Method::PATCH, "/v1/prompts/ok", Some(&json!({"metadata": 3}))).await;
    assert_eq!(status, 422);
    assert_eq!(send(&ember, reqwest::Method::DELETE, "/v1/prompts/missing", None).await.0, 404);
    assert_eq!(ember.get_json("/v1/prompts?cursor=garbage").await.0, 422);
    db.cleanup().await;
}

on_both_backends!(prompts_versions_and_tags, prompts_refuse_bad_input);
