-- Server settings that survive restarts and are shared by replicas (the ingest pipeline).
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_ns BIGINT NOT NULL
);
