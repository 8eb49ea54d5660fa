//! Ingestion: OTLP over gRPC and HTTP, decoded and mapped, then handed to the queue; a request is
//! answered once the writer has committed its spans (see `writer.rs`).

pub mod compression;
pub mod disk_quota;
pub mod grpc;
pub mod http;
pub mod openinference;
pub mod otlp;
pub mod queue;
pub mod refusal;
pub mod write_health;
pub mod writer;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTracePartialSuccess, ExportTraceServiceResponse};

pub use compression::{Compression, InflateError};
pub use otlp::{DecodeError, Decoded, DEFAULT_PROJECT};

use crate::ingest::queue::{QueueError, SpanQueue};
use crate::metrics::Metrics;
use crate::model::SpanRecord;
use crate::plugins::{Pipeline, PipelineError};
use crate::store::StorageFault;

/// Bodies above this size are decoded on the blocking pool, so that a big export does not stall
/// the async workers that serve other requests.
const INLINE_DECODE_LIMIT: usize = 256 * 1024;

/// What both transports share: decoding, the queue, and the ingest metrics.
#[derive(Debug, Clone)]
pub struct Ingestor {
    queue: SpanQueue,
    metrics: Arc<Metrics>,
    /// Bounds how many requests decode at once, leaving a core to the single database writer:
    /// one core decodes about 150,000 spans/s, far more than one writer stores, while decoders
    /// on every core starve the writer and lower throughput.
    decoders: Arc<tokio::sync::Semaphore>,
    /// Largest accepted request body, after decompression.
    pub max_body_bytes: usize,
    /// Redactors and span processors run on every decoded batch; replaced whole on change.
    pipeline: Arc<std::sync::RwLock<Arc<Pipeline>>>,
    /// How long a request waits for the commit of its spans before it is answered 503.
    ack_timeout: Duration,
    /// The database's allocated storage: past its block threshold, exports are refused.
    quota: Arc<disk_quota::DiskQuota>,
}

/// How long a request waits for its spans' commit unless configured otherwise: well inside the
/// OpenTelemetry exporters' default 10 s timeout, so that they hear a retryable answer.
pub const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// The wire encoding of an export request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

/// Why a whole request was refused.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Inflate(#[from] InflateError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Body(#[from] crate::body_read::BodyReadError),
    /// The database is past its storage block threshold.
    #[error(transparent)]
    Quota(#[from] disk_quota::QuotaExceeded),
    /// The spans were queued but not committed in time (the fault the writer last saw, if any):
    /// they are written once the store heals, and the client's retry is deduplicated.
    #[error("{}", not_stored_message(*.0))]
    NotStored(Option<StorageFault>),
    #[error("decoder task failed")]
    Internal,
}

fn not_stored_message(fault: Option<StorageFault>) -> String {
    match fault {
        Some(fault) => format!("spans not yet stored: {}", fault.refusal()),
        None => "spans not yet stored: the database is slow to commit them; retry later".to_owned(),
    }
}

impl Ingestor {
    /// An ingestor feeding `queue`, refusing bodies over `max_body_bytes` once inflated.
    pub fn new(queue: SpanQueue, metrics: Arc<Metrics>, max_body_bytes: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let decoders = Arc::new(tokio::sync::Semaphore::new(cores.saturating_sub(1).max(1)));
        Self {
            queue,
            metrics,
            decoders,
            max_body_bytes,
            pipeline: Arc::default(),
            ack_timeout: DEFAULT_ACK_TIMEOUT,
            quota: Arc::new(disk_quota::DiskQuota::unlimited()),
        }
    }

    /// The same ingestor, refusing exports while `quota` is past its block threshold.
    pub fn with_quota(mut self, quota: Arc<disk_quota::DiskQuota>) -> Self {
        self.quota = quota;
        self
    }

    /// The database's storage quota.
    pub fn quota(&self) -> &disk_quota::DiskQuota {
        &self.quota
    }

