//! Supervision of the server's long-lived tasks, so that a dead task never leaves a half-alive
//! server.
//!
//! - A *restartable* task (the evaluation worker, the prompt-task watcher) that panics is logged,
//!   counted in `ember_task_panics_total{task}` and started again after a backoff; its work is
//!   leased in the database, so whatever it held is taken up again. One that panics
//!   [`MAX_PANICS`] times within [`PANIC_WINDOW`] is given up on.
//! - An *essential* task (the HTTP and gRPC servers) cannot be restarted in place: if it ends
//!   before shutdown was asked for, for whatever reason, it is given up on at once.
//!
//! A task given up on fails `/healthz` and `/readyz` and makes `serve` shut down and return an
//! error, so that the process exits non-zero and its service manager restarts it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::metrics::Metrics;

/// Panics within [`PANIC_WINDOW`] after which a restartable task is given up on.
pub const MAX_PANICS: usize = 5;
/// The window [`MAX_PANICS`] is counted over.
pub const PANIC_WINDOW: Duration = Duration::from_secs(60);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Starts supervised tasks and tells when one of them was given up on. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Supervisor {
    failed: watch::Sender<Option<&'static str>>,
    metrics: Arc<Metrics>,
    /// Fault injection for tests: panics each named task's first N runs, each after a delay.
    injected: Arc<Mutex<HashMap<String, Injected>>>,
}

/// Panics to inject into one task: `runs` runs, each `after` it started.
#[derive(Debug, Clone, Copy)]
struct Injected {
    runs: u32,
    after: Duration,
}

impl Supervisor {
    /// A supervisor with `injected_panics`, a test hook: "task=count,…" panics a task's first
    /// `count` runs as they start, "task=count@ms" each after it ran `ms` milliseconds (a task
    /// killed in the middle of its work); empty for none.
    pub fn new(metrics: Arc<Metrics>, injected_panics: &str) -> Self {
        let injected = injected_panics
            .split(',')
            .filter_map(|entry| entry.split_once('='))
            .filter_map(|(task, spec)| {
                let (runs, after_ms) = spec.trim().split_once('@').unwrap_or((spec.trim(), "0"));
                let injected =
                    Injected { runs: runs.parse().ok()?, after: Duration::from_millis(after_ms.parse().ok()?) };
                Some((task.trim().to_owned(), injected))
            })
            .collect();
        Self { failed: watch::Sender::new(None), metrics, injected: Arc::new(Mutex::new(injected)) }
    }

