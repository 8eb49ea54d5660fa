//! Errors raised by the store.

/// What went wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database url {0:?}: expected sqlite:… or postgres://…")]
    UnsupportedUrl(String),
    #[error("cannot create working directory {path}: {source}")]
    WorkingDir { path: String, source: std::io::Error },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("a project named {0:?} already exists")]
    ProjectExists(String),
    #[error("plugin {name}@{version} is already registered with other bytes (sha256 {sha256}); publish a new version")]
    PluginVersionTaken { name: String, version: String, sha256: String },
    #[error("the plugin name {0:?} belongs to a bundled (first-party) plugin; choose another name")]
    PluginNameReserved(String),
    #[error("the plugin version is attached to {evaluators} experiment evaluator(s); disable it instead")]
    PluginInUse { evaluators: i64 },
    #[error("an evaluator named {0:?} is already attached to this experiment")]
    EvaluatorExists(String),
    #[error("a dataset named {0:?} already exists")]
    DatasetExists(String),
    #[error("an experiment run for this example and repetition already succeeded and cannot be replaced")]
    RunExists,
}

impl StoreError {
    /// True when retrying the same statement later may succeed (connection loss, pool exhaustion, lock).
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Database(err) => match err {
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
                | sqlx::Error::Protocol(_) => true,
                sqlx::Error::Database(db) => {
                    let code = db.code().unwrap_or_default();
                    let code = code.as_ref();
                    // SQLite: the primary code is the low byte of the (extended) result code.
                    if let Ok(sqlite) = code.parse::<u32>() {
                        // BUSY, LOCKED, IOERR, FULL, CANTOPEN, PROTOCOL: the database may come back.
                        return matches!(sqlite & 0xff, 5 | 6 | 10 | 13 | 14 | 15);
                    }
                    // PostgreSQL: serialization and deadlock, connection loss, insufficient
                    // resources (disk full), cancellation and shutdown, read-only during failover.
                    matches!(code, "40001" | "40P01" | "57014" | "25006")
                        || code.starts_with("08")
                        || code.starts_with("53")
                        || code.starts_with("57P")
                }
                _ => false,
            },
            _ => false,
        }
    }
}

/// Result type of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
