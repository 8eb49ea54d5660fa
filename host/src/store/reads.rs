//! Span, trace and session queries, with keyset (cursor) pagination, and their deletes.

use super::rows::span_columns;
use super::span_condition::{self, SpanCondition};
use super::sql::{Dialect, Param, Sql};
use super::write::span_key;
use super::{Result, SessionRow, SpanRow, Store, TraceRow};

/// Order of a span listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanSort {
    /// Insertion order.
    Id,
    /// Start time, ties broken by id.
    StartTime,
}

/// The first row of the page (inclusive), as handed out in `next_cursor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanCursor {
    pub start_ns: i64,
    pub id: i64,
}

/// Filters and page of a span listing within one project.
#[derive(Debug, Clone)]
pub struct SpanQuery {
    pub project_id: i64,
    pub sort: SpanSort,
    pub descending: bool,
    pub limit: i64,
    pub cursor: Option<SpanCursor>,
    pub start_ns: Option<i64>,
    pub end_ns: Option<i64>,
    pub trace_ids: Vec<String>,
    pub span_ids: Vec<String>,
    /// `Some(None)` selects root spans only.
    pub parent_id: Option<Option<String>>,
    pub names: Vec<String>,
    pub span_kinds: Vec<String>,
    pub status_codes: Vec<String>,
    /// `llm.model_name` values to keep; empty means any.
    pub model_names: Vec<String>,
    /// Dot-path into the attributes and the JSON value it must equal.
    pub attributes: Vec<(Vec<String>, serde_json::Value)>,
    /// A further condition evaluated by the database (the span query DSL's, compiled).
    pub condition: Option<SpanCondition>,
}

/// Order of a trace listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceSort {
    StartTime,
    Latency,
}

/// The first row of the page (inclusive): its sort key and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceCursor {
    pub key: i64,
    pub id: i64,
}

/// Filters and page of a trace listing within one project.
#[derive(Debug, Clone)]
pub struct TraceQuery {
    pub project_id: i64,
    pub sort: TraceSort,
    pub descending: bool,
    pub limit: i64,
    pub cursor: Option<TraceCursor>,
    pub start_ns: Option<i64>,
    pub end_ns: Option<i64>,
    pub session_ids: Vec<String>,
}

/// Page of a session listing within one project, ordered by id.
#[derive(Debug, Clone)]
pub struct SessionQuery {
    pub project_id: i64,
    pub descending: bool,
    pub limit: i64,
    /// Inclusive: the first session id of the page.
    pub from_id: Option<i64>,
}

fn push_in<'a>(sql: &mut Sql<'a>, column: &str, values: &'a [String]) {
    if values.is_empty() {
        return;
    }
    sql.push(" AND ").push(column).push(" IN ");
    sql.bind_list(values.iter().map(|v| Param::Str(v)));
}

fn push_attribute_filter<'a>(sql: &mut Sql<'a>, path: &[String], value: &serde_json::Value) {
    match sql.dialect() {
        Dialect::Sqlite => {
            let mut json_path = String::from("$");
            for segment in path {
                if segment.bytes().all(|b| b.is_ascii_digit()) && !segment.is_empty() {
                    json_path.push_str(&format!("[{segment}]"));
                } else {
                    json_path.push_str(&format!(".\"{}\"", segment.replace('"', "\\\"")));
                }
            }
            // The JSON type is checked too, so that `true` does not match 1 nor "1" match 1,
            // as JSONB equality behaves on PostgreSQL.
            let json_type = match value {
                serde_json::Value::Bool(true) => "'true'",
                serde_json::Value::Bool(false) => "'false'",
                serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => "'integer'",
                serde_json::Value::Number(_) => "'real'",
                serde_json::Value::String(_) => "'text'",
                serde_json::Value::Null => "'null'",
                serde_json::Value::Array(_) => "'array'",
                serde_json::Value::Object(_) => "'object'",
            };
            sql.push(" AND json_type(attributes, ")
                .bind(Param::Owned(json_path.clone()))
                .push(&format!(") = {json_type}"));
            match value {
                serde_json::Value::Bool(_) | serde_json::Value::Null => {}
                serde_json::Value::Number(n) => {
                    sql.push(" AND json_extract(attributes, ").bind(Param::Owned(json_path)).push(") = ");
                    match n.as_i64() {
                        Some(i) => sql.bind(Param::I64(i)),
                        None => sql.bind(Param::F64(n.as_f64().unwrap_or(f64::NAN))),
                    };
                }
                serde_json::Value::String(text) => {
                    sql.push(" AND json_extract(attributes, ").bind(Param::Owned(json_path)).push(") = ");
                    sql.bind(Param::Owned(text.clone()));
                }
                other => {
                    sql.push(" AND json_extract(attributes, ").bind(Param::Owned(json_path)).push(") = json(");
                    sql.bind(Param::Owned(other.to_string())).push(")");
                }
            }
        }
        Dialect::Postgres => {
            let quoted: Vec<String> =
                path.iter().map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))).collect();
            sql.push(" AND attributes #> CAST(")
                .bind(Param::Owned(format!("{{{}}}", quoted.join(","))))
                .push(" AS text[]) = CAST(")
                .bind(Param::Owned(value.to_string()))
                .push(" AS jsonb)");
        }
    }
}

