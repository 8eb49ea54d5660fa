//! The batch write: one transaction that upserts sessions and traces and inserts spans.

use std::collections::HashMap;
use std::sync::Arc;

use super::rollups;
use super::span_insert::{self, SpanRow};
use super::sql::{Dialect, Param, Sql};
use super::{Pools, Result, Store};
use crate::model::SpanRecord;
use crate::time::now_ns;

/// Rows per multi-row session or trace upsert (up to 8 parameters a row).
const AGGREGATE_ROWS_PER_STATEMENT: usize = 1000;

/// What a batch write did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Spans stored by this batch.
    pub inserted: u64,
    /// Spans whose span id was already stored (or repeated in the batch) and were ignored.
    pub duplicates: u64,
}

/// Runs one statement inside a transaction of backend `$db`.
macro_rules! exec {
    ($tx:expr, $db:ty, $sql:expr) => {{
        let sql = $sql;
        let args = sql.arguments::<$db>()?;
        sqlx::query_with(sql.text(), args).execute(&mut *$tx).await?.rows_affected()
    }};
}

/// Runs the whole batch in a transaction of backend `$db` on a connection of `$pool`, inserting
/// the span rows with `$insert_spans` (see `span_insert`).
///
/// A connection whose write failed is closed, never returned to the pool: after `SQLITE_FULL` or
/// an I/O error SQLite may have rolled the transaction back by itself, and the connection's own
/// account of its transactions (sqlx's depth counter) then disagrees with SQLite's. Reused, its
/// next `BEGIN` would become a savepoint inside a transaction that never commits, and every later
/// "commit" would be lost (SQLite's "Response To Errors Within A Transaction").
macro_rules! write_batch_on {
    ($store:expr, $pool:expr, $db:ty, $spans:expr, $insert_spans:path) => {{
        let mut conn = $pool.acquire().await?;
        let written: Result<WriteOutcome> = async {
            let outcome = write_batch_in!($store, &mut *conn, $db, $spans, $insert_spans);
            Ok(outcome)
        }
        .await;
        if written.is_err() {
            let _ = conn.close().await;
        }
        written?
    }};
}

/// The batch's statements in one transaction begun on connection `$conn`.
macro_rules! write_batch_in {
    ($store:expr, $conn:expr, $db:ty, $spans:expr, $insert_spans:path) => {{
        let mut tx = sqlx::Connection::begin($conn).await?;
        let mut project_ids = HashMap::new();
        // Cached only once committed: another lane that used the id of a project this
        // transaction created would otherwise refer to a row it cannot see yet.
        let mut created = Vec::new();
        for name in distinct_projects($spans) {
            let id = match $store.cached_project_id(&name) {
                Some(id) => id,
                None => {
                    exec!(tx, $db, &insert_project_sql($store.dialect(), &name));
                    let select = select_project_id_sql($store.dialect(), &name);
                    let args = select.arguments::<$db>()?;
                    let id: i64 = sqlx::query_scalar_with(select.text(), args).fetch_one(&mut *tx).await?;
                    created.push((name.clone(), id));
                    id
                }
            };
            project_ids.insert(name, id);
        }
        let plan = BatchPlan::new($spans, &project_ids);
        let dialect = $store.dialect();
        for sql in plan.session_statements(dialect) {
            exec!(tx, $db, &sql);
        }
        let mut trace_rowids: HashMap<String, i64> = HashMap::with_capacity(plan.traces.len());
        for sql in plan.trace_statements(dialect) {
            let args = sql.arguments::<$db>()?;
            let rows: Vec<(i64, String)> = sqlx::query_as_with(sql.text(), args).fetch_all(&mut *tx).await?;
            trace_rowids.extend(rows.into_iter().map(|(id, trace_id)| (trace_id, id)));
        }
        let rows = plan.span_rows(&trace_rowids);
        let stored = $insert_spans(&mut *tx, &rows).await?;
        let (new_rows, skipped) = partition_stored(&rows, &stored);
        let buckets = rollups::batch_rollups(new_rows.iter().map(|r| (r.0, r.1)));
        let encoded = rollups::encode(&buckets)?;
        if let Some(sql) = rollups::insert_rollups(dialect, &encoded) {
            exec!(tx, $db, &sql);
        }
        // The trace upserts added every span of the batch to its trace's sums; take back the
        // spans that were stored before (a client's retry).
        let mut taken_back = rollups::batch_trace_sums(skipped.iter().map(|r| (r.0, r.2)));
        for sums in taken_back.values_mut() {
            *sums = (-sums.0, -sums.1, -sums.2);
        }
        if let Some(sql) = rollups::add_to_traces(dialect, &taken_back) {
            exec!(tx, $db, &sql);
        }
        tx.commit().await?;
        for (name, id) in created {
            $store.cache_project_id(name, id);
        }
        let inserted = stored.len() as u64;
        WriteOutcome { inserted, duplicates: $spans.len() as u64 - inserted }
    }};
}

