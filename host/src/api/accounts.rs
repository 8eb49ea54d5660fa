//! Accounts, in Phoenix's shapes: `GET /v1/user` (the caller), `GET/POST /v1/users` and
//! `DELETE /v1/users/{user_id}` (admins); and Ember's `PATCH /v1/users/{user_id}` (a user's role).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::json_body::JsonBody;
use super::page::Page;
use super::params::Params;
use super::routes::Routes;
use super::{ApiError, ApiResult, AppState};
use crate::auth::Permission::{Admin, Authenticated};
use crate::auth::{AuthError, Principal, Role, UserInput};
use crate::ids::{global_id, parse_global_id};
use crate::store::UserRow;
use crate::time::iso_time;

pub fn routes() -> Routes {
    Routes::new()
        .get("/v1/user", Authenticated, viewer)
        .patch("/v1/user", Authenticated, change_password)
        .get("/v1/users", Admin, list)
        .post("/v1/users", Admin, create)
        .delete("/v1/users/{user_id}", Admin, remove)
        .patch("/v1/users/{user_id}", Admin, change_role)
}

/// A user as Phoenix's API writes one (never with its password).
pub(crate) fn user_json(user: &UserRow) -> Value {
    let mut value = json!({
        "id": global_id("User", user.id),
        "created_at": iso_time(user.created_ns),
        "updated_at": iso_time(user.updated_ns),
        "email": user.email,
        "username": user.username,
        "role": user.role,
        "auth_method": user.auth_method,
    });
    if user.auth_method == "LOCAL" {
        value["password_needs_reset"] = json!(user.password_needs_reset != 0);
    }
    value
}

/// The answer to an authentication failure inside a handler.
pub(crate) fn auth_error(err: AuthError) -> ApiError {
    match err {
        AuthError::Password(err) => ApiError::invalid(err.to_string()),
        AuthError::UnknownRole(_) => ApiError::invalid(err.to_string()),
        AuthError::Store(err) => err.into(),
        AuthError::Throttled(_) => {
            ApiError::with_status(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", err.to_string())
        }
        AuthError::Missing | AuthError::Invalid | AuthError::WrongPassword => {
            ApiError::unauthenticated(err.to_string())
        }
        AuthError::Oidc(err) => ApiError::unauthenticated(err.to_string()),
        AuthError::Blocking(message) => {
            tracing::error!(error = %message, "authentication task failed");
            ApiError::internal("authentication failed on the server")
        }
    }
}

/// `GET /v1/user`: the caller; `ANONYMOUS` when authentication is off or for a system key.
async fn viewer(State(state): State<AppState>, Extension(principal): Extension<Principal>) -> ApiResult<Json<Value>> {
    let Some(account) = &principal.account else {
        return Ok(Json(json!({ "data": { "auth_method": "ANONYMOUS" } })));
    };
    let user = state.store.user(account.id).await?.ok_or_else(|| ApiError::not_found("the user no longer exists"))?;
    Ok(Json(json!({ "data": user_json(&user) })))
}

#[derive(Deserialize)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// `PATCH /v1/user` (Ember's): `{"current_password", "new_password"}` changes the caller's
/// password and ends all their sessions; 401 for a wrong current password.
async fn change_password(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    JsonBody(change): JsonBody<PasswordChange>,
) -> ApiResult<Json<Value>> {
    let account = principal.account.as_ref().ok_or_else(|| ApiError::forbidden("only a user has a password"))?;
    let address = peer.ip().to_string();
    state
        .auth
        .change_password(account.id, &change.current_password, &change.new_password, &address)
        .await
        .map_err(auth_error)?;
    super::audit::record(&state, &principal, "user.password", &format!("user:{}", account.username), json!({})).await;
    let user = state.store.user(account.id).await?.ok_or_else(|| ApiError::not_found("the user no longer exists"))?;
    Ok(Json(json!({ "data": user_json(&user) })))
}

/// `GET /v1/users`: every user by id, paginated with a cursor (base64 of the next user id).
async fn list(State(state): State<AppState>, RawQuery(query): RawQuery) -> ApiResult<Json<Value>> {
    let params = Params::parse(query.as_deref());
    let limit = params.limit(1000)?;
    let from = params.cursor(|raw| {
        let text = String::from_utf8(STANDARD.decode(raw).ok()?).ok()?;
        text.parse::<i64>().ok()
    })?;
    let users = state.store.users(from.map_or(0, |id| id - 1), limit + 1).await?;
    Ok(Page::split(users, limit).json(user_json, |next| STANDARD.encode(next.id.to_string())))
}

/// A user named by a path segment: a User GlobalID or a plain row id.
pub(super) fn user_id(raw: &str) -> ApiResult<i64> {
    parse_global_id("User", raw).or_else(|| raw.parse().ok()).ok_or_else(|| ApiError::invalid("not a user id"))
}

#[derive(Deserialize)]
struct NewUserBody {
    user: NewUser,
    #[serde(default)]
    #[allow(dead_code)]
    send_welcome_email: Option<bool>,
}

#[derive(Deserialize)]
struct NewUser {
    email: String,
    username: String,
    role: String,
    auth_method: String,
    password: Option<String>,
}

/// `POST /v1/users`: creates a local user (201); a taken name or email is 409.
async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    JsonBody(body): JsonBody<NewUserBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let user = body.user;
    let role = Role::parse(&user.role)
        .ok_or_else(|| ApiError::invalid(format!("{:?} is not a role (ADMIN, MEMBER or VIEWER)", user.role)))?;
    if user.auth_method != "LOCAL" {
        return Err(ApiError::invalid(
            "only LOCAL users can be created here; OAuth2 users sign up through their provider",
        ));
    }
    let password = user.password.as_deref().ok_or_else(|| ApiError::invalid("a LOCAL user needs a password"))?;
    if user.username.trim().is_empty() || !user.email.contains('@') {
        return Err(ApiError::invalid("a user needs a username and an email address"));
    }
    let input = UserInput {
        username: user.username.trim(),
        email: user.email.trim(),
        role,
        password: Some(password),
        password_needs_reset: true,
    };
    let created = state.auth.create_user(input).await.map_err(auth_error)?;
    super::audit::record(
        &state,
        &principal,
        "user.create",
        &format!("user:{}", created.username),
        json!({ "role": created.role }),
    )
    .await;
    Ok((StatusCode::CREATED, Json(json!({ "data": user_json(&created) }))))
}