/// Token counts of a trace as Phoenix reports them: summed over LLM spans only, so that
/// parents that repeat their children's usage are not counted twice. The span writer keeps them
/// on the trace's row (`store::rollups`).
const TRACE_TOKENS: &str = "t.token_prompt, t.token_completion, t.token_prompt + t.token_completion AS token_total";

const SESSION_COLUMNS: &str = "SELECT ps.id, ps.session_id, ps.project_id, ps.start_ns, ps.end_ns, \
     CAST(COALESCE((SELECT SUM(t.token_prompt) FROM traces t WHERE t.session_id = ps.session_id), 0) AS BIGINT) AS token_prompt, \
     CAST(COALESCE((SELECT SUM(t.token_completion) FROM traces t WHERE t.session_id = ps.session_id), 0) AS BIGINT) AS token_completion, \
     CAST(COALESCE((SELECT SUM(t.token_prompt + t.token_completion) FROM traces t WHERE t.session_id = ps.session_id), 0) AS BIGINT) AS token_total \
     FROM sessions ps";

impl Store {
    /// One page of a project's spans: `limit + 1` rows, the extra one telling that a next page exists.
    pub async fn list_spans(&self, q: &SpanQuery) -> Result<Vec<SpanRow>> {
        self.fetch_all(&self.list_spans_sql(q)).await
    }

