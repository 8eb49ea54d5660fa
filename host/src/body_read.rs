//! Why reading a request body failed, told apart once for every HTTP route: over the size limit
//! (413), stalled past the body timeout (408), or broken off (400). The REST API
//! (`api::json_body`, the uploads) and OTLP/HTTP (`ingest::refusal`) each answer it in their own
//! format with the same status.

use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use tower_http::timeout::TimeoutError;

/// A request body that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyReadError {
    #[error("the request body is larger than the server accepts")]
    TooLarge,
    #[error("the client stopped sending the request body for longer than EMBER_BODY_TIMEOUT_SECONDS")]
    TimedOut,
    #[error("the request body could not be read: {0}")]
    Broken(String),
}

impl BodyReadError {
    /// The HTTP status of the answer: 413, 408 or 400.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TimedOut => StatusCode::REQUEST_TIMEOUT,
            Self::Broken(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// Classifies a body error from its status (axum marks an exceeded limit 413) and its chain of
    /// sources (the listener's body timeout is a [`TimeoutError`] somewhere down it).
    fn classify(status: StatusCode, error: &(dyn std::error::Error + 'static), text: String) -> Self {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::TooLarge;
        }
        let mut source = Some(error);
        while let Some(error) = source {
            if error.downcast_ref::<TimeoutError>().is_some() {
                return Self::TimedOut;
            }
            source = error.source();
        }
        Self::Broken(text)
    }
}

impl From<BytesRejection> for BodyReadError {
    fn from(rejection: BytesRejection) -> Self {
        Self::classify(rejection.status(), &rejection, rejection.body_text())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::body::{Body, Bytes};
    use tower_http::timeout::TimeoutBody;

    use super::*;

    #[tokio::test]
    async fn a_stalled_body_is_a_timeout_a_broken_one_is_not() {
        let silent = Body::from_stream(futures::stream::pending::<Result<Bytes, std::io::Error>>());
        let stalled = Body::new(TimeoutBody::new(Duration::from_millis(10), silent));
        let Err(error) = axum::body::to_bytes(stalled, usize::MAX).await else { panic!("a silent body must time out") };
        let read = BodyReadError::classify(StatusCode::BAD_REQUEST, &error, error.to_string());
        assert_eq!((read.clone(), read.status()), (BodyReadError::TimedOut, StatusCode::REQUEST_TIMEOUT));

        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        let broken = Body::from_stream(futures::stream::iter([Err::<Bytes, _>(reset)]));
        let Err(error) = axum::body::to_bytes(broken, usize::MAX).await else { panic!("a broken body must fail") };
        let read = BodyReadError::classify(StatusCode::BAD_REQUEST, &error, error.to_string());
        assert_eq!(read.status(), StatusCode::BAD_REQUEST);
        let read = BodyReadError::classify(StatusCode::PAYLOAD_TOO_LARGE, &error, String::new());
        assert_eq!(read, BodyReadError::TooLarge);
    }
}
