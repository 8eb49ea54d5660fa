//! `ember-loadgen --sweep-backlog N`: what the retention sweeper costs ingest.
//!
//! 1. Loads `N` spans dated 60 days ago into `<project>-old` (kept: no policy yet).
//! 2. Measures ingest of `--spans` spans into `<project>-base` with the sweeper idle.
//! 3. Gives `<project>-old` a 30-day policy, so that the sweeper (every second here) starts
//!    deleting the whole backlog, and measures the same ingest into `<project>-during`.
//! 4. Waits for the sweeper to finish and reports both rates, their ratio, and how much of the
//!    backlog was deleted while phase 3 ran.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::json;

use crate::send::{send, Load};

async fn deleted(client: &reqwest::Client, url: &str) -> anyhow::Result<u64> {
    let text = client.get(format!("{url}/metrics")).send().await?.text().await?;
    let line =
        text.lines().find(|l| l.starts_with("ember_retention_deleted_spans_total")).context("no retention counter")?;
    Ok(line.split_whitespace().nth(1).context("no value")?.parse::<f64>()? as u64)
}

/// Runs the four steps above and prints the figures.
pub async fn measure(
    client: &reqwest::Client,
    url: &str,
    project: &str,
    backlog: usize,
    spans: usize,
    load: Load,
) -> anyhow::Result<()> {
    let old = format!("{project}-old");
    let loaded = send(client, url, &old, backlog, Load { aged_days: 60, ..load }).await?;
    println!(
        "backlog:             {} spans in {:.1} s ({:.0} spans/s)",
        loaded.spans,
        loaded.elapsed.as_secs_f64(),
        loaded.rate()
    );

    let base = send(client, url, &format!("{project}-base"), spans, load).await?;
    println!("ingest, idle sweeper: {:.0} spans/s (p99 {:.0} ms)", base.rate(), base.latency(0.99).as_secs_f64() * 1e3);

    let policy = json!({ "name": format!("loadgen-{}", std::process::id()), "rule": { "max_days": 30 } });
    let created: serde_json::Value = client
        .post(format!("{url}/v1/retention_policies"))
        .json(&policy)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let policy_id = created["data"]["id"].clone();
    client
        .patch(format!("{url}/v1/projects/{old}/retention"))
        .json(&json!({ "policy_id": policy_id }))
        .send()
        .await?
        .error_for_status()?;
    let sweep_started = Instant::now();
    let before = deleted(client, url).await?;
    let during = send(client, url, &format!("{project}-during"), spans, load).await?;
    let deleted_during = deleted(client, url).await? - before;
    println!(
        "ingest, sweeping:     {:.0} spans/s (p99 {:.0} ms); {deleted_during} spans deleted meanwhile",
        during.rate(),
        during.latency(0.99).as_secs_f64() * 1e3
    );
    loop {
        if deleted(client, url).await? - before >= loaded.spans {
            break;
        }
        if sweep_started.elapsed() > Duration::from_secs(1800) {
            bail!("the sweeper did not delete the backlog within 30 minutes");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let sweep = sweep_started.elapsed();
    let ratio = during.rate() / base.rate();
    println!(
        "sweep:               {} spans deleted in {:.1} s ({:.0} spans/s)",
        loaded.spans,
        sweep.as_secs_f64(),
        loaded.spans as f64 / sweep.as_secs_f64()
    );
    println!("ingest kept:         {:.0}% of its throughput while the sweeper ran", ratio * 100.0);
    println!(
        "{}",
        json!({
            "backlog_spans": loaded.spans,
            "base_spans_per_second": base.rate(),
            "sweeping_spans_per_second": during.rate(),
            "ratio": ratio,
            "deleted_during": deleted_during,
            "sweep_seconds": sweep.as_secs_f64(),
        })
    );
    Ok(())
}
