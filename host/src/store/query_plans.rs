//! Every span read path on an index, checked on both stores the way the databases decide: a
//! project of about 1,000,000 spans (250,000 traces of 4 spans, one error in 1,000) beside one of
//! 1,000, `ANALYZE`, then
//! `EXPLAIN QUERY PLAN` (SQLite) or `EXPLAIN` (PostgreSQL) of each listed query. A plan fails
//! when it reads `spans` without an index or when the index it searches does not constrain
//! every filtered column (a status filter answered by walking `spans_project_id` and testing
//! each row still reads the whole project).
//!
//! Each new span read path joins [`cases`]. Not listed yet, because no index serves them today:
//! root spans only (`parent_id IS NULL`), model and attribute filters. The projects page and a
//! project's header read rollups (`store::rollups`), not spans.

use super::reads::{SpanCursor, SpanQuery, SpanSort};
use super::span_condition::{Comparison, Literal, Operand, SpanCondition, TextColumn};
use super::temp_postgres::{on_postgres, on_sqlite};
use super::{Pools, Sql, Store};

const TRACES: i64 = 250_000;

/// The statement that fills project `big` (and a small project beside it).
fn seed(store: &Store) -> Vec<String> {
    let (series, hex32, hex16) = match store.dialect() {
        super::Dialect::Sqlite => (
            format!("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {TRACES})"),
            "printf('%032x', i)",
            "printf('%016x', t.id * 4 + k.k)",
        ),
        super::Dialect::Postgres => (
            format!("WITH n(i) AS (SELECT generate_series(CAST(1 AS BIGINT), {TRACES}))"),
            "lpad(to_hex(i), 32, '0')",
            "lpad(to_hex(t.id * 4 + k.k), 16, '0')",
        ),
    };
    vec![
        "INSERT INTO projects (name, created_ns, updated_ns) VALUES ('big', 0, 0), ('small', 0, 0)".to_owned(),
        format!(
            "{series} INSERT INTO traces (trace_id, project_id, session_id, start_ns, end_ns) \
             SELECT {hex32}, (SELECT id FROM projects WHERE name = CASE WHEN i % 1000 = 0 THEN 'small' ELSE 'big' END), \
             'session-' || (i / 4), i * 1000000, i * 1000000 + 500000 FROM n"
        ),
        format!(
            "INSERT INTO spans (project_id, trace_rowid, trace_id, span_id, span_key, parent_id, name, span_kind, \
             status_code, status_message, start_ns, end_ns, latency_ms, model_name, input_value, output_value, \
             session_id, attributes, events) \
             SELECT t.project_id, t.id, t.trace_id, {hex16}, t.id * 4 + k.k, \
             CASE WHEN k.k = 0 THEN NULL ELSE 'parent' END, \
             CASE WHEN t.id % 1000 = 5 AND k.k = 2 THEN 'span-rare' ELSE 'span-' || k.k END, \
             CASE WHEN t.id % 1000 = 3 AND k.k = 2 THEN 'TOOL' WHEN k.k = 3 THEN 'LLM' ELSE 'CHAIN' END, \
             CASE WHEN t.id % 1000 = 7 AND k.k = 1 THEN 'ERROR' ELSE 'OK' END, '', \
             t.start_ns + k.k, t.end_ns, 0.5, CASE WHEN k.k = 3 THEN 'gpt-4o' END, 'question', 'answer', \
             t.session_id, '{{\"llm\": {{\"model_name\": \"gpt-4o\"}}}}', '[]' \
             FROM traces t CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) k"
        ),
        "INSERT INTO sessions (session_id, project_id, start_ns, end_ns) \
         SELECT session_id, MIN(project_id), MIN(start_ns), MAX(end_ns) FROM traces GROUP BY session_id"
            .to_owned(),
        "ANALYZE".to_owned(),
    ]
}

/// Reads of spans other than span listings, with the columns their searches of `spans` must
/// constrain: the span-name picker, a page of sessions with their token sums, session turns.
fn statement_cases(store: &Store, project_id: i64) -> Vec<(&'static str, Sql<'static>, &'static [&'static str])> {
    let sessions = super::SessionQuery { project_id, descending: true, limit: 50, from_id: None };
    vec![
        // PostgreSQL's plan shows only the first seek of this loose index scan, by project.
        ("distinct span names", store.distinct_span_names_sql(project_id), &["project_id"][..]),
        // Its token sums are read from the sessions' trace rows: no span is read at all.
        ("sessions page with token sums", store.list_sessions_sql(&sessions), &[][..]),
        ("root spans of a session's traces", store.root_spans_sql(&[4242, 4243, 4244]), &["trace_rowid"][..]),
    ]
}

