-- Retention policies (issue #16), Phoenix's project trace retention policies: traces older than
-- `max_days`, or beyond the newest `max_count` traces or `max_spans` spans of a project, are
-- deleted by the sweeper. A project without a policy follows the server's default
-- (EMBER_DEFAULT_RETENTION_DAYS; keep everything when unset).
CREATE TABLE retention_policies (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    max_days   REAL,
    max_count  INTEGER,
    max_spans  INTEGER,
    created_ns INTEGER NOT NULL
);
ALTER TABLE projects ADD COLUMN retention_policy_id INTEGER REFERENCES retention_policies (id) ON DELETE SET NULL;