    /// The task that was given up on, if any.
    pub fn failed_task(&self) -> Option<&'static str> {
        *self.failed.borrow()
    }

    /// Resolves once a task was given up on, with its name. Cancel-safe.
    pub async fn failed(&self) -> &'static str {
        let mut receiver = self.failed.subscribe();
        let failed = match receiver.wait_for(Option::is_some).await {
            Ok(name) => *name,
            // The sender lives in `self`: unreachable while we borrow it.
            Err(_) => None,
        };
        match failed {
            Some(name) => name,
            None => std::future::pending().await,
        }
    }

    /// Runs the task `make` builds until it returns, building and starting it again after each
    /// panic. Aborting the returned handle stops the task.
    pub fn spawn_restarting<F, Fut>(&self, name: &'static str, make: F) -> JoinHandle<()>
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let supervisor = self.clone();
        tokio::spawn(async move {
            let mut panics: Vec<Instant> = Vec::new();
            let mut backoff = FIRST_BACKOFF;
            loop {
                let inject = supervisor.take_injected(name);
                let run = make();
                let attempt = tokio::spawn(with_injected_panic(name, inject, run));
                let _abort = AbortOnDrop(attempt.abort_handle());
                match attempt.await {
                    Ok(()) => return,
                    Err(err) if err.is_cancelled() => return,
                    Err(_) => {}
                }
                supervisor.metrics.task_panics.get_or_create(&vec![("task", name)]).inc();
                panics.retain(|at| at.elapsed() < PANIC_WINDOW);
                panics.push(Instant::now());
                if panics.len() >= MAX_PANICS {
                    tracing::error!(task = name, panics = panics.len(), "task keeps panicking; giving up on it");
                    supervisor.give_up(name);
                    return;
                }
                tracing::error!(
                    task = name,
                    restart_in_ms = backoff.as_millis() as u64,
                    "task panicked; restarting it"
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        })
    }

    /// Runs `task`, giving up on it if it ends before `stopping` is set, whether it returned,
    /// failed or panicked. Returns the task's own result.
    pub fn spawn_essential<T, Fut>(
        &self,
        name: &'static str,
        stopping: watch::Receiver<bool>,
        task: Fut,
    ) -> JoinHandle<Option<T>>
    where
        T: Send + 'static,
        Fut: Future<Output = T> + Send + 'static,
    {
        let supervisor = self.clone();
        let inject = self.take_injected(name);
        tokio::spawn(async move {
            let attempt = tokio::spawn(with_injected_panic(name, inject, task));
            let _abort = AbortOnDrop(attempt.abort_handle());
            let outcome = attempt.await;
            if !*stopping.borrow() {
                tracing::error!(
                    task = name,
                    panicked = outcome.as_ref().is_err_and(|err| err.is_panic()),
                    "essential task ended; shutting down"
                );
                if outcome.as_ref().is_err_and(|err| err.is_panic()) {
                    supervisor.metrics.task_panics.get_or_create(&vec![("task", name)]).inc();
                }
                supervisor.give_up(name);
            }
            outcome.ok()
        })
    }

    fn give_up(&self, name: &'static str) {
        self.failed.send_if_modified(|failed| {
            let first = failed.is_none();
            if first {
                *failed = Some(name);
            }
            first
        });
    }

    /// The delay after which this run of `name` is to panic, if it is.
    fn take_injected(&self, name: &str) -> Option<Duration> {
        let mut injected = self.injected.lock().ok()?;
        let left = injected.get_mut(name).filter(|left| left.runs > 0)?;
        left.runs -= 1;
        Some(left.after)
    }
}

/// Runs `task`, or panics `inject` after it started (a fault-injection hook for tests).
async fn with_injected_panic<T>(name: &str, inject: Option<Duration>, task: impl Future<Output = T>) -> T {
    let Some(after) = inject else { return task.await };
    if after.is_zero() {
        panic!("injected panic of the {name} task (EMBER_FAULT_TASK_PANICS)");
    }
    tokio::select! {
        biased;
        () = tokio::time::sleep(after) => panic!("injected panic of the {name} task (EMBER_FAULT_TASK_PANICS)"),
        done = task => done,
    }
}

/// Aborts a spawned attempt when its supervisor is aborted, so that stopping a supervised task
/// stops the task itself.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn supervisor(injected: &str) -> Supervisor {
        Supervisor::new(Arc::new(Metrics::new()), injected)
    }

    #[tokio::test]
    async fn a_panicking_task_is_restarted_until_it_finishes() {
        let supervisor = supervisor("");
        let runs = Arc::new(AtomicU32::new(0));
        let counted = runs.clone();
        let task = supervisor.spawn_restarting("flaky", move || {
            let run = counted.fetch_add(1, Ordering::SeqCst);
            async move { assert!(run >= 2, "run {run} fails") }
        });
        task.await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert_eq!(supervisor.failed_task(), None);
        assert!(supervisor.metrics.render().contains("ember_task_panics_total{task=\"flaky\"} 2"));
    }

    #[tokio::test]
    async fn a_task_that_keeps_panicking_is_given_up_on() {
        let supervisor = supervisor("");
        let task = supervisor.spawn_restarting("broken", || async { panic!("always") });
        task.await.unwrap();
        assert_eq!(supervisor.failed_task(), Some("broken"));
        assert_eq!(supervisor.failed().await, "broken");
    }

    #[tokio::test]
    async fn an_essential_task_that_ends_early_is_given_up_on_but_not_after_stopping() {
        let supervisor = supervisor("");
        let (stop, stopping) = watch::channel(false);
        let early = supervisor.spawn_essential("server", stopping.clone(), async { 7 });
        assert_eq!(early.await.unwrap(), Some(7));
        assert_eq!(supervisor.failed_task(), Some("server"));

        let calm = Supervisor::new(Arc::new(Metrics::new()), "");
        stop.send(true).unwrap();
        calm.spawn_essential("server", stopping, async {}).await.unwrap();
        assert_eq!(calm.failed_task(), None);
    }

    #[tokio::test]
    async fn injected_panics_hit_the_named_task_only() {
        let supervisor = supervisor("worker=2, other=1");
        let runs = Arc::new(AtomicU32::new(0));
        let counted = runs.clone();
        let task = supervisor.spawn_restarting("worker", move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async {}
        });
        task.await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 3, "two injected panics, then the real run");
        assert_eq!(supervisor.take_injected("other"), Some(Duration::ZERO));
        assert_eq!(supervisor.take_injected("other"), None);
    }

    #[tokio::test]
    async fn an_injected_panic_can_hit_a_task_in_the_middle_of_its_work() {
        let supervisor = supervisor("slow=1@50");
        let (runs, finished) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
        let (counted, done) = (runs.clone(), finished.clone());
        let task = supervisor.spawn_restarting("slow", move || {
            counted.fetch_add(1, Ordering::SeqCst);
            let done = done.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                done.fetch_add(1, Ordering::SeqCst);
            }
        });
        task.await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_eq!(finished.load(Ordering::SeqCst), 1, "the first run was stopped half way");
        assert!(supervisor.metrics.render().contains("ember_task_panics_total{task=\"slow\"} 1"));
    }

    #[tokio::test]
    async fn aborting_a_supervised_task_stops_the_task_itself() {
        let supervisor = supervisor("");
        let (alive, mut watch_alive) = watch::channel(true);
        let task = supervisor.spawn_restarting("forever", move || {
            let alive = alive.clone();
            async move {
                let _alive = alive;
                std::future::pending::<()>().await;
            }
        });
        tokio::task::yield_now().await;
        task.abort();
        // Every sender (held by the task's future) is dropped once the inner task is aborted.
        assert!(watch_alive.wait_for(|_| false).await.is_err());
    }
}
