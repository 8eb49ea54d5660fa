//! Routes for datasets (being written).

use axum::Router;

use super::AppState;

/// The datasets routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
