-- Plugin registry, datasets, experiments, server-side evaluation jobs and annotations (SQLite).
-- Times are Unix nanoseconds; JSON columns hold text; booleans are 0/1.

-- Uploaded components, content-addressed: one row per distinct sha256.
CREATE TABLE plugin_blobs (
    sha256     TEXT    PRIMARY KEY,
    size_bytes INTEGER NOT NULL,
    content    BLOB    NOT NULL,
    created_ns INTEGER NOT NULL
);

-- A registered plugin version: name@version → blob, with what it asked for and what it was granted.
CREATE TABLE plugins (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    version     TEXT    NOT NULL,
    world       TEXT    NOT NULL,
    wit_version TEXT    NOT NULL,
    sha256      TEXT    NOT NULL REFERENCES plugin_blobs (sha256),
    manifest    TEXT    NOT NULL,
    grants      TEXT    NOT NULL,
    limits      TEXT    NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    -- 'upload' (POST /v1/plugins, CLI) or 'bundled' (EMBER_PLUGIN_DIR, re-registered at every start).
    source      TEXT    NOT NULL,
    created_ns  INTEGER NOT NULL,
    UNIQUE (name, version)
);

CREATE TABLE datasets (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT,
    metadata    TEXT    NOT NULL,
    created_ns  INTEGER NOT NULL,
    updated_ns  INTEGER NOT NULL
);

-- Every change to a dataset makes a version; versions are never edited.
CREATE TABLE dataset_versions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset_id  INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    description TEXT,
    metadata    TEXT    NOT NULL,
    created_ns  INTEGER NOT NULL
);
CREATE INDEX dataset_versions_dataset ON dataset_versions (dataset_id, id);

-- An example's identity; its content lives in revisions.
CREATE TABLE dataset_examples (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset_id  INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    span_id     TEXT,
    created_ns  INTEGER NOT NULL
);
CREATE INDEX dataset_examples_dataset ON dataset_examples (dataset_id, id);

-- An example as of a version: the example at version V is its revision with the greatest
-- version_id <= V, unless that revision is a DELETE.
CREATE TABLE dataset_example_revisions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    example_id  INTEGER NOT NULL REFERENCES dataset_examples (id) ON DELETE CASCADE,
    version_id  INTEGER NOT NULL REFERENCES dataset_versions (id) ON DELETE CASCADE,
    input       TEXT    NOT NULL,
    output      TEXT    NOT NULL,
    metadata    TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('CREATE', 'PATCH', 'DELETE')),
    created_ns  INTEGER NOT NULL,
    UNIQUE (example_id, version_id)
);
CREATE INDEX dataset_example_revisions_version ON dataset_example_revisions (version_id);

CREATE TABLE experiments (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset_id         INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    dataset_version_id INTEGER NOT NULL REFERENCES dataset_versions (id) ON DELETE CASCADE,
    name               TEXT    NOT NULL,
    description        TEXT,
    repetitions        INTEGER NOT NULL,
    metadata           TEXT    NOT NULL,
    project_name       TEXT,
    created_ns         INTEGER NOT NULL,
    updated_ns         INTEGER NOT NULL
);
CREATE INDEX experiments_dataset ON experiments (dataset_id, id);

CREATE TABLE experiment_runs (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    experiment_id      INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    dataset_example_id INTEGER NOT NULL REFERENCES dataset_examples (id) ON DELETE CASCADE,
    repetition_number  INTEGER NOT NULL,
    output             TEXT    NOT NULL,
    start_ns           INTEGER NOT NULL,
    end_ns             INTEGER NOT NULL,
    trace_id           TEXT,
    error              TEXT,
    created_ns         INTEGER NOT NULL,
    UNIQUE (experiment_id, dataset_example_id, repetition_number)
);
-- The cascade when dataset examples are deleted.
CREATE INDEX experiment_runs_example ON experiment_runs (dataset_example_id);

