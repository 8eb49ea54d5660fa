//! Server-side experiment tasks: a prompt version rendered with each dataset example's input and
//! run through a provider plugin; each answer becomes the example's run, which the evaluators
//! attached to the experiment then score (the run's evaluation jobs are queued with it).
//!
//! A task is a row with a lease (see `store::prompt_tasks`): the runner renews it while it works,
//! and a server that starts, or a task started again, picks up what is missing — runs already
//! stored are never redone, failed ones are retried when the task is started again.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::evaluation::JobSignal;
use crate::ingest::Ingestor;
use crate::plugins::PluginHost;
use crate::prompts::PromptVersion;
use crate::providers::prompt::{self, PromptError, PromptSelector};
use crate::providers::{record_call, wire, CallRecord, Providers, RetryPolicy};
use crate::store::{ExperimentRow, NewRun, Store, StoreError};

/// How long a task's lease lasts; renewed every third of it.
const LEASE: Duration = Duration::from_secs(60);

/// Largest concurrency a task may ask for.
pub const MAX_CONCURRENCY: usize = 64;

/// What a prompt task runs, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// The pinned version (a tag moved later does not change a running experiment).
    pub prompt_version_id: i64,
    pub provider: String,
    /// Overrides the version's model.
    pub model: Option<String>,
    pub concurrency: usize,
    pub max_attempts: u32,
}

