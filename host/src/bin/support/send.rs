//! Sending a workload the way OTLP exporters do: `concurrency` senders, each with one export in
//! flight, backing off exponentially on 503. Shared by the load tools.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use ember_workload::{SpanSize, TraceGenerator, SPANS_PER_TRACE};
use prost::Message;

/// What to send, and how.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub traces_per_request: usize,
    pub concurrency: usize,
    pub size: SpanSize,
    /// The traces start this many days in the past.
    pub aged_days: u64,
}

/// What a send saw.
#[derive(Debug)]
pub struct Sent {
    pub spans: u64,
    pub requests: usize,
    /// From the first export sent to the last one acknowledged.
    pub elapsed: Duration,
    /// Each export's time from first sent to acknowledged (retries included), sorted.
    pub latencies: Vec<Duration>,
    pub retries: u64,
}

impl Sent {
    /// Acknowledged spans per second.
    pub fn rate(&self) -> f64 {
        self.spans as f64 / self.elapsed.as_secs_f64()
    }

    /// The `q`-quantile of the export latencies.
    pub fn latency(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        self.latencies[((self.latencies.len() - 1) as f64 * q).round() as usize]
    }
}

/// Sends at least `spans` spans to `project` at `url` and waits for every acknowledgement.
pub async fn send(
    client: &reqwest::Client,
    url: &str,
    project: &str,
    spans: usize,
    load: Load,
) -> anyhow::Result<Sent> {
    let requests = spans.div_ceil(load.traces_per_request * SPANS_PER_TRACE);
    let total = (requests * load.traces_per_request * SPANS_PER_TRACE) as u64;
    let next_request = Arc::new(AtomicU64::new(0));
    let retries = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut senders = Vec::new();
    for _ in 0..load.concurrency {
        let (client, url, project) = (client.clone(), url.to_owned(), project.to_owned());
        let (next_request, retries) = (next_request.clone(), retries.clone());
        senders.push(tokio::spawn(async move {
            let mut generator = TraceGenerator::of_size(load.size).aged(load.aged_days);
            let mut latencies = Vec::new();
            while next_request.fetch_add(1, Ordering::Relaxed) < requests as u64 {
                let body = generator.request(load.traces_per_request, &project).encode_to_vec();
                // Back off like an OTLP exporter: exponentially, capped by the server's Retry-After.
                let mut backoff = Duration::from_millis(5);
                let sent = Instant::now();
                loop {
                    let response = client
                        .post(format!("{url}/v1/traces"))
                        .header("content-type", "application/x-protobuf")
                        .body(body.clone())
                        .send()
                        .await?;
                    match response.status().as_u16() {
                        200 => break,
                        503 => {
                            retries.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(Duration::from_secs(1));
                        }
                        status => bail!("export failed with {status}: {}", response.text().await.unwrap_or_default()),
                    }
                }
                latencies.push(sent.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for sender in senders {
        latencies.extend(sender.await??);
    }
    latencies.sort();
    Ok(Sent { spans: total, requests, elapsed: started.elapsed(), latencies, retries: retries.load(Ordering::Relaxed) })
}
