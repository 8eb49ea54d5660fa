//! `ember-providerbench`: what the provider path costs. It starts a loopback server that answers
//! OpenAI chat completions at once, and `ember serve` with the first-party `openai` plugin granted
//! to it, then measures:
//!
//! 1. chat completions sent straight to the loopback server (the baseline);
//! 2. the same through `POST /v1/playground/chat` (sandboxed plugin, host HTTP client, secret
//!    header, retries gate, span recorded), so the difference is Ember's overhead per call;
//! 3. a prompt task over a dataset, from `POST …/prompt_task` until every run is stored.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use axum::routing::post;
use axum::{Json, Router};
use clap::Parser;
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};

#[path = "support/spawn.rs"]
#[allow(dead_code)] // shared with the other load tools; this one does not sample memory
mod spawn;
use spawn::spawn_server;

#[derive(Debug, Parser)]
#[command(name = "ember-providerbench", about = "Provider-path benchmark for Ember")]
struct Args {
    /// Chat completions per measurement.
    #[arg(long, default_value_t = 2_000)]
    calls: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Examples in the prompt task's dataset.
    #[arg(long, default_value_t = 2_000)]
    examples: usize,
    /// `database_url` for the started server (default: SQLite in a temporary directory).
    #[arg(long)]
    database_url: Option<String>,
}

/// A chat completion answered at once, echoing the last message.
async fn complete(Json(body): Json<Value>) -> Json<Value> {
    let last = body["messages"].as_array().and_then(|m| m.last()).and_then(|m| m["content"].as_str()).unwrap_or("");
    Json(json!({
        "id": "chatcmpl-bench", "object": "chat.completion", "model": body["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": format!("echo: {last}")}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16},
    }))
}

async fn call(request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let response = request.send().await?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("HTTP {status}: {text}");
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Sends `calls` requests made by `make`, `concurrency` at once; returns the sorted latencies
/// and the wall time.
async fn measure(
    calls: usize,
    concurrency: usize,
    make: impl Fn(usize) -> reqwest::RequestBuilder,
) -> anyhow::Result<(Vec<Duration>, Duration)> {
    let started = Instant::now();
    let results: Vec<anyhow::Result<Duration>> = stream::iter(0..calls)
        .map(|i| {
            let request = make(i);
            async move {
                let sent = Instant::now();
                call(request).await?;
                Ok(sent.elapsed())
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut latencies = results.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    latencies.sort();
    Ok((latencies, started.elapsed()))
}

fn report(what: &str, latencies: &[Duration], wall: Duration) -> Duration {
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let rate = latencies.len() as f64 / wall.as_secs_f64();
    println!(
        "{what:<28} {:>7} calls  {rate:>8.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
        latencies.len(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3
    );
    at(0.5)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let fake = format!("http://{}", listener.local_addr()?);
    tokio::spawn(
        async move { axum::serve(listener, Router::new().route("/v1/chat/completions", post(complete))).await },
    );

    let env = vec![
        "EMBER_PLUGIN_DIR=plugins/dist".to_owned(),
        "EMBER_PLUGIN_CACHE_DIR=target/ember-test-cache".to_owned(),
        "EMBER_SECRET=providerbench-secret-passphrase".to_owned(),
        "EMBER_PROVIDER_CONCURRENCY=64".to_owned(),
    ];
    let spawned = spawn_server("ember-providerbench", None, args.database_url.as_deref(), &env).await?;
    let url = spawned.url.clone();
    let client = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency * 2).build()?;
    call(
        client
            .put(format!("{url}/v1/secrets"))
            .json(&json!({"secrets": [{"key": "OPENAI_API_KEY", "value": "sk-bench"}]})),
    )
    .await?;
    call(client.patch(format!("{url}/v1/plugins/openai")).json(&json!({
        "config": {"base_url": format!("{fake}/v1")},
        "grants": {"hosts": ["127.0.0.1"], "private_addresses": true, "secrets": ["OPENAI_API_KEY"]},
    })))
    .await?;

    let body = |i: usize| json!({"model": "bench", "messages": [{"role": "user", "content": format!("question {i}")}]});
    let (latencies, wall) =
        measure(args.calls, args.concurrency, |i| client.post(format!("{fake}/v1/chat/completions")).json(&body(i)))
            .await?;
    let direct = report("direct to the loopback LLM", &latencies, wall);
    let (latencies, wall) = measure(args.calls, args.concurrency, |i| {
        let mut request = body(i);
        request["provider"] = json!("openai");
        client.post(format!("{url}/v1/playground/chat")).json(&request)
    })
    .await?;
    let playground = report("through /v1/playground/chat", &latencies, wall);
    println!("overhead per call (p50): {:.2} ms", (playground.saturating_sub(direct)).as_secs_f64() * 1e3);

    // A prompt task over a dataset.
    call(client.post(format!("{url}/v1/prompts")).json(&json!({
        "prompt": {"name": "bench"},
        "version": {"model_provider": "OPENAI", "model_name": "bench", "template_type": "CHAT", "template_format": "MUSTACHE",
            "template": {"type": "chat", "messages": [{"role": "user", "content": "Answer: {{question}}"}]},
            "invocation_parameters": {"type": "openai", "openai": {"temperature": 0.0}}},
    })))
    .await?;
    let n = args.examples;
    let inputs: Vec<Value> = (0..n).map(|i| json!({"question": format!("question {i}")})).collect();
    let upload = call(client.post(format!("{url}/v1/datasets/upload?sync=true")).json(&json!({
        "action": "create", "name": "providerbench", "inputs": inputs,
        "outputs": vec![json!({}); n], "metadata": vec![json!({}); n],
    })))
    .await?;
    let dataset = upload["data"]["dataset_id"].as_str().context("no dataset id")?.to_owned();
    let experiment =
        call(client.post(format!("{url}/v1/datasets/{dataset}/experiments")).json(&json!({"name": "providerbench"})))
            .await?;
    let experiment = experiment["data"]["id"].as_str().context("no experiment id")?.to_owned();
    let started = Instant::now();
    call(client.post(format!("{url}/v1/experiments/{experiment}/prompt_task")).json(&json!({
        "prompt": "bench", "concurrency": args.concurrency,
    })))
    .await?;
    let status = Arc::new(format!("{url}/v1/experiments/{experiment}/prompt_task"));
    loop {
        let state = call(client.get(status.as_str())).await?;
        if state["data"]["state"] == "done" {
            if state["data"]["done"] != json!(n) {
                bail!("prompt task finished with {}", state["data"]);
            }
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("prompt task not finished within 10 minutes: {}", state["data"]);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    println!(
        "prompt task: {n} examples in {:.2} s = {:.0} runs/s (concurrency {})",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        args.concurrency
    );
    Ok(())
}