/// Why a task could not start.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error(transparent)]
    Prompt(#[from] PromptError),
    #[error("no enabled provider plugin named {0:?} is installed")]
    NoProvider(String),
    #[error("concurrency must be from 1 to {MAX_CONCURRENCY} and max_attempts from 1 to 10")]
    Limits,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs prompt tasks in this server.
#[derive(Debug, Clone)]
pub struct TaskRunner {
    store: Store,
    providers: Providers,
    plugins: PluginHost,
    ingestor: Ingestor,
    jobs: JobSignal,
    running: Arc<Mutex<HashSet<i64>>>,
}

/// The template variables of an example: its input object, or `{"input": value}`.
fn variables(input: &str) -> Map<String, Value> {
    match serde_json::from_str::<Value>(input) {
        Ok(Value::Object(map)) => map,
        Ok(other) => Map::from_iter([("input".to_owned(), other)]),
        Err(_) => Map::from_iter([("input".to_owned(), Value::String(input.to_owned()))]),
    }
}

fn lease_until() -> i64 {
    crate::time::now_ns().saturating_add(i64::try_from(LEASE.as_nanos()).unwrap_or(i64::MAX))
}

impl TaskRunner {
    pub fn new(store: Store, providers: Providers, plugins: PluginHost, ingestor: Ingestor, jobs: JobSignal) -> Self {
        Self { store, providers, plugins, ingestor, jobs, running: Arc::default() }
    }

    /// Checks and stores the task of `experiment`, then runs it in the background. Returns the
    /// pinned specification.
    pub async fn start(
        &self,
        experiment: &ExperimentRow,
        selector: &PromptSelector,
        provider: Option<&str>,
        model: Option<String>,
        concurrency: usize,
        max_attempts: u32,
    ) -> Result<TaskSpec, TaskError> {
        if !(1..=MAX_CONCURRENCY).contains(&concurrency) || !(1..=10).contains(&max_attempts) {
            return Err(TaskError::Limits);
        }
        let version = selector.resolve(&self.store).await?;
        let provider = prompt::provider_for(&version, provider, |name| self.plugins.resolve(name).is_some())?;
        self.providers.resolve(&provider).map_err(|_| TaskError::NoProvider(provider.clone()))?;
        let spec = TaskSpec { prompt_version_id: version.id, provider, model, concurrency, max_attempts };
        let text = serde_json::to_string(&spec).unwrap_or_default();
        self.store.start_prompt_task(experiment.id, &text, lease_until()).await?;
        self.spawn(experiment.id, spec.clone());
        Ok(spec)
    }

    /// Takes up tasks whose server stopped (expired leases); called at start and now and then.
    pub async fn resume_stale(&self) {
        let rows = match self.store.claim_stale_prompt_tasks(lease_until()).await {
            Ok(rows) => rows,
            Err(err) => {
                tracing::warn!(error = %err, "cannot look for unfinished prompt tasks");
                return;
            }
        };
        for row in rows {
            match serde_json::from_str::<TaskSpec>(&row.spec) {
                Ok(spec) => {
                    tracing::info!(experiment = row.experiment_id, "resuming prompt task");
                    self.spawn(row.experiment_id, spec);
                }
                Err(err) => tracing::error!(experiment = row.experiment_id, error = %err, "unreadable prompt task"),
            }
        }
    }

    fn spawn(&self, experiment_id: i64, spec: TaskSpec) {
        {
            let Ok(mut running) = self.running.lock() else { return };
            if !running.insert(experiment_id) {
                // Already running here: that run will pick up anything new when it lists the gaps.
                return;
            }
        }
        let runner = self.clone();
        tokio::spawn(async move {
            // Removed from the running set even if the task panics, so that the watcher can
            // take it up again once its lease ends.
            let _running = Running { runner: runner.clone(), experiment_id };
            let result = runner.run(experiment_id, &spec).await;
            match result {
                Ok(done) => tracing::info!(experiment = experiment_id, runs = done, "prompt task finished"),
                Err(err) => {
                    tracing::error!(experiment = experiment_id, error = %err, "prompt task stopped");
                    // Not taken up again and again: starting the task again retries it.
                    if let Err(err) = runner.store.finish_prompt_task(experiment_id).await {
                        tracing::warn!(experiment = experiment_id, error = %err, "prompt task not marked finished");
                    }
                }
            }
        });
    }

    /// Runs every missing or failed (example, repetition) of the experiment.
    async fn run(&self, experiment_id: i64, spec: &TaskSpec) -> Result<usize, TaskError> {
        let Some(experiment) = self.store.experiment_by_id(experiment_id).await? else {
            return Ok(0);
        };
        let version = self
            .store
            .resolve_prompt_version(&crate::prompts::PromptRef::Version(spec.prompt_version_id))
            .await?
            .ok_or_else(|| PromptError::NotFound(format!("prompt version {}", spec.prompt_version_id)))?;
        let examples = self.store.examples_at_version(experiment.dataset_id, experiment.dataset_version_id).await?;
        let succeeded: HashSet<(i64, i64)> = self
            .store
            .list_runs(experiment_id, None, None)
            .await?
            .into_iter()
            .filter(|run| run.error.is_none())
            .map(|run| (run.dataset_example_id, run.repetition_number))
            .collect();
        let pending: Vec<(i64, String, i64)> = examples
            .into_iter()
            .flat_map(|example| {
                (1..=experiment.repetitions).map(move |repetition| (example.id, example.input.clone(), repetition))
            })
            .filter(|(id, _, repetition)| !succeeded.contains(&(*id, *repetition)))
            .collect();
        let renewer = self.renew_while_running(experiment_id);
        let project = experiment.project_name.clone().unwrap_or_else(|| format!("experiment-{experiment_id}"));
        let done = stream::iter(pending)
            .map(|(example_id, input, repetition)| {
                self.run_one(&experiment, &version, spec, &project, example_id, input, repetition)
            })
            .buffer_unordered(spec.concurrency.max(1))
            .filter(|stored| std::future::ready(*stored))
            .count()
            .await;
        renewer.abort();
        self.store.finish_prompt_task(experiment_id).await?;
        Ok(done)
    }

    /// Runs one example; returns whether its run was stored.
    #[allow(clippy::too_many_arguments)]
    async fn run_one(
        &self,
        experiment: &ExperimentRow,
        version: &PromptVersion,
        spec: &TaskSpec,
        project: &str,
        example_id: i64,
        input: String,
        repetition: i64,
    ) -> bool {
        let started_ns = crate::time::now_ns();
        let request = prompt::request(version, &variables(&input), spec.model.clone());
        let (output, error, trace_id, end_ns) = match request {
            Err(err) => ("null".to_owned(), Some(err.to_string()), None, crate::time::now_ns()),
            Ok(request) => {
                let policy = RetryPolicy { max_attempts: spec.max_attempts, ..self.providers.policy() };
                let outcome = self.providers.chat(spec.provider.clone(), request.clone(), policy).await;
                let record = CallRecord {
                    project: project.to_owned(),
                    name: "ChatCompletion".into(),
                    attributes: vec![
                        ("ember.experiment_id".into(), crate::ids::global_id("Experiment", experiment.id)),
                        ("ember.dataset_example_id".into(), crate::ids::global_id("DatasetExample", example_id)),
                    ],
                };
                let trace_id = match record_call(&self.ingestor, &self.plugins, &request, &outcome, &record).await {
                    Ok(recorded) => Some(recorded.trace_id),
                    Err(err) => {
                        tracing::warn!(error = %err, "prompt task span not recorded");
                        None
                    }
                };
                let end_ns = crate::time::now_ns();
                match &outcome.result {
                    Ok(response) => (wire::run_output(response).to_string(), None, trace_id, end_ns),
                    Err(err) => ("null".to_owned(), Some(format!("{}: {err}", err.kind())), trace_id, end_ns),
                }
            }
        };
        let run = NewRun {
            experiment_id: experiment.id,
            dataset_example_id: example_id,
            repetition_number: repetition,
            output,
            start_ns: started_ns,
            end_ns,
            trace_id,
            error,
        };
        match self.store.upsert_run(&run).await {
            Ok(_) => {
                self.jobs.notify();
                true
            }
            Err(StoreError::RunExists) => false,
            Err(err) => {
                tracing::warn!(experiment = experiment.id, example = example_id, error = %err, "prompt task run not stored");
                false
            }
        }
    }

    fn renew_while_running(&self, experiment_id: i64) -> tokio::task::JoinHandle<()> {
        let store = self.store.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(LEASE / 3);
            loop {
                every.tick().await;
                if let Err(err) = store.renew_prompt_task(experiment_id, lease_until()).await {
                    tracing::warn!(experiment = experiment_id, error = %err, "prompt task lease not renewed");
                }
            }
        })
    }
}
/// Marks an experiment's prompt task as running in this process until dropped.
struct Running {
    runner: TaskRunner,
    experiment_id: i64,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(mut running) = self.runner.running.lock() {
            running.remove(&self.experiment_id);
        }
    }
}
