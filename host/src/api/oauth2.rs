//! Sign-in with an OpenID provider, on Phoenix's paths: `GET /oauth2/{idp}/login` sends the
//! browser to the provider, `GET /oauth2/{idp}/tokens` is where it comes back; and Ember's
//! `GET /auth/providers`, which the login page reads to offer each provider.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as URL_SAFE;
use base64::Engine;
use serde_json::{json, Value};

use super::login::{cookie_header, with_cookies};
use super::params::Params;
use super::routes::{cookie, Routes};
use super::AppState;
use crate::auth::Permission::Open;
use crate::auth::{AuthError, OidcError};

/// The cookie that carries one sign-in's state, nonce and PKCE verifier, for ten minutes.
const FLOW_COOKIE: &str = "ember-oauth2-flow";
const FLOW_SECONDS: u64 = 600;

/// The OpenID Connect routes.
pub fn routes() -> Routes {
    Routes::new().get("/auth/providers", Open, providers).get("/oauth2/{idp}/login", Open, login).get(
        "/oauth2/{idp}/tokens",
        Open,
        tokens,
    )
}

/// `GET /auth/providers`: the identity providers a user may sign in with.
async fn providers(State(state): State<AppState>) -> Json<Value> {
    let root = state.ui.root_path();
    let data: Vec<Value> = state
        .auth
        .oidc()
        .providers()
        .map(|p| {
            json!({
                "name": p.name,
                "display_name": p.display_name,
                "auto_login": p.auto_login,
                "login_url": format!("{root}/oauth2/{}/login", p.name),
            })
        })
        .collect();
    Json(json!({ "data": data }))
}

/// Where the provider sends the browser back: this server as the browser reached it.
fn redirect_uri(state: &AppState, headers: &HeaderMap, idp: &str) -> String {
    let forwarded = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok());
    let scheme = forwarded.unwrap_or(if state.auth.settings().secure_cookies { "https" } else { "http" });
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    format!("{scheme}://{host}{}/oauth2/{idp}/tokens", state.ui.root_path())
}

/// A redirect to `location`, with extra `Set-Cookie` headers.
fn redirect(location: &str, cookies: impl IntoIterator<Item = Option<HeaderValue>>) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for value in cookies.into_iter().flatten() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn flow_cookie(state: &AppState, value: &str, max_age: u64) -> Option<HeaderValue> {
    let path = format!("{}/oauth2", state.ui.root_path());
    cookie_header(state, FLOW_COOKIE, value, &path, max_age, "Lax")
}

/// Back to the login page with the reason, the flow cookie cleared.
fn refused(state: &AppState, err: &AuthError) -> Response {
    tracing::warn!(error = %err, "OpenID Connect sign-in refused");
    let message: String = form_urlencoded::byte_serialize(err.to_string().as_bytes()).collect();
    redirect(&format!("{}/login?error={message}", state.ui.root_path()), [flow_cookie(state, "", 0)])
}

/// `GET /oauth2/{idp}/login[?returnUrl=/path]`: to the provider's authorization endpoint.
async fn login(
    State(state): State<AppState>,
    Path(idp): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let uri = redirect_uri(&state, &headers, &idp);
    let started = match state.auth.oidc().start(&idp, &uri).await {
        Ok(started) => started,
        Err(err) => return refused(&state, &AuthError::Oidc(err)),
    };
    let back = Params::parse(query.as_deref())
        .get("returnUrl")
        .filter(|path| path.starts_with('/') && !path.starts_with("//") && !path.contains('\\'))
        .map(|path| URL_SAFE.encode(path))
        .unwrap_or_default();
    let value = format!("{}.{back}", started.flow_cookie);
    redirect(&started.authorize_url, [flow_cookie(&state, &value, FLOW_SECONDS)])
}

/// `GET /oauth2/{idp}/tokens?code=…&state=…`: verifies the sign-in, starts a session and sends
/// the browser to where it was going; any failure goes back to the login page with the reason.
async fn tokens(
    State(state): State<AppState>,
    Path(idp): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref());
    if let Some(error) = params.get("error") {
        let description = params.get("error_description").unwrap_or_default();
        return refused(&state, &AuthError::Oidc(OidcError::Refused(format!("{error} {description}").trim().into())));
    }
    let flow = cookie(&headers, FLOW_COOKIE);
    let (flow, back) = match flow.as_deref().and_then(|f| f.rsplit_once('.')) {
        Some((flow, back)) => (Some(flow.to_owned()), back.to_owned()),
        None => (None, String::new()),
    };
    let uri = redirect_uri(&state, &headers, &idp);
    let code = params.get("code").unwrap_or_default();
    let returned_state = params.get("state").unwrap_or_default();
    let oidc = state.auth.oidc();
    let identity = match oidc.finish(&idp, &uri, code, returned_state, flow.as_deref()).await {
        Ok(identity) => identity,
        Err(err) => return refused(&state, &AuthError::Oidc(err)),
    };
    let provider = match oidc.provider(&idp) {
        Ok(provider) => provider.clone(),
        Err(err) => return refused(&state, &AuthError::Oidc(err)),
    };
    let (user, session) = match state.auth.sign_in_oidc(&provider, &identity).await {
        Ok(signed_in) => signed_in,
        Err(err) => return refused(&state, &err),
    };
    tracing::info!(user = %user.username, idp = %idp, "signed in with an identity provider");
    let root = state.ui.root_path();
    let target = URL_SAFE
        .decode(back)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|path| path.starts_with('/') && !path.starts_with("//"))
        .unwrap_or_else(|| format!("{root}/"));
    let mut response = with_cookies(&state, StatusCode::FOUND, &session);
    if let Ok(location) = HeaderValue::from_str(&target) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if let Some(clear) = flow_cookie(&state, "", 0) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}
