-- Ember storage, SQLite dialect. Times are Unix nanoseconds; JSON columns hold text.
-- AUTOINCREMENT: a deleted row's id is never reused, so GlobalIDs and cursors stay unambiguous.
CREATE TABLE projects (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT,
    created_ns  INTEGER NOT NULL,
    updated_ns  INTEGER NOT NULL
);

CREATE TABLE sessions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT    NOT NULL UNIQUE,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    start_ns   INTEGER NOT NULL,
    end_ns     INTEGER NOT NULL
);
CREATE INDEX sessions_project_id ON sessions (project_id, id);

CREATE TABLE traces (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    trace_id   TEXT    NOT NULL UNIQUE,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    session_id TEXT,
    start_ns   INTEGER NOT NULL,
    end_ns     INTEGER NOT NULL
);
CREATE INDEX traces_project_start ON traces (project_id, start_ns);
-- Listing a project's traces by latency (sort=latency_ms) without sorting them all.
CREATE INDEX traces_project_latency ON traces (project_id, (end_ns - start_ns));
CREATE INDEX traces_session ON traces (session_id) WHERE session_id IS NOT NULL;

CREATE TABLE spans (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id       INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    trace_rowid      INTEGER NOT NULL REFERENCES traces (id) ON DELETE CASCADE,
    trace_id         TEXT    NOT NULL,
    span_id          TEXT    NOT NULL,
    -- The 8-byte span id as a signed integer: the unique key. An integer index is about half the
    -- size of one on hex text and compares faster, and span ids are random, so every insert lands
    -- on a different index page.
    span_key         INTEGER NOT NULL UNIQUE,
    parent_id        TEXT,
    name             TEXT    NOT NULL,
    span_kind        TEXT    NOT NULL,
    status_code      TEXT    NOT NULL,
    status_message   TEXT    NOT NULL,
    start_ns         INTEGER NOT NULL,
    end_ns           INTEGER NOT NULL,
    latency_ms       REAL    NOT NULL,
    model_name       TEXT,
    token_prompt     INTEGER,
    token_completion INTEGER,
    token_total      INTEGER,
    input_value      TEXT,
    input_mime_type  TEXT,
    output_value     TEXT,
    output_mime_type TEXT,
    session_id       TEXT,
    attributes       TEXT    NOT NULL,
    events           TEXT    NOT NULL
);
-- Listing a project's spans newest first (sort=id) and by time (sort=start_time).
CREATE INDEX spans_project_id ON spans (project_id, id);
CREATE INDEX spans_project_start ON spans (project_id, start_ns, id);
-- Trace trees, trace deletion and per-trace token sums. Keyed by the trace's row id, which grows
-- with every new trace, so that ingest appends to this index instead of inserting at random
-- places as a random 128-bit trace id would.
CREATE INDEX spans_trace ON spans (trace_rowid);
