//! One claim of the evaluation worker: lease due jobs, run each job's evaluator on its run in
//! the sandbox, store the results and reschedule transient failures.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::call::{run_one, Done, Unavailable, Work};
use super::WorkerConfig;
use crate::metrics::Metrics;
use crate::plugins::{InstalledPlugin, PluginHost};
use crate::store::{ClaimedJob, Dialect, EvaluatorRow, JobEnd, RunInput, Store, StoreError};

/// Runs claims; keeps evaluator rows, which never change, between claims.
///
/// On PostgreSQL, storing a batch's results overlaps with claiming and running the next one: at
/// most one batch is being stored while the next runs.
pub(super) struct Runner {
    store: Store,
    plugins: PluginHost,
    metrics: Arc<Metrics>,
    config: WorkerConfig,
    evaluators: Mutex<HashMap<i64, Arc<EvaluatorRow>>>,
    storing: Mutex<Option<JoinHandle<Result<(), StoreError>>>>,
}

impl Runner {
    pub(super) fn new(store: Store, plugins: PluginHost, metrics: Arc<Metrics>, config: WorkerConfig) -> Self {
        Self { store, plugins, metrics, config, evaluators: Mutex::default(), storing: Mutex::default() }
    }

    /// Waits until the batch being stored (if any) is stored.
    pub(super) async fn flush(&self) -> Result<(), StoreError> {
        let handle = self.storing.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        match handle {
            Some(handle) => match handle.await {
                Ok(result) => result,
                Err(err) => {
                    // Its jobs keep their lease and are claimed again once it runs out.
                    tracing::error!(error = %err, "storing evaluation results failed");
                    Ok(())
                }
            },
            None => Ok(()),
        }
    }

    /// Claims and runs one batch, and starts storing its results; returns how many jobs it
    /// claimed.
    pub(super) async fn run_once(&self, stopped: &watch::Receiver<bool>) -> Result<usize, StoreError> {
        let started = std::time::Instant::now();
        let lease_until = crate::time::now_ns().saturating_add(duration_ns(self.config.lease));
        let jobs = self.store.claim_jobs(self.config.batch, lease_until).await?;
        if jobs.is_empty() {
            self.flush().await?;
            return Ok(0);
        }
        let claimed = jobs.len();
        let claim_time = started.elapsed();
        let work = self.prepare(jobs).await?;
        let prepare_time = started.elapsed() - claim_time;
        let stop = Arc::new(AtomicBool::new(false));
        let watcher = {
            let (stop, mut stopped) = (stop.clone(), stopped.clone());
            tokio::spawn(async move {
                let _ = stopped.wait_for(|stopped| *stopped).await;
                stop.store(true, Ordering::Relaxed);
            })
        };
        let lease = Arc::new(AtomicI64::new(lease_until));
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let heartbeat = self.spawn_heartbeat(lease.clone(), done_rx);
        let outcomes = self.evaluate(work, stop).await;
        watcher.abort();
        // Not aborted: a renewal under way completes, so `lease` matches the database.
        let _ = done_tx.send(());
        let _ = heartbeat.await;
        let evaluate_time = started.elapsed() - claim_time - prepare_time;
        // The previous batch must be stored before this one starts storing: results are
        // stored in claim order, and at most one batch's results wait in memory.
        self.flush().await?;
        tracing::debug!(
            claimed,
            claim_ms = claim_time.as_secs_f64() * 1e3,
            prepare_ms = prepare_time.as_secs_f64() * 1e3,
            evaluate_ms = evaluate_time.as_secs_f64() * 1e3,
            wait_ms = (started.elapsed() - claim_time - prepare_time - evaluate_time).as_secs_f64() * 1e3,
            "evaluation batch"
        );
        let (store, metrics, config) = (self.store.clone(), self.metrics.clone(), self.config);
        let lease_until = lease.load(Ordering::SeqCst);
        if store.dialect() == Dialect::Sqlite {
            // One writer connection: storing and the next claim would only queue behind each
            // other (measured: 26k evaluations/s overlapped, 32k in turn).
            record(&store, &metrics, &config, outcomes, lease_until).await?;
            return Ok(claimed);
        }
        let handle = tokio::spawn(async move { record(&store, &metrics, &config, outcomes, lease_until).await });
        *self.storing.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(handle);
        Ok(claimed)
    }