impl Store {
    /// Stores a batch in one transaction. Spans whose id is already stored are skipped, not errors.
    pub async fn write_batch(&self, spans: &[SpanRecord]) -> Result<WriteOutcome> {
        let result = self.write_batch_once(spans).await;
        if result.is_err() {
            // A project deleted since it was cached would fail every retry; look names up afresh.
            self.forget_project_ids();
        }
        result
    }

    async fn write_batch_once(&self, spans: &[SpanRecord]) -> Result<WriteOutcome> {
        let outcome = match &self.pools {
            Pools::Sqlite { write, .. } => {
                write_batch_on!(self, write, sqlx::Sqlite, spans, span_insert::insert_sqlite)
            }
            Pools::Postgres { write, .. } => {
                write_batch_on!(self, write, sqlx::Postgres, spans, span_insert::insert_postgres)
            }
        };
        Ok(outcome)
    }
}

fn distinct_projects(spans: &[SpanRecord]) -> Vec<Arc<str>> {
    let mut names: Vec<Arc<str>> = Vec::new();
    for span in spans {
        if !names.iter().any(|n| **n == *span.project) {
            names.push(span.project.clone());
        }
    }
    names
}

fn insert_project_sql<'a>(dialect: Dialect, name: &'a str) -> Sql<'a> {
    let now = now_ns();
    let mut sql = Sql::new(dialect);
    sql.push("INSERT INTO projects (name, created_ns, updated_ns) VALUES ")
        .bind_list([Param::Str(name), Param::I64(now), Param::I64(now)])
        .push(" ON CONFLICT (name) DO NOTHING");
    sql
}

fn select_project_id_sql<'a>(dialect: Dialect, name: &'a str) -> Sql<'a> {
    let mut sql = Sql::new(dialect);
    sql.push("SELECT id FROM projects WHERE name = ").bind(Param::Str(name));
    sql
}

/// The rows whose span keys the insert returned (each key once: a span id repeated in the batch
/// was stored once), and the others.
type Partition<'r, 'a> = (Vec<&'r SpanRow<'a>>, Vec<&'r SpanRow<'a>>);

fn partition_stored<'r, 'a>(rows: &'r [SpanRow<'a>], stored: &[i64]) -> Partition<'r, 'a> {
    if stored.len() == rows.len() {
        return (rows.iter().collect(), Vec::new());
    }
    let mut keys: std::collections::HashSet<i64> = stored.iter().copied().collect();
    rows.iter().partition(|(span, _, _)| keys.remove(&span_key(&span.span_id).unwrap_or_default()))
}

/// The unique key of a span: its 8-byte id (16 hex digits) as a signed integer.
pub(crate) fn span_key(span_id: &str) -> Option<i64> {
    if span_id.len() != 16 {
        return None;
    }
    u64::from_str_radix(span_id, 16).ok().map(|key| i64::from_ne_bytes(key.to_ne_bytes()))
}

#[derive(Debug)]
struct Extent<'a> {
    project_id: i64,
    session_id: Option<&'a str>,
    start_ns: i64,
    end_ns: i64,
    /// Tokens (prompt, completion) and cost of the LLM spans; kept for traces only.
    sums: (i64, i64, f64),
}

impl Extent<'_> {
    fn widen(&mut self, start_ns: i64, end_ns: i64) {
        self.start_ns = self.start_ns.min(start_ns);
        self.end_ns = self.end_ns.max(end_ns);
    }
}

/// The statements of one batch: spans with their project ids, traces and sessions aggregated.
/// Span ids repeated within the batch need no pass here: `ON CONFLICT DO NOTHING` skips them.
struct BatchPlan<'a> {
    spans: Vec<(&'a SpanRecord, i64)>,
    traces: Vec<(&'a str, Extent<'a>)>,
    sessions: Vec<(&'a str, Extent<'a>)>,
}