/// `DELETE /v1/users/{user_id}`: deletes a user with their keys and sessions (204). The last
/// administrator cannot be deleted.
async fn remove(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(user_id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = self::user_id(&user_id)?;
    let user = state.store.user(id).await?.ok_or_else(|| ApiError::not_found(format!("no user {user_id}")))?;
    if user.role == Role::Admin.as_str() && state.store.admin_count().await? <= 1 {
        return Err(ApiError::forbidden("the last administrator cannot be deleted"));
    }
    state.auth.delete_user(id).await.map_err(auth_error)?;
    super::audit::record(&state, &principal, "user.delete", &format!("user:{}", user.username), json!({})).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleChange {
    role: String,
}

/// `PATCH /v1/users/{user_id}` with `{"role": "MEMBER"}`: changes a user's global role, at once
/// on this server. The last administrator cannot be demoted.
async fn change_role(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(user_id): Path<String>,
    JsonBody(body): JsonBody<RoleChange>,
) -> ApiResult<Json<Value>> {
    let role = Role::parse(&body.role)
        .ok_or_else(|| ApiError::invalid(format!("{:?} is not a role (ADMIN, MEMBER or VIEWER)", body.role)))?;
    let id = self::user_id(&user_id)?;
    let user = state.store.user(id).await?.ok_or_else(|| ApiError::not_found(format!("no user {user_id}")))?;
    if user.role == Role::Admin.as_str() && role != Role::Admin && state.store.admin_count().await? <= 1 {
        return Err(ApiError::forbidden("the last administrator cannot be demoted"));
    }
    state.store.set_user_role(id, role.as_str()).await?;
    state.auth.forget_cached();
    let detail = json!({ "from": user.role, "to": role.as_str() });
    super::audit::record(&state, &principal, "user.role", &format!("user:{}", user.username), detail).await;
    let updated = state.store.user(id).await?.ok_or_else(|| ApiError::not_found(format!("no user {user_id}")))?;
    Ok(Json(json!({ "data": user_json(&updated) })))
}