/// A span listing of project `big`, newest first, one page of 50.
fn listing(project_id: i64) -> SpanQuery {
    SpanQuery {
        project_id,
        sort: SpanSort::Id,
        descending: true,
        limit: 50,
        cursor: None,
        start_ns: None,
        end_ns: None,
        trace_ids: Vec::new(),
        span_ids: Vec::new(),
        parent_id: None,
        names: Vec::new(),
        span_kinds: Vec::new(),
        status_codes: Vec::new(),
        model_names: Vec::new(),
        attributes: Vec::new(),
        condition: None,
    }
}

fn text_eq(column: TextColumn, value: &str) -> SpanCondition {
    SpanCondition::Compare(Operand::Text(column), Comparison::Eq, Literal::Text(value.to_owned()))
}

/// Each listed read path and the columns its index search must constrain. The filters select
/// few spans. Unfiltered, a project that holds nearly every row may be read by walking the
/// primary key in page order (about one row read per row returned, which the planners rightly
/// prefer); a small project must be found through its own index.
fn cases(project_id: i64, dominant: bool) -> Vec<(&'static str, SpanQuery, &'static [&'static str])> {
    let base = || listing(project_id);
    let project: &'static [&'static str] = if dominant { &[] } else { &["project_id"] };
    let page: &'static [&'static str] = if dominant { &["id"] } else { &["project_id", "id"] };
    vec![
        ("span list, newest first", base(), project),
        ("span list by start time", SpanQuery { sort: SpanSort::StartTime, ..base() }, project),
        ("span list, next page", SpanQuery { cursor: Some(SpanCursor { start_ns: 0, id: 500_000 }), ..base() }, page),
        (
            "status filter",
            SpanQuery { status_codes: vec!["ERROR".into()], ..base() },
            &["project_id", "status_code"][..],
        ),
        (
            "status filter, next page",
            SpanQuery {
                status_codes: vec!["ERROR".into()],
                cursor: Some(SpanCursor { start_ns: 0, id: 500_000 }),
                ..base()
            },
            &["project_id", "status_code", "id"][..],
        ),
        ("kind filter", SpanQuery { span_kinds: vec!["TOOL".into()], ..base() }, &["project_id", "span_kind"][..]),
        ("name filter", SpanQuery { names: vec!["span-rare".into()], ..base() }, &["project_id", "name"][..]),
        (
            "time range by start time",
            SpanQuery {
                sort: SpanSort::StartTime,
                start_ns: Some(100_000_000_000),
                end_ns: Some(100_100_000_000),
                ..base()
            },
            &["project_id", "start_ns"][..],
        ),
        ("one trace", SpanQuery { trace_ids: vec![format!("{:032x}", 4242)], ..base() }, &["trace_rowid"][..]),
        ("span ids", SpanQuery { span_ids: vec![format!("{:016x}", 4242 * 4)], ..base() }, &["span_key"][..]),
        (
            "DSL status_code == 'ERROR'",
            SpanQuery { condition: Some(text_eq(TextColumn::StatusCode, "ERROR")), ..base() },
            &["project_id", "status_code"][..],
        ),
        (
            "DSL span_kind == 'TOOL' and name == 'span-2'",
            SpanQuery {
                condition: Some(SpanCondition::All(vec![
                    text_eq(TextColumn::SpanKind, "TOOL"),
                    text_eq(TextColumn::Name, "span-2"),
                ])),
                ..base()
            },
            &["project_id", "span_kind"][..],
        ),
    ]
}

/// The plan's lines: SQLite's `detail` column, PostgreSQL's text plan.
async fn plan(store: &Store, sql: &Sql<'_>) -> Vec<String> {
    match &store.pools {
        Pools::Sqlite { read, .. } => {
            let text = format!("EXPLAIN QUERY PLAN {}", sql.text());
            let args = sql.arguments::<sqlx::Sqlite>().expect("arguments");
            let rows: Vec<(i64, i64, i64, String)> =
                sqlx::query_as_with(&text, args).fetch_all(read).await.expect("explains");
            rows.into_iter().map(|(_, _, _, detail)| detail).collect()
        }
        Pools::Postgres { read, .. } => {
            let text = format!("EXPLAIN {}", sql.text());
            let args = sql.arguments::<sqlx::Postgres>().expect("arguments");
            let rows: Vec<(String,)> = sqlx::query_as_with(&text, args).fetch_all(read).await.expect("explains");
            rows.into_iter().map(|(line,)| line).collect()
        }
    }
}

