//! Accounts, API keys, browser sessions and the audit log. Credentials arrive here already
//! hashed (`crate::auth`); nothing in these tables opens anything by itself.

use super::sql::Param;
use super::{Result, Store, StoreError};
use crate::time::now_ns;

const USER_COLUMNS: &str =
    "SELECT id, username, email, role, auth_method, password_hash, password_needs_reset, created_ns, updated_ns FROM users";

/// A user account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub role: String,
    pub auth_method: String,
    /// Argon2id PHC string; `None` for accounts that sign in elsewhere (OIDC).
    pub password_hash: Option<String>,
    pub password_needs_reset: i64,
    pub created_ns: i64,
    pub updated_ns: i64,
}

/// A user to create.
#[derive(Debug)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub role: &'a str,
    pub password_hash: Option<&'a str>,
    pub password_needs_reset: bool,
}

/// An API key as listed (never with its secret).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: i64,
    pub kind: String,
    pub user_id: Option<i64>,
    pub name: String,
    pub description: Option<String>,
    pub scope: String,
    pub created_ns: i64,
    pub expires_ns: Option<i64>,
    pub username: Option<String>,
    pub email: Option<String>,
}

/// An API key to create.
#[derive(Debug)]
pub struct NewApiKey<'a> {
    pub kind: &'a str,
    pub user_id: Option<i64>,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub scope: &'a str,
    pub key_hash: &'a [u8],
    pub expires_ns: Option<i64>,
}

/// What a presented credential (key or session token) resolves to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CredentialRow {
    /// The key's or session's id.
    pub id: i64,
    /// `system` or `user` for keys, `session` for access tokens.
    pub kind: String,
    /// The key's scope; `None` for sessions.
    pub scope: Option<String>,
    pub expires_ns: Option<i64>,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub role: Option<String>,
}

/// A session's refresh side, as found by its refresh token.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshRow {
    pub id: i64,
    pub user_id: i64,
    pub refresh_expires_ns: i64,
}

/// Both tokens of a session, hashed, with their expiries.
#[derive(Debug)]
pub struct SessionTokens<'a> {
    pub access_hash: &'a [u8],
    pub refresh_hash: &'a [u8],
    pub access_expires_ns: i64,
    pub refresh_expires_ns: i64,
}

/// One audit log entry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at_ns: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

