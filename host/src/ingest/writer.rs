//! The batch writer: the task that moves queued spans into the store.
//!
//! It gathers whatever is queued (up to a batch limit) into one transaction, so that batches grow
//! under load and stay small when idle. It runs as many transactions at once as the store takes
//! writers ([`Store::concurrent_writes`]): one lane on SQLite, whose writes are serial anyway;
//! two on PostgreSQL, so that the next batch is sent while the server still executes and fsyncs
//! the last (one PostgreSQL backend process per transaction: one lane left a core idle). Lanes
//! take turns at the queue, so each batch is gathered whole by one lane. A failed write is
//! retried; the queue's capacity is only released after the spans are committed, which is what
//! turns a full database into backpressure.
//!
//! # Durable acknowledgement
//!
//! An export is answered 200 / OK only after the transaction holding its spans has committed:
//! each queued batch carries a one-shot sender, fired after the commit, and the request waits on
//! it (see [`crate::ingest::Ingestor::export`]). So a `kill -9`, an OOM kill or a crash at any
//! moment loses only spans whose clients are still waiting, and those clients retry (the store
//! ignores spans it already has, so a retry never duplicates).
//!
//! Why this and not a write-ahead log in front of the database: both SQLite (WAL mode) and
//! PostgreSQL already are write-ahead logs with group commit. A log of our own would write every
//! span twice, need its own replay, truncation and disk-full handling, and still leave the same
//! fsync on the critical path. Waiting for the commit costs a request the time of one batch
//! (tens of milliseconds under load), and group commit comes for free: while one transaction
//! runs, the requests that arrive meanwhile queue up and are committed together by the next one,
//! so the number of commits per second does not grow with the number of senders. What a durable
//! commit means is the store's business: PostgreSQL's default `synchronous_commit`, and SQLite's
//! `synchronous=FULL` (`EMBER_SQLITE_SYNCHRONOUS`), which survives power loss too, not only a
//! process crash.
//!
//! A request whose spans are not committed within `EMBER_INGEST_ACK_TIMEOUT_SECONDS` (a failing
//! disk or database) is answered 503 / UNAVAILABLE: its spans stay queued and are written once the
//! store heals, and the client's retry is deduplicated.
//!
//! The writer is a supervised, restartable task. The queue's receiver and the batches each lane
//! holds live outside the task (in [`Inbox`]), so that a run that panics anywhere leaves them behind
//! for the next run, which writes the batches in hand first: a panic never loses an acknowledged span.
//! A panic inside a write attempt is contained without even a restart.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;

use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::ingest::queue::{Committed, DepthGauge, QueueReceiver, QueuedBatch};
use crate::ingest::write_health::WriteHealth;
use crate::live::SpanEvents;
use crate::metrics::Metrics;
use crate::model::SpanRecord;
use crate::store::{Store, StoreError, WriteOutcome};
use crate::supervise::Supervisor;

const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);
/// The writer's name for the supervisor (and `EMBER_FAULT_TASK_PANICS`).
pub const TASK_NAME: &str = "span-writer";

/// Asks the writer to drain the queue and stop, and tells when it died instead.
#[derive(Debug)]
pub struct WriterHandle {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    health: Arc<WriteHealth>,
}

impl WriterHandle {
    /// Resolves only if the writer ends before it was asked to stop (the supervisor gave up on it
    /// after repeated panics): marks the writer down, so that `/healthz` fails and the server exits
    /// non-zero for its service manager to restart it. Cancel-safe.
    pub async fn died(&mut self) {
        let Some(task) = self.task.as_mut() else { return std::future::pending().await };
        let _ = task.await;
        self.task = None;
        if *self.stop.borrow() {
            return std::future::pending().await;
        }
        self.health.record_down();
        tracing::error!("the span writer was given up on: queued spans can no longer be written");
    }

    /// Signals the writer, then waits until every queued span is committed.
    pub async fn drain_and_stop(self) {
        let _ = self.stop.send(true);
        let Some(task) = self.task else { return };
        if let Err(err) = task.await {
            tracing::error!(error = %err, "span writer task failed");
        }
    }
}

