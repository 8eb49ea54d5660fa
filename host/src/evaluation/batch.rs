//! One claim of the evaluation worker: lease due jobs, run each job's evaluator on its run in
//! the sandbox, store the results and reschedule transient failures.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ember_sandbox::{EvalInput, Score};
use serde_json::{json, Value};
use tokio::sync::watch;

use super::outcome::{classify, Classified};
use super::WorkerConfig;
use crate::metrics::Metrics;
use crate::plugins::{InstalledPlugin, PluginHost};
use crate::store::{ClaimedJob, EvaluationResult, EvaluatorRow, FinishedJob, JobEnd, RunInput, Store, StoreError};

/// One job with everything its call needs.
struct Work {
    job: ClaimedJob,
    evaluator: Arc<EvaluatorRow>,
    plugin: Result<InstalledPlugin, String>,
    input: Option<RunInput>,
}

/// What became of one job.
enum Done {
    Finished(FinishedJob),
    /// Try again later; `backoff` false when the job was merely not started (shutdown).
    Retry {
        job_id: i64,
        error: String,
        backoff: bool,
        attempts: i64,
    },
}

/// Runs claims; keeps evaluator rows, which never change, between claims.
pub(super) struct Runner {
    store: Store,
    plugins: PluginHost,
    metrics: Arc<Metrics>,
    config: WorkerConfig,
    evaluators: Mutex<HashMap<i64, Arc<EvaluatorRow>>>,
}

impl Runner {
    pub(super) fn new(store: Store, plugins: PluginHost, metrics: Arc<Metrics>, config: WorkerConfig) -> Self {
        Self { store, plugins, metrics, config, evaluators: Mutex::default() }
    }

