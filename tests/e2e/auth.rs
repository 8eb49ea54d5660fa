//! Authentication on: every route answers 401 without credentials and 403 to a credential
//! without its permission (walking the server's own route table), browser sessions log in,
//! refresh, rotate and really revoke, cookie writes are checked for cross-site origin, and
//! failed logins are throttled.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, COOKIE, ORIGIN, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;

/// The first administrator's initial password (`EMBER_ADMIN_INITIAL_PASSWORD`).
pub const ADMIN_PASSWORD: &str = "first operator passphrase 7";
/// The password of every other test user.
pub const USER_PASSWORD: &str = "a long user passphrase 9";

/// Starts a server with authentication on and `admin` bootstrapped from the environment.
pub async fn start_with_auth(db: &TestDb, env: &[(&str, &str)]) -> Ember {
    let mut all = vec![("EMBER_ENABLE_AUTH", "true"), ("EMBER_ADMIN_INITIAL_PASSWORD", ADMIN_PASSWORD)];
    all.extend_from_slice(env);
    Ember::start_with(db, &all).await
}

/// A browser session's cookies.
#[derive(Debug, Clone)]
pub struct Cookies {
    pub access: String,
    pub refresh: String,
}

impl Cookies {
    /// The `Cookie` header a browser would send to `/auth/…` (both cookies).
    pub fn header(&self) -> String {
        format!("ember-access-token={}; ember-refresh-token={}", self.access, self.refresh)
    }
}

fn cookie_value(response: &reqwest::Response, name: &str) -> Option<String> {
    response.headers().get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        let (pair, _) = v.split_once(';').unwrap_or((v, ""));
        let (key, value) = pair.split_once('=')?;
        (key == name && !value.is_empty()).then(|| value.to_owned())
    })
}

/// Signs in; panics unless the server answers 204 with both cookies.
pub async fn login(ember: &Ember, login: &str, password: &str) -> Cookies {
    let response = ember
        .client
        .post(ember.url("/auth/login"))
        .json(&json!({ "email": login, "password": password }))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), StatusCode::NO_CONTENT, "login as {login}");
    let set: Vec<_> = response.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    assert!(set.iter().all(|c| c.contains("HttpOnly") && c.contains("SameSite")), "{set:?}");
    Cookies {
        access: cookie_value(&response, "ember-access-token").expect("access cookie"),
        refresh: cookie_value(&response, "ember-refresh-token").expect("refresh cookie"),
    }
}

