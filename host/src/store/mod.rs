//! Storage: SQLite (embedded, default) or PostgreSQL through sqlx, with migrations at start.
//!
//! Every SQL statement Ember runs lives under this module; callers get typed rows.

mod annotations;
mod auth;
pub mod backup;
mod compare;
mod dataset_examples;
mod datasets;
mod error;
mod evaluations;
mod evaluators;
mod experiment_runs;
mod experiments;
mod fault;
mod jobs;
mod overview;
mod project_members;
mod projects;
mod prompt_tasks;
mod prompts;
#[cfg(test)]
mod query_plans;
mod read_limit;
mod reads;
mod registry;
mod retention;
mod rollups;
mod rows;
mod secrets;
mod settings;
mod span_condition;
mod span_insert;
mod span_query;
mod sql;
mod statements;
#[cfg(test)]
pub(crate) mod temp_postgres;
mod tx;
#[cfg(test)]
mod upgrade;
mod write;

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub use annotations::{AnnotationDelete, AnnotationQuery, AnnotationRow, AnnotationTarget, NewAnnotation};
pub use auth::{ApiKeyRow, AuditRow, CredentialRow, NewApiKey, NewUser, RefreshRow, SessionTokens, UserRow};
pub use compare::{CompareEvaluation, CompareExample, CompareExperiment, CompareRun, EvaluationAggregate, LabelCount};
pub use dataset_examples::{ExampleRow, NewExample, UploadAction, UploadOutcome};
pub use datasets::{DatasetRow, DatasetVersionRow};
pub use error::{Result, StoreError};
pub use evaluators::{EvaluatorRow, JobCounts, NewEvaluator};
pub use experiment_runs::{EvaluationRow, NewEvaluation, NewRun, RunForEval, RunRow};
pub use experiments::{ExperimentCounts, ExperimentRow, NewExperiment};
pub use fault::StorageFault;
pub use jobs::{ClaimedJob, EvaluationResult, FinishedJob, JobEnd, RunInput};
pub use overview::{ProjectStats, SpanValueColumn, TreeSpanRow};
pub use project_members::MemberRow;
pub use projects::ProjectRow;
pub use prompt_tasks::PromptTaskRow;
pub use prompts::{NewTag, PromptRow, PromptTagRow, PromptVersionRecord};
pub use read_limit::ReadLimit;
pub use reads::{SessionQuery, SpanCursor, SpanQuery, SpanSort, TraceCursor, TraceQuery, TraceSort};
pub use registry::{NewPlugin, PluginRecord, Registered};
pub use retention::{Deleted, PolicyRow, ProjectPolicy, RetentionRule};
pub use rollups::{MaintainOutcome, Rollup, BUCKET_NS};
pub use rows::{SessionRow, SpanRow, TraceRow};
pub use secrets::{SealedSecret, SecretChanges};
pub use span_condition::{Comparison, Literal, NumberColumn, Operand, SpanCondition, TextColumn};
pub use sql::{Dialect, Param, Sql};
pub use write::WriteOutcome;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Debug, Clone)]
enum Pools {
    /// SQLite allows one writer at a time, so writes get a pool of one and reads their own.
    Sqlite { read: SqlitePool, write: SqlitePool },
    /// PostgreSQL: reads run under `statement_timeout` on a pool of their own, so that readers
    /// never hold the connections the span writer needs.
    Postgres { read: PgPool, write: PgPool },
}

/// A handle to the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pools: Pools,
    /// How long one read may run.
    read_limit: ReadLimit,
    /// Project name → id, so that the writer resolves a batch's project without a query.
    project_ids: Arc<Mutex<HashMap<Arc<str>, i64>>>,
    /// Permits for span scans (see [`Store::begin_scan`]).
    scans: Arc<tokio::sync::Semaphore>,
}

/// Span scans that may run at once. Each keeps a core busy for up to the read time limit; past
/// this many the next is refused at once (503), so that readers never crowd out the span writer.
pub const MAX_CONCURRENT_SCANS: usize = 2;

