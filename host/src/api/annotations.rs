//! Routes for annotations (being written).

use axum::Router;

use super::AppState;

/// The annotations routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
