//! Routes for registry (being written).

use axum::Router;

use super::AppState;

/// The registry routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
