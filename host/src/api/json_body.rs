//! The REST API's one JSON body extractor: its rejections are Ember's JSON errors, a body over
//! the size limit is a `413`, a stalled one a `408` and one that does not parse a `422`, whatever
//! the route.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A request body parsed as JSON into `T`. No `Content-Type` is required: Phoenix's clients
/// send `application/json`, and a client that forgets it still means JSON.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            ApiError::body_read(rejection.into(), "the request body is larger than EMBER_MAX_BODY_BYTES")
        })?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|err| ApiError::invalid(format!("invalid request body: {err}")))
    }
}