    /// The same ingestor, answering 503 to a request whose spans are not committed within
    /// `timeout`.
    pub fn with_ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = timeout;
        self
    }

    /// The ingest pipeline in force.
    pub fn pipeline(&self) -> Arc<Pipeline> {
        self.pipeline.read().map(|pipeline| pipeline.clone()).unwrap_or_default()
    }

    /// Replaces the ingest pipeline; requests already decoding finish with the old one.
    pub fn set_pipeline(&self, pipeline: Pipeline) {
        if let Ok(mut current) = self.pipeline.write() {
            *current = Arc::new(pipeline);
        }
    }

    /// Decodes one request body, queues its valid spans and waits until they are committed; the
    /// reply lists rejected spans.
    pub async fn export(
        &self,
        body: Bytes,
        compression: Compression,
        encoding: Encoding,
        header_project: Option<String>,
        transport: &'static str,
    ) -> Result<ExportTraceServiceResponse, IngestError> {
        // Refused before any work when the queue cannot take even the compressed body, so that a
        // full queue does not burn CPU inflating and decoding requests it is going to refuse.
        self.check_room(1, body.len())?;
        let decoding = self.decoders.acquire().await.map_err(|_| IngestError::Internal)?;
        let pipeline = self.pipeline();
        // Plugin calls are CPU-bound and may run for their whole deadline: never on async workers.
        let large = body.len() > INLINE_DECODE_LIMIT || compression != Compression::None || !pipeline.is_empty();
        let limit = self.max_body_bytes;
        let metrics = self.metrics.clone();
        let decode = move || -> Result<(Decoded, usize), IngestError> {
            let body = compression.inflate(body, limit)?;
            let size = body.len();
            let mut decoded = match encoding {
                Encoding::Protobuf => otlp::decode_protobuf(body, header_project.as_deref()),
                Encoding::Json => otlp::decode_json(&body, header_project.as_deref()),
            }?;
            if !pipeline.is_empty() {
                run_pipeline(&pipeline, &mut decoded.spans, &metrics)?;
            }
            Ok((decoded, size))
        };
        let decoded = if large {
            tokio::task::spawn_blocking(decode).await.map_err(|_| IngestError::Internal)?
        } else {
            decode()
        };
        let (decoded, size) = decoded.map_err(|err| self.refused(err))?;
        drop(decoding);
        self.accept(decoded, size, transport).await
    }

    /// Queues spans the server made itself (a recorded provider call) as if an exporter had sent
    /// them in one request: the same pipeline, queue backpressure, acknowledgement (`Ok` once
    /// committed) and metrics as [`Ingestor::export`], without an encoding to go through. Returns
    /// the spans as stored, after the pipeline.
    pub async fn ingest_records(
        &self,
        spans: Vec<SpanRecord>,
        transport: &'static str,
    ) -> Result<Vec<SpanRecord>, IngestError> {
        let size = spans.iter().map(SpanRecord::text_bytes).sum();
        self.check_room(spans.len(), size)?;
        let processing = self.decoders.acquire().await.map_err(|_| IngestError::Internal)?;
        let pipeline = self.pipeline();
        let mut decoded = Decoded::default();
        decoded.spans = spans;
        if !pipeline.is_empty() {
            let metrics = self.metrics.clone();
            let processed = tokio::task::spawn_blocking(move || {
                run_pipeline(&pipeline, &mut decoded.spans, &metrics).map(|()| decoded)
            })
            .await
            .map_err(|_| IngestError::Internal)?;
            decoded = processed.map_err(|err| self.refused(err.into()))?;
        }
        drop(processing);
        let queued = decoded.spans.clone();
        self.accept(decoded, size, transport).await?;
        Ok(queued)
    }

    /// What the span writer last saw of the store.
    pub fn write_health(&self) -> &crate::ingest::write_health::WriteHealth {
        self.queue.health()
    }

    /// Spans waiting to be written, and the most the queue holds.
    pub fn queue_fill(&self) -> (usize, usize) {
        (self.queue.depth(), self.queue.depth() + self.queue.room())
    }

    /// Refuses a request up front when the writer's writes fail (the client is told why, not
    /// merely that the queue is full), or when the queue has no room for `spans` spans of `bytes`
    /// bytes.
    fn check_room(&self, spans: usize, bytes: usize) -> Result<(), IngestError> {
        if let Some(exceeded) = self.quota.refusal() {
            self.metrics.database_ingest_blocked.set(1);
            self.metrics.requests_rejected.get_or_create(&vec![("reason", "storage_quota")]).inc();
            return Err(exceeded.into());
        }
        if let Some(fault) = self.write_health().ingest_refusal() {
            self.metrics.requests_rejected.get_or_create(&vec![("reason", fault.as_str())]).inc();
            return Err(QueueError::Storage(fault).into());
        }
        if self.queue.room() < self.queue.permits_for(spans, bytes) {
            let closed = self.queue.room() == 0 && self.queue.is_closed();
            let (err, reason) =
                if closed { (QueueError::Closed, "shutting_down") } else { (QueueError::Full, "queue_full") };
            self.metrics.requests_rejected.get_or_create(&vec![("reason", reason)]).inc();
            return Err(err.into());
        }
        Ok(())
    }

    /// Counts a request refused while decoding or in the pipeline; returns its error.
    fn refused(&self, err: IngestError) -> IngestError {
        let reason = match err {
            IngestError::Inflate(InflateError::TooLarge(_)) => "too_large",
            IngestError::Pipeline(_) => "plugin_failed",
            _ => "malformed",
        };
        self.metrics.requests_rejected.get_or_create(&vec![("reason", reason)]).inc();
        err
    }

    /// Queues the decoded spans and waits for their commit: the acknowledgement is only sent for
    /// spans that are durable.
    async fn accept(
        &self,
        decoded: Decoded,
        size: usize,
        transport: &'static str,
    ) -> Result<ExportTraceServiceResponse, IngestError> {
        let mut accepted = decoded.spans.len() as u64;
        let (mut rejected, mut error_message) = (decoded.rejected, decoded.error_message());
        let receipt = match self.queue.push(decoded.spans, size) {
            Ok(receipt) => receipt,
            Err(err) => {
                let reason = match err {
                    QueueError::Full => "queue_full",
                    QueueError::Storage(fault) => fault.as_str(),
                    QueueError::Closed => "shutting_down",
                };
                self.metrics.requests_rejected.get_or_create(&vec![("reason", reason)]).inc();
                return Err(err.into());
            }
        };
        let committed = match tokio::time::timeout(self.ack_timeout, receipt.committed()).await {
            Ok(Some(committed)) => committed,
            Ok(None) | Err(_) => {
                self.metrics.requests_rejected.get_or_create(&vec![("reason", "not_stored")]).inc();
                return Err(IngestError::NotStored(self.write_health().fault()));
            }
        };
        self.quota.add_written(size as u64);
        if committed.dropped > 0 {
            accepted -= committed.dropped;
            rejected += committed.dropped as i64;
            let refused = format!("{} spans refused by the database", committed.dropped);
            error_message = if error_message.is_empty() { refused } else { format!("{error_message}; {refused}") };
        }
        let partial_success =
            (rejected > 0).then_some(ExportTracePartialSuccess { rejected_spans: rejected, error_message });
        self.metrics.spans_accepted.get_or_create(&vec![("transport", transport)]).inc_by(accepted);
        if let Some(partial) = &partial_success {
            self.metrics
                .spans_rejected
                .get_or_create(&vec![("transport", transport)])
                .inc_by(partial.rejected_spans as u64);
            tracing::debug!(rejected = partial.rejected_spans, message = %partial.error_message, "spans rejected");
        }
        Ok(ExportTraceServiceResponse { partial_success })
    }
}