/// Starts the writer under `supervisor`, committing at most `max_batch_spans` spans per
/// transaction and publishing each commit to `events`. `injected_panics` (a fault-injection hook
/// for tests) makes the first that many write attempts panic.
pub fn spawn_writer(
    supervisor: &Supervisor,
    store: Store,
    queue: QueueReceiver,
    metrics: Arc<Metrics>,
    max_batch_spans: usize,
    events: SpanEvents,
    injected_panics: u32,
) -> WriterHandle {
    let (stop, stopped) = watch::channel(false);
    let health = queue.health.clone();
    let writer = Arc::new(Writer {
        store,
        metrics,
        max_batch_spans: max_batch_spans.max(1),
        events,
        health: health.clone(),
        depth: queue.depth_gauge(),
        injected_panics: AtomicU32::new(injected_panics),
    });
    let lanes = (0..writer.store.concurrent_writes().max(1)).map(|_| Mutex::new(Vec::new())).collect();
    let inbox = Arc::new(Inbox { queue: Mutex::new(queue), lanes });
    let task = supervisor.spawn_restarting(TASK_NAME, move || writer.clone().run(inbox.clone(), stopped.clone()));
    WriterHandle { stop, task: Some(task), health }
}

/// What outlives a writer run: the queue, and per lane the batches taken from it but not yet
/// committed.
struct Inbox {
    queue: Mutex<QueueReceiver>,
    lanes: Vec<Mutex<Vec<QueuedBatch>>>,
}

/// Takes `first` and whatever else is queued, up to `max_spans` spans, into the hand.
fn gather(queue: &mut QueueReceiver, in_hand: &mut Vec<QueuedBatch>, first: QueuedBatch, max_spans: usize) {
    let mut total = first.spans.len();
    in_hand.push(first);
    while total < max_spans {
        match queue.rx.try_recv() {
            Ok(batch) => {
                total += batch.spans.len();
                in_hand.push(batch);
            }
            Err(_) => break,
        }
    }
}

struct Writer {
    store: Store,
    metrics: Arc<Metrics>,
    max_batch_spans: usize,
    events: SpanEvents,
    health: Arc<WriteHealth>,
    depth: DepthGauge,
    injected_panics: AtomicU32,
}

impl Writer {
    async fn run(self: Arc<Self>, inbox: Arc<Inbox>, stopped: watch::Receiver<bool>) {
        let lanes = inbox.lanes.iter().map(|in_hand| self.lane(&inbox.queue, in_hand, stopped.clone()));
        futures::future::join_all(lanes).await;
        self.depth.report();
        tracing::info!("span writer drained the queue");
    }

    /// One lane: takes the queue's turn, gathers a batch, lets the next lane have the queue while
    /// it commits. On stop it drains what is queued.
    async fn lane(
        &self,
        queue: &Mutex<QueueReceiver>,
        in_hand: &Mutex<Vec<QueuedBatch>>,
        mut stopped: watch::Receiver<bool>,
    ) {
        // The hand is held for the whole run; a panic releases it as the run unwinds.
        let mut in_hand = in_hand.lock().await;
        if !in_hand.is_empty() {
            tracing::warn!(batches = in_hand.len(), "span writer restarted: writing the batches it held first");
            self.commit(&mut in_hand).await;
        }
        loop {
            let mut queue = queue.lock().await;
            let first = tokio::select! {
                biased;
                batch = queue.rx.recv() => batch,
                _ = stopped.wait_for(|stop| *stop) => None,
            };
            let Some(first) = first else { break };
            gather(&mut queue, &mut in_hand, first, self.max_batch_spans);
            drop(queue);
            self.commit(&mut in_hand).await;
        }
        // Stopping: the transports no longer accept, so whatever is queued now is all there is.
        let mut queue = queue.lock().await;
        queue.rx.close();
        while let Ok(first) = queue.rx.try_recv() {
            gather(&mut queue, &mut in_hand, first, self.max_batch_spans);
            self.commit(&mut in_hand).await;
        }
    }

