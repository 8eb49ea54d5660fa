//! The bounded ingest queue between the transports and the batch writer.
//!
//! Capacity is counted in spans, not requests, so that memory stays bounded whatever the batch
//! sizes. `push` hands back a [`Receipt`] that resolves once the writer has committed the batch:
//! a span is acknowledged to its client only then (see `writer.rs` for why).

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use crate::ingest::write_health::WriteHealth;
use crate::metrics::Metrics;
use crate::model::SpanRecord;
use crate::store::StorageFault;

/// Encoded bytes one queue permit stands for: a typical OpenInference span (1–2 KB of protobuf)
/// takes one permit, a span carrying a 1 MB document takes about 500.
pub const SPAN_BYTES: usize = 2048;

/// Why spans were not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("ingest queue is full")]
    Full,
    /// The writer's writes fail (full disk, I/O errors, database gone): see
    /// [`StorageFault::refuses_ingest`].
    #[error("{}", .0.refusal())]
    Storage(StorageFault),
    #[error("server is shutting down")]
    Closed,
}

/// What the writer reports for a batch once its transaction has committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Committed {
    /// Spans of the batch the database refused one by one (the rest are stored).
    pub dropped: u64,
}

/// Resolves once the batch it was handed for is committed; dropped unresolved only when the
/// writer is gone for good.
#[derive(Debug)]
pub struct Receipt(oneshot::Receiver<Committed>);

impl Receipt {
    /// Waits for the commit; `None` when the writer will never commit the batch.
    pub async fn committed(self) -> Option<Committed> {
        self.0.await.ok()
    }
}

/// Spans waiting to be written, holding their share of the queue's capacity.
#[derive(Debug)]
pub struct QueuedBatch {
    pub spans: Vec<SpanRecord>,
    /// When the batch was queued (Unix milliseconds).
    pub enqueued_ms: i64,
    /// Told once the batch is committed; its client waits for that before its acknowledgement.
    pub(crate) ack: Option<oneshot::Sender<Committed>>,
    _permit: OwnedSemaphorePermit,
}

/// The sending side, shared by every transport.
#[derive(Debug, Clone)]
pub struct SpanQueue {
    tx: mpsc::UnboundedSender<QueuedBatch>,
    permits: Arc<Semaphore>,
    capacity: u32,
    metrics: Arc<Metrics>,
    health: Arc<WriteHealth>,
}

/// The receiving side, owned by the writer.
#[derive(Debug)]
pub struct QueueReceiver {
    pub(crate) rx: mpsc::UnboundedReceiver<QueuedBatch>,
    permits: Arc<Semaphore>,
    capacity: u32,
    metrics: Arc<Metrics>,
    pub(crate) health: Arc<WriteHealth>,
}

/// Creates a queue holding at most `capacity` spans.
pub fn span_queue(capacity: u32, metrics: Arc<Metrics>) -> (SpanQueue, QueueReceiver) {
    let capacity = capacity.max(1);
    let (tx, rx) = mpsc::unbounded_channel();
    let permits = Arc::new(Semaphore::new(capacity as usize));
    metrics.queue_capacity.set(i64::from(capacity));
    let health = Arc::new(WriteHealth::default());
    let queue = SpanQueue { tx, permits: permits.clone(), capacity, metrics: metrics.clone(), health: health.clone() };
    (queue, QueueReceiver { rx, permits, capacity, metrics, health })
}

impl SpanQueue {
    /// Permits a request of `spans` spans in `bytes` encoded bytes takes: one per span, or one per
    /// `SPAN_BYTES` when its spans are larger, so that capacity bounds memory as well as span count.
    /// A request larger than the whole queue takes all of it rather than never fitting.
    pub fn permits_for(&self, spans: usize, bytes: usize) -> usize {
        spans.max(bytes / SPAN_BYTES).clamp(1, self.capacity as usize)
    }

