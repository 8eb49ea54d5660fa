-- Prompts, their immutable versions and version tags, Phoenix's shape (SQLite).
-- Times are Unix nanoseconds; JSON columns hold text.

-- A named prompt; its content lives in versions.
CREATE TABLE prompts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    name             TEXT    NOT NULL UNIQUE,
    description      TEXT,
    source_prompt_id INTEGER REFERENCES prompts (id) ON DELETE SET NULL,
    metadata         TEXT    NOT NULL,
    created_ns       INTEGER NOT NULL,
    updated_ns       INTEGER NOT NULL
);

-- A version is never edited: a change to a prompt is a new version.
CREATE TABLE prompt_versions (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    prompt_id             INTEGER NOT NULL REFERENCES prompts (id) ON DELETE CASCADE,
    description           TEXT,
    model_provider        TEXT    NOT NULL,
    model_name            TEXT    NOT NULL,
    template_type         TEXT    NOT NULL CHECK (template_type IN ('CHAT', 'STR')),
    template_format       TEXT    NOT NULL CHECK (template_format IN ('MUSTACHE', 'F_STRING', 'NONE')),
    template              TEXT    NOT NULL,
    invocation_parameters TEXT    NOT NULL,
    tools                 TEXT,
    response_format       TEXT,
    metadata              TEXT    NOT NULL,
    created_ns            INTEGER NOT NULL
);
CREATE INDEX prompt_versions_prompt ON prompt_versions (prompt_id, id);

-- A tag names one version of a prompt; setting it again moves it (unique per prompt).
CREATE TABLE prompt_version_tags (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    prompt_id         INTEGER NOT NULL REFERENCES prompts (id) ON DELETE CASCADE,
    prompt_version_id INTEGER NOT NULL REFERENCES prompt_versions (id) ON DELETE CASCADE,
    name              TEXT    NOT NULL,
    description       TEXT,
    created_ns        INTEGER NOT NULL,
    UNIQUE (prompt_id, name)
);
CREATE INDEX prompt_version_tags_version ON prompt_version_tags (prompt_version_id, id);
