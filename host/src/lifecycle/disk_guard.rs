//! Measures how much storage the database uses, every interval, into the ingest's
//! [`DiskQuota`]: ingest is refused past the block threshold and resumes by itself once deletes
//! (or retention) bring usage back under it. SQLite counts its pages in use (free pages left by
//! deletes are reused, so they do not count); PostgreSQL reports `pg_database_size`.

use std::sync::Arc;
use std::time::Duration;

use crate::ingest::disk_quota::{DiskQuota, QuotaLevel};
use crate::metrics::Metrics;
use crate::store::Store;

/// Measures usage into `quota` every `interval`, forever.
pub async fn watch(store: Store, quota: Arc<DiskQuota>, metrics: Arc<Metrics>, interval: Duration) {
    let (_, capacity) = quota.usage();
    metrics.database_capacity_bytes.set(i64::try_from(capacity).unwrap_or(i64::MAX));
    let mut every = tokio::time::interval(interval);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = QuotaLevel::Ok;
    loop {
        every.tick().await;
        let used = match store.database_bytes().await {
            Ok(used) => used,
            Err(err) => {
                tracing::warn!(error = %err, "cannot measure the database's size");
                continue;
            }
        };
        let level = quota.record(used);
        metrics.database_used_bytes.set(i64::try_from(used).unwrap_or(i64::MAX));
        metrics.database_ingest_blocked.set(i64::from(level == QuotaLevel::Block));
        if level != last {
            let percent = quota.percent();
            match level {
                QuotaLevel::Block => tracing::error!(
                    used,
                    capacity,
                    percent,
                    "database storage past the block threshold: ingest refused"
                ),
                QuotaLevel::Warn => {
                    tracing::warn!(used, capacity, percent, "database storage past the warning threshold")
                }
                QuotaLevel::Ok => tracing::info!(used, capacity, percent, "database storage back under its thresholds"),
            }
            last = level;
        }
    }
}
