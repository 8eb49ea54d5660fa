//! Read models for the web UI: per-project totals, a trace's light span tree, and the distinct
//! values the span filters offer.

use std::collections::HashMap;

use super::sql::{Param, Sql};
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
    /// Totals of each of `project_ids`, from their rollups: the cost grows with the hours of
    /// spans a project holds, not with its spans.
    pub async fn project_stats(&self, project_ids: &[i64]) -> Result<HashMap<i64, ProjectStats>> {
        let mut stats: HashMap<i64, ProjectStats> =
            project_ids.iter().map(|id| (*id, ProjectStats::default())).collect();
        for (id, rollup) in self.project_rollups(project_ids).await? {
            stats.insert(
                id,
                ProjectStats {
                    span_count: rollup.span_count,
                    trace_count: rollup.root_count,
                    token_prompt: rollup.token_prompt,
                    token_completion: rollup.token_completion,
                    cost_total: rollup.cost_total,
                    last_start_ns: Some(rollup.last_start_ns),
                    latency_p50_ms: rollup.latency_quantile(0.5),
                    latency_p99_ms: rollup.latency_quantile(0.99),
                },
            );
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
        match column {
            SpanValueColumn::Name => self.distinct_span_names(project_id).await,
            SpanValueColumn::Model => {
                let rollups = self.project_rollups(&[project_id]).await?;
                let models = rollups.into_values().next().map(|rollup| rollup.models).unwrap_or_default();
                Ok(models.into_iter().take(MAX_DISTINCT as usize).collect())
            }
        }
    }

    /// Distinct span names in name order, one index seek per name (a loose index scan of
    /// `spans_project_name`) instead of a pass over every span of the project.
    async fn distinct_span_names(&self, project_id: i64) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = self.fetch_all(&self.distinct_span_names_sql(project_id)).await?;
        Ok(rows.into_iter().map(|(value,)| value).collect())
    }

    pub(super) fn distinct_span_names_sql(&self, project_id: i64) -> Sql<'static> {
        let mut sql = self.sql();
        sql.push("WITH RECURSIVE names (name) AS (SELECT MIN(name) FROM spans WHERE project_id = ")
            .bind(Param::I64(project_id))
            .push(" UNION ALL SELECT (SELECT MIN(s.name) FROM spans s WHERE s.project_id = ")
            .bind(Param::I64(project_id))
            .push(
                " AND s.name > names.name) FROM names WHERE names.name IS NOT NULL) \
                 SELECT name FROM names WHERE name IS NOT NULL LIMIT ",
            )
            .bind(Param::I64(MAX_DISTINCT));
        sql
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
