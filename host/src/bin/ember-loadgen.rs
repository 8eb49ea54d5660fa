//! `ember-loadgen`: sends realistic OpenInference traces over OTLP/HTTP and reports end-to-end
//! throughput (sent → committed and queryable, and with `--read-back` → every span read back
//! through the REST API), export latency and the server's memory.
//!
//! By default it starts its own `ember serve` (the binary beside this one) on a fresh SQLite
//! database; `--url` targets a running server instead.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use prost::Message;

#[path = "support/send.rs"]
mod send;
#[path = "support/spawn.rs"]
mod spawn;
#[path = "support/sweep.rs"]
mod sweep;
use ember_workload::{SpanSize, TraceGenerator, SPANS_PER_TRACE};
use send::{send, Load};
use spawn::{rss_kib, spawn_server};

/// The workload's span size.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Size {
    /// About 1.4 KB per span.
    Standard,
    /// About 2.6 KB per span (1–2 KB LLM input and output, longer retrieval documents).
    Large,
}

#[derive(Debug, Parser)]
#[command(name = "ember-loadgen", about = "OTLP load generator for Ember")]
struct Args {
    /// Base URL of a running server; without it a server is started for the run.
    #[arg(long)]
    url: Option<String>,
    /// Spans to send in total.
    #[arg(long, default_value_t = 400_000)]
    spans: usize,
    /// Traces per export request (4 spans each).
    #[arg(long, default_value_t = 128)]
    traces_per_request: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Project the spans go to.
    #[arg(long, default_value = "loadgen")]
    project: String,
    /// `database_url` for the started server (default: SQLite in a temporary directory).
    #[arg(long)]
    database_url: Option<String>,
    /// Extra `KEY=VALUE` environment for the started server.
    #[arg(long = "server-env")]
    server_env: Vec<String>,
    /// Start the server with authentication on and send every request with an API key (a
    /// system key made through an admin login), to measure what authentication costs ingest.
    #[arg(long)]
    auth: bool,
    /// With `--auth`, time this many password logins (at `--concurrency`) after the run.
    #[arg(long, default_value_t = 0)]
    logins: usize,
    /// How much text each span carries.
    #[arg(long, value_enum, default_value_t = Size::Standard)]
    size: Size,
    /// After the spans are stored, read every one back through `GET /v1/projects/{p}/spans`
    /// (pages of 1,000) and count that time in the end-to-end figure.
    #[arg(long)]
    read_back: bool,
    /// Measure ingest while the retention sweeper deletes a backlog of this many spans (see
    /// `support/sweep.rs`); `--spans` is then the size of each measured phase.
    #[arg(long)]
    sweep_backlog: Option<usize>,
    /// The `ember` binary to start (another build, to compare against) [default: the one beside
    /// this tool].
    #[arg(long)]
    server_bin: Option<std::path::PathBuf>,
}

/// One page of `GET /v1/projects/{p}/spans`, spans counted but not kept.
#[derive(serde::Deserialize)]
struct SpanPage {
    data: Vec<serde::de::IgnoredAny>,
    next_cursor: Option<String>,
}

/// Reads every span of `project` back, 1,000 per page; returns how many.
async fn read_back(client: &reqwest::Client, url: &str, project: &str) -> anyhow::Result<u64> {
    let (mut count, mut cursor) = (0u64, None::<String>);
    loop {
        let mut params = vec![("limit", "1000")];
        if let Some(cursor) = &cursor {
            params.push(("cursor", cursor));
        }
        let page_url = reqwest::Url::parse_with_params(&format!("{url}/v1/projects/{project}/spans"), &params)?;
        let response = client.get(page_url).send().await?;
        if !response.status().is_success() {
            bail!("reading spans back failed with {}", response.status());
        }
        let body = response.bytes().await?;
        // Every byte is parsed and checked, but no tree is built: the client's share of the two
        // processes' CPU stays small, so the figure measures the server.
        let page: SpanPage = serde_json::from_slice(&body)?;
        count += page.data.len() as u64;
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(count),
        }
    }
}