/// Whether an index constraint such as `project_id=? AND rowid<?` (SQLite) or
/// `((project_id = $1) AND (id < $2))` (PostgreSQL) constrains `column`: by any comparison, or
/// for `id`, whose equality is only the lookup of a page's rows, by a range.
fn constrains(dialect: super::Dialect, constraint: &str, column: &str) -> bool {
    let spaced = if dialect == super::Dialect::Postgres { " " } else { "" };
    // SQLite names the integer primary key `rowid` when it searches the table by it.
    let names: &[&str] = if column == "id" { &["id", "rowid"] } else { &[column] };
    let ops: &[&str] = if column == "id" { &["<", ">"] } else { &["=", "<", ">"] };
    names.iter().any(|name| {
        constraint.match_indices(name).any(|(at, _)| {
            let before = constraint[..at].chars().next_back();
            let after = &constraint[at + name.len()..];
            before.is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
                && ops.iter().any(|op| after.starts_with(&format!("{spaced}{op}")))
        })
    })
}

/// Why `lines` do not serve `columns` from an index on `spans`, if they do not.
fn uncovered(store: &Store, lines: &[String], columns: &[&str]) -> Option<String> {
    let dialect = store.dialect();
    let (full_scan, constraints): (Option<&String>, Vec<&str>) = match dialect {
        // `SEARCH spans USING [COVERING] INDEX name (project_id=? AND status_code=?)`; a bare
        // `SCAN spans` (with or without an index) walks every row.
        // Queries that join name `spans` `s`.
        super::Dialect::Sqlite => (
            lines.iter().find(|l| l.starts_with("SCAN spans") || l.starts_with("SCAN s ") || *l == "SCAN s"),
            lines
                .iter()
                .filter(|l| l.starts_with("SEARCH spans USING") || l.starts_with("SEARCH s USING"))
                .filter_map(|l| l.split_once('(').map(|(_, c)| c))
                .collect(),
        ),
        super::Dialect::Postgres => (
            lines.iter().find(|l| l.contains("Seq Scan on spans")),
            lines.iter().filter_map(|l| l.split_once("Index Cond:").map(|(_, c)| c)).collect(),
        ),
    };
    if let Some(scan) = full_scan {
        return Some(format!("reads every row: {}", scan.trim()));
    }
    let missing: Vec<&&str> =
        columns.iter().filter(|c| !constraints.iter().any(|l| constrains(dialect, l, c))).collect();
    (!missing.is_empty()).then(|| format!("no index search constrains {missing:?}"))
}

#[test]
fn constraints_are_read_by_column() {
    use super::Dialect::{Postgres, Sqlite};
    assert!(constrains(Sqlite, "project_id=? AND status_code=?)", "status_code"));
    assert!(!constrains(Sqlite, "project_id=?)", "id"));
    assert!(constrains(Sqlite, "project_id=? AND rowid<?)", "id"));
    assert!(!constrains(Sqlite, "trace_rowid<?)", "id"));
    assert!(constrains(Sqlite, "project_id=? AND status_code=? AND id<?)", "id"));
    assert!(constrains(Postgres, " ((project_id = 1) AND (id < 500000))", "id"));
    assert!(!constrains(Postgres, " (id = spans_1.id)", "id"));
    assert!(constrains(Postgres, " (span_key = ANY ('{1}'::bigint[]))", "span_key"));
}

async fn every_span_read_path_searches_an_index(store: &Store) {
    for statement in seed(store) {
        let mut sql = store.sql();
        sql.push(&statement);
        store.execute(&sql).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    let mut failures = Vec::new();
    for project in ["big", "small"] {
        let project = store.project_by_name(project).await.expect("read").expect("project");
        let mut plans = Vec::new();
        for (name, query, columns) in cases(project.id, project.name == "big") {
            plans.push((name, plan(store, &store.list_spans_sql(&query)).await, columns));
        }
        for (name, sql, columns) in statement_cases(store, project.id) {
            plans.push((name, plan(store, &sql).await, columns));
        }
        for (name, lines, columns) in plans {
            if let Some(why) = uncovered(store, &lines, columns) {
                failures.push(format!("{} {name}: {why}\n    {}", project.name, lines.join("\n    ")));
            }
        }
    }
    assert!(failures.is_empty(), "{:?} plans without a covering index:\n{}", store.dialect(), failures.join("\n"));
}

#[tokio::test]
async fn sqlite_span_reads_search_an_index() {
    on_sqlite(every_span_read_path_searches_an_index).await;
}

#[tokio::test]
async fn postgres_span_reads_search_an_index() {
    on_postgres("query_plans", every_span_read_path_searches_an_index).await;
}
