//! API keys: system keys (no user, admin-created, for ingest and automation) and user keys
//! (act as their user). The secret is returned once, at creation.

use super::principal::{KeyScope, Principal, Role};
use super::token::{self, TokenKind};
use super::{Auth, AuthError};
use crate::store::{ApiKeyRow, NewApiKey};

/// Which kind of key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    System,
    User,
}

impl KeyKind {
    /// How the store names it.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::System => "system",
            KeyKind::User => "user",
        }
    }
}

/// A key to create.
#[derive(Debug)]
pub struct KeyRequest<'a> {
    pub kind: KeyKind,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub scope: KeyScope,
    pub expires_ns: Option<i64>,
}

impl Auth {
    /// Creates a key for `owner` (user keys) and returns it with its secret, the only time the
    /// secret exists outside the caller. A user key's scope cannot exceed its owner's role.
    pub async fn create_key(
        &self,
        owner: &Principal,
        request: KeyRequest<'_>,
    ) -> Result<(ApiKeyRow, String), AuthError> {
        let user_id = match request.kind {
            KeyKind::System => None,
            KeyKind::User => Some(owner.account.as_ref().ok_or(AuthError::Invalid)?.id),
        };
        let token = token::generate(match request.kind {
            KeyKind::System => TokenKind::SystemKey,
            KeyKind::User => TokenKind::UserKey,
        });
        let scope = match (request.kind, owner.role, request.scope) {
            (KeyKind::User, Role::Viewer, _) => KeyScope::Read,
            (KeyKind::User, Role::Member, KeyScope::Admin) => KeyScope::Write,
            (_, _, scope) => scope,
        };
        let row = self
            .inner
            .store
            .create_api_key(&NewApiKey {
                kind: request.kind.as_str(),
                user_id,
                name: request.name,
                description: request.description,
                scope: scope.as_str(),
                key_hash: &token.hash,
                expires_ns: request.expires_ns,
            })
            .await?;
        Ok((row, token.secret))
    }

    /// Revokes a key (of `user_id` when given); false when there was none.
    pub async fn revoke_key(&self, kind: KeyKind, id: i64, user_id: Option<i64>) -> Result<bool, AuthError> {
        let deleted = self.inner.store.delete_api_key(kind.as_str(), id, user_id).await?;
        self.forget_cached();
        Ok(deleted)
    }
}
