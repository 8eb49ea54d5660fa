//! Server-side evaluation: a worker that takes due jobs from the database, runs the attached
//! evaluator plugins in the sandbox and stores their scores.
//!
//! Jobs are durable rows (`store::jobs`). The worker leases a batch at a time; finishing checks
//! the lease, so a job is stored once even if a lease ran out and another server took it over.
//! A server that dies mid-batch leaves its leases to expire, and the work is done again from
//! scratch by whichever server claims it next. A graceful shutdown hands unfinished work back
//! at once.

mod batch;
mod call;
pub mod prompt_task;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::metrics::Metrics;
use crate::plugins::PluginHost;
use crate::store::Store;
use crate::supervise::Supervisor;

/// How the worker runs.
#[derive(Debug, Clone, Copy)]
pub struct WorkerConfig {
    /// Jobs leased per claim.
    pub batch: i64,
    /// Plugin calls of one batch that run at once (blocking threads).
    pub concurrency: usize,
    /// How long a claim's lease lasts; a crashed server's jobs are taken up after this.
    pub lease: Duration,
    /// Attempts before a transient failure is stored as the evaluation's error.
    pub max_attempts: i64,
    /// First retry delay; doubled per attempt, up to a minute.
    pub retry_base: Duration,
    /// How often an idle worker looks for new jobs (it is also woken when jobs are queued).
    pub poll: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            batch: 512,
            concurrency: std::thread::available_parallelism().map_or(2, usize::from),
            lease: Duration::from_secs(300),
            max_attempts: 5,
            retry_base: Duration::from_millis(500),
            poll: Duration::from_millis(500),
        }
    }
}

/// Wakes the worker when jobs are queued, so that it need not wait for its next poll.
#[derive(Debug, Clone, Default)]
pub struct JobSignal(Arc<Notify>);

impl JobSignal {
    /// Tells the worker there may be new jobs.
    pub fn notify(&self) {
        self.0.notify_one();
    }
}

/// A running worker; stop it with [`Worker::stop`].
#[derive(Debug)]
pub struct Worker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Worker {
    /// Starts the worker on the current runtime, under `supervisor`: after a panic it starts
    /// again, and the jobs the failed run had leased are claimed again once their lease ends.
    pub fn spawn(
        supervisor: &Supervisor,
        store: Store,
        plugins: PluginHost,
        metrics: Arc<Metrics>,
        signal: JobSignal,
        config: WorkerConfig,
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        let task = supervisor.spawn_restarting("evaluation-worker", move || {
            let runner = batch::Runner::new(store.clone(), plugins.clone(), metrics.clone(), config);
            Self::run(runner, signal.clone(), config.poll, stopped.clone())
        });
        Self { stop, task }
    }

    /// Claims and runs jobs until `stopped` is set, then stores the last results.
    async fn run(runner: batch::Runner, signal: JobSignal, poll: Duration, mut stopped: watch::Receiver<bool>) {
        loop {
            if *stopped.borrow() {
                break;
            }
            let busy = match runner.run_once(&stopped).await {
                Ok(claimed) => claimed > 0,
                Err(err) => {
                    tracing::warn!(error = %err, "evaluation worker: database error, retrying");
                    false
                }
            };
            if busy {
                continue;
            }
            if let Err(err) = runner.flush().await {
                tracing::warn!(error = %err, "evaluation worker: storing results failed, retrying");
            }
            tokio::select! {
                _ = signal.0.notified() => {}
                _ = tokio::time::sleep(poll) => {}
                _ = stopped.changed() => {}
            }
        }
        if let Err(err) = runner.flush().await {
            tracing::warn!(error = %err, "evaluation worker: the last results were not stored");
        }
        tracing::info!("evaluation worker stopped");
    }

    /// Stops claiming work, lets the batch in hand finish (its unstarted jobs go back to
    /// pending), and waits for the worker to end.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(err) = self.task.await {
            tracing::error!(error = %err, "evaluation worker failed");
        }
    }
}