/// The started server's first administrator password under `--auth`.
const ADMIN_PASSWORD: &str = "loadgen operator passphrase";

/// Signs in as `admin` and returns the session's access token.
async fn login(client: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    let body = serde_json::json!({ "email": "admin", "password": ADMIN_PASSWORD });
    let response = client.post(format!("{url}/auth/login")).json(&body).send().await?;
    if response.status() != reqwest::StatusCode::NO_CONTENT {
        bail!("login failed with {}", response.status());
    }
    let cookie = response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| value.strip_prefix("ember-access-token=")?.split(';').next().map(str::to_owned))
        .context("no access cookie")?;
    Ok(cookie)
}

/// A `write`-scoped system key (sends spans and reads them back).
async fn api_key(client: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    let access = login(client, url).await?;
    let body = serde_json::json!({ "data": { "name": "ember-loadgen", "scope": "write" } });
    let response = client.post(format!("{url}/v1/system/api_keys")).bearer_auth(access).json(&body).send().await?;
    let created: serde_json::Value = response.json().await?;
    created["data"]["key"].as_str().map(str::to_owned).with_context(|| format!("no key in {created}"))
}

/// Runs `count` logins, `concurrency` at a time; returns logins per second.
async fn time_logins(client: &reqwest::Client, url: &str, count: usize, concurrency: usize) -> anyhow::Result<f64> {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, url, next) = (client.clone(), url.to_owned(), next.clone());
        workers.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < count as u64 {
                login(&client, &url).await?;
            }
            anyhow::Ok(())
        }));
    }
    for worker in workers {
        worker.await??;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

async fn written(client: &reqwest::Client, url: &str) -> anyhow::Result<u64> {
    let text = client.get(format!("{url}/metrics")).send().await?.text().await?;
    let line =
        text.lines().find(|l| l.starts_with("ember_writer_spans_written_total")).context("no written counter")?;
    Ok(line.split_whitespace().nth(1).context("no value")?.parse::<f64>()? as u64)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut server_env = args.server_env.clone();
    if args.sweep_backlog.is_some() {
        server_env.push("EMBER_RETENTION_SWEEP_SECONDS=1".to_owned());
    }
    if args.auth {
        server_env.push("EMBER_ENABLE_AUTH=true".to_owned());
        server_env.push(format!("EMBER_ADMIN_INITIAL_PASSWORD={ADMIN_PASSWORD}"));
    }
    let mut spawned = match &args.url {
        Some(_) => None,
        None => Some(
            spawn_server("ember-loadgen", args.server_bin.as_deref(), args.database_url.as_deref(), &server_env)
                .await?,
        ),
    };
    let url = args.url.clone().or_else(|| spawned.as_ref().map(|s| s.url.clone())).context("no url")?;
    let mut headers = reqwest::header::HeaderMap::new();
    if args.auth {
        let plain = reqwest::Client::new();
        let key = api_key(&plain, &url).await?;
        headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {key}").parse()?);
    }
    let client =
        reqwest::Client::builder().pool_max_idle_per_host(args.concurrency).default_headers(headers).build()?;
    let baseline = written(&client, &url).await?;

    let size = match args.size {
        Size::Standard => SpanSize::Standard,
        Size::Large => SpanSize::Large,
    };
    let bytes_per_span = {
        let sample = TraceGenerator::of_size(size).request(args.traces_per_request, &args.project);
        sample.encoded_len() / (args.traces_per_request * SPANS_PER_TRACE).max(1)
    };
    let load = Load { traces_per_request: args.traces_per_request, concurrency: args.concurrency, size, aged_days: 0 };
    if let Some(backlog) = args.sweep_backlog {
        return sweep::measure(&client, &url, &args.project, backlog, args.spans, load).await;
    }
    let started = Instant::now();
    let server_pid = spawned.as_ref().and_then(|s| s.child.id());
    let sent = send(&client, &url, &args.project, args.spans, load).await?;
    let (total_spans, requests) = (sent.spans, sent.requests);
    let mut peak_rss = 0;
    let acknowledged = sent.elapsed;
    loop {
        if let Some((_, hwm)) = server_pid.and_then(rss_kib) {
            peak_rss = peak_rss.max(hwm);
        }
        if written(&client, &url).await? >= baseline + total_spans {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("spans were not all written within 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stored = started.elapsed();
    let read = if args.read_back {
        let reading = Instant::now();
        let count = read_back(&client, &url, &args.project).await?;
        if count < total_spans {
            bail!("read back {count} spans of {total_spans}");
        }
        Some(reading.elapsed())
    } else {
        None
    };
    let elapsed = started.elapsed();
    // Queryable: the newest span of the project is readable through the REST API.
    let page: serde_json::Value = serde_json::from_str(
        &client.get(format!("{url}/v1/projects/{}/spans?limit=1", args.project)).send().await?.text().await?,
    )?;
    if page["data"].as_array().map_or(0, Vec::len) != 1 {
        bail!("spans are not queryable: {page}");
    }
    let rss = server_pid.and_then(rss_kib);
    let spans_per_second = total_spans as f64 / elapsed.as_secs_f64();
    println!(
        "spans sent:          {total_spans} in {requests} requests of {} spans, {bytes_per_span} bytes each",
        args.traces_per_request * SPANS_PER_TRACE
    );
    println!(
        "acknowledged after:  {:.2} s ({:.0} spans/s)",
        acknowledged.as_secs_f64(),
        total_spans as f64 / acknowledged.as_secs_f64()
    );
    println!(
        "stored after:        {:.2} s ({:.0} spans/s)",
        stored.as_secs_f64(),
        total_spans as f64 / stored.as_secs_f64()
    );
    if let Some(read) = read {
        println!(
            "read back in:        {:.2} s ({:.0} spans/s)",
            read.as_secs_f64(),
            total_spans as f64 / read.as_secs_f64()
        );
    }
    let (p50, p99) = (sent.latency(0.5), sent.latency(0.99));
    println!("export latency:      p50 {:.1} ms, p99 {:.1} ms", p50.as_secs_f64() * 1e3, p99.as_secs_f64() * 1e3);
    println!("end-to-end:          {spans_per_second:.0} spans/s");
    println!("503 retries:         {}", sent.retries);
    if let Some((now, _)) = rss {
        println!(
            "server RSS:          {:.1} MiB now, {:.1} MiB peak",
            now as f64 / 1024.0,
            peak_rss.max(rss.map_or(0, |r| r.1)) as f64 / 1024.0
        );
    }
    let logins_per_second = match (args.auth, args.logins) {
        (true, count) if count > 0 => {
            let rate = time_logins(&reqwest::Client::new(), &url, count, args.concurrency).await?;
            println!("logins:              {count} at {rate:.1}/s");
            Some(rate)
        }
        _ => None,
    };
    println!(
        "{}",
        serde_json::json!({
            "auth": args.auth,
            "logins_per_second": logins_per_second,
            "spans": total_spans,
            "bytes_per_span": bytes_per_span,
            "read_back_seconds": read.map(|read| read.as_secs_f64()),
            "latency_p50_ms": p50.as_secs_f64() * 1e3,
            "latency_p99_ms": p99.as_secs_f64() * 1e3,
            "seconds": elapsed.as_secs_f64(),
            "spans_per_second": spans_per_second,
            "retries": sent.retries,
            "rss_peak_mib": rss.map(|r| r.1 as f64 / 1024.0),
        })
    );
    if let Some(server) = spawned.as_mut() {
        let _ = server.child.start_kill();
        let _ = server.child.wait().await;
    }
    Ok(())
}
