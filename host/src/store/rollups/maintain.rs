//! Keeping rollups small and true: merging an hour's rows, recomputing the hours marked dirty
//! by deletes and moves, and filling in spans stored before rollups existed.
//!
//! The invariant every step keeps: the rollup rows of an hour sum exactly the hour's spans whose
//! row id is at least the backfill mark (`span_rollup_backfill.below_id`). On SQLite the steps run
//! one after another in one task and each write is a transaction on the single writer connection.
//! On PostgreSQL replicas may run them at once: a merge takes the rows it deletes (`DELETE …
//! RETURNING`), never rows another merge took; a recomputation is one `REPEATABLE READ`
//! transaction, so the rows it replaces are those of the snapshot its spans come from.

use super::traces::{add_to_traces, add_trace_span, cost_expr, TraceSums};
use super::write::{decode, encode, insert_rollups, RollupRow, ROLLUP_COLUMNS};
use super::{add_span, Buckets, SpanFacts, BUCKET_NS};
use crate::store::sql::{Dialect, Param, Sql};
use crate::store::tx::Tx;
use crate::store::{Result, Store};

/// (project, hour) groups merged per round.
const MERGE_GROUPS: i64 = 200;
/// Dirty hours recomputed per round.
const RECOMPUTE_HOURS: i64 = 20;
/// Spans folded in per backfill batch: a short transaction on the writer connection.
const BACKFILL_SPANS: i64 = 10_000;

/// What one maintenance round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MaintainOutcome {
    /// Rollup rows merged away.
    pub merged: u64,
    /// Dirty hours recomputed.
    pub recomputed: u64,
    /// Spans folded in by the backfill.
    pub backfilled: u64,
}

impl MaintainOutcome {
    /// Whether the round found nothing to do.
    pub fn is_idle(&self) -> bool {
        *self == Self::default()
    }
}

/// A span's facts as the recomputation and the backfill read them:
/// `(project_id, start_ns, status_code, span_kind, is_root, latency_ms, model_name,
/// token_prompt, token_completion, cost_total, trace_rowid)`.
pub(super) type FactRow =
    (i64, i64, String, String, i64, f64, Option<String>, Option<i64>, Option<i64>, Option<f64>, i64);

/// `SELECT <FactRow> FROM spans WHERE ` in `dialect`; the cost is read as the writer reads it.
pub(super) fn facts_sql(dialect: Dialect) -> Sql<'static> {
    let cost = cost_expr(dialect, "spans");
    let mut sql = Sql::new(dialect);
    sql.push(&format!(
        "SELECT project_id, start_ns, status_code, span_kind, CAST(CASE WHEN parent_id IS NULL THEN 1 ELSE 0 END AS BIGINT), \
         latency_ms, model_name, token_prompt, token_completion, {cost}, trace_rowid FROM spans WHERE "
    ));
    sql
}

pub(super) fn fold(rows: &[FactRow]) -> Buckets {
    fold_with_traces(rows).0
}

/// The rollups of `rows` and the sums of their traces.
pub(super) fn fold_with_traces(rows: &[FactRow]) -> (Buckets, TraceSums) {
    let mut buckets = Buckets::new();
    let mut sums = TraceSums::new();
    for (project_id, start_ns, status, kind, is_root, latency_ms, model, prompt, completion, cost, trace_rowid) in rows
    {
        let facts = SpanFacts {
            start_ns: *start_ns,
            is_error: status == "ERROR",
            is_root: *is_root == 1,
            is_llm: kind == "LLM",
            latency_ms: *latency_ms,
            model_name: model.as_deref(),
            token_prompt: *prompt,
            token_completion: *completion,
            cost_total: *cost,
        };
        add_span(&mut buckets, *project_id, &facts);
        add_trace_span(&mut sums, *trace_rowid, &facts);
    }
    (buckets, sums)
}

async fn insert(tx: &mut Tx, buckets: &Buckets) -> Result<()> {
    let encoded = encode(buckets)?;
    if let Some(sql) = insert_rollups(tx.dialect(), &encoded) {
        tx.execute(&sql).await?;
    }
    Ok(())
}

async fn backfill_mark(tx: &mut Tx) -> Result<i64> {
    let mut sql = tx.sql();
    sql.push("SELECT below_id FROM span_rollup_backfill WHERE id = 1");
    if tx.dialect() == Dialect::Postgres {
        sql.push(" FOR UPDATE");
    }
    let row: Option<(i64,)> = tx.fetch_optional(&sql).await?;
    Ok(row.map_or(1, |(below,)| below))
}

