-- Accounts, API keys, browser sessions and the audit log (issue #15). Nothing here holds a
-- credential in clear: passwords are Argon2id PHC strings, keys and session tokens are stored as
-- the SHA-256 of a 256-bit random value, so a dump of this database opens nothing.

CREATE TABLE users (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    username             TEXT   NOT NULL UNIQUE,
    email                TEXT   NOT NULL UNIQUE,
    role                 TEXT   NOT NULL,
    auth_method          TEXT   NOT NULL DEFAULT 'LOCAL',
    password_hash        TEXT,
    password_needs_reset BIGINT NOT NULL DEFAULT 0,
    created_ns           BIGINT NOT NULL,
    updated_ns           BIGINT NOT NULL
);

-- Per-project roles: a row grants one user a role on one project, over the user's global role.
CREATE TABLE project_members (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT   NOT NULL,
    PRIMARY KEY (project_id, user_id)
);

-- System keys have no user; user keys act as their user, never above the user's role.
CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT   NOT NULL,
    user_id     BIGINT REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT   NOT NULL,
    description TEXT,
    scope       TEXT   NOT NULL,
    key_hash    BLOB  NOT NULL UNIQUE,
    created_ns  BIGINT NOT NULL,
    expires_ns  BIGINT
);

-- A browser login: a short-lived access token and a longer refresh token, both rotated by
-- /auth/refresh; logout deletes the row, which revokes both.
CREATE TABLE auth_sessions (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id            BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    access_hash        BLOB  NOT NULL UNIQUE,
    refresh_hash       BLOB  NOT NULL UNIQUE,
    access_expires_ns  BIGINT NOT NULL,
    refresh_expires_ns BIGINT NOT NULL,
    created_ns         BIGINT NOT NULL
);

-- Append-only: who changed what that decides trust (plugins, grants, users, keys, secrets).
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ns    BIGINT NOT NULL,
    actor    TEXT   NOT NULL,
    action   TEXT   NOT NULL,
    target   TEXT   NOT NULL,
    detail   TEXT   NOT NULL DEFAULT '{}'
);

-- The hosts a secret may be sent to (a JSON list of names or `*.domain` patterns), checked by the
-- outbound transport whatever a plugin was granted; NULL for a secret stored without a binding.
ALTER TABLE secrets ADD COLUMN hosts TEXT;
