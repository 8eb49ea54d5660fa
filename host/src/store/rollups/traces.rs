//! Per-trace sums: the tokens and cost of a trace's LLM spans, kept on its `traces` row by the
//! span writer (and the backfill) as deltas, and recomputed from spans when a span is deleted.

use std::collections::BTreeMap;

use super::SpanFacts;
use crate::store::sql::{Dialect, Param, Sql};

/// Token and cost deltas by trace row id.
pub(crate) type TraceSums = BTreeMap<i64, (i64, i64, f64)>;

/// Adds one span of trace `trace_rowid` to `sums` (only LLM spans count).
pub(crate) fn add_trace_span(sums: &mut TraceSums, trace_rowid: i64, span: &SpanFacts<'_>) {
    if !span.is_llm {
        return;
    }
    let entry = sums.entry(trace_rowid).or_insert((0, 0, 0.0));
    entry.0 += span.token_prompt.unwrap_or(0);
    entry.1 += span.token_completion.unwrap_or(0);
    entry.2 += span.cost_total.unwrap_or(0.0);
}

/// One `UPDATE … FROM (VALUES …)` adding `sums` to their traces; `None` when there is nothing to
/// add. Rows go in trace order, the order the batch's trace upserts locked them in.
pub(crate) fn add_to_traces(dialect: Dialect, sums: &TraceSums) -> Option<Sql<'static>> {
    let sums: Vec<_> = sums.iter().filter(|(_, (p, c, cost))| *p != 0 || *c != 0 || *cost != 0.0).collect();
    if sums.is_empty() {
        return None;
    }
    let mut sql = Sql::new(dialect);
    sql.push(
        "UPDATE traces SET token_prompt = token_prompt + v.column2, \
         token_completion = token_completion + v.column3, cost_total = cost_total + v.column4 FROM (VALUES ",
    );
    for (i, (id, (prompt, completion, cost))) in sums.into_iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind_list([Param::I64(*id), Param::I64(*prompt), Param::I64(*completion), Param::F64(*cost)]);
    }
    sql.push(") AS v WHERE traces.id = v.column1");
    Some(sql)
}

/// The `llm.cost.total` of span alias `s` as the writer reads it (`rollups::cost_of`): a number,
/// on an LLM span; NULL otherwise.
pub(crate) fn cost_expr(dialect: Dialect, s: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!(
            "CASE WHEN {s}.span_kind = 'LLM' AND json_type({s}.attributes, '$.llm.cost.total') IN ('integer', 'real') \
             THEN CAST(json_extract({s}.attributes, '$.llm.cost.total') AS REAL) END"
        ),
        Dialect::Postgres => format!(
            "CASE WHEN {s}.span_kind = 'LLM' AND jsonb_typeof({s}.attributes #> '{{llm,cost,total}}') = 'number' \
             THEN CAST({s}.attributes #>> '{{llm,cost,total}}' AS DOUBLE PRECISION) END"
        ),
    }
}

/// The statement that recomputes the sums of the trace of span `span_row` from its spans other
/// than that one (those the backfill has counted): run it before deleting the span.
pub(crate) fn recompute_without_span(dialect: Dialect, span_row: i64) -> Sql<'static> {
    let counted = "s.trace_rowid = traces.id AND s.span_kind = 'LLM' AND s.id <> ";
    let below = " AND s.id >= (SELECT below_id FROM span_rollup_backfill WHERE id = 1)";
    let mut sql = Sql::new(dialect);
    sql.push(&format!("UPDATE traces SET token_prompt = (SELECT CAST(COALESCE(SUM(s.token_prompt), 0) AS BIGINT) FROM spans s WHERE {counted}"))
        .bind(Param::I64(span_row))
        .push(&format!("{below}), token_completion = (SELECT CAST(COALESCE(SUM(s.token_completion), 0) AS BIGINT) FROM spans s WHERE {counted}"))
        .bind(Param::I64(span_row))
        .push(&format!(
            "{below}), cost_total = (SELECT CAST(COALESCE(SUM({}), 0) AS DOUBLE PRECISION) FROM spans s WHERE {counted}",
            cost_expr(dialect, "s")
        ))
        .bind(Param::I64(span_row))
        .push(&format!("{below}) WHERE id = (SELECT trace_rowid FROM spans WHERE id = "))
        .bind(Param::I64(span_row))
        .push(")");
    sql
}
