//! Routes for experiments (being written).

use axum::Router;

use super::AppState;

/// The experiments routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