impl<'a> BatchPlan<'a> {
    fn new(spans: &'a [SpanRecord], project_ids: &HashMap<Arc<str>, i64>) -> Self {
        let mut unique = Vec::with_capacity(spans.len());
        let mut last_project: Option<(&Arc<str>, i64)> = None;
        let mut traces: HashMap<&str, Extent> = HashMap::new();
        let mut sessions: HashMap<&str, Extent> = HashMap::new();
        for span in spans {
            // A batch nearly always holds one project: compare the pointer before hashing the name.
            let project_id = match last_project {
                Some((name, id)) if Arc::ptr_eq(name, &span.project) => id,
                _ => {
                    let Some(&id) = project_ids.get(&span.project) else { continue };
                    last_project = Some((&span.project, id));
                    id
                }
            };
            unique.push((span, project_id));
            let session_id = span.session_id.as_deref();
            let extent =
                || Extent { project_id, session_id, start_ns: span.start_ns, end_ns: span.end_ns, sums: (0, 0, 0.0) };
            let trace = traces.entry(span.trace_id.as_str()).or_insert_with(extent);
            trace.widen(span.start_ns, span.end_ns);
            trace.session_id = trace.session_id.or(session_id);
            let facts = rollups::facts_of(span);
            if facts.is_llm {
                trace.sums.0 += facts.token_prompt.unwrap_or(0);
                trace.sums.1 += facts.token_completion.unwrap_or(0);
                trace.sums.2 += facts.cost_total.unwrap_or(0.0);
            }
            if let Some(session) = session_id {
                sessions.entry(session).or_insert_with(extent).widen(span.start_ns, span.end_ns);
            }
        }
        // Sorted keys give concurrent writers (PostgreSQL replicas) one lock order.
        let mut traces: Vec<_> = traces.into_iter().collect();
        traces.sort_unstable_by_key(|(id, _)| *id);
        let mut sessions: Vec<_> = sessions.into_iter().collect();
        sessions.sort_unstable_by_key(|(id, _)| *id);
        Self { spans: unique, traces, sessions }
    }

    fn session_statements(&self, dialect: Dialect) -> Vec<Sql<'a>> {
        let (least, greatest) = min_max(dialect);
        let mut out = Vec::new();
        for chunk in self.sessions.chunks(AGGREGATE_ROWS_PER_STATEMENT) {
            let mut sql = Sql::new(dialect);
            sql.push("INSERT INTO sessions (session_id, project_id, start_ns, end_ns) VALUES ");
            for (i, (id, e)) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind_list([Param::Str(id), Param::I64(e.project_id), Param::I64(e.start_ns), Param::I64(e.end_ns)]);
            }
            sql.push(&format!(
                " ON CONFLICT (session_id) DO UPDATE SET start_ns = {least}(sessions.start_ns, excluded.start_ns), \
                 end_ns = {greatest}(sessions.end_ns, excluded.end_ns)"
            ));
            out.push(sql);
        }
        out
    }

    /// Upserts that return `(id, trace_id)` of every trace in the batch, new or existing.
    fn trace_statements(&self, dialect: Dialect) -> Vec<Sql<'a>> {
        let (least, greatest) = min_max(dialect);
        let mut out = Vec::new();
        for chunk in self.traces.chunks(AGGREGATE_ROWS_PER_STATEMENT) {
            let mut sql = Sql::new(dialect);
            sql.push(
                "INSERT INTO traces (trace_id, project_id, session_id, start_ns, end_ns, token_prompt, \
                 token_completion, cost_total) VALUES ",
            );
            for (i, (id, e)) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind_list([
                    Param::Str(id),
                    Param::I64(e.project_id),
                    Param::OptStr(e.session_id),
                    Param::I64(e.start_ns),
                    Param::I64(e.end_ns),
                    Param::I64(e.sums.0),
                    Param::I64(e.sums.1),
                    Param::F64(e.sums.2),
                ]);
            }
            sql.push(&format!(
                " ON CONFLICT (trace_id) DO UPDATE SET start_ns = {least}(traces.start_ns, excluded.start_ns), \
                 end_ns = {greatest}(traces.end_ns, excluded.end_ns), \
                 session_id = COALESCE(traces.session_id, excluded.session_id), \
                 token_prompt = traces.token_prompt + excluded.token_prompt, \
                 token_completion = traces.token_completion + excluded.token_completion, \
                 cost_total = traces.cost_total + excluded.cost_total RETURNING id, trace_id"
            ));
            out.push(sql);
        }
        out
    }

    /// The batch's spans with their project ids and the row ids of their traces.
    fn span_rows(&self, trace_rowids: &HashMap<String, i64>) -> Vec<SpanRow<'a>> {
        let rows: Vec<SpanRow<'a>> = self
            .spans
            .iter()
            .filter_map(|&(span, project_id)| Some((span, project_id, *trace_rowids.get(span.trace_id.as_str())?)))
            .collect();
        debug_assert_eq!(rows.len(), self.spans.len(), "every trace of the batch was upserted");
        rows
    }
}

fn min_max(dialect: Dialect) -> (&'static str, &'static str) {
    match dialect {
        Dialect::Sqlite => ("min", "max"),
        Dialect::Postgres => ("LEAST", "GREATEST"),
    }
}

#[cfg(test)]
mod tests {
    use super::span_key;

    #[test]
    fn span_keys_cover_all_64_bits() {
        assert_eq!(span_key("0000000000000001"), Some(1));
        assert_eq!(span_key("ffffffffffffffff"), Some(-1));
        assert_eq!(span_key("8000000000000000"), Some(i64::MIN));
        assert_eq!(span_key("xyz"), None);
        assert_eq!(span_key("0000000000000000ff"), None);
    }
}
