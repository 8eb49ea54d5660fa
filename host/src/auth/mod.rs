//! Authentication: who a request is from, and the accounts, keys and sessions that say so.
//!
//! Off by default (the single-user server on loopback, where every caller is the administrator,
//! see `crate::exposure`). On, every route needs the permission it declares (`api::routes`), and
//! a caller proves who it is with an API key or a browser session's access token, both bearer
//! secrets whose SHA-256 is all the database keeps. Resolved credentials are cached for a few
//! seconds, so ingest pays one SHA-256 and a map lookup per request, never a database query or a
//! password hash; revoking on this server clears the cache at once, other replicas within
//! [`CACHE_TTL`].

mod bootstrap;
mod keys;
mod oidc;
mod oidc_config;
mod oidc_sign_in;
pub mod password;
mod principal;
mod projects;
mod sessions;
mod throttle;
mod token;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use bootstrap::{Bootstrap, INITIAL_PASSWORD_ENV, PHOENIX_INITIAL_PASSWORD_ENV};
pub use keys::{KeyKind, KeyRequest};
pub use oidc::{Identity, Oidc, OidcError, Started};
pub use oidc_config::{providers_from, OidcConfigError, OidcProvider};
pub use password::PasswordError;
pub use principal::{Account, Credential, KeyScope, Permission, Principal, ProjectDenied, Role};
pub use projects::ProjectAccess;
pub use sessions::IssuedSession;
pub use token::{generate, TokenKind};

use crate::store::{CredentialRow, NewUser, Store, StoreError, UserRow};
use crate::time::now_ns;
use throttle::Throttle;

/// How long a resolved credential is trusted without asking the database again. Bounds how late
/// another replica notices a revoked key or a logout.
pub const CACHE_TTL: Duration = Duration::from_secs(5);
/// Cached credentials kept at most; the cache is emptied when it would grow past this.
const CACHE_ENTRIES: usize = 10_000;

/// Why a request or a login was not authenticated.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no credentials: send an API key as `Authorization: Bearer <key>`, or sign in")]
    Missing,
    #[error("the credentials are invalid, expired or revoked")]
    Invalid,
    #[error("wrong username, email or password")]
    WrongPassword,
    #[error("too many failed logins; try again in {} s", .0.as_secs())]
    Throttled(Duration),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("{0} is not a role (ADMIN, MEMBER or VIEWER)")]
    UnknownRole(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing task failed: {0}")]
    Blocking(String),
    #[error(transparent)]
    Oidc(#[from] OidcError),
}

/// Authentication settings from the server configuration.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub enabled: bool,
    /// Lifetime of a browser session's access token.
    pub access_ttl: Duration,
    /// Lifetime of a refresh token (rotated on every refresh).
    pub refresh_ttl: Duration,
    /// Mark cookies `Secure` (the server is behind TLS).
    pub secure_cookies: bool,
    /// Origins, besides the server's own, whose pages may make cookie-authenticated writes.
    pub csrf_trusted_origins: Vec<String>,
    /// OpenID Connect providers users may sign in with.
    pub oidc_providers: Vec<OidcProvider>,
}

impl AuthSettings {
    /// Authentication off.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            access_ttl: Duration::from_secs(600),
            refresh_ttl: Duration::from_secs(7 * 24 * 3600),
            secure_cookies: false,
            csrf_trusted_origins: Vec::new(),
            oidc_providers: Vec::new(),
        }
    }
}

/// A user to create, with the password in clear (hashed before it is stored).
#[derive(Debug)]
pub struct UserInput<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub role: Role,
    pub password: Option<&'a str>,
    pub password_needs_reset: bool,
}

/// The authentication service, shared by the HTTP and gRPC listeners.
#[derive(Debug, Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: AuthSettings,
    store: Store,
    cache: Mutex<HashMap<[u8; 32], (Principal, Instant)>>,
    throttle: Throttle,
    /// The one-time setup token's hash while no account exists (see `bootstrap`).
    setup: Mutex<Option<[u8; 32]>>,
    oidc: Oidc,
}

impl Auth {
    /// The service over `store`.
    pub fn new(store: Store, settings: AuthSettings) -> Self {
        let throttle = Throttle::new(Duration::from_secs(15 * 60), 5, 50);
        let cache = Mutex::new(HashMap::new());
        let oidc = Oidc::new(settings.oidc_providers.clone());
        Self { inner: Arc::new(Inner { settings, store, cache, throttle, setup: Mutex::new(None), oidc }) }
    }

    /// Whether requests must authenticate.
    pub fn enabled(&self) -> bool {
        self.inner.settings.enabled
    }

    /// The settings this service runs with.
    pub fn settings(&self) -> &AuthSettings {
        &self.inner.settings
    }

