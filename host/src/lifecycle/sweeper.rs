//! The retention sweeper: every interval, each project's traces beyond its policy (or the server
//! default) are deleted with their spans, annotations and emptied sessions. It also empties and
//! removes deleted projects: `DELETE /v1/projects/{p}` only hides the project and wakes the
//! sweeper, so that deleting millions of spans answers at once and runs at the sweeper's pace
//! (and resumes after a restart, since the mark is in the database).
//!
//! Deletes go in bounded transactions of `batch_traces` traces, and after each one the sweeper
//! rests for `rest_factor` times as long as the delete took. On SQLite the span writer and the
//! sweeper share the single write connection, so this caps the sweeper's share of it (1/(1+8),
//! 11% by default) and ingest keeps the rest: a backlog of a million spans is worked off over
//! minutes instead of holding the writer up for seconds. Measured (BENCHMARKS.md): with a rest of
//! 4× ingest kept 76% of its throughput while a million-span backlog was swept, with 8× 82%. On PostgreSQL, replicas sweeping at once
//! claim traces with `SKIP LOCKED` (see [`Store::delete_traces_before`]), so no row is deleted twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::metrics::Metrics;
use crate::store::{Deleted, RetentionRule, Store, StoreError};

const NS_PER_DAY: f64 = 86_400.0 * 1e9;

/// How often and how fast the sweeper deletes.
#[derive(Debug, Clone, Copy)]
pub struct SweeperConfig {
    /// Time between sweeps.
    pub interval: Duration,
    /// Traces deleted per transaction.
    pub batch_traces: i64,
    /// After each delete, rest this many times as long as it took.
    pub rest_factor: u32,
    /// The rule of projects without a policy of their own.
    pub default_rule: RetentionRule,
}

impl Default for SweeperConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(600),
            batch_traces: 500,
            rest_factor: 8,
            default_rule: RetentionRule::default(),
        }
    }
}

/// Deletes what retention policies no longer keep.
#[derive(Debug, Clone)]
pub struct Sweeper {
    store: Store,
    metrics: Arc<Metrics>,
    config: SweeperConfig,
    wake: Arc<Notify>,
}

impl Sweeper {
    pub fn new(store: Store, metrics: Arc<Metrics>, config: SweeperConfig) -> Self {
        Self { store, metrics, config, wake: Arc::default() }
    }

    /// Notified after a project is deleted, so that the sweeper starts emptying it now rather
    /// than at its next interval.
    pub fn wake_handle(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Sweeps every interval, and empties deleted projects whenever woken, forever; a failed
    /// pass is logged and retried at the next one.
    pub async fn run(self) {
        let mut every = tokio::time::interval(self.config.interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let full = tokio::select! {
                _ = every.tick() => true,
                () = self.wake.notified() => false,
            };
            if let Err(err) = self.reap_deleted_projects().await {
                tracing::warn!(error = %err, "emptying deleted projects failed; retrying at the next interval");
            }
            if full {
                if let Err(err) = self.sweep().await {
                    tracing::warn!(error = %err, "retention sweep failed; retrying at the next interval");
                }
            }
        }
    }

    /// Deletes the traces of every deleted project, batch by batch, then the project rows.
    pub async fn reap_deleted_projects(&self) -> Result<Deleted, StoreError> {
        let mut total = Deleted::default();
        for project_id in self.store.deleted_projects().await? {
            let started = Instant::now();
            let deleted = self.delete_before(project_id, i64::MAX).await?;
            let removed = self.store.remove_emptied_project(project_id).await?;
            tracing::info!(
                project_id,
                traces = deleted.traces,
                spans = deleted.spans,
                removed,
                seconds = started.elapsed().as_secs_f64(),
                "emptied a deleted project"
            );
            total.traces += deleted.traces;
            total.spans += deleted.spans;
            total.sessions += deleted.sessions;
        }
        Ok(total)
    }

    /// One pass over every project; returns what it deleted.
    pub async fn sweep(&self) -> Result<Deleted, StoreError> {
        let started = Instant::now();
        let policies: HashMap<i64, RetentionRule> =
            self.store.retention_policies().await?.iter().map(|policy| (policy.id, policy.rule())).collect();
        let mut total = Deleted::default();
        for project in self.store.project_policies().await? {
            let rule = project.policy_id.and_then(|id| policies.get(&id).copied()).unwrap_or(self.config.default_rule);
            if rule.is_unlimited() {
                continue;
            }
            let Some(before_ns) = self.cutoff(project.project_id, rule).await? else { continue };
            let deleted = self.delete_before(project.project_id, before_ns).await?;
            if deleted.traces > 0 {
                tracing::info!(
                    project_id = project.project_id,
                    traces = deleted.traces,
                    spans = deleted.spans,
                    sessions = deleted.sessions,
                    "retention deleted old traces"
                );
            }
            total.traces += deleted.traces;
            total.spans += deleted.spans;
            total.sessions += deleted.sessions;
        }
        self.metrics.retention_sweep_seconds.observe(started.elapsed().as_secs_f64());
        Ok(total)
    }

    /// Traces of the project that started before the returned time (ns) are beyond `rule`.
    async fn cutoff(&self, project_id: i64, rule: RetentionRule) -> Result<Option<i64>, StoreError> {
        let mut cutoff = None::<i64>;
        if let Some(days) = rule.max_days.filter(|days| *days > 0.0) {
            cutoff = Some(crate::time::now_ns().saturating_sub((days * NS_PER_DAY) as i64));
        }
        if let Some(count) = rule.max_count.filter(|count| *count >= 0) {
            if let Some(start) = self.store.nth_newest_trace_start(project_id, count).await? {
                cutoff = cutoff.max(Some(start.saturating_add(1)));
            }
        }
        if let Some(spans) = rule.max_spans.filter(|spans| *spans >= 0) {
            if let Some(start) = self.store.nth_newest_span_start(project_id, spans).await? {
                cutoff = cutoff.max(Some(start.saturating_add(1)));
            }
        }
        Ok(cutoff)
    }

    /// Deletes the project's traces that started before `before_ns`, batch by batch, resting
    /// between batches.
    async fn delete_before(&self, project_id: i64, before_ns: i64) -> Result<Deleted, StoreError> {
        let mut total = Deleted::default();
        loop {
            let started = Instant::now();
            let deleted = self.store.delete_traces_before(project_id, before_ns, self.config.batch_traces).await?;
            total.traces += deleted.traces;
            total.spans += deleted.spans;
            total.sessions += deleted.sessions;
            self.metrics.retention_deleted_spans.inc_by(deleted.spans);
            self.metrics.retention_deleted_traces.inc_by(deleted.traces);
            if deleted.traces == 0 {
                return Ok(total);
            }
            tokio::time::sleep(started.elapsed() * self.config.rest_factor).await;
        }
    }
}