-- One evaluation (named score) of one run. Server-side evaluations also record which plugin
-- produced them (name, version, sha256) and, when the plugin failed, its typed error kind.
CREATE TABLE experiment_evaluations (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    experiment_run_id INTEGER NOT NULL REFERENCES experiment_runs (id) ON DELETE CASCADE,
    name              TEXT    NOT NULL,
    annotator_kind    TEXT    NOT NULL,
    label             TEXT,
    score             REAL,
    explanation       TEXT,
    error             TEXT,
    error_kind        TEXT,
    metadata          TEXT    NOT NULL,
    start_ns          INTEGER NOT NULL,
    end_ns            INTEGER NOT NULL,
    trace_id          TEXT,
    plugin_name       TEXT,
    plugin_version    TEXT,
    plugin_sha256     TEXT,
    created_ns        INTEGER NOT NULL,
    UNIQUE (experiment_run_id, name)
);

-- An evaluator plugin attached to an experiment, pinned to the plugin row (and so its sha256).
CREATE TABLE experiment_evaluators (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    experiment_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    plugin_id     INTEGER NOT NULL REFERENCES plugins (id),
    name          TEXT    NOT NULL,
    config        TEXT    NOT NULL,
    created_ns    INTEGER NOT NULL,
    UNIQUE (experiment_id, name)
);
-- Deleting a plugin version checks it is unused.
CREATE INDEX experiment_evaluators_plugin ON experiment_evaluators (plugin_id);

-- Durable work: one row per (evaluator, run). Workers claim due rows by setting a lease; a row
-- whose lease ran out (a crashed server) is claimed again. 'done' and 'failed' are final.
CREATE TABLE evaluation_jobs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    evaluator_id      INTEGER NOT NULL REFERENCES experiment_evaluators (id) ON DELETE CASCADE,
    experiment_run_id INTEGER NOT NULL REFERENCES experiment_runs (id) ON DELETE CASCADE,
    state             TEXT    NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    due_ns            INTEGER NOT NULL,
    lease_until_ns    INTEGER,
    last_error        TEXT,
    created_ns        INTEGER NOT NULL,
    updated_ns        INTEGER NOT NULL,
    UNIQUE (evaluator_id, experiment_run_id)
);
-- Claiming: due pending jobs in order, and running jobs whose lease ran out.
CREATE INDEX evaluation_jobs_pending ON evaluation_jobs (due_ns, id) WHERE state = 'pending';
CREATE INDEX evaluation_jobs_leased ON evaluation_jobs (lease_until_ns) WHERE state = 'running';
-- Resetting a re-posted run's jobs, and the cascade when runs are deleted.
CREATE INDEX evaluation_jobs_run ON evaluation_jobs (experiment_run_id);

-- Annotations on spans, traces and sessions, Phoenix's shape: one per (target, name, identifier).
-- Notes are annotations named 'note' with a unique identifier.
CREATE TABLE span_annotations (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    span_rowid     INTEGER NOT NULL REFERENCES spans (id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    annotator_kind TEXT    NOT NULL,
    label          TEXT,
    score          REAL,
    explanation    TEXT,
    metadata       TEXT    NOT NULL,
    identifier     TEXT    NOT NULL DEFAULT '',
    source         TEXT    NOT NULL,
    user_id        TEXT,
    created_ns     INTEGER NOT NULL,
    updated_ns     INTEGER NOT NULL,
    UNIQUE (span_rowid, name, identifier)
);

CREATE TABLE trace_annotations (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    trace_rowid    INTEGER NOT NULL REFERENCES traces (id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    annotator_kind TEXT    NOT NULL,
    label          TEXT,
    score          REAL,
    explanation    TEXT,
    metadata       TEXT    NOT NULL,
    identifier     TEXT    NOT NULL DEFAULT '',
    source         TEXT    NOT NULL,
    user_id        TEXT,
    created_ns     INTEGER NOT NULL,
    updated_ns     INTEGER NOT NULL,
    UNIQUE (trace_rowid, name, identifier)
);

CREATE TABLE session_annotations (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    session_rowid  INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    annotator_kind TEXT    NOT NULL,
    label          TEXT,
    score          REAL,
    explanation    TEXT,
    metadata       TEXT    NOT NULL,
    identifier     TEXT    NOT NULL DEFAULT '',
    source         TEXT    NOT NULL,
    user_id        TEXT,
    created_ns     INTEGER NOT NULL,
    updated_ns     INTEGER NOT NULL,
    UNIQUE (session_rowid, name, identifier)
);