    /// Commits the spans of the batches in hand, tells each batch's client, then lets go of them
    /// (and of their queue permits): until the data is durable they stay in the hand.
    async fn commit(&self, in_hand: &mut Vec<QueuedBatch>) {
        let sizes: Vec<usize> = in_hand.iter().map(|batch| batch.spans.len()).collect();
        let Some((first, rest)) = in_hand.split_first_mut() else { return };
        // The queue is first in, first out: the first batch is the oldest one waiting.
        self.metrics.oldest_queued_ms.store(first.enqueued_ms, Ordering::Relaxed);
        // One slice to write, without copying a span: the others' spans move into the first batch.
        for batch in rest {
            first.spans.append(&mut batch.spans);
        }
        let span = tracing::debug_span!("write_batch", spans = first.spans.len());
        let mut dropped = Vec::new();
        self.write_with_retry(&first.spans, 0, &mut dropped).instrument(span).await;
        self.metrics.oldest_queued_ms.store(0, Ordering::Relaxed);
        self.events.publish(first.spans.iter().map(|span| &span.project));
        let committed_ms = crate::time::now_ns() / 1_000_000;
        let mut start = 0;
        for (batch, size) in in_hand.iter_mut().zip(sizes) {
            let range = start..start + size;
            start = range.end;
            let dropped = dropped.iter().filter(|index| range.contains(index)).count() as u64;
            self.metrics.ack_seconds.observe((committed_ms - batch.enqueued_ms).max(0) as f64 / 1000.0);
            if let Some(ack) = batch.ack.take() {
                // The client may have given up waiting; its spans are stored all the same.
                let _ = ack.send(Committed { dropped });
            }
        }
        in_hand.clear();
        self.depth.report();
    }

    /// Writes `spans` (at `offset` in the batch), retrying until they are committed or refused
    /// one by one; the batch indexes of refused spans go to `dropped`. A panic in an attempt is
    /// contained: the spans are still here, and the attempt is retried.
    async fn write_with_retry(&self, spans: &[SpanRecord], offset: usize, dropped: &mut Vec<usize>) {
        let mut delay = Duration::from_millis(50);
        loop {
            let started = Instant::now();
            let attempt = AssertUnwindSafe(self.write_once(spans)).catch_unwind().await;
            let Ok(result) = attempt else {
                self.metrics.writer_panics.inc();
                self.health.record_panic();
                tracing::error!(
                    spans = spans.len(),
                    retry_in_ms = delay.as_millis() as u64,
                    "batch write panicked; spans kept for retry"
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_RETRY_DELAY);
                continue;
            };
            match result {
                Ok(outcome) => {
                    self.health.record_commit();
                    self.metrics.last_commit.set(unix_seconds());
                    self.metrics.batch_seconds.observe(started.elapsed().as_secs_f64());
                    self.metrics.batch_spans.observe(spans.len() as f64);
                    self.metrics.spans_written.inc_by(outcome.inserted);
                    self.metrics.spans_duplicate.inc_by(outcome.duplicates);
                    return;
                }
                Err(err) if err.is_transient() => {
                    self.record_failure(&err);
                    tracing::warn!(error = %err, fault = err.fault().as_str(), spans = spans.len(), retry_in_ms = delay.as_millis() as u64, "batch write failed; spans kept for retry");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(MAX_RETRY_DELAY);
                }
                Err(err) => {
                    self.record_failure(&err);
                    tracing::error!(error = %err, spans = spans.len(), "batch write refused; writing its spans one by one");
                    if spans.len() == 1 {
                        self.metrics.spans_dropped.inc();
                        dropped.push(offset);
                        tracing::error!(error = %err, trace_id = %spans[0].trace_id, span_id = %spans[0].span_id, "database refused span");
                        return;
                    }
                    for (index, span) in spans.iter().enumerate() {
                        Box::pin(self.write_with_retry(std::slice::from_ref(span), offset + index, dropped)).await;
                    }
                    return;
                }
            }
        }
    }

    async fn write_once(&self, spans: &[SpanRecord]) -> Result<WriteOutcome, StoreError> {
        let inject =
            self.injected_panics.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| left.checked_sub(1));
        if inject.is_ok() {
            panic!("injected span writer panic (EMBER_FAULT_WRITER_PANICS)");
        }
        self.store.write_batch(spans).await
    }

    fn record_failure(&self, err: &StoreError) {
        let fault = err.fault();
        self.health.record_failure(fault);
        self.metrics.write_errors.get_or_create(&vec![("kind", fault.as_str())]).inc();
    }
}

fn unix_seconds() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |since| since.as_secs_f64())
}
