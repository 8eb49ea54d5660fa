//! API keys, in Phoenix's routes and shapes: system keys (`/v1/system/api_keys`, admins), the
//! caller's own keys (`/v1/user/api_keys`) and every user's keys (`GET /v1/users/api_keys`,
//! admins). Ember adds a `scope` (`ingest`, `read`, `write`, `admin`; default `admin`, meaning
//! everything the owner may do). A key's secret is in the creation answer and nowhere else.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::accounts::auth_error;
use super::json_body::JsonBody;
use super::page::Page;
use super::params::Params;
use super::routes::Routes;
use super::{ApiError, ApiResult, AppState};
use crate::auth::Permission::{Admin, Authenticated};
use crate::auth::{KeyKind, KeyRequest, KeyScope, Principal};
use crate::ids::{global_id, parse_global_id};
use crate::store::ApiKeyRow;
use crate::time::{iso_time, now_ns, parse_time};

pub fn routes() -> Routes {
    Routes::new()
        .get("/v1/system/api_keys", Admin, list_system)
        .post("/v1/system/api_keys", Admin, create_system)
        .delete("/v1/system/api_keys/{api_key_id}", Admin, delete_system)
        .get("/v1/user/api_keys", Authenticated, list_own)
        .post("/v1/user/api_keys", Authenticated, create_own)
        .delete("/v1/user/api_keys/{api_key_id}", Authenticated, delete_own)
        .get("/v1/users/api_keys", Admin, list_all_users)
}

fn type_name(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::System => "SystemApiKey",
        KeyKind::User => "UserApiKey",
    }
}

fn key_json(kind: KeyKind, key: &ApiKeyRow) -> Value {
    json!({
        "id": global_id(type_name(kind), key.id),
        "name": key.name,
        "description": key.description,
        "created_at": iso_time(key.created_ns),
        "expires_at": key.expires_ns.map(iso_time),
        "scope": key.scope,
    })
}

#[derive(Deserialize)]
struct CreateBody {
    data: KeyData,
}

#[derive(Deserialize)]
struct KeyData {
    name: String,
    description: Option<String>,
    expires_at: Option<String>,
    scope: Option<String>,
}

async fn create(
    state: &AppState,
    principal: &Principal,
    kind: KeyKind,
    data: KeyData,
) -> ApiResult<(StatusCode, Json<Value>)> {
    if data.name.trim().is_empty() {
        return Err(ApiError::invalid("a key needs a name"));
    }
    let scope = match data.scope.as_deref() {
        Some(scope) => KeyScope::parse(scope)
            .ok_or_else(|| ApiError::invalid(format!("{scope:?} is not a scope (ingest, read, write or admin)")))?,
        None => KeyScope::Admin,
    };
    let expires_ns = match data.expires_at.as_deref() {
        Some(text) => {
            let at =
                parse_time(text).ok_or_else(|| ApiError::invalid(format!("expires_at {text:?} is not a date-time")))?;
            if at <= now_ns() {
                return Err(ApiError::invalid("expires_at is in the past"));
            }
            Some(at)
        }
        None => None,
    };
    let request =
        KeyRequest { kind, name: data.name.trim(), description: data.description.as_deref(), scope, expires_ns };
    let (row, secret) = state.auth.create_key(principal, request).await.map_err(auth_error)?;
    let action = format!("{}-key.create", kind.as_str());
    let detail =
        json!({ "id": row.id, "name": row.name, "scope": row.scope, "expires_at": row.expires_ns.map(iso_time) });
    super::audit::record(state, principal, &action, &format!("{}-key:{}", kind.as_str(), row.id), detail).await;
    let mut data = key_json(kind, &row);
    data["key"] = json!(secret);
    Ok((StatusCode::CREATED, Json(json!({ "data": data }))))
}

async fn delete(
    state: &AppState,
    principal: &Principal,
    kind: KeyKind,
    id: &str,
    user_id: Option<i64>,
) -> ApiResult<StatusCode> {
    let key_id = parse_global_id(type_name(kind), id)
        .or_else(|| id.parse().ok())
        .ok_or_else(|| ApiError::invalid("not an API key id"))?;
    if !state.auth.revoke_key(kind, key_id, user_id).await.map_err(auth_error)? {
        return Err(ApiError::not_found(format!("no API key {id}")));
    }
    let action = format!("{}-key.delete", kind.as_str());
    super::audit::record(state, principal, &action, &format!("{}-key:{key_id}", kind.as_str()), json!({})).await;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_system(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let keys = state.store.api_keys(KeyKind::System.as_str(), None, 0, 10_000).await?;
    let data: Vec<Value> = keys.iter().map(|key| key_json(KeyKind::System, key)).collect();
    Ok(Json(json!({ "data": data })))
}

async fn create_system(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    JsonBody(body): JsonBody<CreateBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    create(&state, &principal, KeyKind::System, body.data).await
}

async fn delete_system(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    delete(&state, &principal, KeyKind::System, &id, None).await
}

/// The caller's user id; keys of one's own need an account.
fn own_id(principal: &Principal) -> ApiResult<i64> {
    principal
        .account
        .as_ref()
        .map(|account| account.id)
        .ok_or_else(|| ApiError::forbidden("user API keys belong to a user; this caller is not one"))
}

async fn list_own(State(state): State<AppState>, Extension(principal): Extension<Principal>) -> ApiResult<Json<Value>> {
    let keys = state.store.api_keys(KeyKind::User.as_str(), Some(own_id(&principal)?), 0, 10_000).await?;
    let data: Vec<Value> = keys.iter().map(|key| key_json(KeyKind::User, key)).collect();
    Ok(Json(json!({ "data": data })))
}

async fn create_own(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    JsonBody(body): JsonBody<CreateBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    own_id(&principal)?;
    create(&state, &principal, KeyKind::User, body.data).await
}

async fn delete_own(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let user_id = own_id(&principal)?;
    delete(&state, &principal, KeyKind::User, &id, Some(user_id)).await
}

/// `GET /v1/users/api_keys`: every user's keys with their owners, paginated.
async fn list_all_users(State(state): State<AppState>, RawQuery(query): RawQuery) -> ApiResult<Json<Value>> {
    let params = Params::parse(query.as_deref());
    let limit = params.limit(1000)?;
    let after = params.cursor(|raw| parse_global_id("UserApiKey", raw))?.map_or(0, |id| id - 1);
    let keys = state.store.api_keys(KeyKind::User.as_str(), None, after, limit + 1).await?;
    let view = |key: &ApiKeyRow| {
        let mut value = key_json(KeyKind::User, key);
        value["user"] = json!({
            "id": key.user_id.map(|id| global_id("User", id)),
            "username": key.username,
            "email": key.email,
        });
        value
    };
    Ok(Page::split(keys, limit).json(view, |next| global_id("UserApiKey", next.id)))
}
