-- Rollups: what the projects page and a project's header show, summed per project and hour of
-- span start, so that reading them costs the number of hours, not the number of spans.
-- The span writer appends one row per (project, hour) per batch in the batch's transaction; the
-- rollup maintainer merges the rows of an hour into one, recomputes the hours whose spans were
-- deleted or moved (`span_rollup_dirty`), and fills in the spans stored before this migration
-- (`span_rollup_backfill`) in bounded batches while the server runs.
CREATE TABLE span_rollups (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id       INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    bucket_ns        INTEGER NOT NULL,
    span_count       INTEGER NOT NULL,
    error_count      INTEGER NOT NULL,
    -- Root spans: one per complete trace.
    root_count       INTEGER NOT NULL,
    -- Over LLM spans, as Phoenix counts them.
    token_prompt     INTEGER NOT NULL,
    token_completion INTEGER NOT NULL,
    cost_total       REAL    NOT NULL,
    last_start_ns    INTEGER NOT NULL,
    -- Distinct model names, a JSON array of strings.
    models           TEXT    NOT NULL,
    -- Root-span latencies in milliseconds: a DDSketch in its portable binary encoding.
    latency          BLOB    NOT NULL
);
CREATE INDEX span_rollups_bucket ON span_rollups (project_id, bucket_ns);

-- Hours whose spans changed other than by ingest (deleted, moved to another project). Marking
-- an hour again raises `generation`, so a recomputation that started from an older mark leaves
-- the newer one in place.
CREATE TABLE span_rollup_dirty (
    project_id INTEGER NOT NULL,
    bucket_ns  INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    PRIMARY KEY (project_id, bucket_ns)
);

-- Spans with a row id below `below_id` are not yet in the rollups (those stored before this
-- migration); the maintainer walks it down to 1.
CREATE TABLE span_rollup_backfill (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    below_id INTEGER NOT NULL
);
INSERT INTO span_rollup_backfill (id, below_id) SELECT 1, COALESCE(MAX(id), 0) + 1 FROM spans;

-- Per trace, the token and cost sums of its LLM spans (what the trace list, a trace's root and the
-- sessions list show), kept by the span writer; spans stored before this migration are added by
-- the same backfill.
ALTER TABLE traces ADD COLUMN token_prompt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE traces ADD COLUMN token_completion INTEGER NOT NULL DEFAULT 0;
ALTER TABLE traces ADD COLUMN cost_total REAL NOT NULL DEFAULT 0;
