//! Per-project access for one request: the project a route's path names (directly, or through a
//! trace, session, span, dataset or experiment), checked against what the caller may see and do
//! there, so that a restricted project's data answers "not found" to everyone else.
//!
//! The guard (`api::routes`) runs this for every route, so handlers cannot forget it; it costs
//! nothing for callers who see every project at their role (admins, system keys, auth off, and
//! users when no project is restricted). Listings without a project in the path (projects,
//! datasets, the span query, annotation writes, GraphQL) filter with [`deny`] and
//! [`Principal::projects`] themselves.

use axum::extract::RawPathParams;

use super::error::{ApiError, ApiResult};
use crate::auth::{Permission, Principal, ProjectDenied};
use crate::ids::parse_global_id;
use crate::store::Store;

/// Refuses `principal` the data of `project_id` unless it holds `permission` there: a hidden
/// project is a 404 naming `what`, a visible one it may not change a 403.
pub fn deny(principal: &Principal, project_id: i64, permission: Permission, what: &str) -> ApiResult<()> {
    match principal.check_project(project_id, permission) {
        Ok(()) => Ok(()),
        Err(ProjectDenied::Hidden) => Err(ApiError::not_found(format!("{what} not found"))),
        Err(ProjectDenied::Lacks(permission)) => Err(ApiError::forbidden(format!(
            "this needs the {permission} permission on the project of this {what}, which your project role does not give"
        ))),
    }
}

/// Checks the project that `path` (a matched route) names through `params`, if any.
pub async fn check(
    store: &Store,
    principal: &Principal,
    path: &str,
    params: &RawPathParams,
    permission: Permission,
) -> ApiResult<()> {
    if !principal.projects.is_limited() {
        return Ok(());
    }
    for (name, value) in params {
        let Some((project_id, what)) = owner(store, path, name, value).await? else {
            continue;
        };
        deny(principal, project_id, permission, what)?;
    }
    Ok(())
}

/// The project one path parameter belongs to, with what the parameter names; `None` when the
/// parameter names no project's data or nothing at all (the handler then answers 404 itself).
async fn owner(store: &Store, path: &str, name: &str, value: &str) -> ApiResult<Option<(i64, &'static str)>> {
    let found = match name {
        "project" => match parse_global_id("Project", value) {
            Some(id) => store.project_by_id(id).await?,
            None => store.project_by_name(value).await?,
        }
        .map(|row| (row.id, "project")),
        "trace" => store.find_trace(parse_global_id("Trace", value), value).await?.map(|row| (row.project_id, "trace")),
        "session" => store
            .find_session(parse_global_id("ProjectSession", value), value)
            .await?
            .map(|row| (row.project_id, "session")),
        "span" => store.find_span(parse_global_id("Span", value), value).await?.map(|row| (row.project_id, "span")),
        "id" if path.starts_with("/v1/datasets/") => {
            let row = match parse_global_id("Dataset", value) {
                Some(id) => store.dataset_by_id(id).await?,
                None => store.dataset_by_name(value).await?,
            };
            row.and_then(|row| row.project_id).map(|id| (id, "dataset"))
        }
        "id" | "experiment_id" if path.starts_with("/v1/experiments/") => match parse_global_id("Experiment", value) {
            Some(id) => store.experiment_project(id).await?.map(|id| (id, "experiment")),
            None => None,
        },
        _ => None,
    };
    Ok(found)
}