    /// Claims and processes one batch; returns how many jobs it claimed.
    pub(super) async fn run_once(&self, stopped: &watch::Receiver<bool>) -> Result<usize, StoreError> {
        let lease_until = crate::store::now_ns().saturating_add(duration_ns(self.config.lease));
        let jobs = self.store.claim_jobs(self.config.batch, lease_until).await?;
        if jobs.is_empty() {
            return Ok(0);
        }
        let claimed = jobs.len();
        let work = self.prepare(jobs).await?;
        let stop = Arc::new(AtomicBool::new(false));
        let watcher = {
            let (stop, mut stopped) = (stop.clone(), stopped.clone());
            tokio::spawn(async move {
                let _ = stopped.wait_for(|stopped| *stopped).await;
                stop.store(true, Ordering::Relaxed);
            })
        };
        let outcomes = self.evaluate(work, stop).await;
        watcher.abort();
        self.record(outcomes, lease_until).await?;
        Ok(claimed)
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
        let mut plugins: HashMap<i64, Result<InstalledPlugin, String>> = HashMap::new();
        for evaluator in evaluators.values() {
            if plugins.contains_key(&evaluator.plugin_id) {
                continue;
            }
            let plugin = match self.plugins.installed(&self.store, evaluator.plugin_id).await {
                Ok(Some(installed)) if installed.record.enabled => Ok(installed),
                Ok(Some(installed)) => {
                    Err(format!("plugin {}@{} is disabled", installed.record.name, installed.record.version))
                }
                Ok(None) => Err(format!("plugin #{} is no longer registered", evaluator.plugin_id)),
                Err(err) => Err(format!("plugin #{} cannot be loaded: {err}", evaluator.plugin_id)),
            };
            plugins.insert(evaluator.plugin_id, plugin);
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
                let plugin = plugins.get(&evaluator.plugin_id).cloned().unwrap_or_else(|| Err("no plugin".into()));
                let input = inputs.get(&job.experiment_run_id).cloned();
                Some(Work { job, evaluator, plugin, input })
            })
            .collect())
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
            let (stop, metrics, config) = (stop.clone(), self.metrics.clone(), self.config);
            handles.push(tokio::task::spawn_blocking(move || {
                chunk.into_iter().map(|work| run_one(work, &stop, &metrics, &config)).collect::<Vec<Done>>()
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

    async fn record(&self, outcomes: Vec<Done>, lease_until: i64) -> Result<(), StoreError> {
        let now = crate::store::now_ns();
        let mut finished = Vec::new();
        let mut retries: HashMap<i64, (Vec<i64>, String)> = HashMap::new();
        for outcome in outcomes {
            match outcome {
                Done::Finished(job) => finished.push(job),
                Done::Retry { job_id, error, backoff, attempts } => {
                    let delay = if backoff { backoff_delay(self.config.retry_base, attempts) } else { Duration::ZERO };
                    let due = now.saturating_add(duration_ns(delay));
                    let entry = retries.entry(due).or_insert_with(|| (Vec::new(), error));
                    entry.0.push(job_id);
                }
            }
        }
        let (done, failed) = finished.iter().fold((0, 0), |(d, f), job| match job.end {
            JobEnd::Done => (d + 1, f),
            JobEnd::Failed => (d, f + 1),
        });
        let stored = self.store.finish_jobs(&finished, lease_until).await?;
        if stored < finished.len() {
            tracing::warn!(
                lost = finished.len() - stored,
                "evaluation results dropped: another worker took over their jobs"
            );
        }
        self.metrics.evaluation_jobs.get_or_create(&vec![("outcome", "done")]).inc_by(done);
        self.metrics.evaluation_jobs.get_or_create(&vec![("outcome", "failed")]).inc_by(failed);
        for (due, (ids, error)) in retries {
            self.store.retry_jobs(&ids, lease_until, due, &error).await?;
            self.metrics.evaluation_jobs.get_or_create(&vec![("outcome", "retried")]).inc_by(ids.len() as u64);
        }
        Ok(())
    }
}

/// `base × 2^(attempts-1)`, at most a minute.
fn backoff_delay(base: Duration, attempts: i64) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
    base.saturating_mul(1 << exponent).min(Duration::from_secs(60))
}

fn duration_ns(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}

/// Runs one job's call (on a blocking thread) and decides what becomes of the job.
fn run_one(work: Work, stop: &AtomicBool, metrics: &Metrics, config: &WorkerConfig) -> Done {
    let Work { job, evaluator, plugin, input } = work;
    if stop.load(Ordering::Relaxed) {
        return Done::Retry {
            job_id: job.id,
            error: "server shutting down".into(),
            backoff: false,
            attempts: job.attempts,
        };
    }
    let start_ns = crate::store::now_ns();
    let failed = |kind: &str, message: String, identity: Option<&InstalledPlugin>| {
        let (name, version, sha256) = identity.map_or_else(
            || (String::new(), String::new(), String::new()),
            |p| (p.record.name.clone(), p.record.version.clone(), p.record.sha256.clone()),
        );
        Done::Finished(FinishedJob {
            job_id: job.id,
            end: JobEnd::Failed,
            evaluations: vec![EvaluationResult {
                run_id: job.experiment_run_id,
                name: evaluator.name.clone(),
                label: None,
                score: None,
                explanation: None,
                error: Some(message),
                error_kind: Some(kind.to_owned()),
                metadata: "{}".into(),
                start_ns,
                end_ns: crate::store::now_ns(),
                plugin_name: name,
                plugin_version: version,
                plugin_sha256: sha256,
            }],
        })
    };
    let plugin = match plugin {
        Ok(plugin) => plugin,
        Err(message) => return failed("plugin_unavailable", message, None),
    };
    let Some(input) = input else {
        return failed(
            "missing_example",
            "the run's dataset example is missing at the experiment's version".into(),
            Some(&plugin),
        );
    };
    let eval_input = EvalInput {
        input: input.input,
        output: input.output,
        expected: Some(input.expected),
        metadata: input.metadata,
    };
    let span = tracing::debug_span!("plugin_call", plugin = %plugin.record.name, world = "evaluator", job = job.id);
    let report = span.in_scope(|| plugin.plugin.with_config(evaluator.config.clone()).evaluate(&eval_input));
    let outcome = report.outcome.as_ref().err().map_or("ok", ember_sandbox::SandboxError::kind);
    metrics.record_call(&plugin.record.name, outcome, report.instructions, report.elapsed);
    let end_ns = crate::store::now_ns();
    match report.outcome {
        Ok(scores) => Done::Finished(FinishedJob {
            job_id: job.id,
            end: JobEnd::Done,
            evaluations: evaluations(
                &evaluator,
                &plugin,
                job.experiment_run_id,
                scores,
                report.instructions,
                start_ns,
                end_ns,
            ),
        }),
        Err(err) if classify(&err) == Classified::Transient && job.attempts < config.max_attempts => {
            Done::Retry { job_id: job.id, error: err.to_string(), backoff: true, attempts: job.attempts }
        }
        Err(err) => failed(err.kind(), err.to_string(), Some(&plugin)),
    }
}

/// The stored evaluations of one successful call: one per score. A single score is stored under
/// the evaluator's name; several under `evaluator.score`.
fn evaluations(
    evaluator: &EvaluatorRow,
    plugin: &InstalledPlugin,
    run_id: i64,
    scores: Vec<Score>,
    instructions: u64,
    start_ns: i64,
    end_ns: i64,
) -> Vec<EvaluationResult> {
    let single = scores.len() == 1;
    let record = &plugin.record;
    let result = |name: String, score: Option<Score>| {
        let mut metadata = score
            .as_ref()
            .and_then(|s| s.metadata.as_deref())
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({}));
        metadata["ember"] =
            json!({ "instructions": instructions, "plugin": format!("{}@{}", record.name, record.version) });
        EvaluationResult {
            run_id,
            name,
            label: score.as_ref().and_then(|s| s.label.clone()),
            score: score.as_ref().and_then(|s| s.score),
            explanation: score.as_ref().and_then(|s| s.explanation.clone()),
            error: None,
            error_kind: None,
            metadata: metadata.to_string(),
            start_ns,
            end_ns,
            plugin_name: record.name.clone(),
            plugin_version: record.version.clone(),
            plugin_sha256: record.sha256.clone(),
        }
    };
    if scores.is_empty() {
        return vec![result(evaluator.name.clone(), None)];
    }
    scores
        .into_iter()
        .map(|score| {
            let name = if single { evaluator.name.clone() } else { format!("{}.{}", evaluator.name, score.name) };
            result(name, Some(score))
        })
        .collect()
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
