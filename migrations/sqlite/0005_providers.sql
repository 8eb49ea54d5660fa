-- Provider plugins: encrypted secrets, per-plugin configuration, and prompt tasks.

-- Secret values sealed with an AEAD key derived from EMBER_SECRET; the key name is the associated
-- data, so a sealed value cannot be moved to another name. key_id tells which key sealed it.
CREATE TABLE secrets (
    key        TEXT    PRIMARY KEY,
    nonce      BLOB    NOT NULL,
    ciphertext BLOB    NOT NULL,
    key_id     TEXT    NOT NULL,
    updated_ns INTEGER NOT NULL
);

-- What host.config answers a plugin with when nothing more specific (an evaluator's attach
-- config) is given: a provider's base URL and secret name, for instance.
ALTER TABLE plugins ADD COLUMN config TEXT NOT NULL DEFAULT '{}';

-- An experiment whose task is a prompt version run through a provider plugin.
CREATE TABLE prompt_tasks (
    experiment_id  INTEGER PRIMARY KEY REFERENCES experiments (id) ON DELETE CASCADE,
    spec           TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    lease_until_ns INTEGER NOT NULL DEFAULT 0,
    created_ns     INTEGER NOT NULL,
    updated_ns     INTEGER NOT NULL
);