    /// Queues `spans` (decoded from `bytes` bytes) whole, or refuses them whole when the queue
    /// lacks room or the writer's writes fail. The receipt resolves once they are committed.
    pub fn push(&self, spans: Vec<SpanRecord>, bytes: usize) -> Result<Receipt, QueueError> {
        let (ack, receipt) = oneshot::channel();
        if spans.is_empty() {
            let _ = ack.send(Committed::default());
            return Ok(Receipt(receipt));
        }
        if let Some(fault) = self.health.ingest_refusal() {
            return Err(QueueError::Storage(fault));
        }
        let wanted = u32::try_from(self.permits_for(spans.len(), bytes)).unwrap_or(u32::MAX);
        let permit = match self.permits.clone().try_acquire_many_owned(wanted) {
            Ok(permit) => permit,
            Err(tokio::sync::TryAcquireError::NoPermits) => return Err(QueueError::Full),
            Err(tokio::sync::TryAcquireError::Closed) => return Err(QueueError::Closed),
        };
        self.tx
            .send(QueuedBatch {
                spans,
                enqueued_ms: crate::time::now_ns() / 1_000_000,
                ack: Some(ack),
                _permit: permit,
            })
            .map_err(|_| QueueError::Closed)?;
        self.metrics.queue_depth.set(i64::from(self.capacity) - self.permits.available_permits() as i64);
        Ok(Receipt(receipt))
    }

    /// Spans that can still be queued right now.
    pub fn room(&self) -> usize {
        if self.permits.is_closed() {
            return 0;
        }
        self.permits.available_permits()
    }

    /// Refuses every later push; the writer then drains what is queued.
    pub fn close(&self) {
        self.permits.close();
    }

    /// True once `close` was called.
    pub fn is_closed(&self) -> bool {
        self.permits.is_closed()
    }

    /// What the writer last saw of the store.
    pub fn health(&self) -> &WriteHealth {
        &self.health
    }

    /// Spans currently queued.
    pub fn depth(&self) -> usize {
        self.capacity as usize - self.permits.available_permits()
    }
}

impl QueueReceiver {
    /// A handle that refreshes the depth gauge, for the writer's lanes.
    pub(crate) fn depth_gauge(&self) -> DepthGauge {
        DepthGauge { permits: self.permits.clone(), capacity: self.capacity, metrics: self.metrics.clone() }
    }
}

/// Refreshes the queue-depth gauge after batches were written and their permits released.
#[derive(Debug, Clone)]
pub(crate) struct DepthGauge {
    permits: Arc<Semaphore>,
    capacity: u32,
    metrics: Arc<Metrics>,
}

impl DepthGauge {
    pub(crate) fn report(&self) {
        let depth = (self.capacity as usize).saturating_sub(self.permits.available_permits());
        self.metrics.queue_depth.set(depth as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(n: usize) -> Vec<SpanRecord> {
        (0..n)
            .map(|i| SpanRecord {
                project: "p".into(),
                trace_id: format!("{i:032x}"),
                span_id: format!("{i:016x}"),
                parent_id: None,
                name: String::new(),
                span_kind: "UNKNOWN".into(),
                status_code: "UNSET",
                status_message: String::new(),
                start_ns: 0,
                end_ns: 0,
                model_name: None,
                token_prompt: None,
                token_completion: None,
                token_total: None,
                input_value: None,
                input_mime_type: None,
                output_value: None,
                output_mime_type: None,
                session_id: None,
                attributes: "{}".into(),
                events: "[]".into(),
            })
            .collect()
    }

    #[tokio::test]
    async fn full_queue_refuses_until_a_batch_is_written() {
        let (queue, mut rx) = span_queue(10, Arc::new(Metrics::new()));
        let receipt = queue.push(spans(6), 0).expect("fits");
        assert_eq!(queue.push(spans(5), 0).err(), Some(QueueError::Full));
        assert_eq!(queue.push(spans(1), 10 * SPAN_BYTES).err(), Some(QueueError::Full), "big spans take more room");
        assert_eq!(queue.depth(), 6);
        let mut batch = rx.rx.recv().await.expect("batch queued");
        batch.ack.take().expect("an ack").send(Committed { dropped: 1 }).expect("receipt held");
        drop(batch);
        assert_eq!(receipt.committed().await, Some(Committed { dropped: 1 }));
        let receipt = queue.push(spans(10), 0).expect("room again");
        drop(rx.rx.recv().await.expect("batch queued"));
        assert_eq!(receipt.committed().await, None, "a batch dropped unwritten never reads as committed");
        queue.close();
        assert_eq!(queue.push(spans(1), 0).err(), Some(QueueError::Closed));
    }

    #[tokio::test]
    async fn a_full_disk_refuses_pushes_until_a_commit() {
        let (queue, rx) = span_queue(10, Arc::new(Metrics::new()));
        rx.health.record_failure(StorageFault::DiskFull);
        assert_eq!(queue.push(spans(1), 0).err(), Some(QueueError::Storage(StorageFault::DiskFull)));
        rx.health.record_commit();
        queue.push(spans(1), 0).expect("space again");
    }
}