impl Store {
    /// Creates a user; a taken username or email is `StoreError::UserExists`.
    pub async fn create_user(&self, user: &NewUser<'_>) -> Result<UserRow> {
        let now = now_ns();
        let mut sql = self.sql();
        sql.push("INSERT INTO users (username, email, role, password_hash, password_needs_reset, created_ns, updated_ns) VALUES ")
            .bind_list([
                Param::Str(user.username),
                Param::Str(user.email),
                Param::Str(user.role),
                Param::OptStr(user.password_hash),
                Param::I64(i64::from(user.password_needs_reset)),
                Param::I64(now),
                Param::I64(now),
            ])
            .push(" ON CONFLICT DO NOTHING");
        if self.execute(&sql).await? == 0 {
            return Err(StoreError::UserExists(user.username.to_owned()));
        }
        self.user_by_login(user.username).await?.ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// The account that provider `idp` knows as `subject`.
    pub async fn user_by_oauth2(&self, idp: &str, subject: &str) -> Result<Option<UserRow>> {
        let mut sql = self.sql();
        sql.push(USER_COLUMNS).push(" WHERE oauth2_idp = ").bind(Param::Str(idp));
        sql.push(" AND oauth2_subject = ").bind(Param::Str(subject));
        self.fetch_optional(&sql).await
    }

    /// Creates an account that signs in with provider `idp` as `subject` (no password); a taken
    /// username or email is `StoreError::UserExists`.
    pub async fn create_oauth2_user(&self, user: &NewUser<'_>, idp: &str, subject: &str) -> Result<UserRow> {
        let now = now_ns();
        let mut sql = self.sql();
        sql.push(
            "INSERT INTO users (username, email, role, auth_method, oauth2_idp, oauth2_subject, created_ns, updated_ns) VALUES ",
        )
        .bind_list([
            Param::Str(user.username),
            Param::Str(user.email),
            Param::Str(user.role),
            Param::Str("OAUTH2"),
            Param::Str(idp),
            Param::Str(subject),
            Param::I64(now),
            Param::I64(now),
        ])
        .push(" ON CONFLICT DO NOTHING");
        if self.execute(&sql).await? == 0 {
            return Err(StoreError::UserExists(user.username.to_owned()));
        }
        self.user_by_oauth2(idp, subject).await?.ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Sets a user's global role.
    pub async fn set_user_role(&self, id: i64, role: &str) -> Result<()> {
        let mut sql = self.sql();
        sql.push("UPDATE users SET role = ").bind(Param::Str(role));
        sql.push(", updated_ns = ").bind(Param::I64(now_ns())).push(" WHERE id = ").bind(Param::I64(id));
        self.execute(&sql).await?;
        Ok(())
    }

    /// The user whose username or email is `login` (case-insensitive).
    pub async fn user_by_login(&self, login: &str) -> Result<Option<UserRow>> {
        let mut sql = self.sql();
        sql.push(USER_COLUMNS)
            .push(" WHERE lower(username) = lower(")
            .bind(Param::Str(login))
            .push(") OR lower(email) = lower(")
            .bind(Param::Str(login))
            .push(") ORDER BY id LIMIT 1");
        self.fetch_optional(&sql).await
    }

    /// A user by id.
    pub async fn user(&self, id: i64) -> Result<Option<UserRow>> {
        let mut sql = self.sql();
        sql.push(USER_COLUMNS).push(" WHERE id = ").bind(Param::I64(id));
        self.fetch_optional(&sql).await
    }

    /// Users by id, from `after_id` (exclusive), at most `limit`.
    pub async fn users(&self, after_id: i64, limit: i64) -> Result<Vec<UserRow>> {
        let mut sql = self.sql();
        sql.push(USER_COLUMNS)
            .push(" WHERE id > ")
            .bind(Param::I64(after_id))
            .push(" ORDER BY id LIMIT ")
            .bind(Param::I64(limit));
        self.fetch_all(&sql).await
    }

    /// How many users exist.
    pub async fn user_count(&self) -> Result<i64> {
        let sql = {
            let mut sql = self.sql();
            sql.push("SELECT COUNT(*) FROM users");
            sql
        };
        let row: Option<(i64,)> = self.fetch_optional(&sql).await?;
        Ok(row.map_or(0, |(count,)| count))
    }

    /// How many admins exist (the last one cannot be deleted).
    pub async fn admin_count(&self) -> Result<i64> {
        let mut sql = self.sql();
        sql.push("SELECT COUNT(*) FROM users WHERE role = 'ADMIN'");
        let row: Option<(i64,)> = self.fetch_optional(&sql).await?;
        Ok(row.map_or(0, |(count,)| count))
    }

    /// Replaces a user's password hash, clears `password_needs_reset` and ends every session of
    /// theirs; false when there is no such user.
    pub async fn set_password(&self, user_id: i64, password_hash: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        let mut sql = tx.sql();
        sql.push("UPDATE users SET password_hash = ")
            .bind(Param::Str(password_hash))
            .push(", password_needs_reset = 0, updated_ns = ")
            .bind(Param::I64(now_ns()))
            .push(" WHERE id = ")
            .bind(Param::I64(user_id));
        let changed = tx.execute(&sql).await? > 0;
        let mut sql = tx.sql();
        sql.push("DELETE FROM auth_sessions WHERE user_id = ").bind(Param::I64(user_id));
        tx.execute(&sql).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Deletes a user with their keys and sessions; false when there was none.
    pub async fn delete_user(&self, id: i64) -> Result<bool> {
        let mut tx = self.begin().await?;
        for table in ["auth_sessions", "api_keys", "project_members"] {
            let mut sql = tx.sql();
            sql.push("DELETE FROM ").push(table).push(" WHERE user_id = ").bind(Param::I64(id));
            tx.execute(&sql).await?;
        }
        let mut sql = tx.sql();
        sql.push("DELETE FROM users WHERE id = ").bind(Param::I64(id));
        let deleted = tx.execute(&sql).await? > 0;
        tx.commit().await?;
        Ok(deleted)
    }

    /// Stores a key's hash and description; returns its id.
    pub async fn create_api_key(&self, key: &NewApiKey<'_>) -> Result<ApiKeyRow> {
        let mut sql = self.sql();
        sql.push(
            "INSERT INTO api_keys (kind, user_id, name, description, scope, key_hash, created_ns, expires_ns) VALUES ",
        )
        .bind_list([
            Param::Str(key.kind),
            Param::OptI64(key.user_id),
            Param::Str(key.name),
            Param::OptStr(key.description),
            Param::Str(key.scope),
            Param::Bytes(key.key_hash),
            Param::I64(now_ns()),
            Param::OptI64(key.expires_ns),
        ])
        .push(" RETURNING id");
        let ids: Vec<(i64,)> = self.fetch_all_writing(&sql).await?;
        let id = ids.first().map(|(id,)| *id).ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
        let keys = self.api_keys_where(Some(id), None, None, 0, 1).await?;
        keys.into_iter().next().ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Keys of `kind` (`system` or `user`), of one user when `user_id` is given, by id from
    /// `after_id` (exclusive).
    pub async fn api_keys(
        &self,
        kind: &str,
        user_id: Option<i64>,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<ApiKeyRow>> {
        self.api_keys_where(None, Some(kind), user_id, after_id, limit).await
    }

    async fn api_keys_where(
        &self,
        id: Option<i64>,
        kind: Option<&str>,
        user_id: Option<i64>,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<ApiKeyRow>> {
        let mut sql = self.sql();
        sql.push(
            "SELECT k.id, k.kind, k.user_id, k.name, k.description, k.scope, k.created_ns, k.expires_ns, \
             u.username, u.email FROM api_keys k LEFT JOIN users u ON u.id = k.user_id WHERE k.id > ",
        )
        .bind(Param::I64(after_id));
        if let Some(id) = id {
            sql.push(" AND k.id = ").bind(Param::I64(id));
        }
        if let Some(kind) = kind {
            sql.push(" AND k.kind = ").bind(Param::Str(kind));
        }
        if let Some(user_id) = user_id {
            sql.push(" AND k.user_id = ").bind(Param::I64(user_id));
        }
        sql.push(" ORDER BY k.id LIMIT ").bind(Param::I64(limit));
        self.fetch_all(&sql).await
    }

    /// Deletes a key of `kind` (of `user_id` when given); false when there was none.
    pub async fn delete_api_key(&self, kind: &str, id: i64, user_id: Option<i64>) -> Result<bool> {
        let mut sql = self.sql();
        sql.push("DELETE FROM api_keys WHERE id = ").bind(Param::I64(id)).push(" AND kind = ").bind(Param::Str(kind));
        if let Some(user_id) = user_id {
            sql.push(" AND user_id = ").bind(Param::I64(user_id));
        }
        Ok(self.execute(&sql).await? > 0)
    }

    /// What the key or access token hashed to `hash` belongs to.
    pub async fn credential(&self, hash: &[u8]) -> Result<Option<CredentialRow>> {
        let mut sql = self.sql();
        sql.push(
            "SELECT k.id, k.kind, k.scope, k.expires_ns, u.id AS user_id, u.username, u.role \
             FROM api_keys k LEFT JOIN users u ON u.id = k.user_id WHERE k.key_hash = ",
        )
        .bind(Param::Bytes(hash))
        .push(
            " UNION ALL SELECT s.id, 'session', NULL, s.access_expires_ns, u.id, u.username, u.role \
             FROM auth_sessions s JOIN users u ON u.id = s.user_id WHERE s.access_hash = ",
        )
        .bind(Param::Bytes(hash));
        self.fetch_optional(&sql).await
    }

    /// Starts a browser session for `user_id`; returns its id.
    pub async fn create_session(&self, user_id: i64, tokens: &SessionTokens<'_>) -> Result<i64> {
        let mut sql = self.sql();
        sql.push(
            "INSERT INTO auth_sessions (user_id, access_hash, refresh_hash, access_expires_ns, refresh_expires_ns, created_ns) VALUES ",
        )
        .bind_list([
            Param::I64(user_id),
            Param::Bytes(tokens.access_hash),
            Param::Bytes(tokens.refresh_hash),
            Param::I64(tokens.access_expires_ns),
            Param::I64(tokens.refresh_expires_ns),
            Param::I64(now_ns()),
        ])
        .push(" RETURNING id");
        let ids: Vec<(i64,)> = self.fetch_all_writing(&sql).await?;
        ids.first().map(|(id,)| *id).ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// The session whose refresh token hashes to `hash`.
    pub async fn session_by_refresh(&self, hash: &[u8]) -> Result<Option<RefreshRow>> {
        let mut sql = self.sql();
        sql.push("SELECT id, user_id, refresh_expires_ns FROM auth_sessions WHERE refresh_hash = ")
            .bind(Param::Bytes(hash));
        self.fetch_optional(&sql).await
    }

    /// Replaces a session's tokens, only if its refresh token is still `old_refresh` (so a
    /// refresh token works once); false when it was already used or revoked.
    pub async fn rotate_session(&self, id: i64, old_refresh: &[u8], tokens: &SessionTokens<'_>) -> Result<bool> {
        let mut sql = self.sql();
        sql.push("UPDATE auth_sessions SET access_hash = ")
            .bind(Param::Bytes(tokens.access_hash))
            .push(", refresh_hash = ")
            .bind(Param::Bytes(tokens.refresh_hash))
            .push(", access_expires_ns = ")
            .bind(Param::I64(tokens.access_expires_ns))
            .push(", refresh_expires_ns = ")
            .bind(Param::I64(tokens.refresh_expires_ns))
            .push(" WHERE id = ")
            .bind(Param::I64(id))
            .push(" AND refresh_hash = ")
            .bind(Param::Bytes(old_refresh));
        Ok(self.execute(&sql).await? > 0)
    }

    /// Ends the session one of whose tokens hashes to `hash`; false when there was none.
    pub async fn delete_session(&self, hash: &[u8]) -> Result<bool> {
        let mut sql = self.sql();
        sql.push("DELETE FROM auth_sessions WHERE access_hash = ")
            .bind(Param::Bytes(hash))
            .push(" OR refresh_hash = ")
            .bind(Param::Bytes(hash));
        Ok(self.execute(&sql).await? > 0)
    }

    /// Ends a session by id.
    pub async fn delete_session_by_id(&self, id: i64) -> Result<bool> {
        let mut sql = self.sql();
        sql.push("DELETE FROM auth_sessions WHERE id = ").bind(Param::I64(id));
        Ok(self.execute(&sql).await? > 0)
    }

    /// Forgets sessions whose refresh token has expired.
    pub async fn delete_expired_sessions(&self) -> Result<u64> {
        let mut sql = self.sql();
        sql.push("DELETE FROM auth_sessions WHERE refresh_expires_ns < ").bind(Param::I64(now_ns()));
        self.execute(&sql).await
    }

    /// Appends an entry to the audit log.
    pub async fn append_audit(&self, actor: &str, action: &str, target: &str, detail: &str) -> Result<()> {
        let mut sql = self.sql();
        sql.push("INSERT INTO audit_log (at_ns, actor, action, target, detail) VALUES ").bind_list([
            Param::I64(now_ns()),
            Param::Str(actor),
            Param::Str(action),
            Param::Str(target),
            Param::Str(detail),
        ]);
        self.execute(&sql).await.map(|_| ())
    }

    /// Audit entries, newest first, below `before_id` when given.
    pub async fn audit_entries(&self, before_id: Option<i64>, limit: i64) -> Result<Vec<AuditRow>> {
        let mut sql = self.sql();
        sql.push("SELECT id, at_ns, actor, action, target, detail FROM audit_log");
        if let Some(before) = before_id {
            sql.push(" WHERE id < ").bind(Param::I64(before));
        }
        sql.push(" ORDER BY id DESC LIMIT ").bind(Param::I64(limit));
        self.fetch_all(&sql).await
    }
}