/// Runs the pipeline over a batch and records what each stage did.
fn run_pipeline(pipeline: &Pipeline, spans: &mut [SpanRecord], metrics: &Metrics) -> Result<(), PipelineError> {
    let _span = tracing::debug_span!("ingest_pipeline", spans = spans.len()).entered();
    let mut reports = Vec::new();
    let result = pipeline.apply(spans, &mut reports);
    for report in &reports {
        report.record(metrics);
    }
    match &result {
        Ok(()) => {
            for report in reports.iter().filter(|report| report.error.is_some()) {
                if let Some(error) = &report.error {
                    tracing::warn!(plugin = %report.plugin, error = %error, "pipeline stage failed; spans kept unmodified");
                }
                metrics
                    .pipeline_failures
                    .get_or_create(&vec![("plugin", report.plugin.clone()), ("policy", "keep".to_owned())])
                    .inc();
            }
        }
        Err(err) => {
            if let PipelineError::Rejected { plugin, .. } = err {
                metrics
                    .pipeline_failures
                    .get_or_create(&vec![("plugin", plugin.clone()), ("policy", "reject".to_owned())])
                    .inc();
            }
            tracing::warn!(error = %err, "pipeline refused a batch");
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::trace::v1::Span;

    use super::*;
    use crate::ingest::queue::span_queue;

    fn record(n: u8, attributes: &str) -> SpanRecord {
        let span = Span { trace_id: vec![n; 16], span_id: vec![n; 8], name: format!("s{n}"), ..Default::default() };
        SpanRecord { attributes: attributes.to_owned(), ..openinference::to_record(span, "p".into()).expect("valid") }
    }

    #[tokio::test]
    async fn records_are_queued_and_counted_like_an_export() {
        let metrics = Arc::new(Metrics::new());
        let (queue, mut rx) = span_queue(4, metrics.clone());
        let ingestor = Ingestor::new(queue, metrics.clone(), 1 << 20).with_ack_timeout(Duration::from_millis(300));
        let sent = tokio::spawn({
            let ingestor = ingestor.clone();
            async move { ingestor.ingest_records(vec![record(1, "{}"), record(2, "{}")], "provider").await }
        });
        let mut batch = rx.rx.recv().await.expect("batch");
        assert_eq!(batch.spans.iter().map(|span| span.name.as_str()).collect::<Vec<_>>(), ["s1", "s2"]);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!sent.is_finished(), "not acknowledged before the commit");
        assert_eq!(metrics.spans_accepted.get_or_create(&vec![("transport", "provider")]).get(), 0);

        // Sized by their text as an export is by its body: while the batch holds 2 of the 4
        // permits, one span of 5 permits' worth (at most the capacity, 4) is refused.
        let big = format!("{{\"k\":\"{}\"}}", "x".repeat(5 * crate::ingest::queue::SPAN_BYTES));
        assert!(matches!(
            ingestor.ingest_records(vec![record(3, &big)], "provider").await,
            Err(IngestError::Queue(QueueError::Full))
        ));
        assert_eq!(metrics.requests_rejected.get_or_create(&vec![("reason", "queue_full")]).get(), 1);

        batch.ack.take().expect("ack").send(queue::Committed::default()).expect("waiting");
        let queued = sent.await.expect("task").expect("stored");
        assert_eq!(batch.spans, queued);
        assert_eq!(metrics.spans_accepted.get_or_create(&vec![("transport", "provider")]).get(), 2);
        drop(batch);

        // Never committed in time: a retryable refusal, not an acknowledgement.
        let late = ingestor.ingest_records(vec![record(3, &big)], "provider").await;
        assert!(matches!(late, Err(IngestError::NotStored(None))), "{late:?}");
        assert_eq!(late.err().map(|err| err.refusal().http.as_u16()), Some(503));
    }
}