/// When SQLite counts a commit as done: what an acknowledged span survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SqliteSync {
    /// The WAL is synced at every commit: a commit survives power loss and OS crashes.
    #[default]
    Full,
    /// The WAL is synced only at checkpoints: a commit survives a crash of the process (its
    /// writes are in the OS), not of the machine.
    Normal,
}

impl Store {
    /// Connects to `url` (or a SQLite file in `working_dir` when `url` is `None`) and applies
    /// migrations, with SQLite commits synced to disk ([`SqliteSync::Full`]).
    pub async fn connect(url: Option<&str>, working_dir: &Path) -> Result<Self> {
        Self::connect_with(url, working_dir, SqliteSync::Full, ReadLimit::default()).await
    }

    /// [`Store::connect`] with SQLite's commits as durable as `sync` says and each read stopped
    /// after `read_limit`.
    pub async fn connect_with(
        url: Option<&str>,
        working_dir: &Path,
        sync: SqliteSync,
        read_limit: ReadLimit,
    ) -> Result<Self> {
        let url = match url {
            Some(url) => url.to_owned(),
            None => {
                std::fs::create_dir_all(working_dir)
                    .map_err(|source| StoreError::WorkingDir { path: working_dir.display().to_string(), source })?;
                format!("sqlite://{}", working_dir.join("ember.db").display())
            }
        };
        let pools = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::connect_postgres(&url, read_limit).await?
        } else if url.starts_with("sqlite:") {
            Self::connect_sqlite(&url, sync).await?
        } else {
            return Err(StoreError::UnsupportedUrl(url));
        };
        let store = Self {
            pools,
            read_limit,
            project_ids: Arc::default(),
            scans: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_SCANS)),
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn connect_sqlite(url: &str, sync: SqliteSync) -> Result<Pools> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            // 16 KiB pages hold five 2–3 KB span rows where 4 KiB pages hold one and waste the rest;
            // measured 21.8 → 15.5 µs per span in `benches/store_write.rs`.
            .page_size(16384)
            .journal_mode(SqliteJournalMode::Wal)
            // Spans are acknowledged after their commit, so this decides what an acknowledged
            // span survives: FULL syncs the WAL at each commit (once per batch of up to thousands
            // of spans, not per span), NORMAL only at checkpoints.
            .synchronous(match sync {
                SqliteSync::Full => SqliteSynchronous::Full,
                SqliteSync::Normal => SqliteSynchronous::Normal,
            })
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // The writer gets 24 MiB of page cache: random span-id index inserts touch pages all
            // over the index, and misses cost a read syscall each. Readers get 4 MiB apiece.
            .pragma("cache_size", "-4096")
            .pragma("temp_store", "memory")
            // Checkpoint every 64 MiB of WAL (4,096 pages of 16 KiB) instead of SQLite's 1,000
            // pages: far fewer fsyncs under ingest load. The WAL file is truncated back to 64 MiB.
            .pragma("wal_autocheckpoint", "4096")
            .pragma("journal_size_limit", "67108864");
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .after_release(|conn, _| Box::pin(async move { Ok(in_autocommit(conn)) }))
            .connect_with(options.clone().pragma("cache_size", "-24576"))
            .await?;
        let read = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        Ok(Pools::Sqlite { read, write })
    }

    /// Six connections for writes (the span writer's two lanes, the sweeper, jobs and API
    /// writes) and eight for reads.
    async fn connect_postgres(url: &str, read_limit: ReadLimit) -> Result<Pools> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = |connections: u32| {
            PgPoolOptions::new()
                .max_connections(connections)
                .acquire_timeout(Duration::from_secs(10))
                .after_release(|conn, _| Box::pin(async move { Ok(in_autocommit(conn)) }))
        };
        let write = pool(6).connect_with(options.clone()).await?;
        // No JIT for reads: the UI's reads take milliseconds, and on statistics not yet analyzed
        // after a large load the planner's cost estimates start a compilation that alone took
        // longer than the query (a sessions page: 443 ms with it, 9 ms without).
        let read_settings = [("statement_timeout", read_limit.postgres_setting()), ("jit", "off".to_owned())];
        let read = pool(8).connect_with(options.options(read_settings)).await?;
        Ok(Pools::Postgres { read, write })
    }

    fn cached_project_id(&self, name: &str) -> Option<i64> {
        let cache = self.project_ids.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.get(name).copied()
    }

    fn cache_project_id(&self, name: Arc<str>, id: i64) {
        let mut cache = self.project_ids.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.insert(name, id);
    }

    /// Forgets cached project ids, after a project is renamed or deleted.
    fn forget_project_ids(&self) {
        let mut cache = self.project_ids.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.clear();
    }

    async fn migrate(&self) -> Result<()> {
        match &self.pools {
            Pools::Sqlite { write, .. } => SQLITE_MIGRATIONS.run(write).await?,
            Pools::Postgres { write, .. } => POSTGRES_MIGRATIONS.run(write).await?,
        }
        Ok(())
    }

    /// A permit to run a span scan (a read that may go beyond an index, such as a span query
    /// DSL condition); [`StoreError::Busy`] when [`MAX_CONCURRENT_SCANS`] already run. Hold it
    /// for the whole scan.
    pub fn begin_scan(&self) -> Result<tokio::sync::OwnedSemaphorePermit> {
        self.scans.clone().try_acquire_owned().map_err(|_| StoreError::Busy { limit: MAX_CONCURRENT_SCANS })
    }

    /// The dialect queries must be rendered in.
    pub fn dialect(&self) -> Dialect {
        match self.pools {
            Pools::Sqlite { .. } => Dialect::Sqlite,
            Pools::Postgres { .. } => Dialect::Postgres,
        }
    }

    /// How many span-batch transactions are worth running at once: SQLite has one writer
    /// connection, PostgreSQL runs each transaction in its own backend process.
    pub fn concurrent_writes(&self) -> usize {
        match self.pools {
            Pools::Sqlite { .. } => 1,
            Pools::Postgres { .. } => 2,
        }
    }

    /// Starts a query in this store's dialect.
    pub fn sql<'a>(&self) -> Sql<'a> {
        Sql::new(self.dialect())
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        let sql = self.sql();
        self.execute_read(&sql.into_select1()).await.is_ok()
    }

    /// Bytes of storage the database holds: SQLite's pages in use (pages freed by deletes are
    /// reused, so they do not count), PostgreSQL's `pg_database_size`.
    pub async fn database_bytes(&self) -> Result<u64> {
        let mut sql = self.sql();
        match self.dialect() {
            Dialect::Sqlite => sql.push(
                "SELECT (p.page_count - f.freelist_count) * s.page_size \
                 FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() s",
            ),
            Dialect::Postgres => sql.push("SELECT pg_database_size(current_database())"),
        };
        let row: Option<(i64,)> = self.fetch_optional(&sql).await?;
        Ok(row.map_or(0, |(bytes,)| u64::try_from(bytes).unwrap_or(0)))
    }

    /// Closes every connection, waiting for in-flight statements.
    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Pools::Postgres { read, write } => {
                read.close().await;
                write.close().await;
            }
        }
    }
}

impl<'a> Sql<'a> {
    fn into_select1(mut self) -> Self {
        self.push("SELECT 1");
        self
    }
}

/// Whether a connection coming back to its pool is outside any transaction, by its own account.
/// One that is not (a failed COMMIT whose rollback failed too: the database had already ended the
/// transaction) is closed instead of reused, so that no later write can land in a transaction
/// that never commits.
fn in_autocommit<C: sqlx::Connection>(conn: &mut C) -> bool {
    let clean = !conn.is_in_transaction();
    if !clean {
        tracing::warn!("a connection came back inside a transaction; closing it");
    }
    clean
}