    /// The statement behind [`Store::list_spans`].
    pub(super) fn list_spans_sql<'q>(&self, q: &'q SpanQuery) -> Sql<'q> {
        // The page's ids first, then its rows: the inner query touches only the index and the
        // filtered columns, so however the planner runs it (after a bulk load PostgreSQL's
        // statistics are stale and it sorts every row before the cursor) only the page's rows
        // are read whole, with their large text and JSON (detoasted, converted to text).
        let mut sql = self.sql();
        sql.push("SELECT ")
            .push(span_columns(self.dialect()))
            .push(" FROM spans WHERE id IN (SELECT id FROM spans WHERE project_id = ")
            .bind(Param::I64(q.project_id));
        if let Some(start) = q.start_ns {
            sql.push(" AND start_ns >= ").bind(Param::I64(start));
        }
        if let Some(end) = q.end_ns {
            sql.push(" AND start_ns < ").bind(Param::I64(end));
        }
        if !q.trace_ids.is_empty() {
            sql.push(" AND trace_rowid IN (SELECT id FROM traces WHERE trace_id IN ");
            sql.bind_list(q.trace_ids.iter().map(|v| Param::Str(v)));
            sql.push(")");
        }
        if !q.span_ids.is_empty() {
            // Ids that are not 16 hex digits match no span.
            let keys: Vec<Param> = q.span_ids.iter().filter_map(|id| span_key(id)).map(Param::I64).collect();
            if keys.is_empty() {
                sql.push(" AND 1 = 0");
            } else {
                sql.push(" AND span_key IN ").bind_list(keys);
            }
        }
        push_in(&mut sql, "name", &q.names);
        push_in(&mut sql, "span_kind", &q.span_kinds);
        push_in(&mut sql, "status_code", &q.status_codes);
        push_in(&mut sql, "model_name", &q.model_names);
        match &q.parent_id {
            Some(Some(parent)) => {
                sql.push(" AND parent_id = ").bind(Param::Str(parent));
            }
            Some(None) => {
                sql.push(" AND parent_id IS NULL");
            }
            None => {}
        }
        for (path, value) in &q.attributes {
            push_attribute_filter(&mut sql, path, value);
        }
        if let Some(condition) = &q.condition {
            sql.push(" AND ");
            span_condition::render(&mut sql, condition);
        }
        let (cmp, dir) = if q.descending { ("<", "DESC") } else { (">", "ASC") };
        let cmp_eq = if q.descending { "<=" } else { ">=" };
        match (q.sort, q.cursor) {
            (SpanSort::Id, Some(c)) => {
                sql.push(&format!(" AND id {cmp_eq} ")).bind(Param::I64(c.id));
            }
            (SpanSort::StartTime, Some(c)) => {
                sql.push(&format!(" AND (start_ns {cmp} "))
                    .bind(Param::I64(c.start_ns))
                    .push(" OR (start_ns = ")
                    .bind(Param::I64(c.start_ns))
                    .push(&format!(" AND id {cmp_eq} "))
                    .bind(Param::I64(c.id))
                    .push("))");
            }
            (_, None) => {}
        }
        let order = match q.sort {
            SpanSort::Id => format!(" ORDER BY id {dir}"),
            SpanSort::StartTime => format!(" ORDER BY start_ns {dir}, id {dir}"),
        };
        sql.push(&order).push(" LIMIT ").bind(Param::I64(q.limit + 1)).push(")").push(&order);
        sql
    }

    /// Every span of one trace (by the trace's row id), in start order.
    pub async fn spans_of_trace(&self, trace_rowid: i64) -> Result<Vec<SpanRow>> {
        let mut sql = self.sql();
        sql.push("SELECT ")
            .push(span_columns(self.dialect()))
            .push(" FROM spans WHERE trace_rowid = ")
            .bind(Param::I64(trace_rowid))
            .push(" ORDER BY start_ns, id");
        self.fetch_all(&sql).await
    }

    /// The root spans of traces (by the traces' row ids), read through the trace index.
    pub async fn root_spans_of_traces(&self, trace_rowids: &[i64]) -> Result<Vec<SpanRow>> {
        if trace_rowids.is_empty() {
            return Ok(Vec::new());
        }
        self.fetch_all(&self.root_spans_sql(trace_rowids)).await
    }

    pub(super) fn root_spans_sql(&self, trace_rowids: &[i64]) -> Sql<'static> {
        let mut sql = self.sql();
        sql.push("SELECT ")
            .push(span_columns(self.dialect()))
            .push(" FROM spans WHERE trace_rowid IN ")
            .bind_list(trace_rowids.iter().map(|id| Param::I64(*id)))
            .push(" AND parent_id IS NULL ORDER BY start_ns, id");
        sql
    }

    /// A span by its row id or its OpenTelemetry span id.
    pub async fn find_span(&self, row_id: Option<i64>, span_id: &str) -> Result<Option<SpanRow>> {
        let mut sql = self.sql();
        sql.push("SELECT ").push(span_columns(self.dialect())).push(" FROM spans WHERE ");
        match row_id {
            Some(id) => sql.push("id = ").bind(Param::I64(id)),
            None => match span_key(span_id) {
                Some(key) => sql.push("span_key = ").bind(Param::I64(key)),
                None => return Ok(None),
            },
        };
        self.fetch_optional(&sql).await
    }

    /// Deletes one span (its children keep their parent id, as in Phoenix); false when absent.
    pub async fn delete_span(&self, id: i64) -> Result<bool> {
        let mut sql = self.sql();
        sql.push("DELETE FROM spans WHERE id = ").bind(Param::I64(id));
        let mark = super::rollups::mark_span(self.dialect(), id);
        let sums = super::rollups::recompute_without_span(self.dialect(), id);
        let deleted = self.execute_in_transaction(&[mark, sums, sql]).await?;
        Ok(deleted.last().copied().unwrap_or(0) > 0)
    }

    /// One page of a project's traces: `limit + 1` rows, the extra one starting the next page.
    pub async fn list_traces(&self, q: &TraceQuery) -> Result<Vec<TraceRow>> {
        let key = match q.sort {
            TraceSort::StartTime => "t.start_ns",
            TraceSort::Latency => "(t.end_ns - t.start_ns)",
        };
        let mut sql = self.sql();
        sql.push("SELECT t.id, t.trace_id, t.project_id, t.session_id, t.start_ns, t.end_ns, ")
            .push(TRACE_TOKENS)
            .push(" FROM traces t WHERE t.project_id = ")
            .bind(Param::I64(q.project_id));
        if let Some(start) = q.start_ns {
            sql.push(" AND t.start_ns >= ").bind(Param::I64(start));
        }
        if let Some(end) = q.end_ns {
            sql.push(" AND t.start_ns < ").bind(Param::I64(end));
        }
        push_in(&mut sql, "t.session_id", &q.session_ids);
        let (cmp, dir) = if q.descending { ("<", "DESC") } else { (">", "ASC") };
        let cmp_eq = if q.descending { "<=" } else { ">=" };
        if let Some(c) = q.cursor {
            sql.push(&format!(" AND ({key} {cmp} "))
                .bind(Param::I64(c.key))
                .push(&format!(" OR ({key} = "))
                .bind(Param::I64(c.key))
                .push(&format!(" AND t.id {cmp_eq} "))
                .bind(Param::I64(c.id))
                .push("))");
        }
        sql.push(&format!(" ORDER BY {key} {dir}, t.id {dir} LIMIT ")).bind(Param::I64(q.limit + 1));
        self.fetch_all(&sql).await
    }

    /// A trace by its row id or its OpenTelemetry trace id.
    pub async fn find_trace(&self, row_id: Option<i64>, trace_id: &str) -> Result<Option<TraceRow>> {
        let mut sql = self.sql();
        sql.push("SELECT t.id, t.trace_id, t.project_id, t.session_id, t.start_ns, t.end_ns, ")
            .push(TRACE_TOKENS)
            .push(" FROM traces t WHERE ");
        match row_id {
            Some(id) => sql.push("t.id = ").bind(Param::I64(id)),
            None => sql.push("t.trace_id = ").bind(Param::Str(trace_id)),
        };
        self.fetch_optional(&sql).await
    }

    /// Traces of one session, oldest first.
    pub async fn traces_of_session(&self, session_id: &str) -> Result<Vec<TraceRow>> {
        self.traces_of_sessions(&[session_id.to_owned()]).await
    }

    /// Traces of several sessions in one query, oldest first (without token sums).
    pub async fn traces_of_sessions(&self, session_ids: &[String]) -> Result<Vec<TraceRow>> {
        if session_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = self.sql();
        sql.push("SELECT t.id, t.trace_id, t.project_id, t.session_id, t.start_ns, t.end_ns, ")
            .push("NULL AS token_prompt, NULL AS token_completion, NULL AS token_total")
            .push(" FROM traces t WHERE t.session_id IN ")
            .bind_list(session_ids.iter().map(|id| Param::Str(id)))
            .push(" ORDER BY t.start_ns, t.id");
        self.fetch_all(&sql).await
    }

    /// Deletes a trace and its spans in one transaction; false when absent.
    pub async fn delete_trace(&self, trace: &TraceRow) -> Result<bool> {
        let mut spans = self.sql();
        spans.push("DELETE FROM spans WHERE trace_rowid = ").bind(Param::I64(trace.id));
        let mut traces = self.sql();
        traces.push("DELETE FROM traces WHERE id = ").bind(Param::I64(trace.id));
        let mark = super::rollups::mark_traces(self.dialect(), &[trace.id]);
        let deleted = self.execute_in_transaction(&[mark, spans, traces]).await?;
        Ok(deleted.last().copied().unwrap_or(0) > 0)
    }

    /// One page of a project's sessions: `limit + 1` rows, the extra one starting the next page.
    pub async fn list_sessions(&self, q: &SessionQuery) -> Result<Vec<SessionRow>> {
        self.fetch_all(&self.list_sessions_sql(q)).await
    }

    pub(super) fn list_sessions_sql(&self, q: &SessionQuery) -> Sql<'static> {
        let (cmp, dir) = if q.descending { ("<=", "DESC") } else { (">=", "ASC") };
        let mut sql = self.sql();
        sql.push(SESSION_COLUMNS).push(" WHERE ps.project_id = ").bind(Param::I64(q.project_id));
        if let Some(after) = q.from_id {
            sql.push(&format!(" AND ps.id {cmp} ")).bind(Param::I64(after));
        }
        sql.push(&format!(" ORDER BY ps.id {dir} LIMIT ")).bind(Param::I64(q.limit + 1));
        sql
    }

    /// A session by its row id or its user-provided session id.
    pub async fn find_session(&self, row_id: Option<i64>, session_id: &str) -> Result<Option<SessionRow>> {
        let mut sql = self.sql();
        sql.push(SESSION_COLUMNS).push(" WHERE ");
        match row_id {
            Some(id) => sql.push("ps.id = ").bind(Param::I64(id)),
            None => sql.push("ps.session_id = ").bind(Param::Str(session_id)),
        };
        self.fetch_optional(&sql).await
    }
}