    /// The OpenID Connect providers.
    pub fn oidc(&self) -> &Oidc {
        &self.inner.oidc
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The caller a bearer secret (API key or access token) stands for.
    pub async fn authenticate(&self, secret: &str) -> Result<Principal, AuthError> {
        match TokenKind::of(secret) {
            Some(TokenKind::SystemKey | TokenKind::UserKey | TokenKind::Access) => {}
            Some(TokenKind::Refresh) | None => return Err(AuthError::Invalid),
        }
        let hash = token::digest(secret);
        if let Some(principal) = self.cached(&hash) {
            return Ok(principal);
        }
        let row = self.inner.store.credential(&hash).await?.ok_or(AuthError::Invalid)?;
        let expires_ns = row.expires_ns;
        let mut principal = principal_of(row).ok_or(AuthError::Invalid)?;
        if let Some(account) = principal.account.as_ref().filter(|_| principal.role != Role::Admin) {
            let members = self.inner.store.all_project_members().await?;
            principal.projects = ProjectAccess::for_user(account.id, principal.role, &members);
        }
        let now = now_ns();
        if expires_ns.is_some_and(|expires| expires <= now) {
            return Err(AuthError::Invalid);
        }
        let mut until = Instant::now() + CACHE_TTL;
        if let Some(expires) = expires_ns {
            let left = u64::try_from(expires.saturating_sub(now)).unwrap_or(0);
            until = until.min(Instant::now() + Duration::from_nanos(left));
        }
        let mut cache = self.inner.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(hash, (principal.clone(), until));
        Ok(principal)
    }

    fn cached(&self, hash: &[u8; 32]) -> Option<Principal> {
        let mut cache = self.inner.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match cache.get(hash) {
            Some((principal, until)) if *until > Instant::now() => Some(principal.clone()),
            Some(_) => {
                cache.remove(hash);
                None
            }
            None => None,
        }
    }

    /// Drops every cached credential: called after anything is revoked, so that this server
    /// refuses it from the next request on.
    pub fn forget_cached(&self) {
        self.inner.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
    }

    /// Creates a user, checking the password policy and hashing the password off the runtime.
    pub async fn create_user(&self, user: UserInput<'_>) -> Result<UserRow, AuthError> {
        let password_hash = match user.password {
            Some(password) => {
                password::check_policy(password, user.username, user.email)?;
                Some(hash_blocking(password.to_owned()).await?)
            }
            None => None,
        };
        let row = self
            .inner
            .store
            .create_user(&NewUser {
                username: user.username,
                email: user.email,
                role: user.role.as_str(),
                password_hash: password_hash.as_deref(),
                password_needs_reset: user.password_needs_reset,
            })
            .await?;
        Ok(row)
    }

    /// Deletes a user with their keys and sessions, and forgets their cached credentials.
    pub async fn delete_user(&self, id: i64) -> Result<bool, AuthError> {
        let deleted = self.inner.store.delete_user(id).await?;
        self.forget_cached();
        Ok(deleted)
    }
}

/// Hashes a password in a blocking thread (Argon2id costs tens of milliseconds of CPU).
async fn hash_blocking(password: String) -> Result<String, AuthError> {
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|err| AuthError::Blocking(err.to_string()))?
        .map_err(AuthError::from)
}

/// Verifies a password in a blocking thread.
async fn verify_blocking(password: String, stored: String) -> Result<bool, AuthError> {
    tokio::task::spawn_blocking(move || password::verify(&password, &stored))
        .await
        .map_err(|err| AuthError::Blocking(err.to_string()))
}

/// The caller a stored credential stands for; `None` for a user key or session whose user
/// (and so role) is gone or unreadable.
fn principal_of(row: CredentialRow) -> Option<Principal> {
    let account = match (row.user_id, row.username) {
        (Some(id), Some(username)) => Some(Account { id, username }),
        _ => None,
    };
    let user_role = row.role.as_deref().and_then(Role::parse);
    let scope = row.scope.as_deref().and_then(KeyScope::parse);
    match row.kind.as_str() {
        "system" => Some(Principal {
            account: None,
            role: Role::Admin,
            scope: Some(scope?),
            credential: Credential::SystemKey { key_id: row.id },
            projects: ProjectAccess::All,
        }),
        "user" => Some(Principal {
            account: Some(account?),
            role: user_role?,
            scope: Some(scope?),
            credential: Credential::UserKey { key_id: row.id },
            projects: ProjectAccess::All,
        }),
        "session" => Some(Principal {
            account: Some(account?),
            role: user_role?,
            scope: None,
            credential: Credential::Session { session_id: row.id },
            projects: ProjectAccess::All,
        }),
        _ => None,
    }
}
