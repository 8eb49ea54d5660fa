//! Inserting a batch's span rows, in the form each backend takes fastest.
//!
//! SQLite gets multi-row `INSERT … VALUES` statements: its statements are compiled in-process, so
//! a bind parameter costs next to nothing. PostgreSQL gets one `INSERT … SELECT FROM UNNEST` with
//! one array per column: a 400-row `VALUES` list has 9,600 parameters that the server parses,
//! plans and type-checks one by one, where the arrays are 24 parameters whatever the batch size,
//! and the statement text (so its prepared plan) is the same for every batch.

use sqlx::postgres::PgConnection;
use sqlx::sqlite::SqliteConnection;

use super::sql::{Dialect, Param, Sql};
use super::write::span_key;
use super::Result;
use crate::model::SpanRecord;

/// Rows per multi-row SQLite INSERT: 24 columns × 400 rows stays well under SQLite's limit of
/// 32,766 bind parameters while amortising statement overhead.
const SQLITE_ROWS_PER_STATEMENT: usize = 400;

/// A span ready to insert: the record, its project's id and its trace's row id.
pub(super) type SpanRow<'a> = (&'a SpanRecord, i64, i64);

const COLUMNS: &str = "project_id, trace_rowid, trace_id, span_id, span_key, parent_id, name, span_kind, \
     status_code, status_message, start_ns, end_ns, latency_ms, model_name, token_prompt, token_completion, \
     token_total, input_value, input_mime_type, output_value, output_mime_type, session_id, attributes, events";

/// Inserts `rows` on SQLite; returns the span keys of those that were new (a known span key is
/// skipped).
pub(super) async fn insert_sqlite(conn: &mut SqliteConnection, rows: &[SpanRow<'_>]) -> Result<Vec<i64>> {
    let mut inserted = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(SQLITE_ROWS_PER_STATEMENT) {
        let sql = values_sql(chunk);
        let args = sql.arguments::<sqlx::Sqlite>()?;
        inserted.extend(sqlx::query_scalar_with::<_, i64, _>(sql.text(), args).fetch_all(&mut *conn).await?);
    }
    Ok(inserted)
}

fn values_sql<'a>(chunk: &[SpanRow<'a>]) -> Sql<'a> {
    let mut sql = Sql::new(Dialect::Sqlite);
    sql.push("INSERT INTO spans (").push(COLUMNS).push(") VALUES ");
    for (i, (span, project_id, trace_rowid)) in chunk.iter().enumerate() {
        sql.push(if i == 0 { "(" } else { ", (" });
        for param in [
            Param::I64(*project_id),
            Param::I64(*trace_rowid),
            Param::Str(&span.trace_id),
            Param::Str(&span.span_id),
            Param::I64(span_key(&span.span_id).unwrap_or_default()),
            Param::OptStr(span.parent_id.as_deref()),
            Param::Str(&span.name),
            Param::Str(&span.span_kind),
            Param::Str(span.status_code),
            Param::Str(&span.status_message),
            Param::I64(span.start_ns),
            Param::I64(span.end_ns),
            Param::F64(span.latency_ms()),
            Param::OptStr(span.model_name.as_deref()),
            Param::OptI64(span.token_prompt),
            Param::OptI64(span.token_completion),
            Param::OptI64(span.token_total),
            Param::OptStr(span.input_value.as_deref()),
            Param::OptStr(span.input_mime_type.as_deref()),
            Param::OptStr(span.output_value.as_deref()),
            Param::OptStr(span.output_mime_type.as_deref()),
            Param::OptStr(span.session_id.as_deref()),
            Param::Str(&span.attributes),
        ] {
            sql.bind(param).push(", ");
        }
        sql.bind(Param::Str(&span.events)).push(")");
    }
    sql.push(" ON CONFLICT (span_key) DO NOTHING RETURNING span_key");
    sql
}