    /// Renews the claim's lease every third of its length while the batch runs, so that a long
    /// batch is not taken over by another server. The current lease value is kept in `lease`.
    fn spawn_heartbeat(
        &self,
        lease: Arc<AtomicI64>,
        mut done: tokio::sync::oneshot::Receiver<()>,
    ) -> tokio::task::JoinHandle<()> {
        let (store, every) = (self.store.clone(), self.config.lease / 3);
        let length = duration_ns(self.config.lease);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = &mut done => return,
                }
                let current = lease.load(Ordering::SeqCst);
                let renewed = crate::time::now_ns().saturating_add(length);
                match store.renew_leases(current, renewed).await {
                    Ok(_) => lease.store(renewed, Ordering::SeqCst),
                    Err(err) => tracing::warn!(error = %err, "renewing an evaluation lease failed"),
                }
            }
        })
    }

    async fn prepare(&self, jobs: Vec<ClaimedJob>) -> Result<Vec<Work>, StoreError> {
        let missing: Vec<i64> = {
            let cache = self.evaluators.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let mut ids: Vec<i64> =
                jobs.iter().map(|job| job.evaluator_id).filter(|id| !cache.contains_key(id)).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let fetched = self.store.evaluators_by_id(&missing).await?;
        let evaluators: HashMap<i64, Arc<EvaluatorRow>> = {
            let mut cache = self.evaluators.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            for row in fetched {
                cache.insert(row.id, Arc::new(row));
            }
            jobs.iter()
                .filter_map(|job| cache.get(&job.evaluator_id).map(|row| (job.evaluator_id, row.clone())))
                .collect()
        };
        let mut plugins: HashMap<i64, Result<InstalledPlugin, Unavailable>> = HashMap::new();
        for evaluator in evaluators.values() {
            if plugins.contains_key(&evaluator.plugin_id) {
                continue;
            }
            plugins.insert(evaluator.plugin_id, self.plugin(evaluator.plugin_id).await);
        }
        let mut run_ids: Vec<i64> = jobs.iter().map(|job| job.experiment_run_id).collect();
        run_ids.sort_unstable();
        run_ids.dedup();
        let mut inputs: HashMap<i64, RunInput> = HashMap::with_capacity(run_ids.len());
        for chunk in run_ids.chunks(1_000) {
            for input in self.store.run_inputs(chunk).await? {
                inputs.insert(input.run_id, input);
            }
        }
        Ok(jobs
            .into_iter()
            .filter_map(|job| {
                let evaluator = evaluators.get(&job.evaluator_id)?.clone();
                let plugin = plugins
                    .get(&evaluator.plugin_id)
                    .cloned()
                    .unwrap_or_else(|| Err(Unavailable::Unloadable("no plugin".into())));
                let input = inputs.get(&job.experiment_run_id).cloned();
                Some(Work { job, evaluator, plugin, input })
            })
            .collect())
    }

    /// The plugin version an evaluator is pinned to, as the registry has it now: its enabled
    /// flag is read from the database on every claim, so that disabling it on another server
    /// is seen here too.
    async fn plugin(&self, id: i64) -> Result<InstalledPlugin, Unavailable> {
        let record = match self.store.plugin_by_id(id).await {
            Ok(Some(record)) => record,
            Ok(None) => return Err(Unavailable::Gone(format!("plugin #{id} is no longer registered"))),
            Err(err) => return Err(Unavailable::Unloadable(format!("plugin #{id}: {err}"))),
        };
        if !record.enabled {
            return Err(Unavailable::Gone(format!("plugin {}@{} is disabled", record.name, record.version)));
        }
        self.plugins.update_record(record);
        match self.plugins.installed(&self.store, id).await {
            Ok(Some(installed)) => Ok(installed),
            Ok(None) => Err(Unavailable::Gone(format!("plugin #{id} is no longer registered"))),
            Err(err) => Err(Unavailable::Unloadable(format!("plugin #{id} cannot be loaded: {err}"))),
        }
    }

    /// Runs the calls on the blocking pool, `concurrency` threads at a time.
    async fn evaluate(&self, work: Vec<Work>, stop: Arc<AtomicBool>) -> Vec<Done> {
        let threads = self.config.concurrency.max(1);
        let per_thread = work.len().div_ceil(threads).max(1);
        let mut chunks: Vec<Vec<Work>> = Vec::with_capacity(threads);
        let mut work = work.into_iter().peekable();
        while work.peek().is_some() {
            chunks.push(work.by_ref().take(per_thread).collect());
        }
        let mut handles = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            let (stop, host, config) = (stop.clone(), self.plugins.clone(), self.config);
            handles.push(tokio::task::spawn_blocking(move || {
                chunk.into_iter().map(|work| run_one(work, &stop, &host, &config)).collect::<Vec<Done>>()
            }));
        }
        let mut outcomes = Vec::new();
        for handle in handles {
            match handle.await {
                Ok(done) => outcomes.extend(done),
                // A panicking thread's jobs keep their lease and are taken up again when it ends.
                Err(err) => tracing::error!(error = %err, "evaluation thread failed"),
            }
        }
        outcomes
    }
}