impl Store {
    /// One round of rollup maintenance: a merge, a few dirty hours, one backfill batch.
    pub async fn maintain_rollups(&self) -> Result<MaintainOutcome> {
        Ok(MaintainOutcome {
            merged: self.merge_rollups().await?,
            recomputed: self.recompute_dirty_hours().await?,
            backfilled: self.backfill_rollups().await?,
        })
    }

    /// Runs rounds until one finds nothing to do: after it, the rollups sum every stored span.
    pub async fn settle_rollups(&self) -> Result<()> {
        while !self.maintain_rollups().await?.is_idle() {}
        Ok(())
    }

    /// Merges the rows of hours that have more than one into one row each.
    async fn merge_rollups(&self) -> Result<u64> {
        let mut tx = self.begin().await?;
        let mut sql = tx.sql();
        sql.push(
            "DELETE FROM span_rollups WHERE id IN (SELECT r.id FROM span_rollups r JOIN \
             (SELECT project_id, bucket_ns FROM span_rollups GROUP BY project_id, bucket_ns HAVING COUNT(*) > 1 LIMIT ",
        )
        .bind(Param::I64(MERGE_GROUPS))
        .push(&format!(") g ON r.project_id = g.project_id AND r.bucket_ns = g.bucket_ns) RETURNING {ROLLUP_COLUMNS}"));
        let rows: Vec<RollupRow> = tx.fetch_all(&sql).await?;
        if rows.is_empty() {
            // Ended, not dropped: a connection handed back inside a transaction is closed.
            tx.commit().await?;
            return Ok(0);
        }
        let merged_away = rows.len() as u64;
        let mut buckets = Buckets::new();
        for row in rows {
            let (key, rollup) = decode(row)?;
            buckets.entry(key).or_default().merge(&rollup);
        }
        insert(&mut tx, &buckets).await?;
        tx.commit().await?;
        Ok(merged_away - buckets.len() as u64)
    }

    /// Recomputes up to [`RECOMPUTE_HOURS`] dirty hours from their spans.
    async fn recompute_dirty_hours(&self) -> Result<u64> {
        let mut sql = self.sql();
        sql.push(
            "SELECT project_id, bucket_ns, generation FROM span_rollup_dirty ORDER BY project_id, bucket_ns LIMIT ",
        )
        .bind(Param::I64(RECOMPUTE_HOURS));
        let marks: Vec<(i64, i64, i64)> = self.fetch_all_writing(&sql).await?;
        for &(project_id, bucket_ns, generation) in &marks {
            match self.dialect() {
                Dialect::Sqlite => self.recompute_sqlite(project_id, bucket_ns, generation).await?,
                Dialect::Postgres => self.recompute_postgres(project_id, bucket_ns, generation).await?,
            }
        }
        Ok(marks.len() as u64)
    }

    /// SQLite: the hour is read in a snapshot on a read connection, so that the writer is not held
    /// while its spans are read, and then replaces the rows that snapshot saw. Rows appended
    /// since have higher ids and count only spans the snapshot did not see; a delete since marked
    /// the hour again, so it is recomputed once more.
    async fn recompute_sqlite(&self, project_id: i64, bucket_ns: i64, generation: i64) -> Result<()> {
        let mut read = self.begin_read().await?;
        let below = backfill_mark(&mut read).await?;
        let mut newest = read.sql();
        newest
            .push("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM span_rollups WHERE project_id = ")
            .bind(Param::I64(project_id))
            .push(" AND bucket_ns = ")
            .bind(Param::I64(bucket_ns));
        let newest: Option<(i64,)> = read.fetch_optional(&newest).await?;
        let buckets = hour_facts(&mut read, project_id, bucket_ns, below).await?;
        read.commit().await?;

        let mut tx = self.begin().await?;
        let mut clear = tx.sql();
        clear
            .push("DELETE FROM span_rollups WHERE project_id = ")
            .bind(Param::I64(project_id))
            .push(" AND bucket_ns = ")
            .bind(Param::I64(bucket_ns))
            .push(" AND id <= ")
            .bind(Param::I64(newest.map_or(0, |(id,)| id)));
        tx.execute(&clear).await?;
        insert(&mut tx, &buckets).await?;
        unmark(&mut tx, project_id, bucket_ns, generation).await?;
        tx.commit().await
    }

