//! A transaction that can read back what it wrote (`RETURNING id`), for multi-statement changes
//! such as a dataset upload, which must be all-or-nothing.

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, Postgres, Sqlite, Transaction};

use super::sql::{Dialect, Sql};
use super::{Pools, Result, Store};

/// An open transaction on either backend; dropped without `commit` it rolls back.
pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Store {
    /// Begins a transaction (on SQLite, on the single writer connection).
    pub(crate) async fn begin(&self) -> Result<Tx> {
        Ok(match &self.pools {
            Pools::Sqlite { write, .. } => Tx::Sqlite(write.begin().await?),
            Pools::Postgres { write, .. } => Tx::Postgres(write.begin().await?),
        })
    }
}

impl Store {
    /// Begins a read-only transaction on a read connection: every query in it sees one snapshot.
    pub(crate) async fn begin_read(&self) -> Result<Tx> {
        Ok(match &self.pools {
            Pools::Sqlite { read, .. } => Tx::Sqlite(read.begin().await?),
            Pools::Postgres { read, .. } => Tx::Postgres(read.begin().await?),
        })
    }
}

impl Tx {
    /// The dialect statements in this transaction must be rendered in.
    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Tx::Sqlite(_) => Dialect::Sqlite,
            Tx::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Starts a query in this transaction's dialect.
    pub(crate) fn sql<'a>(&self) -> Sql<'a> {
        Sql::new(self.dialect())
    }

    /// Runs a statement; returns the affected row count.
    pub(crate) async fn execute(&mut self, sql: &Sql<'_>) -> Result<u64> {
        Ok(match self {
            Tx::Sqlite(tx) => {
                let args = sql.arguments::<Sqlite>()?;
                sqlx::query_with(sql.text(), args).execute(&mut **tx).await?.rows_affected()
            }
            Tx::Postgres(tx) => {
                let args = sql.arguments::<Postgres>()?;
                sqlx::query_with(sql.text(), args).execute(&mut **tx).await?.rows_affected()
            }
        })
    }

    /// Runs a query and returns every row.
    pub(crate) async fn fetch_all<T>(&mut self, sql: &Sql<'_>) -> Result<Vec<T>>
    where
        T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        Ok(match self {
            Tx::Sqlite(tx) => {
                let args = sql.arguments::<Sqlite>()?;
                sqlx::query_as_with::<_, T, _>(sql.text(), args).fetch_all(&mut **tx).await?
            }
            Tx::Postgres(tx) => {
                let args = sql.arguments::<Postgres>()?;
                sqlx::query_as_with::<_, T, _>(sql.text(), args).fetch_all(&mut **tx).await?
            }
        })
    }

    /// Runs a query and returns its first row, if any.
    pub(crate) async fn fetch_optional<T>(&mut self, sql: &Sql<'_>) -> Result<Option<T>>
    where
        T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        Ok(self.fetch_all(sql).await?.into_iter().next())
    }

    /// Runs a statement ending in `RETURNING id` and returns that id.
    pub(crate) async fn returning_id(&mut self, sql: &Sql<'_>) -> Result<i64> {
        let row: Option<(i64,)> = self.fetch_optional(sql).await?;
        row.map(|(id,)| id).ok_or(super::StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Commits.
    pub(crate) async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}