/// Stores a batch's finished jobs and reschedules its retries, under the claim's lease.
async fn record(
    store: &Store,
    metrics: &Metrics,
    config: &WorkerConfig,
    outcomes: Vec<Done>,
    lease_until: i64,
) -> Result<(), StoreError> {
    let now = crate::time::now_ns();
    let mut finished = Vec::new();
    let mut retries: HashMap<(i64, bool), (Vec<i64>, String)> = HashMap::new();
    for outcome in outcomes {
        match outcome {
            Done::Finished(job) => finished.push(job),
            Done::Retry { job_id, error, backoff, attempts } => {
                let delay = if backoff { backoff_delay(config.retry_base, attempts) } else { Duration::ZERO };
                let due = now.saturating_add(duration_ns(delay));
                let entry = retries.entry((due, backoff)).or_insert_with(|| (Vec::new(), error));
                entry.0.push(job_id);
            }
        }
    }
    let (done, failed) = finished.iter().fold((0, 0), |(d, f), job| match job.end {
        JobEnd::Done => (d + 1, f),
        JobEnd::Failed => (d, f + 1),
    });
    let stored = store.finish_jobs(&finished, lease_until).await?;
    if stored < finished.len() {
        tracing::warn!(
            lost = finished.len() - stored,
            "evaluation results dropped: another worker took over their jobs"
        );
    }
    metrics.evaluation_jobs.get_or_create(&vec![("outcome", "done")]).inc_by(done);
    metrics.evaluation_jobs.get_or_create(&vec![("outcome", "failed")]).inc_by(failed);
    for ((due, started), (ids, error)) in retries {
        store.retry_jobs(&ids, lease_until, due, &error, started).await?;
        metrics.evaluation_jobs.get_or_create(&vec![("outcome", "retried")]).inc_by(ids.len() as u64);
    }
    Ok(())
}

/// `base × 2^(attempts-1)`, at most a minute.
fn backoff_delay(base: Duration, attempts: i64) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
    base.saturating_mul(1 << exponent).min(Duration::from_secs(60))
}

fn duration_ns(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let base = Duration::from_millis(500);
        assert_eq!(backoff_delay(base, 1), Duration::from_millis(500));
        assert_eq!(backoff_delay(base, 3), Duration::from_secs(2));
        assert_eq!(backoff_delay(base, 40), Duration::from_secs(60));
    }
}
