//! Online backup and restore of a SQLite database.
//!
//! `VACUUM INTO` writes a compact copy of the database as of one read transaction: consistent,
//! and taken while the server keeps ingesting (in WAL mode a reader blocks no writer). A restore
//! checks the copy's integrity, keeps the database it replaces beside it, and refuses while a
//! server holds the database. PostgreSQL deployments back up with `pg_dump` (see the README).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

/// Why a backup or restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists; choose a new file for the backup")]
    Exists(PathBuf),
    #[error("{0} is not a SQLite database Ember can restore: {1}")]
    Invalid(PathBuf, String),
    #[error("the database {0} is in use (a server is running on it?); stop the server first")]
    InUse(PathBuf),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// What a backup holds.
#[derive(Debug, Clone, Copy)]
pub struct BackupReport {
    pub spans: i64,
    pub bytes: u64,
}

async fn open(path: &Path, read_only: bool, busy: std::time::Duration) -> Result<sqlx::SqliteConnection, BackupError> {
    let url = format!("sqlite://{}", path.display());
    Ok(SqliteConnectOptions::from_str(&url)?.read_only(read_only).busy_timeout(busy).connect().await?)
}

const WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Copies the database at `database` to `destination` (a new file) while it stays in use.
pub async fn backup(database: &Path, destination: &Path) -> Result<BackupReport, BackupError> {
    if destination.exists() {
        return Err(BackupError::Exists(destination.to_owned()));
    }
    if !database.exists() {
        return Err(BackupError::Invalid(database.to_owned(), "no such file".to_owned()));
    }
    let mut source = open(database, true, WAIT).await?;
    sqlx::query("VACUUM INTO ?").bind(destination.display().to_string()).execute(&mut source).await?;
    source.close().await?;
    inspect(destination).await
}

/// Checks that `file` is an intact Ember database; how many spans it holds.
pub async fn inspect(file: &Path) -> Result<BackupReport, BackupError> {
    let invalid = |reason: String| BackupError::Invalid(file.to_owned(), reason);
    let mut conn = open(file, true, WAIT).await.map_err(|err| invalid(err.to_string()))?;
    let (check,): (String,) =
        sqlx::query_as("PRAGMA integrity_check").fetch_one(&mut conn).await.map_err(|err| invalid(err.to_string()))?;
    if check != "ok" {
        return Err(invalid(check));
    }
    let (spans,): (i64,) = sqlx::query_as("SELECT count(*) FROM spans")
        .fetch_one(&mut conn)
        .await
        .map_err(|err| invalid(format!("no span table ({err})")))?;
    conn.close().await?;
    let bytes = std::fs::metadata(file).map_err(|err| BackupError::Io(file.to_owned(), err))?.len();
    Ok(BackupReport { spans, bytes })
}

/// Replaces the database at `database` with the backup `from`; the replaced database is kept as
/// `<database>.before-restore-<unix seconds>`. Refused while the database is in use.
pub async fn restore(from: &Path, database: &Path) -> Result<BackupReport, BackupError> {
    let report = inspect(from).await?;
    if database.exists() {
        // Leaving WAL mode needs the database to itself: it fails while a server has it open,
        // and otherwise folds the write-ahead log into the file, so the kept copy is whole.
        let mut current = open(database, false, std::time::Duration::ZERO).await?;
        let mode: Result<(String,), _> = sqlx::query_as("PRAGMA journal_mode=DELETE").fetch_one(&mut current).await;
        current.close().await?;
        if !matches!(mode, Ok((ref mode,)) if mode.eq_ignore_ascii_case("delete")) {
            return Err(BackupError::InUse(database.to_owned()));
        }
        let seconds = crate::time::now_ns() / 1_000_000_000;
        let kept = PathBuf::from(format!("{}.before-restore-{seconds}", database.display()));
        std::fs::rename(database, &kept).map_err(|err| BackupError::Io(kept.clone(), err))?;
        for suffix in ["-wal", "-shm"] {
            let side = PathBuf::from(format!("{}{suffix}", database.display()));
            if side.exists() {
                std::fs::remove_file(&side).map_err(|err| BackupError::Io(side.clone(), err))?;
            }
        }
    } else if let Some(parent) = database.parent() {
        std::fs::create_dir_all(parent).map_err(|err| BackupError::Io(parent.to_owned(), err))?;
    }
    std::fs::copy(from, database).map_err(|err| BackupError::Io(database.to_owned(), err))?;
    Ok(report)
}
