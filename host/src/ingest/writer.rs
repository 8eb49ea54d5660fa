//! The batch writer: the one task that moves queued spans into the store.
//!
//! It gathers whatever is queued (up to a batch limit) into one transaction, so that batches grow
//! under load and stay small when idle. A failed write is retried; the queue's capacity is only
//! released after the spans are committed, which is what turns a full database into backpressure.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::ingest::queue::{QueueReceiver, QueuedBatch};
use crate::ingest::write_health::WriteHealth;
use crate::live::SpanEvents;
use crate::metrics::Metrics;
use crate::model::SpanRecord;
use crate::store::{Store, StoreError, WriteOutcome};

const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);

/// Asks the writer to drain the queue and stop, and tells when it died instead.
#[derive(Debug)]
pub struct WriterHandle {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    health: Arc<WriteHealth>,
}

impl WriterHandle {
    /// Resolves only if the writer task ends before it was asked to stop (a panic outside a batch
    /// write): marks the writer down, so that `/healthz` fails and the server exits non-zero for
    /// its service manager to restart it. Cancel-safe.
    pub async fn died(&mut self) {
        let Some(task) = self.task.as_mut() else { return std::future::pending().await };
        let joined = task.await;
        self.task = None;
        self.health.record_down();
        tracing::error!(error = ?joined.err(), "the span writer task ended unexpectedly: queued spans can no longer be written");
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

/// Starts the writer task, committing at most `max_batch_spans` spans per transaction and
/// publishing each commit to `events`. `injected_panics` (a fault-injection hook for tests) makes
/// the first that many batch writes panic.
pub fn spawn_writer(
    store: Store,
    queue: QueueReceiver,
    metrics: Arc<Metrics>,
    max_batch_spans: usize,
    events: SpanEvents,
    injected_panics: u32,
) -> WriterHandle {
    let (stop, stopped) = watch::channel(false);
    let health = queue.health.clone();
    let writer = Writer {
        store,
        metrics,
        max_batch_spans: max_batch_spans.max(1),
        events,
        health: health.clone(),
        injected_panics: AtomicU32::new(injected_panics),
    };
    let task = tokio::spawn(writer.run(queue, stopped));
    WriterHandle { stop, task: Some(task), health }
}

struct Writer {
    store: Store,
    metrics: Arc<Metrics>,
    max_batch_spans: usize,
    events: SpanEvents,
    health: Arc<WriteHealth>,
    injected_panics: AtomicU32,
}

impl Writer {
    async fn run(self, mut queue: QueueReceiver, mut stopped: watch::Receiver<bool>) {
        loop {
            let first = tokio::select! {
                biased;
                batch = queue.rx.recv() => batch,
                _ = stopped.wait_for(|stop| *stop) => None,
            };
            let Some(first) = first else { break };
            let batches = self.gather(first, &mut queue);
            self.commit(batches).await;
            queue.report_depth();
        }
        // Stopping: the transports no longer accept, so whatever is queued now is all there is.
        queue.rx.close();
        while let Ok(first) = queue.rx.try_recv() {
            let batches = self.gather(first, &mut queue);
            self.commit(batches).await;
        }
        queue.report_depth();
        tracing::info!("span writer drained the queue");
    }

    fn gather(&self, first: QueuedBatch, queue: &mut QueueReceiver) -> Vec<QueuedBatch> {
        let mut total = first.spans.len();
        let mut batches = vec![first];
        while total < self.max_batch_spans {
            match queue.rx.try_recv() {
                Ok(batch) => {
                    total += batch.spans.len();
                    batches.push(batch);
                }
                Err(_) => break,
            }
        }
        batches
    }

    /// Commits the spans of `batches`, holding their queue permits until the data is durable.
    async fn commit(&self, mut batches: Vec<QueuedBatch>) {
        // The queue is first in, first out: the first batch is the oldest one waiting.
        let oldest = batches.first().map_or(0, |batch| batch.enqueued_ms);
        self.metrics.oldest_queued_ms.store(oldest, Ordering::Relaxed);
        let spans: Vec<SpanRecord> = batches.iter_mut().flat_map(|b| std::mem::take(&mut b.spans)).collect();
        let span = tracing::debug_span!("write_batch", spans = spans.len());
        self.write_with_retry(&spans).instrument(span).await;
        self.metrics.oldest_queued_ms.store(0, Ordering::Relaxed);
        drop(batches);
        self.events.publish(spans.iter().map(|span| &span.project));
    }

    /// Writes `spans`, retrying until they are committed (or refused one by one). A panic in an
    /// attempt is contained: the spans are still here, and the attempt is retried.
    async fn write_with_retry(&self, spans: &[SpanRecord]) {
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
                        tracing::error!(error = %err, trace_id = %spans[0].trace_id, span_id = %spans[0].span_id, "database refused span");
                        return;
                    }
                    for span in spans {
                        Box::pin(self.write_with_retry(std::slice::from_ref(span))).await;
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
