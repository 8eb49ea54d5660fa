//! Read models for the web UI: per-project totals, a trace's light span tree, and the distinct
//! values the span filters offer.

use std::collections::HashMap;

use super::sql::{Dialect, Param};
use super::{Result, Store};

/// Totals of one project, as the projects page shows them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProjectStats {
    pub span_count: i64,
    pub trace_count: i64,
    /// Summed over LLM spans only, as Phoenix counts them.
    pub token_prompt: i64,
    pub token_completion: i64,
    /// Sum of `llm.cost.total` over LLM spans.
    pub cost_total: f64,
    pub last_start_ns: Option<i64>,
    /// Trace latency percentiles (root span durations).
    pub latency_p50_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
}

/// One span of a trace with only what the tree and the waterfall draw.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TreeSpanRow {
    pub span_id: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub span_kind: String,
    pub status_code: String,
    pub start_ns: i64,
    pub latency_ms: f64,
    pub model_name: Option<String>,
    pub token_total: Option<i64>,
}

/// A span column whose distinct values a filter picker lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanValueColumn {
    Name,
    Model,
}

/// Most distinct values a filter picker gets.
const MAX_DISTINCT: i64 = 200;

impl Store {
    /// Totals of each of `project_ids`, in four grouped queries whatever their number.
    pub async fn project_stats(&self, project_ids: &[i64]) -> Result<HashMap<i64, ProjectStats>> {
        let mut stats: HashMap<i64, ProjectStats> =
            project_ids.iter().map(|id| (*id, ProjectStats::default())).collect();
        if project_ids.is_empty() {
            return Ok(stats);
        }
        let ids = || project_ids.iter().map(|id| Param::I64(*id));
        let cost = match self.dialect() {
            Dialect::Sqlite => "json_extract(attributes, '$.llm.cost.total')",
            Dialect::Postgres => "CAST(attributes #>> '{llm,cost,total}' AS DOUBLE PRECISION)",
        };

        let mut sql = self.sql();
        sql.push("SELECT project_id, CAST(COUNT(*) AS BIGINT), CAST(MAX(start_ns) AS BIGINT) FROM spans WHERE project_id IN ");
        sql.bind_list(ids()).push(" GROUP BY project_id");
        let spans: Vec<(i64, i64, Option<i64>)> = self.fetch_all(&sql).await?;
        for (id, count, last) in spans {
            let entry = stats.entry(id).or_default();
            entry.span_count = count;
            entry.last_start_ns = last;
        }

        let mut sql = self.sql();
        sql.push("SELECT project_id, CAST(COALESCE(SUM(token_prompt), 0) AS BIGINT), ")
            .push("CAST(COALESCE(SUM(token_completion), 0) AS BIGINT), ")
            .push(&format!("CAST(COALESCE(SUM({cost}), 0) AS DOUBLE PRECISION) "))
            .push("FROM spans WHERE span_kind = 'LLM' AND project_id IN ");
        sql.bind_list(ids()).push(" GROUP BY project_id");
        let tokens: Vec<(i64, i64, i64, f64)> = self.fetch_all(&sql).await?;
        for (id, prompt, completion, cost) in tokens {
            let entry = stats.entry(id).or_default();
            entry.token_prompt = prompt;
            entry.token_completion = completion;
            entry.cost_total = cost;
        }

        let mut sql = self.sql();
        sql.push("SELECT project_id, CAST(COUNT(*) AS BIGINT) FROM traces WHERE project_id IN ");
        sql.bind_list(ids()).push(" GROUP BY project_id");
        let traces: Vec<(i64, i64)> = self.fetch_all(&sql).await?;
        for (id, count) in traces {
            stats.entry(id).or_default().trace_count = count;
        }

        // Nearest-rank percentiles of trace durations, every project in one pass.
        let mut sql = self.sql();
        sql.push(
            "SELECT project_id, rank_in_project, project_traces, latency FROM (\
             SELECT project_id, end_ns - start_ns AS latency, \
             ROW_NUMBER() OVER (PARTITION BY project_id ORDER BY end_ns - start_ns) AS rank_in_project, \
             COUNT(*) OVER (PARTITION BY project_id) AS project_traces \
             FROM traces WHERE project_id IN ",
        );
        sql.bind_list(ids()).push(
            ") ranked WHERE rank_in_project = CAST((project_traces * 50 + 99) / 100 AS BIGINT) \
             OR rank_in_project = CAST((project_traces * 99 + 99) / 100 AS BIGINT)",
        );
        let ranks: Vec<(i64, i64, i64, i64)> = self.fetch_all(&sql).await?;
        for (id, rank, count, latency_ns) in ranks {
            let entry = stats.entry(id).or_default();
            let ms = latency_ns as f64 / 1e6;
            if rank == (count * 50 + 99) / 100 {
                entry.latency_p50_ms = Some(ms);
            }
            if rank == (count * 99 + 99) / 100 {
                entry.latency_p99_ms = Some(ms);
            }
        }
        Ok(stats)
    }

    /// Every span of one trace (by the trace's row id), light columns only, in start order.
    pub async fn trace_tree(&self, trace_rowid: i64) -> Result<Vec<TreeSpanRow>> {
        let mut sql = self.sql();
        sql.push(
            "SELECT span_id, parent_id, name, span_kind, status_code, start_ns, latency_ms, model_name, \
             token_total FROM spans WHERE trace_rowid = ",
        )
        .bind(Param::I64(trace_rowid))
        .push(" ORDER BY start_ns, id");
        self.fetch_all(&sql).await
    }

    /// Distinct values of a span column in a project, for filter pickers (at most 200).
    pub async fn distinct_span_values(&self, project_id: i64, column: SpanValueColumn) -> Result<Vec<String>> {
        let column = match column {
            SpanValueColumn::Name => "name",
            SpanValueColumn::Model => "model_name",
        };
        let mut sql = self.sql();
        sql.push(&format!("SELECT DISTINCT {column} FROM spans WHERE project_id = "))
            .bind(Param::I64(project_id))
            .push(&format!(" AND {column} IS NOT NULL ORDER BY {column} LIMIT "))
            .bind(Param::I64(MAX_DISTINCT));
        let rows: Vec<(String,)> = self.fetch_all(&sql).await?;
        Ok(rows.into_iter().map(|(value,)| value).collect())
    }
}

impl Store {
    /// Number of spans of one trace (by the trace's row id).
    pub async fn trace_span_count(&self, trace_rowid: i64) -> Result<i64> {
        let mut sql = self.sql();
        sql.push("SELECT CAST(COUNT(*) AS BIGINT) FROM spans WHERE trace_rowid = ").bind(Param::I64(trace_rowid));
        let rows: Vec<(i64,)> = self.fetch_all(&sql).await?;
        Ok(rows.first().map_or(0, |(count,)| *count))
    }
}
