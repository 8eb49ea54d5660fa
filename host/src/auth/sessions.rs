//! Browser sessions: a password login issues an access token and a refresh token; refresh
//! rotates both (a refresh token works once); logout deletes the session, revoking both.

use std::time::Duration;

use super::token::{self, TokenKind};
use super::{password, verify_blocking, Auth, AuthError};
use crate::store::{SessionTokens, UserRow};
use crate::time::now_ns;

/// The tokens of a new or refreshed session, in clear: they go into cookies and nowhere else.
#[derive(Debug)]
pub struct IssuedSession {
    pub access_token: String,
    pub refresh_token: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

impl Auth {
    /// Signs in with a username or email and a password, from `address` (for throttling).
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        address: &str,
    ) -> Result<(UserRow, IssuedSession), AuthError> {
        if let Some(wait) = self.inner.throttle.locked_for(login, address) {
            return Err(AuthError::Throttled(wait));
        }
        let user = self.inner.store.user_by_login(login).await?;
        let stored = user.as_ref().and_then(|user| user.password_hash.clone());
        // An unknown account or one without a password costs the same hash as a wrong password.
        let matched = match stored {
            Some(stored) => verify_blocking(password.to_owned(), stored).await?,
            None => {
                verify_blocking(password.to_owned(), password::decoy_hash().to_owned()).await?;
                false
            }
        };
        let Some(user) = user.filter(|_| matched) else {
            self.inner.throttle.failed(login, address);
            return Err(AuthError::WrongPassword);
        };
        self.inner.throttle.succeeded(login);
        let (issued, access, refresh) = self.new_tokens();
        let tokens = self.session_tokens(&access, &refresh);
        self.inner.store.create_session(user.id, &tokens).await?;
        Ok((user, issued))
    }

    /// Starts a session for a user who proved who they are elsewhere (an OpenID provider).
    pub(super) async fn start_session(&self, user_id: i64) -> Result<IssuedSession, AuthError> {
        let (issued, access, refresh) = self.new_tokens();
        let tokens = self.session_tokens(&access, &refresh);
        self.inner.store.create_session(user_id, &tokens).await?;
        Ok(issued)
    }

    /// Exchanges a refresh token for new tokens; the old refresh token stops working.
    pub async fn refresh(&self, refresh_token: &str) -> Result<IssuedSession, AuthError> {
        if TokenKind::of(refresh_token) != Some(TokenKind::Refresh) {
            return Err(AuthError::Invalid);
        }
        let old = token::digest(refresh_token);
        let session = self.inner.store.session_by_refresh(&old).await?.ok_or(AuthError::Invalid)?;
        if session.refresh_expires_ns <= now_ns() {
            self.inner.store.delete_session_by_id(session.id).await?;
            return Err(AuthError::Invalid);
        }
        let (issued, access, refresh) = self.new_tokens();
        let tokens = self.session_tokens(&access, &refresh);
        if !self.inner.store.rotate_session(session.id, &old, &tokens).await? {
            return Err(AuthError::Invalid);
        }
        // The session's previous access token must stop working here and now.
        self.forget_cached();
        Ok(issued)
    }

    /// Changes a user's password after checking the current one (throttled like a login); every
    /// session of the user ends, so other browsers must sign in again.
    pub async fn change_password(
        &self,
        user_id: i64,
        current: &str,
        new: &str,
        address: &str,
    ) -> Result<(), AuthError> {
        let user = self.inner.store.user(user_id).await?.ok_or(AuthError::Invalid)?;
        if let Some(wait) = self.inner.throttle.locked_for(&user.username, address) {
            return Err(AuthError::Throttled(wait));
        }
        let stored = user.password_hash.clone().ok_or(AuthError::WrongPassword)?;
        if !verify_blocking(current.to_owned(), stored).await? {
            self.inner.throttle.failed(&user.username, address);
            return Err(AuthError::WrongPassword);
        }
        password::check_policy(new, &user.username, &user.email)?;
        let hashed = super::hash_blocking(new.to_owned()).await?;
        self.inner.store.set_password(user_id, &hashed).await?;
        self.forget_cached();
        Ok(())
    }

    /// Ends the session that `token` (its access or refresh token) belongs to.
    pub async fn logout(&self, token: &str) -> Result<bool, AuthError> {
        let ended = self.inner.store.delete_session(&token::digest(token)).await?;
        self.forget_cached();
        Ok(ended)
    }

    fn new_tokens(&self) -> (IssuedSession, [u8; 32], [u8; 32]) {
        let access = token::generate(TokenKind::Access);
        let refresh = token::generate(TokenKind::Refresh);
        let settings = &self.inner.settings;
        let issued = IssuedSession {
            access_token: access.secret,
            refresh_token: refresh.secret,
            access_ttl: settings.access_ttl,
            refresh_ttl: settings.refresh_ttl,
        };
        (issued, access.hash, refresh.hash)
    }

    fn session_tokens<'a>(&self, access: &'a [u8; 32], refresh: &'a [u8; 32]) -> SessionTokens<'a> {
        let now = now_ns();
        let ns = |ttl: Duration| now.saturating_add(i64::try_from(ttl.as_nanos()).unwrap_or(i64::MAX));
        SessionTokens {
            access_hash: access,
            refresh_hash: refresh,
            access_expires_ns: ns(self.inner.settings.access_ttl),
            refresh_expires_ns: ns(self.inner.settings.refresh_ttl),
        }
    }
}
