//! Ember's per-project roles: `GET /v1/projects/{p}/members`, and `PUT`/`DELETE
//! /v1/projects/{p}/members/{user_id}` (admins). A project with members is visible only to
//! them (and admins); see `auth::ProjectAccess` for the rules.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::accounts::user_id;
use super::json_body::JsonBody;
use super::projects::resolve;
use super::routes::Routes;
use super::{ApiError, ApiResult, AppState};
use crate::auth::Permission::Admin;
use crate::auth::{Principal, Role};
use crate::ids::global_id;
use crate::store::MemberRow;

/// The membership routes.
pub fn routes() -> Routes {
    Routes::new()
        .get("/v1/projects/{project}/members", Admin, list)
        .put("/v1/projects/{project}/members/{user_id}", Admin, set)
        .delete("/v1/projects/{project}/members/{user_id}", Admin, remove)
}

fn member_json(member: &MemberRow) -> Value {
    json!({
        "user_id": global_id("User", member.user_id),
        "username": member.username,
        "role": member.role,
    })
}

/// `GET /v1/projects/{p}/members`: the project's members; empty when every user sees it.
async fn list(State(state): State<AppState>, Path(project): Path<String>) -> ApiResult<Json<Value>> {
    let project = resolve(&state.store, &project).await?;
    let members = state.store.project_members(project.id).await?;
    Ok(Json(json!({
        "data": members.iter().map(member_json).collect::<Vec<_>>(),
        "restricted": !members.is_empty(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberBody {
    role: String,
}

/// `PUT /v1/projects/{p}/members/{user_id}` with `{"role": "MEMBER"}`: gives the user that role
/// on the project; the project's first member makes it invisible to every other non-admin.
async fn set(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((project, user)): Path<(String, String)>,
    JsonBody(body): JsonBody<MemberBody>,
) -> ApiResult<Json<Value>> {
    let project = resolve(&state.store, &project).await?;
    let role = Role::parse(&body.role)
        .ok_or_else(|| ApiError::invalid(format!("{:?} is not a role (ADMIN, MEMBER or VIEWER)", body.role)))?;
    let id = user_id(&user)?;
    let account = state.store.user(id).await?.ok_or_else(|| ApiError::not_found(format!("no user {user}")))?;
    state.store.set_project_member(project.id, id, role.as_str()).await?;
    state.auth.forget_cached();
    let target = format!("project:{}", project.name);
    let detail = json!({ "user": account.username, "role": role.as_str() });
    super::audit::record(&state, &principal, "project.member.set", &target, detail).await;
    let member =
        MemberRow { project_id: project.id, user_id: id, username: account.username, role: role.as_str().into() };
    Ok(Json(json!({ "data": member_json(&member) })))
}

/// `DELETE /v1/projects/{p}/members/{user_id}`: removes the user's role there (204); the last
/// member's removal opens the project to every user again.
async fn remove(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((project, user)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let project = resolve(&state.store, &project).await?;
    let id = user_id(&user)?;
    if !state.store.remove_project_member(project.id, id).await? {
        return Err(ApiError::not_found(format!("user {user} is not a member of {}", project.name)));
    }
    state.auth.forget_cached();
    let target = format!("project:{}", project.name);
    super::audit::record(&state, &principal, "project.member.remove", &target, json!({ "user_id": id })).await;
    Ok(StatusCode::NO_CONTENT)
}
