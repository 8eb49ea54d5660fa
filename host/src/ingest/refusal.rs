//! One table from an ingest error to what each transport answers, so that OTLP/HTTP and
//! OTLP/gRPC exporters are told the same thing.
//!
//! The codes follow the OTLP specification's retry rules. Exporters retry HTTP 503 (waiting for
//! `Retry-After`) and gRPC `UNAVAILABLE`; they retry `RESOURCE_EXHAUSTED` only when the status
//! carries `RetryInfo`, which Ember sends with every refusal worth retrying. A full queue is
//! `RESOURCE_EXHAUSTED` (the server is overloaded, not down); a failing store and a shutdown are
//! `UNAVAILABLE`. A malformed or oversized request is 400 / 413 with `INVALID_ARGUMENT` /
//! `RESOURCE_EXHAUSTED` without `RetryInfo`: the same request would fail again, so exporters drop it.
//! A body the client stopped sending is 408 / `DEADLINE_EXCEEDED`, also without `RetryInfo`.

use std::time::Duration;

use axum::http::StatusCode;
use tonic::Code;

use super::compression::InflateError;
use super::queue::QueueError;
use super::IngestError;
use crate::body_read::BodyReadError;

/// How long a refused exporter should wait before it retries.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);
/// How long to wait when the database is out of its allocated storage: freeing space takes an
/// operator or a retention sweep.
pub const QUOTA_RETRY_AFTER: Duration = Duration::from_secs(30);

/// What a transport answers for a refused export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub http: StatusCode,
    /// The gRPC code, also the `code` of the `google.rpc.Status` body of an HTTP refusal.
    pub grpc: Code,
    pub message: String,
    /// Set when the exporter should retry, and after how long.
    pub retry_after: Option<Duration>,
}

impl IngestError {
    /// The answer to an export refused with this error.
    pub fn refusal(&self) -> Refusal {
        let (http, grpc, retry_after) = match self {
            Self::Decode(_) | Self::Inflate(InflateError::Corrupt(_) | InflateError::Unsupported(_)) => {
                (StatusCode::BAD_REQUEST, Code::InvalidArgument, None)
            }
            Self::Inflate(InflateError::TooLarge(_)) => (StatusCode::PAYLOAD_TOO_LARGE, Code::ResourceExhausted, None),
            Self::Queue(QueueError::Full) => {
                (StatusCode::SERVICE_UNAVAILABLE, Code::ResourceExhausted, Some(RETRY_AFTER))
            }
            Self::Queue(QueueError::Storage(_) | QueueError::Closed) | Self::NotStored(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, Code::Unavailable, Some(RETRY_AFTER))
            }
            Self::Pipeline(_) => (StatusCode::SERVICE_UNAVAILABLE, Code::Unavailable, None),
            // Not retried by OTLP/HTTP exporters (507 is not among their retryable codes), so a
            // client drops the batch rather than piling it up; gRPC ones retry after a while.
            Self::Quota(_) => (StatusCode::INSUFFICIENT_STORAGE, Code::ResourceExhausted, Some(QUOTA_RETRY_AFTER)),
            Self::Body(BodyReadError::TooLarge) => (StatusCode::PAYLOAD_TOO_LARGE, Code::ResourceExhausted, None),
            Self::Body(BodyReadError::TimedOut) => (StatusCode::REQUEST_TIMEOUT, Code::DeadlineExceeded, None),
            Self::Body(BodyReadError::Broken(_)) => (StatusCode::BAD_REQUEST, Code::InvalidArgument, None),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, Code::Internal, None),
        };
        let message = match self {
            Self::Queue(QueueError::Full) => "ingest queue is full; retry later".to_owned(),
            other => other.to_string(),
        };
        Refusal { http, grpc, message, retry_after }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StorageFault;

    #[test]
    fn retryable_refusals_say_when_on_both_transports() {
        let full = IngestError::Queue(QueueError::Full).refusal();
        assert_eq!(
            (full.http, full.grpc, full.retry_after),
            (StatusCode::SERVICE_UNAVAILABLE, Code::ResourceExhausted, Some(RETRY_AFTER))
        );
        let disk = IngestError::Queue(QueueError::Storage(StorageFault::DiskFull)).refusal();
        assert_eq!((disk.http, disk.grpc), (StatusCode::SERVICE_UNAVAILABLE, Code::Unavailable));
        assert!(disk.message.contains("disk is full"));
        let large = IngestError::Inflate(InflateError::TooLarge(10)).refusal();
        assert_eq!(
            (large.http, large.grpc, large.retry_after),
            (StatusCode::PAYLOAD_TOO_LARGE, Code::ResourceExhausted, None)
        );
        let body = IngestError::Body(BodyReadError::TooLarge).refusal();
        assert_eq!((body.http, body.grpc), (large.http, large.grpc));
        let stalled = IngestError::Body(BodyReadError::TimedOut).refusal();
        assert_eq!((stalled.http, stalled.grpc), (StatusCode::REQUEST_TIMEOUT, Code::DeadlineExceeded));
    }
}
