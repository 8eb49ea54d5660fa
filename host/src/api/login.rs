//! Browser sessions, as Phoenix's `/auth` routes: `POST /auth/login` sets an access-token
//! cookie and a refresh-token cookie (HttpOnly, SameSite, Secure behind TLS), `/auth/refresh`
//! rotates both, `/auth/logout` revokes the session and clears them; `/auth/setup` creates the
//! first administrator with the one-time setup token.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::accounts::{auth_error, user_json};
use super::json_body::JsonBody;
use super::routes::{cookie, credentials, Routes, ACCESS_COOKIE, REFRESH_COOKIE};
use super::{ApiError, ApiResult, AppState};
use crate::auth::Permission::Open;
use crate::auth::{AuthError, IssuedSession, Role, UserInput};

pub fn routes() -> Routes {
    Routes::new()
        .post("/auth/login", Open, login)
        .post("/auth/refresh", Open, refresh)
        .post("/auth/logout", Open, logout)
        .post("/auth/setup", Open, setup)
        .get("/auth/session", Open, session)
}

#[derive(Deserialize)]
struct LoginBody {
    /// Phoenix sends `email`; a username works too.
    email: Option<String>,
    username: Option<String>,
    password: String,
}

/// `POST /auth/login`: 204 with the session cookies; 401 for a wrong login, 429 when throttled.
async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    JsonBody(body): JsonBody<LoginBody>,
) -> ApiResult<Response> {
    if !state.auth.enabled() {
        return Err(ApiError::with_status(
            StatusCode::NOT_FOUND,
            "auth_disabled",
            "authentication is not enabled on this server",
        ));
    }
    let login =
        body.email.or(body.username).ok_or_else(|| ApiError::invalid("send an email (or username) and a password"))?;
    let address = peer.ip().to_string();
    match state.auth.login(&login, &body.password, &address).await {
        Ok((user, session)) => {
            tracing::info!(user = %user.username, "signed in");
            Ok(with_cookies(&state, StatusCode::NO_CONTENT, &session))
        }
        Err(AuthError::Throttled(wait)) => {
            tracing::warn!(%address, "login throttled");
            let mut response = auth_error(AuthError::Throttled(wait)).into_response();
            if let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            Ok(response)
        }
        Err(err) => Err(auth_error(err)),
    }
}

/// `POST /auth/refresh`: new cookies for the refresh-token cookie; 401 (and cleared cookies)
/// when it is missing, used, expired or revoked.
async fn refresh(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(refresh_token) = cookie(&headers, REFRESH_COOKIE) else {
        return cleared(&state, auth_error(AuthError::Missing).into_response());
    };
    match state.auth.refresh(&refresh_token).await {
        Ok(session) => with_cookies(&state, StatusCode::NO_CONTENT, &session),
        Err(err) => cleared(&state, auth_error(err).into_response()),
    }
}

/// `GET /auth/session`: whether authentication is on and who is signed in, answered without a
/// 401 so that the web UI can ask before anything else. An expired access token whose refresh
/// token still works is refreshed here (new cookies), so a returning browser stays signed in.
async fn session(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.auth.enabled() {
        return Json(json!({ "auth_enabled": false, "user": null })).into_response();
    }
    let signed_in = |user: Option<Value>, role: &str| json!({ "auth_enabled": true, "user": user, "role": role });
    if let Some((secret, _)) = credentials(&headers) {
        if let Ok(principal) = state.auth.authenticate(&secret).await {
            let user = match &principal.account {
                Some(account) => state.store.user(account.id).await.ok().flatten().map(|u| user_json(&u)),
                None => None,
            };
            return Json(signed_in(user, principal.role.as_str())).into_response();
        }
    }
    if let Some(refresh_token) = cookie(&headers, REFRESH_COOKIE) {
        if let Ok(issued) = state.auth.refresh(&refresh_token).await {
            if let Ok(principal) = state.auth.authenticate(&issued.access_token).await {
                let user = match &principal.account {
                    Some(account) => state.store.user(account.id).await.ok().flatten().map(|u| user_json(&u)),
                    None => None,
                };
                let mut response = with_cookies(&state, StatusCode::OK, &issued);
                let body = Json(signed_in(user, principal.role.as_str())).into_response();
                *response.body_mut() = body.into_body();
                response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                return response;
            }
        }
    }
    Json(json!({ "auth_enabled": true, "user": null })).into_response()
}

/// `POST /auth/logout`: revokes the session of the cookies (or bearer access token) and clears
/// the cookies; 204 even when there was no session.
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let tokens = [credentials(&headers).map(|(secret, _)| secret), cookie(&headers, REFRESH_COOKIE)];
    for token in tokens.into_iter().flatten() {
        if let Err(err) = state.auth.logout(&token).await {
            return auth_error(err).into_response();
        }
    }
    cleared(&state, StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct SetupBody {
    token: String,
    username: String,
    email: String,
    password: String,
}

/// `POST /auth/setup`: creates the first administrator with the setup token the server wrote
/// to its working directory (201); refused once any account exists.
async fn setup(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<SetupBody>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let input = UserInput {
        username: body.username.trim(),
        email: body.email.trim(),
        role: Role::Admin,
        password: Some(&body.password),
        password_needs_reset: false,
    };
    let user = state.auth.complete_setup(&body.token, input).await.map_err(|err| match err {
        AuthError::Invalid => ApiError::forbidden("the setup token is wrong, or setup is already done"),
        other => auth_error(other),
    })?;
    tracing::info!(user = %user.username, "first administrator created with the setup token");
    Ok((StatusCode::CREATED, Json(json!({ "data": user_json(&user) }))))
}

pub(super) fn cookie_header(
    state: &AppState,
    name: &str,
    value: &str,
    path: &str,
    max_age: u64,
    same_site: &str,
) -> Option<HeaderValue> {
    let secure = if state.auth.settings().secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite={same_site}{secure}"
    ))
    .ok()
}

fn paths(state: &AppState) -> (String, String) {
    let root = state.ui.root_path();
    (if root.is_empty() { "/".to_owned() } else { root.to_owned() }, format!("{root}/auth"))
}

pub(super) fn with_cookies(state: &AppState, status: StatusCode, session: &IssuedSession) -> Response {
    let (root, auth) = paths(state);
    let mut response = status.into_response();
    let headers = response.headers_mut();
    let access = cookie_header(state, ACCESS_COOKIE, &session.access_token, &root, session.access_ttl.as_secs(), "Lax");
    let refresh =
        cookie_header(state, REFRESH_COOKIE, &session.refresh_token, &auth, session.refresh_ttl.as_secs(), "Strict");
    for value in [access, refresh].into_iter().flatten() {
        headers.append(header::SET_COOKIE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn cleared(state: &AppState, mut response: Response) -> Response {
    let (root, auth) = paths(state);
    let headers = response.headers_mut();
    let access = cookie_header(state, ACCESS_COOKIE, "", &root, 0, "Lax");
    let refresh = cookie_header(state, REFRESH_COOKIE, "", &auth, 0, "Strict");
    for value in [access, refresh].into_iter().flatten() {
        headers.append(header::SET_COOKIE, value);
    }
    response
}
