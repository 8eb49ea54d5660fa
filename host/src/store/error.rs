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
    /// A read stopped by the server's time limit on queries.
    #[error("the query ran past the server's limit of {limit_ms} ms a query (EMBER_QUERY_TIMEOUT_MS); narrow it (a time range, a filter, a smaller page)")]
    QueryTimeout { limit_ms: u64 },
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
    #[error("a user named {0:?} (or with that email) already exists")]
    UserExists(String),
    #[error("a retention policy named {0:?} already exists")]
    PolicyExists(String),
    #[error("an experiment run for this example and repetition already succeeded and cannot be replaced")]
    RunExists,
    /// Too many expensive reads already run; the caller should retry shortly.
    #[error("the server already runs {limit} span scans (span queries that read beyond an index); retry shortly")]
    Busy { limit: usize },
    /// A stored value the server wrote but cannot read back (a rollup's sketch, for one).
    #[error("stored data cannot be read: {0}")]
    Corrupt(String),
}

/// Result type of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
