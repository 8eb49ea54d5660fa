//! A time limit on every read, so that no query, however much it scans, holds a connection and
//! a core for long.
//!
//! PostgreSQL enforces it itself: the read pool's connections run with `statement_timeout`, and
//! the writes have a pool of their own, so a span batch never waits behind readers for a
//! connection. SQLite has no timeout setting; each read arms a progress handler with its
//! deadline, which SQLite calls every few thousand virtual-machine steps and which interrupts the
//! statement once the deadline has passed. Either way the caller gets
//! [`StoreError::QueryTimeout`](super::StoreError::QueryTimeout), which the API answers 503.

use std::time::{Duration, Instant};

use sqlx::sqlite::SqliteConnection;

/// SQLite virtual-machine steps between two looks at the clock (well under a millisecond).
const SQLITE_STEPS_PER_CHECK: i32 = 10_000;
/// SQLite's result code for a statement stopped by its progress handler.
const SQLITE_INTERRUPT: &str = "9";
/// PostgreSQL's SQLSTATE for a statement cancelled by `statement_timeout`.
const PG_QUERY_CANCELED: &str = "57014";

/// How long one read may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimit(pub Duration);

impl Default for ReadLimit {
    fn default() -> Self {
        Self(Duration::from_secs(30))
    }
}

impl ReadLimit {
    /// The limit in whole milliseconds (at least one), as PostgreSQL and the error message take it.
    pub fn millis(self) -> u64 {
        u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX).max(1)
    }

    /// The `statement_timeout` value for the read pool's connections.
    pub(super) fn postgres_setting(self) -> String {
        format!("{}ms", self.millis())
    }

    /// Arms `conn`'s progress handler with a deadline this limit from now, replacing the last
    /// read's.
    pub(super) async fn arm_sqlite(self, conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        let deadline = Instant::now() + self.0;
        conn.lock_handle().await?.set_progress_handler(SQLITE_STEPS_PER_CHECK, move || Instant::now() < deadline);
        Ok(())
    }
}

/// True when `err` is a read stopped by its time limit, on either store.
pub(super) fn is_timeout(err: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = err else { return false };
    matches!(db.code().as_deref(), Some(SQLITE_INTERRUPT | PG_QUERY_CANCELED))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{SqliteSync, Store, StoreError};
    use sqlx::Connection;

    #[tokio::test]
    async fn a_sqlite_read_past_its_deadline_is_interrupted_and_the_next_one_is_not() {
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        // A recursive count that takes seconds: interrupted after about 20 ms.
        let slow = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) \
                    SELECT count(*) FROM n";
        let limit = ReadLimit(Duration::from_millis(20));
        limit.arm_sqlite(&mut conn).await.unwrap();
        let started = Instant::now();
        let err = sqlx::query_scalar::<_, i64>(slow).fetch_one(&mut conn).await.unwrap_err();
        assert!(is_timeout(&err), "interrupted: {err}");
        assert!(started.elapsed() < Duration::from_secs(2), "stopped near its deadline: {:?}", started.elapsed());
        // Armed afresh, a quick read on the same connection runs.
        limit.arm_sqlite(&mut conn).await.unwrap();
        let (one,): (i64,) = sqlx::query_as("SELECT 1").fetch_one(&mut conn).await.unwrap();
        assert_eq!(one, 1);
    }

    /// Through the store on both backends: a read past the limit is a `QueryTimeout`, a write
    /// that takes as long is not limited, and the store keeps answering.
    async fn reads_are_limited_and_writes_are_not(url: &str, slow_read: &str, slow_write: &str) {
        let dir = tempfile::tempdir().unwrap();
        let limit = ReadLimit(Duration::from_millis(100));
        let store = Store::connect_with(Some(url), dir.path(), SqliteSync::Full, limit).await.unwrap();
        let mut sql = store.sql();
        sql.push(slow_read);
        let started = Instant::now();
        let err = store.fetch_all::<(i64,)>(&sql).await.unwrap_err();
        assert!(matches!(err, StoreError::QueryTimeout { limit_ms: 100 }), "a timeout: {err}");
        assert!(started.elapsed() < Duration::from_secs(3), "stopped near the limit: {:?}", started.elapsed());
        assert!(store.ping().await, "reads still run");
        let mut sql = store.sql();
        sql.push(slow_write);
        store.fetch_all_writing::<(i64,)>(&sql).await.expect("writes are not limited");
        store.close().await;
    }

    #[tokio::test]
    async fn sqlite_reads_are_limited_and_writes_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("limit.db").display());
        // Seconds of work, then a few hundred milliseconds: both past the limit.
        let long = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000000) \
                    SELECT count(*) FROM n";
        let shorter = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000) \
                       SELECT count(*) FROM n";
        reads_are_limited_and_writes_are_not(&url, long, shorter).await;
    }

    #[tokio::test]
    async fn postgres_reads_are_limited_and_writes_are_not() {
        let Some(db) = crate::store::temp_postgres::TempPostgres::create("read_limit").await else { return };
        let sleep = "SELECT CAST(1 AS BIGINT) FROM pg_sleep(0.5)";
        reads_are_limited_and_writes_are_not(&db.url, sleep, sleep).await;
        db.drop().await;
    }

    #[tokio::test]
    async fn span_scans_past_the_limit_are_refused_until_one_ends() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(None, dir.path()).await.unwrap();
        let held: Vec<_> = (0..crate::store::MAX_CONCURRENT_SCANS).map(|_| store.begin_scan().unwrap()).collect();
        let refused = store.begin_scan().unwrap_err();
        assert!(matches!(refused, StoreError::Busy { limit: 2 }), "{refused}");
        assert_eq!(refused.fault(), crate::store::StorageFault::Busy);
        drop(held);
        let _scan = store.begin_scan().expect("a scan may run once another ended");
    }

    #[test]
    fn the_postgres_setting_is_in_milliseconds() {
        assert_eq!(ReadLimit(Duration::from_secs(30)).postgres_setting(), "30000ms");
        assert_eq!(ReadLimit(Duration::from_micros(10)).millis(), 1);
    }
}
