//! A throwaway PostgreSQL database for unit tests, on the server `EMBER_TEST_POSTGRES_URL` names
//! (the local one by default). Outside CI a machine without PostgreSQL skips those tests loudly;
//! in CI a missing server fails them.

use sqlx::{Connection, PgConnection};

use super::Store;

/// Runs `test` against a store on a fresh SQLite file.
pub async fn on_sqlite(test: impl AsyncFnOnce(&Store)) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::connect(None, dir.path()).await.expect("store");
    test(&store).await;
    store.close().await;
}

/// Runs `test` against a store on a fresh PostgreSQL database named after `prefix`; skipped
/// (loudly) outside CI when no server answers.
pub async fn on_postgres(prefix: &str, test: impl AsyncFnOnce(&Store)) {
    let Some(db) = TempPostgres::create(prefix).await else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::connect(Some(&db.url), dir.path()).await.expect("store");
    test(&store).await;
    store.close().await;
    db.drop().await;
}

/// A database created for one test and dropped by [`TempPostgres::drop`].
pub struct TempPostgres {
    admin: String,
    name: String,
    /// Connection URL of the new database.
    pub url: String,
}

impl TempPostgres {
    /// Creates a database named after `prefix` and this process; `None` when no server answers
    /// outside CI.
    pub async fn create(prefix: &str) -> Option<Self> {
        let admin = std::env::var("EMBER_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let Ok(mut conn) = PgConnection::connect(&admin).await else {
            assert!(std::env::var_os("CI").is_none(), "PostgreSQL must run in CI ({admin})");
            eprintln!("SKIPPED: no PostgreSQL at {admin}");
            return None;
        };
        let name = format!("ember_{prefix}_{}", std::process::id());
        for statement in [format!("DROP DATABASE IF EXISTS {name}"), format!("CREATE DATABASE {name}")] {
            sqlx::query(&statement).execute(&mut conn).await.expect("creates the test database");
        }
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base);
        let url = format!("{base}/{name}");
        Some(Self { admin, name, url })
    }

    /// Drops the database (its pools must be closed first).
    pub async fn drop(self) {
        let mut conn = PgConnection::connect(&self.admin).await.expect("connects to drop");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
            .execute(&mut conn)
            .await
            .expect("drops the test database");
    }
}
