//! Sign-in with a real OpenID provider (`oidc-provider`, `tests/oidc/`) on loopback, driven the
//! way a browser drives it (cookies kept, redirects followed one by one, the login form posted):
//! accounts created with the roles and project roles their groups map to; a wrong state, a
//! replayed code, an expired ID token and a missing flow cookie refused; the provider's keys
//! rotated without a restart; and the client secret nowhere in the database or a debug log.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::auth::{call, login, ADMIN_PASSWORD};
use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;

const SECRET: &str = "ember-secret";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The provider, running on `port` until dropped.
struct Idp {
    _child: Child,
    base: String,
}

async fn start_idp(port: u16, redirect_uris: &str) -> Idp {
    let dir = repo().join("tests/oidc");
    let setup = Command::new("bash").arg(dir.join("setup.sh")).status().await.expect("run tests/oidc/setup.sh");
    assert!(setup.success(), "tests/oidc/setup.sh failed (npm ci oidc-provider)");
    let mut child = Command::new("node")
        .arg(dir.join("provider.mjs"))
        .arg(port.to_string())
        .env("OIDC_REDIRECT_URIS", redirect_uris)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start node tests/oidc/provider.mjs");
    let stdout = child.stdout.take().unwrap();
    let line = tokio::time::timeout(Duration::from_secs(30), BufReader::new(stdout).lines().next_line())
        .await
        .expect("the provider starts within 30 s")
        .unwrap()
        .expect("the provider announces itself");
    assert!(line.contains("listening"), "{line}");
    Idp { _child: child, base: format!("http://127.0.0.1:{port}") }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A browser's cookie jar, simplified: every cookie goes to every path of its host.
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn take(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            let pair = value.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() {
                    self.0.remove(name);
                } else {
                    self.0.insert(name.to_owned(), value.to_owned());
                }
            }
        }
    }

    fn header(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn location(response: &reqwest::Response) -> String {
    response.headers().get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// Walks a sign-in with provider `idp` as `user` up to the provider's redirect back to Ember;
/// returns that callback URL and Ember's cookies (the flow cookie).
async fn authorize(ember: &Ember, idp_base: &str, idp: &str, user: &str) -> (String, Jar) {
    let http = client();
    let mut ember_jar = Jar::default();
    let start = http.get(ember.url(&format!("/oauth2/{idp}/login?returnUrl=/projects"))).send().await.unwrap();
    assert_eq!(start.status(), StatusCode::FOUND);
    ember_jar.take(&start);
    let authorize = location(&start);
    assert!(authorize.starts_with(idp_base) && authorize.contains("code_challenge="), "{authorize}");

    let mut idp_jar = Jar::default();
    let response = http.get(&authorize).send().await.unwrap();
    idp_jar.take(&response);
    let interaction = format!("{idp_base}{}", location(&response));
    assert!(interaction.contains("/interaction/"), "{interaction}");
    let page = http.get(&interaction).header(COOKIE, idp_jar.header()).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("Sign-in"), "the provider's login page");
    let form: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("prompt", "login"), ("login", user), ("password", "any password")])
        .finish();
    let posted = http
        .post(&interaction)
        .header(COOKIE, idp_jar.header())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    idp_jar.take(&posted);
    let resume = location(&posted);
    let back = http.get(&resume).header(COOKIE, idp_jar.header()).send().await.unwrap();
    let callback = location(&back);
    assert!(callback.starts_with(&ember.url(&format!("/oauth2/{idp}/tokens"))), "{callback}");
    (callback, ember_jar)
}

/// Follows the callback into Ember; returns where Ember sends the browser and its cookies.
async fn callback(callback: &str, jar: &Jar) -> (String, Jar) {
    let response = client().get(callback).header(COOKIE, jar.header()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND, "{callback}");
    let mut cookies = Jar::default();
    cookies.take(&response);
    (location(&response), cookies)
}