    /// PostgreSQL: read and replace in one `REPEATABLE READ` transaction; a concurrent merge of
    /// the same rows makes it fail with a serialization error, and the mark stays for next round.
    async fn recompute_postgres(&self, project_id: i64, bucket_ns: i64, generation: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut isolation = tx.sql();
        isolation.push("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
        tx.execute(&isolation).await?;
        let below = backfill_mark_shared(&mut tx).await?;
        let buckets = hour_facts(&mut tx, project_id, bucket_ns, below).await?;
        let mut clear = tx.sql();
        clear
            .push("DELETE FROM span_rollups WHERE project_id = ")
            .bind(Param::I64(project_id))
            .push(" AND bucket_ns = ")
            .bind(Param::I64(bucket_ns));
        tx.execute(&clear).await?;
        insert(&mut tx, &buckets).await?;
        unmark(&mut tx, project_id, bucket_ns, generation).await?;
        tx.commit().await
    }

    /// Folds the next [`BACKFILL_SPANS`] spans below the backfill mark into the rollups.
    async fn backfill_rollups(&self) -> Result<u64> {
        let mut tx = self.begin().await?;
        let below = backfill_mark(&mut tx).await?;
        if below <= 1 {
            tx.commit().await?;
            return Ok(0);
        }
        let from = (below - BACKFILL_SPANS).max(1);
        let mut sql = facts_sql(tx.dialect());
        sql.push("id >= ").bind(Param::I64(from)).push(" AND id < ").bind(Param::I64(below));
        let rows: Vec<FactRow> = tx.fetch_all(&sql).await?;
        let (buckets, sums) = fold_with_traces(&rows);
        insert(&mut tx, &buckets).await?;
        if let Some(sql) = add_to_traces(tx.dialect(), &sums) {
            tx.execute(&sql).await?;
        }
        let mut mark = tx.sql();
        mark.push("UPDATE span_rollup_backfill SET below_id = ").bind(Param::I64(from)).push(" WHERE id = 1");
        tx.execute(&mark).await?;
        tx.commit().await?;
        Ok(rows.len() as u64)
    }
}

/// The backfill mark without a row lock (a `REPEATABLE READ` snapshot must not lock it).
async fn backfill_mark_shared(tx: &mut Tx) -> Result<i64> {
    let mut sql = tx.sql();
    sql.push("SELECT below_id FROM span_rollup_backfill WHERE id = 1");
    let row: Option<(i64,)> = tx.fetch_optional(&sql).await?;
    Ok(row.map_or(1, |(below,)| below))
}

/// The rollup of one project's hour, from its spans at or above the backfill mark.
async fn hour_facts(tx: &mut Tx, project_id: i64, bucket_ns: i64, below: i64) -> Result<Buckets> {
    // Buckets truncate toward zero: the one at 0 also holds the hour before 1970.
    let from = if bucket_ns > 0 { bucket_ns } else { bucket_ns.saturating_sub(BUCKET_NS - 1) };
    let until = if bucket_ns < 0 { bucket_ns + 1 } else { bucket_ns.saturating_add(BUCKET_NS) };
    let mut sql = facts_sql(tx.dialect());
    sql.push("project_id = ")
        .bind(Param::I64(project_id))
        .push(" AND start_ns >= ")
        .bind(Param::I64(from))
        .push(" AND start_ns < ")
        .bind(Param::I64(until))
        .push(" AND id >= ")
        .bind(Param::I64(below));
    let rows: Vec<FactRow> = tx.fetch_all(&sql).await?;
    Ok(fold(&rows).into_iter().filter(|((_, bucket), _)| *bucket == bucket_ns).collect())
}

async fn unmark(tx: &mut Tx, project_id: i64, bucket_ns: i64, generation: i64) -> Result<()> {
    let mut sql = tx.sql();
    sql.push("DELETE FROM span_rollup_dirty WHERE project_id = ")
        .bind(Param::I64(project_id))
        .push(" AND bucket_ns = ")
        .bind(Param::I64(bucket_ns))
        .push(" AND generation = ")
        .bind(Param::I64(generation));
    tx.execute(&sql).await?;
    Ok(())
}
