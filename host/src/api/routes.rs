//! The route table: every route is registered with the permission it needs, in one place per
//! module, and one guard enforces it before any handler runs.
//!
//! Handlers cannot forget a permission: [`Routes`] takes one with every handler, and the guard
//! answers a route it finds no permission for with 500 (and an error in the log) instead of
//! running it, with authentication on or off. `GET /v1/system/routes` lists the table, which
//! is what the route-walking test and a reviewer read.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::handler::Handler;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;

use super::{ApiError, AppState};
use crate::auth::{Auth, AuthError, Credential, Permission, Principal};

/// The cookie a browser session's access token travels in.
pub const ACCESS_COOKIE: &str = "ember-access-token";
/// The cookie the refresh token travels in (sent to `/auth` only).
pub const REFRESH_COOKIE: &str = "ember-refresh-token";

/// One registered route and what it needs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Declared {
    pub method: String,
    pub path: &'static str,
    pub permission: String,
}

/// Routes under construction, each with its permission.
#[derive(Default)]
pub struct Routes {
    paths: BTreeMap<&'static str, MethodRouter<AppState>>,
    table: Vec<(Method, &'static str, Permission)>,
}

macro_rules! method_fns {
    ($($name:ident => $method:ident),*) => {$(
        #[doc = concat!("Adds `", stringify!($method), " path`, needing `permission`.")]
        pub fn $name<H, T>(self, path: &'static str, permission: Permission, handler: H) -> Self
        where
            H: Handler<T, AppState>,
            T: 'static,
        {
            self.on(Method::$method, path, permission, on(MethodFilter::$method, handler))
        }
    )*};
}

impl Routes {
    /// No routes yet.
    pub fn new() -> Self {
        Self::default()
    }

    method_fns!(get => GET, post => POST, put => PUT, patch => PATCH, delete => DELETE);

    /// Adds `method path` served by `route` (a method router for that one method, with any
    /// layers of its own), needing `permission`.
    pub fn on(
        mut self,
        method: Method,
        path: &'static str,
        permission: Permission,
        route: MethodRouter<AppState>,
    ) -> Self {
        self.table.push((method, path, permission));
        let merged = match self.paths.remove(path) {
            Some(existing) => existing.merge(route),
            None => route,
        };
        self.paths.insert(path, merged);
        self
    }

    /// Adds every route of `other`.
    pub fn merge(mut self, other: Routes) -> Self {
        for (path, route) in other.paths {
            let merged = match self.paths.remove(path) {
                Some(existing) => existing.merge(route),
                None => route,
            };
            self.paths.insert(path, merged);
        }
        self.table.extend(other.table);
        self
    }

    /// The router, guarded: every request passes [`guard`] before its handler.
    pub fn into_router(self, auth: Auth) -> Router<AppState> {
        let mut declared: Vec<Declared> = self
            .table
            .iter()
            .map(|(method, path, permission)| Declared {
                method: method.to_string(),
                path,
                permission: permission.to_string(),
            })
            .collect();
        declared.sort_by(|a, b| (a.path, &a.method).cmp(&(b.path, &b.method)));
        let mut permissions: HashMap<&'static str, Vec<(Method, Permission)>> = HashMap::new();
        for (method, path, permission) in self.table {
            permissions.entry(path).or_default().push((method, permission));
        }
        let table = RouteTable { permissions: Arc::new(permissions), declared: Arc::new(declared) };
        let mut router = Router::new();
        for (path, route) in self.paths {
            router = router.route(path, route);
        }
        let gate = Gate { auth, table: table.clone() };
        router.route_layer(axum::middleware::from_fn_with_state(gate, guard)).layer(axum::Extension(table))
    }
}

/// Every route's permission, looked up by the guard and listed by `GET /v1/system/routes`.
#[derive(Debug, Clone)]
pub struct RouteTable {
    permissions: Arc<HashMap<&'static str, Vec<(Method, Permission)>>>,
    declared: Arc<Vec<Declared>>,
}

impl RouteTable {
    /// The table, sorted by path then method.
    pub fn declared(&self) -> &[Declared] {
        &self.declared
    }

    fn permission(&self, method: &Method, path: &str) -> Option<Permission> {
        self.permissions.get(path)?.iter().find(|(declared, _)| declared == method).map(|(_, permission)| *permission)
    }

    fn methods_of(&self, path: &str) -> Vec<&Method> {
        self.permissions.get(path).map(|methods| methods.iter().map(|(method, _)| method).collect()).unwrap_or_default()
    }
}

#[derive(Clone)]
struct Gate {
    auth: Auth,
    table: RouteTable,
}

/// Finds the route's permission and the caller's credentials, and lets the request through
/// only when the caller holds the permission.
async fn guard(State(gate): State<Gate>, mut request: Request, next: Next) -> Response {
    let method = match request.method() {
        &Method::HEAD => Method::GET,
        other => other.clone(),
    };
    let Some(path) = request.extensions().get::<MatchedPath>().map(|path| path.as_str().to_owned()) else {
        tracing::error!(uri = %request.uri(), "a routed request carries no matched path");
        return ApiError::internal("route declares no permission").into_response();
    };
    let Some(permission) = gate.table.permission(&method, &path) else {
        let methods = gate.table.methods_of(&path);
        if methods.is_empty() {
            tracing::error!(%path, %method, "route has no declared permission; refusing it");
            return ApiError::internal("route declares no permission").into_response();
        }
        let allow = methods.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ");
        let mut response = StatusCode::METHOD_NOT_ALLOWED.into_response();
        if let Ok(value) = HeaderValue::from_str(&allow) {
            response.headers_mut().insert(header::ALLOW, value);
        }
        return response;
    };
    if !gate.auth.enabled() {
        request.extensions_mut().insert(Principal::unauthenticated());
        return next.run(request).await;
    }
    if permission == Permission::Open {
        return next.run(request).await;
    }
    let Some((secret, from_cookie)) = credentials(request.headers()) else {
        return unauthenticated(AuthError::Missing);
    };
    let principal = match gate.auth.authenticate(&secret).await {
        Ok(principal) => principal,
        Err(AuthError::Store(err)) => return ApiError::from(err).into_response(),
        Err(err) => return unauthenticated(err),
    };
    if from_cookie
        && !is_safe(&method)
        && !same_origin_or_trusted(request.headers(), &gate.auth.settings().csrf_trusted_origins)
    {
        return ApiError::forbidden(
            "cross-site request refused: the Origin is neither this server nor a trusted origin",
        )
        .into_response();
    }
    if !principal.allows(permission) {
        return ApiError::forbidden(format!(
            "this needs the {permission} permission, which {} does not have",
            describe(&principal)
        ))
        .into_response();
    }
    let (mut parts, body) = request.into_parts();
    if principal.projects.is_limited() {
        if let Ok(params) = RawPathParams::from_request_parts(&mut parts, &()).await {
            let store = gate.auth.store();
            if let Err(err) = super::project_scope::check(store, &principal, &path, &params, permission).await {
                return err.into_response();
            }
        }
    }
    let mut request = Request::from_parts(parts, body);
    request.extensions_mut().insert(principal);
    next.run(request).await
}

fn describe(principal: &Principal) -> String {
    let role = principal.role.as_str().to_lowercase();
    match (&principal.credential, principal.scope) {
        (Credential::SystemKey { .. } | Credential::UserKey { .. }, Some(scope)) => {
            format!("a {} key (of a {role})", scope.as_str())
        }
        _ => format!("a {role}"),
    }
}

fn unauthenticated(err: AuthError) -> Response {
    let mut response = ApiError::unauthenticated(err.to_string()).into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// The bearer secret of a request: `Authorization: Bearer …`, else the access-token cookie
/// (then `true`, so that writes are checked for cross-site origin).
pub fn credentials(headers: &HeaderMap) -> Option<(String, bool)> {
    if let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, secret) = value.trim().split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| (secret.trim().to_owned(), false));
    }
    cookie(headers, ACCESS_COOKIE).map(|secret| (secret, true))
}

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether a cookie-authenticated write comes from this server's own pages or a trusted
/// origin: its `Origin` (else `Referer`) must name the `Host` it was sent to, or be listed.
fn same_origin_or_trusted(headers: &HeaderMap, trusted: &[String]) -> bool {
    let origin = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|value| value.to_str().ok())
        .and_then(|value| url::Url::parse(value).ok());
    let Some(origin) = origin else {
        return false;
    };
    let serialized = origin.origin().ascii_serialization();
    if trusted.iter().any(|allowed| allowed.trim_end_matches('/') == serialized) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok());
    let authority = match (origin.host_str(), origin.port()) {
        (Some(name), Some(port)) => format!("{name}:{port}"),
        (Some(name), None) => name.to_owned(),
        _ => return false,
    };
    host.is_some_and(|host| host.eq_ignore_ascii_case(&authority))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn a_bearer_header_wins_over_the_cookie() {
        let both = headers(&[("authorization", "Bearer ember_sk_x"), ("cookie", "ember-access-token=ember_at_y")]);
        assert_eq!(credentials(&both), Some(("ember_sk_x".into(), false)));
        let cookie_only = headers(&[("cookie", "a=b; ember-access-token=ember_at_y")]);
        assert_eq!(credentials(&cookie_only), Some(("ember_at_y".into(), true)));
        assert_eq!(credentials(&headers(&[("authorization", "Basic abc")])), None);
        assert_eq!(credentials(&HeaderMap::new()), None);
    }

    #[test]
    fn cross_site_writes_are_told_apart() {
        let same = headers(&[("host", "ember.local:6006"), ("origin", "http://ember.local:6006")]);
        assert!(same_origin_or_trusted(&same, &[]));
        let other = headers(&[("host", "ember.local:6006"), ("origin", "https://evil.example")]);
        assert!(!same_origin_or_trusted(&other, &[]));
        assert!(same_origin_or_trusted(&other, &["https://evil.example/".into()]));
        let referer = headers(&[("host", "ember.local"), ("referer", "http://ember.local/projects")]);
        assert!(same_origin_or_trusted(&referer, &[]));
        assert!(!same_origin_or_trusted(&headers(&[("host", "ember.local")]), &[]), "no origin at all is refused");
    }

    #[tokio::test]
    async fn a_route_added_without_a_permission_is_refused() {
        use tower::ServiceExt;
        let table = RouteTable { permissions: Arc::new(HashMap::new()), declared: Arc::new(Vec::new()) };
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::connect(None, dir.path()).await.unwrap();
        let gate = Gate { auth: Auth::new(store, crate::auth::AuthSettings::disabled()), table };
        let app: Router = Router::new()
            .route("/undeclared", axum::routing::get(|| async { "ran" }))
            .route_layer(axum::middleware::from_fn_with_state(gate, guard));
        let request = axum::http::Request::get("/undeclared").body(axum::body::Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR, "an undeclared route must not run");
    }
}
