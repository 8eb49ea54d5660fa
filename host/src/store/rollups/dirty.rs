//! Marking the hours whose spans are about to change other than by ingest (a delete, a move to
//! another project), in the same transaction as the change, for the maintainer to recompute.

use super::BUCKET_NS;
use crate::store::sql::{Dialect, Param, Sql};

/// The statement that marks the (project, hour) of every span of the traces `trace_rows` (by row
/// id). Run it before the change, in the change's transaction.
pub(crate) fn mark_traces(dialect: Dialect, trace_rows: &[i64]) -> Sql<'static> {
    let mut sql = mark(dialect);
    sql.push("WHERE trace_rowid IN ").bind_list(trace_rows.iter().map(|id| Param::I64(*id)));
    conflict(&mut sql);
    sql
}

/// The statement that marks the (project, hour) of one span (by row id).
pub(crate) fn mark_span(dialect: Dialect, span_row: i64) -> Sql<'static> {
    let mut sql = mark(dialect);
    sql.push("WHERE id = ").bind(Param::I64(span_row));
    conflict(&mut sql);
    sql
}

fn mark(dialect: Dialect) -> Sql<'static> {
    let mut sql = Sql::new(dialect);
    sql.push(&format!(
        "INSERT INTO span_rollup_dirty (project_id, bucket_ns, generation) \
         SELECT DISTINCT project_id, start_ns - start_ns % {BUCKET_NS}, 1 FROM spans "
    ));
    sql
}

fn conflict(sql: &mut Sql<'_>) {
    sql.push(" ON CONFLICT (project_id, bucket_ns) DO UPDATE SET generation = span_rollup_dirty.generation + 1");
}
