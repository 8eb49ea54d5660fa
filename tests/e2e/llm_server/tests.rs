//! The fake server itself, hit with a real client.

use super::*;

async fn post(server: &LlmServer, path: &str, body: Value) -> (u16, HeaderMap, Value) {
    let response =
        reqwest::Client::new().post(format!("{}{path}", server.base_url())).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap_or(Value::Null))
}

fn openai(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": text}]})
}

#[tokio::test]
async fn speaks_openai() {
    let server = LlmServer::start().await;
    let (status, _, body) = post(&server, "/v1/chat/completions", openai("echo", "hello there")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["choices"][0]["message"]["content"], "hello there");
    assert_eq!(body["usage"], json!({"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}));

    let mut request = openai("tool", "weather Paris");
    request["tools"] = json!([{"type": "function", "function": {"name": "search", "parameters": {}}}]);
    let (_, _, body) = post(&server, "/v1/chat/completions", request).await;
    let call = &body["choices"][0]["message"]["tool_calls"][0]["function"];
    assert_eq!(call["name"], "search");
    assert_eq!(
        serde_json::from_str::<Value>(call["arguments"].as_str().unwrap()).unwrap(),
        json!({"q": "weather Paris"})
    );
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");

    let (status, headers, _) = post(&server, "/v1/chat/completions", openai("rate-limit-once", "a")).await;
    assert_eq!((status, headers["retry-after"].to_str().unwrap()), (429, "0"));
    let (status, _, _) = post(&server, "/v1/chat/completions", openai("rate-limit-once", "a")).await;
    assert_eq!(status, 200);
    assert_eq!(post(&server, "/v1/chat/completions", openai("rate-limit-once", "b")).await.0, 429);
    let (status, _, body) = post(&server, "/v1/chat/completions", openai("always-500", "a")).await;
    assert_eq!((status, body["error"]["message"].as_str().unwrap()), (500, OPENAI_500_MESSAGE));
    assert_eq!(post(&server, "/v1/chat/completions", openai("echo", "x FORCE_500")).await.0, 500);
    assert_eq!(post(&server, "/v1/chat/completions", openai("nope", "a")).await.0, 404);
    let (_, _, body) = post(&server, "/v1/chat/completions", openai("huge", "a")).await;
    assert_eq!(body["choices"][0]["message"]["content"].as_str().unwrap().len(), HUGE_REPLY_BYTES);

    let listed: Value = reqwest::get(format!("{}/v1/models", server.base_url())).await.unwrap().json().await.unwrap();
    assert_eq!(listed["data"][0]["id"], "echo");
    assert_eq!(server.count("rate-limit-once"), 3);
    assert_eq!(server.requests().len(), 10);
}

#[tokio::test]
async fn speaks_anthropic_and_echoes_headers() {
    let server = LlmServer::start().await;
    let request = json!({"model": "tool", "max_tokens": 10, "system": "sys words",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "find cats"}]}],
        "tools": [{"name": "search", "input_schema": {"type": "object"}}]});
    let (status, _, body) = post(&server, "/v1/messages", request).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["content"][0],
        json!({"type": "tool_use", "id": "toolu_fake_1", "name": "search", "input": {"q": "find cats"}})
    );
    assert_eq!(body["stop_reason"], "tool_use");
    assert_eq!(body["usage"]["input_tokens"], 4);
    let request = json!({"model": "always-500", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]});
    let (status, _, body) = post(&server, "/v1/messages", request).await;
    assert_eq!((status, body["error"]["message"].as_str().unwrap()), (500, ANTHROPIC_500_MESSAGE));

    let response = reqwest::Client::new()
        .get(format!("{}/echo", server.base_url()))
        .header("authorization", "Bearer s3cr3t")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-echo-authorization"], "Bearer s3cr3t");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["headers"]["authorization"], "Bearer s3cr3t");
    assert_eq!(server.requests().last().unwrap().header("Authorization"), Some("Bearer s3cr3t"));
}

#[test]
fn judge_follows_the_marker_and_the_rails() {
    let qa = "Is the answer correct or incorrect? [Answer]: Paris [Reference]: Paris";
    assert_eq!(judge_reply(qa), "LABEL: correct\nEXPLANATION: fake judge says no bad marker is present");
    assert!(judge_reply(&format!("{qa} WRONG")).starts_with("LABEL: incorrect\n"));
    assert_eq!(judge_rails("answer \"factual\" or \"hallucinated\"; incorrect facts"), ("factual", "hallucinated"));
    assert_eq!(judge_rails("\"relevant\" or \"unrelated\""), ("relevant", "unrelated"));
    assert_eq!(judge_rails("\"toxic\" or \"non-toxic\""), ("non-toxic", "toxic"));
    assert_eq!(judge_rails("\"faithful\" or \"unfaithful\", not hallucinated"), ("faithful", "unfaithful"));
}