/// Sends `method path` with a bearer credential (or none) and a JSON body; returns the status
/// and the body.
pub async fn call(
    ember: &Ember,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = ember.client.request(method, ember.url(path));
    if let Some(secret) = bearer {
        request = request.header(AUTHORIZATION, format!("Bearer {secret}"));
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Creates a key at `path` (`/v1/system/api_keys` or `/v1/user/api_keys`) with `scope` and
/// returns its secret.
pub async fn create_key(ember: &Ember, bearer: &str, path: &str, scope: &str) -> String {
    let body = json!({ "data": { "name": format!("{scope} key"), "scope": scope } });
    let (status, created) = call(ember, Method::POST, path, Some(bearer), Some(body)).await;
    assert_eq!(status, 201, "create key: {created}");
    created["data"]["key"].as_str().expect("the key, once").to_owned()
}

/// An admin system key, made through an admin browser session (the way a first admin would).
pub async fn admin_key(ember: &Ember) -> String {
    let session = login(ember, "admin", ADMIN_PASSWORD).await;
    let response = ember
        .client
        .post(ember.url("/v1/system/api_keys"))
        .header(COOKIE, session.header())
        .header(ORIGIN, ember.http.clone())
        .json(&json!({ "data": { "name": "automation" } }))
        .send()
        .await
        .expect("create system key");
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.expect("json");
    body["data"]["key"].as_str().expect("key").to_owned()
}

/// Creates a user with `role` and returns a key of theirs with `scope`.
pub async fn user_key(ember: &Ember, admin: &str, username: &str, role: &str, scope: &str) -> String {
    let user = json!({ "user": {
        "username": username, "email": format!("{username}@example.com"), "role": role,
        "auth_method": "LOCAL", "password": USER_PASSWORD,
    }});
    let (status, body) = call(ember, Method::POST, "/v1/users", Some(admin), Some(user)).await;
    assert_eq!(status, 201, "create {username}: {body}");
    let session = login(ember, username, USER_PASSWORD).await;
    create_key(ember, &session.access, "/v1/user/api_keys", scope).await
}

fn concrete(path: &str) -> String {
    path.split('/').map(|segment| if segment.starts_with('{') { "1" } else { segment }).collect::<Vec<_>>().join("/")
}

async fn every_route_needs_its_permission(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = start_with_auth(&db, &[]).await;
    let admin = admin_key(&ember).await;
    let viewer = user_key(&ember, &admin, "vera", "VIEWER", "admin").await;
    let ingest_only = create_key(&ember, &admin, "/v1/system/api_keys", "ingest").await;

    let (status, table) = call(&ember, Method::GET, "/v1/system/routes", Some(&admin), None).await;
    assert_eq!(status, 200, "{table}");
    let routes = table["data"].as_array().expect("route table").clone();
    assert!(routes.len() >= 90, "the whole router is listed: {}", routes.len());
    let mut checked = 0;
    for route in &routes {
        let (method, path, permission) =
            (route["method"].as_str().unwrap(), route["path"].as_str().unwrap(), route["permission"].as_str().unwrap());
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let url = concrete(path);
        let body = (method != Method::GET).then(|| json!({}));
        let (anonymous, _) = call(&ember, method.clone(), &url, None, body.clone()).await;
        if permission == "open" {
            // The session routes answer 401 themselves without a cookie; the others serve anyone.
            if !path.starts_with("/auth/") {
                assert_ne!(anonymous, 401, "{method} {path} is declared open");
            }
            continue;
        }
        assert_eq!(anonymous, 401, "{method} {path} ({permission}) without credentials");
        let (as_viewer, reply) = call(&ember, method.clone(), &url, Some(&viewer), body.clone()).await;
        match permission {
            "write" | "admin" | "ingest" => {
                assert_eq!(as_viewer, 403, "{method} {path} ({permission}) with a viewer's key: {reply}")
            }
            "read" | "authenticated" => {
                assert!(
                    ![401, 403].contains(&as_viewer),
                    "{method} {path} ({permission}) refused a viewer: {as_viewer} {reply}"
                )
            }
            other => panic!("{method} {path}: unknown permission {other}"),
        }
        if permission != "ingest" {
            let (as_ingest, _) = call(&ember, method.clone(), &url, Some(&ingest_only), body).await;
            assert_eq!(as_ingest, 403, "{method} {path} ({permission}) with an ingest-only key");
        }
        checked += 1;
    }
    assert!(checked >= 85, "walked {checked} protected routes");
    // A route nobody registered stays the UI's (or a 404), not an open door to a handler.
    let (status, _) = call(&ember, Method::GET, "/v1/not-a-route", None, None).await;
    assert_eq!(status, 404);
    // GraphQL reads work for a viewer; its one mutation needs write.
    let query = json!({ "query": "{ projects { name } }" });
    let (status, reply) = call(&ember, Method::POST, "/graphql", Some(&viewer), Some(query)).await;
    assert_eq!((status, reply["errors"].is_null()), (200, true), "{reply}");
    let mutation =
        json!({ "query": "mutation { addSpanAnnotation(spanId: \"0000000000000001\", name: \"x\") { name } }" });
    let (_, reply) = call(&ember, Method::POST, "/graphql", Some(&viewer), Some(mutation)).await;
    assert!(reply["errors"][0]["message"].as_str().unwrap_or("").contains("forbidden"), "{reply}");
    db.cleanup().await;
}

async fn sessions_rotate_and_revoke(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = start_with_auth(&db, &[]).await;
    let (status, _) = call(&ember, Method::GET, "/v1/user", None, None).await;
    assert_eq!(status, 401);
    let first = login(&ember, "admin", ADMIN_PASSWORD).await;
    let (status, me) = call(&ember, Method::GET, "/v1/user", Some(&first.access), None).await;
    assert_eq!((status, me["data"]["username"].as_str()), (200, Some("admin")), "{me}");
    assert_eq!(me["data"]["role"], "ADMIN");
    assert_eq!(me["data"]["password_needs_reset"], true, "a bootstrapped password must be changed");
    assert!(me["data"].get("password").is_none());

    // Refresh rotates both tokens: the old refresh token works once, the old access token stops.
    let refresh =
        |cookies: &Cookies| ember.client.post(ember.url("/auth/refresh")).header(COOKIE, cookies.header()).send();
    let response = refresh(&first).await.expect("refresh");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let second = Cookies {
        access: cookie_value(&response, "ember-access-token").expect("new access"),
        refresh: cookie_value(&response, "ember-refresh-token").expect("new refresh"),
    };
    assert_ne!(second.access, first.access);
    assert_eq!(refresh(&first).await.expect("replay").status(), StatusCode::UNAUTHORIZED, "a refresh token works once");
    assert_eq!(call(&ember, Method::GET, "/v1/user", Some(&first.access), None).await.0, 401);
    assert_eq!(call(&ember, Method::GET, "/v1/user", Some(&second.access), None).await.0, 200);

    // Cookie-authenticated writes need this server's (or a trusted) Origin.
    let write = |origin: Option<&str>| {
        let mut request = ember
            .client
            .post(ember.url("/v1/projects"))
            .header(COOKIE, format!("ember-access-token={}", second.access))
            .json(&json!({ "name": format!("p{}", origin.map_or(0, str::len)) }));
        if let Some(origin) = origin {
            request = request.header(ORIGIN, origin);
        }
        request.send()
    };
    assert_eq!(write(None).await.expect("no origin").status(), StatusCode::FORBIDDEN);
    assert_eq!(write(Some("https://evil.example")).await.expect("foreign").status(), StatusCode::FORBIDDEN);
    assert_eq!(write(Some(&ember.http)).await.expect("same origin").status().as_u16(), 200);

    // Logout revokes at once, both tokens.
    let response =
        ember.client.post(ember.url("/auth/logout")).header(COOKIE, second.header()).send().await.expect("logout");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(call(&ember, Method::GET, "/v1/user", Some(&second.access), None).await.0, 401);
    assert_eq!(refresh(&second).await.expect("refresh after logout").status(), StatusCode::UNAUTHORIZED);

    // A deleted user's keys stop working; the last admin cannot be deleted or demoted; a role
    // change applies to the user's keys at once.
    let admin = admin_key(&ember).await;
    let key = user_key(&ember, &admin, "mia", "MEMBER", "write").await;
    assert_eq!(call(&ember, Method::GET, "/v1/projects", Some(&key), None).await.0, 200);
    let (_, users) = call(&ember, Method::GET, "/v1/users", Some(&admin), None).await;
    let mia_id = users["data"].as_array().unwrap().iter().find(|u| u["username"] == "mia").unwrap()["id"].clone();
    let mia_path = format!("/v1/users/{}", mia_id.as_str().unwrap());
    let project = |name: &str| Some(json!({ "name": name }));
    assert_eq!(call(&ember, Method::POST, "/v1/projects", Some(&key), project("mia-one")).await.0, 200);
    let (status, body) = call(&ember, Method::PATCH, &mia_path, Some(&admin), Some(json!({ "role": "VIEWER" }))).await;
    assert_eq!((status, body["data"]["role"].as_str()), (200, Some("VIEWER")), "{body}");
    assert_eq!(call(&ember, Method::POST, "/v1/projects", Some(&key), project("mia-two")).await.0, 403, "now a viewer");
    let admin_row = users["data"].as_array().unwrap().iter().find(|u| u["username"] == "admin").unwrap();
    let admin_path = format!("/v1/users/{}", admin_row["id"].as_str().unwrap());
    let demote = Some(json!({ "role": "MEMBER" }));
    assert_eq!(call(&ember, Method::PATCH, &admin_path, Some(&admin), demote).await.0, 403, "the last admin stays one");
    let (_, first_page) = call(&ember, Method::GET, "/v1/users?limit=1", Some(&admin), None).await;
    assert_eq!(first_page["data"].as_array().map(Vec::len), Some(1), "{first_page}");
    let cursor = first_page["next_cursor"].as_str().expect("a next page").to_owned();
    let (_, second_page) =
        call(&ember, Method::GET, &format!("/v1/users?limit=1&cursor={cursor}"), Some(&admin), None).await;
    assert_eq!(second_page["data"][0]["username"], "mia", "{second_page}");
    let mia = users["data"].as_array().unwrap().iter().find(|u| u["username"] == "mia").expect("mia listed");
    let admin_id = users["data"].as_array().unwrap().iter().find(|u| u["username"] == "admin").unwrap()["id"].clone();
    let (status, _) =
        call(&ember, Method::DELETE, &format!("/v1/users/{}", mia["id"].as_str().unwrap()), Some(&admin), None).await;
    assert_eq!(status, 204);
    assert_eq!(call(&ember, Method::GET, "/v1/projects", Some(&key), None).await.0, 401);
    let (status, _) =
        call(&ember, Method::DELETE, &format!("/v1/users/{}", admin_id.as_str().unwrap()), Some(&admin), None).await;
    assert_eq!(status, 403, "the last administrator stays");

    // The bootstrapped password is changed: the current one is checked, the policy applies,
    // and every session of the user ends.
    let session = login(&ember, "admin", ADMIN_PASSWORD).await;
    let change = |current: &str, new: &str| json!({ "current_password": current, "new_password": new });
    let patch = |body: Value| call(&ember, Method::PATCH, "/v1/user", Some(&session.access), Some(body));
    assert_eq!(patch(change("not it at all", "a fresh long passphrase")).await.0, 401);
    assert_eq!(patch(change(ADMIN_PASSWORD, "short")).await.0, 422);
    let (status, me) = patch(change(ADMIN_PASSWORD, "a fresh long passphrase")).await;
    assert_eq!((status, me["data"]["password_needs_reset"].as_bool()), (200, Some(false)), "{me}");
    assert_eq!(call(&ember, Method::GET, "/v1/user", Some(&session.access), None).await.0, 401, "sessions end");
    let old = json!({ "email": "admin", "password": ADMIN_PASSWORD });
    assert_eq!(call(&ember, Method::POST, "/auth/login", None, Some(old)).await.0, 401, "the old password is gone");
    login(&ember, "admin@localhost", "a fresh long passphrase").await;
    db.cleanup().await;
}

/// Browsers may call the API cross-origin only from `EMBER_ALLOWED_ORIGINS`.
#[tokio::test]
async fn cross_origin_access_is_an_allow_list() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else { return };
    let ember = start_with_auth(&db, &[("EMBER_ALLOWED_ORIGINS", "https://notebook.example")]).await;
    let preflight = |origin: &'static str| {
        ember
            .client
            .request(Method::OPTIONS, ember.url("/v1/projects"))
            .header(ORIGIN, origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .send()
    };
    let allowed = preflight("https://notebook.example").await.expect("preflight");
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://notebook.example");
    assert_eq!(allowed.headers()["access-control-allow-credentials"], "true");
    let refused = preflight("https://evil.example").await.expect("preflight");
    assert!(refused.headers().get("access-control-allow-origin").is_none(), "{:?}", refused.headers());
    db.cleanup().await;
}

async fn failed_logins_are_throttled(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = start_with_auth(&db, &[]).await;
    for attempt in 0..5 {
        let (status, _) = call(
            &ember,
            Method::POST,
            "/auth/login",
            None,
            Some(json!({ "email": "admin", "password": format!("wrong {attempt}") })),
        )
        .await;
        assert_eq!(status, 401, "attempt {attempt}");
    }
    let response = ember
        .client
        .post(ember.url("/auth/login"))
        .json(&json!({ "email": "admin", "password": ADMIN_PASSWORD }))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "locked even with the right password");
    let wait: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    // An unknown account is refused the same way as a wrong password.
    let (status, body) = call(
        &ember,
        Method::POST,
        "/auth/login",
        None,
        Some(json!({ "email": "nobody", "password": "whatever it is" })),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    tokio::time::sleep(Duration::from_millis(10)).await;
    db.cleanup().await;
}

/// Installing and re-granting a plugin, and managing accounts, leave who did what in the
/// append-only audit log, with what the manifest asked for and what was granted.
async fn trust_changes_are_audited(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = start_with_auth(&db, &[]).await;
    let admin = admin_key(&ember).await;
    user_key(&ember, &admin, "otto", "MEMBER", "write").await;
    let wasm = crate::registry::component("plugins/dist/contains.wasm");
    let response = ember
        .client
        .post(ember.url("/v1/plugins?name=audited&version=1.0.0"))
        .header(AUTHORIZATION, format!("Bearer {admin}"))
        .header("content-type", "application/wasm")
        .body(wasm)
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status().as_u16(), 201, "{}", response.text().await.unwrap_or_default());
    let grants = json!({ "grants": { "hosts": [] }, "enabled": false });
    let (status, body) = call(&ember, Method::PATCH, "/v1/plugins/audited@1.0.0", Some(&admin), Some(grants)).await;
    assert_eq!(status, 200, "{body}");

    let (status, log) = call(&ember, Method::GET, "/v1/audit?limit=50", Some(&admin), None).await;
    assert_eq!(status, 200, "{log}");
    let entries = log["data"].as_array().expect("entries");
    let find =
        |action: &str| entries.iter().find(|e| e["action"] == action).unwrap_or_else(|| panic!("{action} in {log}"));
    let install = find("plugin.install");
    assert!(install["actor"].as_str().unwrap().starts_with("system-key:"), "{install}");
    assert_eq!(install["target"], "plugin:audited@1.0.0");
    assert!(install["detail"]["sha256"].is_string() && install["detail"].get("granted").is_some(), "{install}");
    assert_eq!(find("plugin.update")["detail"]["enabled"], false);
    assert_eq!(find("user.create")["target"], "user:otto");
    assert!(entries.iter().any(|e| e["action"] == "user-key.create" && e["actor"] == "user:otto"), "{log}");
    // Newest first, and no key secret anywhere in the log.
    let ids: Vec<i64> = entries.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    assert!(!log.to_string().contains(&admin));
    db.cleanup().await;
}

on_both_backends!(
    every_route_needs_its_permission,
    sessions_rotate_and_revoke,
    failed_logins_are_throttled,
    trust_changes_are_audited
);
