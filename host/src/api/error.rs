//! HTTP errors of the REST API, mapped in one place: a status, a stable code and a message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::body_read::BodyReadError;
use crate::store::StoreError;

/// An error reply: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl ApiError {
    /// 404: the named resource does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self { status: StatusCode::NOT_FOUND, code: "not_found", message: message.into() }
    }

    /// 422: a parameter or body field is invalid.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self { status: StatusCode::UNPROCESSABLE_ENTITY, code: "invalid_parameter", message: message.into() }
    }

    /// 409: the resource already exists.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self { status: StatusCode::CONFLICT, code: "conflict", message: message.into() }
    }

    /// 400: the request is malformed (e.g. an unreadable upload).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, code: "bad_request", message: message.into() }
    }

    /// 401: the request carries no valid credentials.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self { status: StatusCode::UNAUTHORIZED, code: "unauthenticated", message: message.into() }
    }

    /// 403: the operation is not allowed.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self { status: StatusCode::FORBIDDEN, code: "forbidden", message: message.into() }
    }
}

impl ApiError {
    /// 413: the body is larger than the server accepts.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self { status: StatusCode::PAYLOAD_TOO_LARGE, code: "payload_too_large", message: message.into() }
    }

    /// Any status with its stable code.
    pub fn with_status(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    /// The answer to a request body that could not be read; `too_large` says which limit a
    /// body over it passed.
    pub fn body_read(error: BodyReadError, too_large: &str) -> Self {
        match error {
            BodyReadError::TooLarge => Self::too_large(too_large),
            BodyReadError::TimedOut => Self::with_status(error.status(), "request_timeout", error.to_string()),
            BodyReadError::Broken(_) => Self::bad_request(error.to_string()),
        }
    }

    /// 500: something failed on the server's side; details are in its log.
    pub fn internal(message: impl Into<String>) -> Self {
        Self { status: StatusCode::INTERNAL_SERVER_ERROR, code: "internal", message: message.into() }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::ProjectExists(_)
            | StoreError::PluginVersionTaken { .. }
            | StoreError::PluginInUse { .. }
            | StoreError::PluginNameReserved(_)
            | StoreError::EvaluatorExists(_) => Self::conflict(err.to_string()),
            StoreError::DatasetExists(_)
            | StoreError::RunExists
            | StoreError::UserExists(_)
            | StoreError::PolicyExists(_) => Self::conflict(err.to_string()),
            StoreError::QueryTimeout { .. } => {
                Self { status: StatusCode::SERVICE_UNAVAILABLE, code: "query_timeout", message: err.to_string() }
            }
            StoreError::Busy { .. } => {
                Self { status: StatusCode::SERVICE_UNAVAILABLE, code: "server_busy", message: err.to_string() }
            }
            other => {
                tracing::error!(error = %other, "store error while serving a request");
                Self { status: StatusCode::INTERNAL_SERVER_ERROR, code: "internal", message: "database error".into() }
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        (self.status, Json(body)).into_response()
    }
}

/// Result of a REST handler.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_past_the_time_limit_is_a_503_naming_the_limit() {
        let err = ApiError::from(StoreError::QueryTimeout { limit_ms: 30_000 });
        assert_eq!(err.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(err.code, "query_timeout");
        assert!(err.message.contains("30000 ms") && err.message.contains("EMBER_QUERY_TIMEOUT_MS"), "{}", err.message);
    }
}
