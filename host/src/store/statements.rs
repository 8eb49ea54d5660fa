//! Running one statement, or a few in a transaction, on the pool it belongs on: reads on the
//! read connections under the read time limit, writes on the writer's.

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::FromRow;

use super::{read_limit, Pools, Result, Sql, Store, StoreError};

impl Store {
    pub(super) async fn fetch_all<'a, T>(&self, sql: &Sql<'a>) -> Result<Vec<T>>
    where
        T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        self.fetch_all_on(sql, false).await
    }

    /// Runs a data-changing statement that returns rows (`… RETURNING`); on SQLite it goes
    /// through the single writer connection.
    pub(super) async fn fetch_all_writing<'a, T>(&self, sql: &Sql<'a>) -> Result<Vec<T>>
    where
        T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        self.fetch_all_on(sql, true).await
    }

    pub(super) async fn fetch_all_on<'a, T>(&self, sql: &Sql<'a>, write: bool) -> Result<Vec<T>>
    where
        T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let rows = match &self.pools {
            Pools::Sqlite { write: writer, .. } if write => {
                let args = sql.arguments::<sqlx::Sqlite>()?;
                sqlx::query_as_with::<_, T, _>(sql.text(), args).fetch_all(writer).await?
            }
            Pools::Sqlite { read, .. } => {
                let mut conn = read.acquire().await?;
                self.read_limit.arm_sqlite(&mut conn).await?;
                let args = sql.arguments::<sqlx::Sqlite>()?;
                let rows = sqlx::query_as_with::<_, T, _>(sql.text(), args).fetch_all(&mut *conn).await;
                rows.map_err(|err| self.read_error(err))?
            }
            Pools::Postgres { read, write: writer } => {
                let pool = if write { writer } else { read };
                let args = sql.arguments::<sqlx::Postgres>()?;
                let rows = sqlx::query_as_with::<_, T, _>(sql.text(), args).fetch_all(pool).await;
                rows.map_err(|err| if write { err.into() } else { self.read_error(err) })?
            }
        };
        Ok(rows)
    }

    pub(super) async fn fetch_optional<'a, T>(&self, sql: &Sql<'a>) -> Result<Option<T>>
    where
        T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        Ok(self.fetch_all(sql).await?.into_iter().next())
    }

    pub(super) async fn execute_read(&self, sql: &Sql<'_>) -> Result<u64> {
        self.execute_on(sql, false).await
    }

    /// Runs a data-changing statement; on SQLite it goes through the single writer connection.
    pub(super) async fn execute(&self, sql: &Sql<'_>) -> Result<u64> {
        self.execute_on(sql, true).await
    }

    pub(super) async fn execute_on(&self, sql: &Sql<'_>, write: bool) -> Result<u64> {
        let affected = match &self.pools {
            Pools::Sqlite { write: writer, .. } if write => {
                let args = sql.arguments::<sqlx::Sqlite>()?;
                sqlx::query_with(sql.text(), args).execute(writer).await?.rows_affected()
            }
            Pools::Sqlite { read, .. } => {
                let mut conn = read.acquire().await?;
                self.read_limit.arm_sqlite(&mut conn).await?;
                let args = sql.arguments::<sqlx::Sqlite>()?;
                let done = sqlx::query_with(sql.text(), args).execute(&mut *conn).await;
                done.map_err(|err| self.read_error(err))?.rows_affected()
            }
            Pools::Postgres { read, write: writer } => {
                let pool = if write { writer } else { read };
                let args = sql.arguments::<sqlx::Postgres>()?;
                let done = sqlx::query_with(sql.text(), args).execute(pool).await;
                done.map_err(|err| if write { err.into() } else { self.read_error(err) })?.rows_affected()
            }
        };
        Ok(affected)
    }

    /// A read's error, telling a read stopped by its time limit from other failures.
    fn read_error(&self, err: sqlx::Error) -> StoreError {
        if read_limit::is_timeout(&err) {
            StoreError::QueryTimeout { limit_ms: self.read_limit.millis() }
        } else {
            StoreError::Database(err)
        }
    }
}

impl Store {
    /// Runs data-changing statements in one transaction; returns each one's affected row count.
    pub(super) async fn execute_in_transaction(&self, statements: &[Sql<'_>]) -> Result<Vec<u64>> {
        let mut affected = Vec::with_capacity(statements.len());
        match &self.pools {
            Pools::Sqlite { write, .. } => {
                let mut tx = write.begin().await?;
                for sql in statements {
                    let args = sql.arguments::<sqlx::Sqlite>()?;
                    affected.push(sqlx::query_with(sql.text(), args).execute(&mut *tx).await?.rows_affected());
                }
                tx.commit().await?;
            }
            Pools::Postgres { write, .. } => {
                let mut tx = write.begin().await?;
                for sql in statements {
                    let args = sql.arguments::<sqlx::Postgres>()?;
                    affected.push(sqlx::query_with(sql.text(), args).execute(&mut *tx).await?.rows_affected());
                }
                tx.commit().await?;
            }
        }
        Ok(affected)
    }
}

impl Store {
    /// Runs statements in one transaction and commits only if the first `checked` statements
    /// changed exactly `expected` rows in all; otherwise rolls back and returns false.
    pub(super) async fn execute_in_transaction_checked(
        &self,
        statements: &[Sql<'_>],
        checked: usize,
        expected: u64,
    ) -> Result<bool> {
        macro_rules! run {
            ($tx:expr, $db:ty) => {{
                let mut changed = 0;
                for (i, sql) in statements.iter().enumerate() {
                    let args = sql.arguments::<$db>()?;
                    let affected = sqlx::query_with(sql.text(), args).execute(&mut *$tx).await?.rows_affected();
                    if i < checked {
                        changed += affected;
                    }
                    if i + 1 == checked && changed != expected {
                        $tx.rollback().await?;
                        return Ok(false);
                    }
                }
                $tx.commit().await?;
                Ok(true)
            }};
        }
        match &self.pools {
            Pools::Sqlite { write, .. } => {
                let mut tx = write.begin().await?;
                run!(tx, sqlx::Sqlite)
            }
            Pools::Postgres { write, .. } => {
                let mut tx = write.begin().await?;
                run!(tx, sqlx::Postgres)
            }
        }
    }
}