/// The signed-in user, with the session's access cookie.
async fn whoami(ember: &Ember, cookies: &Jar) -> Value {
    let access = cookies.0.get("ember-access-token").expect("a session cookie");
    let (status, body) = call(ember, Method::GET, "/v1/user", Some(access), None).await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

fn refused_with(target: &str, cookies: &Jar, why: &str) {
    assert!(target.contains("/login?error="), "a refused sign-in goes back to the login page: {target}");
    let message: String = form_urlencoded::parse(target.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "error")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    assert!(message.to_lowercase().contains(why), "expected {why:?} in {message:?}");
    assert!(!cookies.0.contains_key("ember-access-token"), "no session for a refused sign-in");
}

async fn sign_in_with_a_real_openid_provider(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let idp_port = free_port();
    let config = format!("http://127.0.0.1:{idp_port}/.well-known/openid-configuration");
    let env = [
        ("EMBER_ENABLE_AUTH", "true"),
        ("EMBER_ADMIN_INITIAL_PASSWORD", ADMIN_PASSWORD),
        ("EMBER_OAUTH2_TEST_CLIENT_ID", "ember"),
        ("EMBER_OAUTH2_TEST_CLIENT_SECRET", SECRET),
        ("EMBER_OAUTH2_TEST_OIDC_CONFIG_URL", &config),
        ("EMBER_OAUTH2_TEST_DISPLAY_NAME", "Test IdP"),
        ("EMBER_OAUTH2_TEST_SCOPES", "groups"),
        ("EMBER_OAUTH2_TEST_ROLE_MAPPING", "ember-admins:ADMIN,ember-devs:MEMBER"),
        ("EMBER_OAUTH2_TEST_PROJECT_ROLE_MAPPING", "team-a:alpha:MEMBER"),
        ("PHOENIX_OAUTH2_EXPIRED_CLIENT_ID", "ember-expired"),
        ("PHOENIX_OAUTH2_EXPIRED_CLIENT_SECRET", "ember-expired-secret"),
        ("PHOENIX_OAUTH2_EXPIRED_OIDC_CONFIG_URL", &config),
    ];
    let (ember, log) = Ember::start_capturing_logs(&db, &env).await;
    let redirects = format!("{},{}", ember.url("/oauth2/test/tokens"), ember.url("/oauth2/expired/tokens"));
    let idp = start_idp(idp_port, &redirects).await;

    let (status, providers) = call(&ember, Method::GET, "/auth/providers", None, None).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = providers["data"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["expired", "test"], "{providers}");
    assert!(!providers.to_string().contains(SECRET));

    // Alice signs up through the provider and becomes an admin (ember-admins → ADMIN).
    let (alice_callback, alice_flow) = authorize(&ember, &idp.base, "test", "alice").await;
    let (target, cookies) = callback(&alice_callback, &alice_flow).await;
    assert_eq!(target, "/projects", "back where the sign-in started");
    let alice = whoami(&ember, &cookies).await;
    assert_eq!((alice["username"].as_str(), alice["role"].as_str()), (Some("alice"), Some("ADMIN")), "{alice}");
    assert_eq!(alice["auth_method"], "OAUTH2");

    // The same code again (a replay): the provider refuses it, and Ember signs no one in.
    let (target, cookies) = callback(&alice_callback, &alice_flow).await;
    refused_with(&target, &cookies, "invalid_grant");

    // Bob is a member, and of project alpha through his group team-a.
    let (bob_callback, bob_flow) = authorize(&ember, &idp.base, "test", "bob").await;
    let tampered = bob_callback.replace("state=", "state=x");
    let (target, cookies) = callback(&tampered, &bob_flow).await;
    refused_with(&target, &cookies, "state does not match");
    let (target, cookies) = callback(&bob_callback, &Jar::default()).await;
    refused_with(&target, &cookies, "not started here");
    let (_, cookies) = callback(&bob_callback, &bob_flow).await;
    let bob = whoami(&ember, &cookies).await;
    assert_eq!(bob["role"], "MEMBER", "{bob}");
    let admin = login(&ember, "admin", ADMIN_PASSWORD).await;
    let (_, members) = call(&ember, Method::GET, "/v1/projects/alpha/members", Some(&admin.access), None).await;
    assert_eq!(members["data"][0]["username"], "bob", "{members}");
    assert_eq!(members["data"][0]["role"], "MEMBER");

    // An ID token that has expired is refused.
    let (expired_callback, expired_flow) = authorize(&ember, &idp.base, "expired", "carol").await;
    let (target, cookies) = callback(&expired_callback, &expired_flow).await;
    refused_with(&target, &cookies, "expired");

    // The provider restarts with a new signing key: Ember fetches the new JWKS by itself.
    drop(idp);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idp = start_idp(idp_port, &redirects).await;
    let (again, flow) = authorize(&ember, &idp.base, "test", "alice").await;
    let (_, cookies) = callback(&again, &flow).await;
    assert_eq!(whoami(&ember, &cookies).await["username"], "alice", "signed in after the key rotation");

    // The client secret is in neither the database nor a debug log.
    let dump = db.dump_all().await;
    assert!(!dump.contains(SECRET), "the OIDC client secret is stored in clear");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("signed in with an identity provider"), "the log was captured");
    assert!(!logged.contains(SECRET), "the OIDC client secret is logged");
    let refresh = cookies.0.get("ember-refresh-token").unwrap();
    assert!(!logged.contains(refresh.as_str()) && !dump.contains(refresh.as_str()));
}

on_both_backends!(sign_in_with_a_real_openid_provider);