/// The PostgreSQL statement: one array per column, JSON documents sent as text and cast.
/// `ON CONFLICT DO NOTHING` also skips a span id repeated within the arrays.
fn unnest_sql() -> String {
    format!(
        "INSERT INTO spans ({COLUMNS}) \
         SELECT project_id, trace_rowid, trace_id, span_id, span_key, parent_id, name, span_kind, status_code, \
         status_message, start_ns, end_ns, latency_ms, model_name, token_prompt, token_completion, token_total, \
         input_value, input_mime_type, output_value, output_mime_type, session_id, attributes::jsonb, events::jsonb \
         FROM UNNEST($1::int8[], $2::int8[], $3::text[], $4::text[], $5::int8[], $6::text[], $7::text[], \
         $8::text[], $9::text[], $10::text[], $11::int8[], $12::int8[], $13::float8[], $14::text[], $15::int8[], \
         $16::int8[], $17::int8[], $18::text[], $19::text[], $20::text[], $21::text[], $22::text[], $23::text[], \
         $24::text[]) AS t({COLUMNS}) \
         ON CONFLICT (span_key) DO NOTHING RETURNING span_key"
    )
}

/// Inserts `rows` on PostgreSQL in one statement; returns the span keys of those that were new.
///
/// Rows go in span-key order: concurrent transactions (the writer's lanes, replicas) that hold
/// some of the same spans (a client's retry) then wait on each other instead of deadlocking.
pub(super) async fn insert_postgres(conn: &mut PgConnection, rows: &[SpanRow<'_>]) -> Result<Vec<i64>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = rows.to_vec();
    rows.sort_unstable_by_key(|r| span_key(&r.0.span_id).unwrap_or_default());
    let column = |f: fn(&SpanRow<'_>) -> i64| rows.iter().map(f).collect::<Vec<i64>>();
    let opt_i64 = |f: fn(&SpanRecord) -> Option<i64>| rows.iter().map(|r| f(r.0)).collect::<Vec<_>>();
    let text = |f: for<'r> fn(&'r SpanRecord) -> &'r str| rows.iter().map(|r| f(r.0)).collect::<Vec<&str>>();
    let opt_text =
        |f: for<'r> fn(&'r SpanRecord) -> Option<&'r str>| rows.iter().map(|r| f(r.0)).collect::<Vec<Option<&str>>>();
    let statement = unnest_sql();
    let inserted = sqlx::query_scalar::<_, i64>(&statement)
        .bind(column(|r| r.1))
        .bind(column(|r| r.2))
        .bind(text(|s| &s.trace_id))
        .bind(text(|s| &s.span_id))
        .bind(rows.iter().map(|r| span_key(&r.0.span_id).unwrap_or_default()).collect::<Vec<i64>>())
        .bind(opt_text(|s| s.parent_id.as_deref()))
        .bind(text(|s| &s.name))
        .bind(text(|s| &s.span_kind))
        .bind(text(|s| s.status_code))
        .bind(text(|s| &s.status_message))
        .bind(column(|r| r.0.start_ns))
        .bind(column(|r| r.0.end_ns))
        .bind(rows.iter().map(|r| r.0.latency_ms()).collect::<Vec<f64>>())
        .bind(opt_text(|s| s.model_name.as_deref()))
        .bind(opt_i64(|s| s.token_prompt))
        .bind(opt_i64(|s| s.token_completion))
        .bind(opt_i64(|s| s.token_total))
        .bind(opt_text(|s| s.input_value.as_deref()))
        .bind(opt_text(|s| s.input_mime_type.as_deref()))
        .bind(opt_text(|s| s.output_value.as_deref()))
        .bind(opt_text(|s| s.output_mime_type.as_deref()))
        .bind(opt_text(|s| s.session_id.as_deref()))
        .bind(text(|s| &s.attributes))
        .bind(text(|s| &s.events))
        .fetch_all(conn)
        .await?;
    Ok(inserted)
}
