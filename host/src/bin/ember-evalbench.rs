//! `ember-evalbench`: measures server-side evaluation end to end. It uploads a dataset, posts a
//! run per example as a client would, attaches evaluator plugins, and times the server from
//! attaching until every evaluation is stored.
//!
//! By default it starts its own `ember serve` (the binary beside this one) with the first-party
//! plugins of `plugins/dist` on a fresh SQLite database; `--url` targets a running server.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use serde_json::{json, Value};

#[path = "support/spawn.rs"]
mod spawn;
use spawn::{rss_kib, spawn_server};

#[derive(Debug, Parser)]
#[command(name = "ember-evalbench", about = "Server-side evaluation benchmark for Ember")]
struct Args {
    /// Base URL of a running server; without it a server is started for the run.
    #[arg(long)]
    url: Option<String>,
    /// Examples in the dataset (one run each).
    #[arg(long, default_value_t = 10_000)]
    examples: usize,
    /// Evaluators attached (`plugin[=json config]`), each run is scored by every one.
    #[arg(long = "evaluator", default_values_t = [
        "exact_match".to_owned(),
        "levenshtein_distance".to_owned(),
        r#"contains={"keywords":["answer"]}"#.to_owned(),
    ])]
    evaluators: Vec<String>,
    /// Runs posted at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// `database_url` for the started server (default: SQLite in a temporary directory).
    #[arg(long)]
    database_url: Option<String>,
    /// Extra `KEY=VALUE` environment for the started server.
    #[arg(long = "server-env")]
    server_env: Vec<String>,
}

async fn call(client: &reqwest::Client, request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let _ = client;
    let response = request.send().await?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("HTTP {status}: {text}");
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut env =
        vec!["EMBER_PLUGIN_DIR=plugins/dist".to_owned(), "EMBER_PLUGIN_CACHE_DIR=target/ember-test-cache".to_owned()];
    env.extend(args.server_env.iter().cloned());
    let mut spawned = match &args.url {
        Some(_) => None,
        None => Some(spawn_server("ember-evalbench", None, args.database_url.as_deref(), &env).await?),
    };
    let url = args.url.clone().or_else(|| spawned.as_ref().map(|s| s.url.clone())).context("no url")?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency).build()?;
    let n = args.examples;

    // The dataset: half the runs will match their expected answer exactly.
    let inputs: Vec<Value> =
        (0..n).map(|i| json!({"question": format!("question {i}: what is the answer?")})).collect();
    let outputs: Vec<Value> = (0..n).map(|i| json!({"answer": format!("the answer is {i}")})).collect();
    let started = Instant::now();
    let upload = call(
        &client,
        client.post(format!("{url}/v1/datasets/upload?sync=true")).json(&json!({
            "action": "create", "name": format!("evalbench-{}", std::process::id()),
            "inputs": inputs, "outputs": outputs, "metadata": vec![json!({}); n],
        })),
    )
    .await?;
    let dataset = upload["data"]["dataset_id"].as_str().context("no dataset id")?.to_owned();
    let uploaded = started.elapsed();
    let experiment = call(
        &client,
        client.post(format!("{url}/v1/datasets/{dataset}/experiments")).json(&json!({"name": "evalbench"})),
    )
    .await?;
    let experiment = experiment["data"]["id"].as_str().context("no experiment id")?.to_owned();
    let examples = call(&client, client.get(format!("{url}/v1/datasets/{dataset}/examples"))).await?;
    let examples: Arc<Vec<Value>> = Arc::new(examples["data"]["examples"].as_array().context("no examples")?.clone());
    if examples.len() != n {
        bail!("uploaded {n} examples, the server lists {}", examples.len());
    }

    // Runs, posted as Phoenix's client posts them.
    let posting = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut posters = Vec::new();
    for _ in 0..args.concurrency {
        let (client, url, experiment, examples, next) =
            (client.clone(), url.clone(), experiment.clone(), examples.clone(), next.clone());
        posters.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(example) = examples.get(i) else { return anyhow::Ok(()) };
                let expected = example["output"]["answer"].as_str().unwrap_or_default();
                let output = if i % 2 == 0 { expected.to_owned() } else { format!("{expected} or so") };
                let body = json!({"dataset_example_id": example["id"], "output": output, "repetition_number": 1,
                    "start_time": "2026-11-24T10:00:00+00:00", "end_time": "2026-11-24T10:00:01+00:00"});
                call(&client, client.post(format!("{url}/v1/experiments/{experiment}/runs")).json(&body)).await?;
            }
        }));
    }
    for poster in posters {
        poster.await??;
    }
    let posted = posting.elapsed();

    // Attach the evaluators and time the server until every job is finished.
    let evaluators: Vec<Value> = args
        .evaluators
        .iter()
        .map(|spec| match spec.split_once('=') {
            Some((plugin, config)) => Ok(
                json!({"plugin": plugin, "config": serde_json::from_str::<Value>(config).context("evaluator config")?}),
            ),
            None => Ok(json!({"plugin": spec})),
        })
        .collect::<anyhow::Result<_>>()?;
    let expected_jobs = (n * evaluators.len()) as i64;
    let evaluating = Instant::now();
    call(
        &client,
        client.post(format!("{url}/v1/experiments/{experiment}/evaluators")).json(&json!({"evaluators": evaluators})),
    )
    .await?;
    let server_pid = spawned.as_ref().and_then(|s| s.child.id());
    let mut peak_rss = 0;
    let jobs = loop {
        let status = call(&client, client.get(format!("{url}/v1/experiments/{experiment}/evaluators"))).await?;
        let jobs = status["data"]["jobs"].clone();
        if let Some((_, hwm)) = server_pid.and_then(rss_kib) {
            peak_rss = peak_rss.max(hwm);
        }
        if jobs["total"] == expected_jobs && jobs["pending"] == 0 && jobs["running"] == 0 {
            break jobs;
        }
        if evaluating.elapsed() > Duration::from_secs(600) {
            bail!("evaluations not finished within 10 minutes: {jobs}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let evaluated = evaluating.elapsed();
    if jobs["failed"] != 0 {
        bail!("some evaluations failed: {jobs}");
    }
    // Spot-check what was stored: exact_match scores half the runs 1.0.
    let compare = call(&client, client.get(format!("{url}/v1/compare?experiment_id={experiment}&limit=1"))).await?;
    let aggregates = compare["data"]["aggregates"].clone();

    let per_second = expected_jobs as f64 / evaluated.as_secs_f64();
    println!("examples:            {n} (uploaded in {:.2} s)", uploaded.as_secs_f64());
    println!(
        "runs posted:         {n} in {:.2} s ({:.0} runs/s)",
        posted.as_secs_f64(),
        n as f64 / posted.as_secs_f64()
    );
    println!(
        "evaluations:         {expected_jobs} ({} evaluators) in {:.2} s",
        args.evaluators.len(),
        evaluated.as_secs_f64()
    );
    println!("throughput:          {per_second:.0} evaluations/s (attach → all stored)");
    if peak_rss > 0 {
        println!("server RSS peak:     {:.1} MiB", peak_rss as f64 / 1024.0);
    }
    println!(
        "{}",
        json!({
            "examples": n,
            "evaluations": expected_jobs,
            "evaluation_seconds": evaluated.as_secs_f64(),
            "evaluations_per_second": per_second,
            "runs_per_second": n as f64 / posted.as_secs_f64(),
            "aggregates": aggregates,
        })
    );
    if let Some(server) = spawned.as_mut() {
        let _ = server.child.start_kill();
        let _ = server.child.wait().await;
    }
    Ok(())
}
