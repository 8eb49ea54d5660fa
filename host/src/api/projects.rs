//! `/v1/projects`: list, create, read, update, delete.

use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{ApiError, ApiResult};
use super::json_body::JsonBody;
use super::page::Page;
use super::params::Params;
use super::AppState;
use crate::auth::Principal;
use crate::ids::{global_id, parse_global_id};
use crate::ingest::DEFAULT_PROJECT;
use crate::store::{ProjectRow, Store};

fn view(row: &ProjectRow) -> Value {
    json!({ "id": global_id("Project", row.id), "name": row.name, "description": row.description })
}

/// A project named by the `{project}` path segment, with the request's query parameters: what
/// every per-project listing starts from.
pub struct ProjectRequest {
    pub project: ProjectRow,
    pub params: Params,
}

impl FromRequestParts<AppState> for ProjectRequest {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Path(identifier) =
            Path::<String>::from_request_parts(parts, state).await.map_err(|err| ApiError::invalid(err.body_text()))?;
        let params = Params::parse(parts.uri.query());
        let project = resolve(&state.store, &identifier).await?;
        Ok(Self { project, params })
    }
}

/// Resolves a project identifier: a Project GlobalID first, else a name.
pub async fn resolve(store: &Store, identifier: &str) -> ApiResult<ProjectRow> {
    if let Some(id) = parse_global_id("Project", identifier) {
        if let Some(row) = store.project_by_id(id).await? {
            return Ok(row);
        }
        return Err(ApiError::not_found(format!("Project with ID {identifier} not found")));
    }
    store
        .project_by_name(identifier)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("Project with name {identifier} not found")))
}

/// `GET /v1/projects`: newest first, cursor-paginated.
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let params = Params::parse(query.as_deref());
    // Phoenix sets no maximum; an unbounded page is an easy way to exhaust memory.
    let limit = params.limit(1000)?;
    let cursor = params.cursor(|raw| parse_global_id("Project", raw))?;
    let hidden = principal.projects.hidden();
    let rows = state.store.list_projects(cursor, limit + 1, params.get("name_contains"), hidden).await?;
    Ok(Page::split(rows, limit).json(view, |r| global_id("Project", r.id)))
}

/// Body of `POST /v1/projects`.
#[derive(Debug, Deserialize)]
pub struct CreateProject {
    name: String,
    description: Option<String>,
}

/// `POST /v1/projects`.
pub async fn create(State(state): State<AppState>, JsonBody(body): JsonBody<CreateProject>) -> ApiResult<Json<Value>> {
    let name = body.name.trim();
    if name.is_empty() || name.contains(['/', '?', '#']) {
        return Err(ApiError::invalid("project name must be non-empty and contain no '/', '?' or '#'"));
    }
    let row = state.store.create_project(name, body.description.as_deref()).await?;
    Ok(Json(json!({ "data": view(&row) })))
}

/// `GET /v1/projects/{id-or-name}`.
pub async fn get_one(State(state): State<AppState>, Path(project): Path<String>) -> ApiResult<Json<Value>> {
    let row = resolve(&state.store, &project).await?;
    Ok(Json(json!({ "data": view(&row) })))
}

/// Body of `PUT /v1/projects/{id-or-name}`.
#[derive(Debug, Deserialize)]
pub struct UpdateProject {
    description: Option<String>,
}

/// `PUT /v1/projects/{id-or-name}`: sets the description.
pub async fn update(
    State(state): State<AppState>,
    Path(project): Path<String>,
    JsonBody(body): JsonBody<UpdateProject>,
) -> ApiResult<Json<Value>> {
    let row = resolve(&state.store, &project).await?;
    let row = state
        .store
        .update_project(row.id, body.description.as_deref())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("Project {project} not found")))?;
    Ok(Json(json!({ "data": view(&row) })))
}

/// `DELETE /v1/projects/{id-or-name}` with its traces, spans and sessions; `default` is kept.
/// Answers at once: the project disappears now and its contents go in the background.
pub async fn remove(State(state): State<AppState>, Path(project): Path<String>) -> ApiResult<StatusCode> {
    let row = resolve(&state.store, &project).await?;
    if row.name == DEFAULT_PROJECT {
        return Err(ApiError::forbidden("The default project cannot be deleted"));
    }
    if !state.store.delete_project(row.id).await? {
        return Err(ApiError::not_found(format!("Project {project} not found")));
    }
    state.sweeper_wake.notify_one();
    Ok(StatusCode::NO_CONTENT)
}
