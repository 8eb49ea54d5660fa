//! Storing experiment evaluations: one upsert statement, keyed by (run, name), shared by the
//! REST route clients post evaluations to and the server-side evaluation worker.

use super::experiment_runs::NewEvaluation;
use super::jobs::EvaluationResult;
use super::sql::Param;
use super::{Sql, Store};

/// One evaluation row's values, borrowed from whichever side produced it.
#[derive(Debug, Clone, Copy)]
pub(super) struct EvaluationValues<'a> {
    pub run_id: i64,
    pub name: &'a str,
    pub annotator_kind: &'a str,
    pub label: Option<&'a str>,
    pub score: Option<f64>,
    pub explanation: Option<&'a str>,
    pub error: Option<&'a str>,
    pub error_kind: Option<&'a str>,
    /// JSON object text.
    pub metadata: &'a str,
    pub start_ns: i64,
    pub end_ns: i64,
    pub trace_id: Option<&'a str>,
    pub plugin_name: Option<&'a str>,
    pub plugin_version: Option<&'a str>,
    pub plugin_sha256: Option<&'a str>,
}

impl<'a> From<&'a EvaluationResult> for EvaluationValues<'a> {
    /// A server-side evaluation: a `CODE` annotator, with the plugin that produced it.
    fn from(e: &'a EvaluationResult) -> Self {
        Self {
            run_id: e.run_id,
            name: &e.name,
            annotator_kind: "CODE",
            label: e.label.as_deref(),
            score: e.score,
            explanation: e.explanation.as_deref(),
            error: e.error.as_deref(),
            error_kind: e.error_kind.as_deref(),
            metadata: &e.metadata,
            start_ns: e.start_ns,
            end_ns: e.end_ns,
            trace_id: None,
            plugin_name: Some(&e.plugin_name),
            plugin_version: Some(&e.plugin_version),
            plugin_sha256: Some(&e.plugin_sha256),
        }
    }
}

impl<'a> From<&'a NewEvaluation> for EvaluationValues<'a> {
    /// An evaluation a client posted: no plugin, no typed error kind.
    fn from(e: &'a NewEvaluation) -> Self {
        Self {
            run_id: e.experiment_run_id,
            name: &e.name,
            annotator_kind: &e.annotator_kind,
            label: e.label.as_deref(),
            score: e.score,
            explanation: e.explanation.as_deref(),
            error: e.error.as_deref(),
            error_kind: None,
            metadata: &e.metadata,
            start_ns: e.start_ns,
            end_ns: e.end_ns,
            trace_id: e.trace_id.as_deref(),
            plugin_name: None,
            plugin_version: None,
            plugin_sha256: None,
        }
    }
}

impl Store {
    /// `INSERT … ON CONFLICT (experiment_run_id, name) DO UPDATE` for `rows`, which must not
    /// repeat a (run, name) pair (PostgreSQL refuses to update a row twice in one statement).
    /// A non-finite score is stored as NULL.
    pub(super) fn evaluation_upsert<'a>(
        &self,
        rows: impl IntoIterator<Item = EvaluationValues<'a>>,
        now: i64,
    ) -> Sql<'a> {
        let mut sql = self.sql();
        sql.push(
            "INSERT INTO experiment_evaluations (experiment_run_id, name, annotator_kind, label, score, explanation, \
             error, error_kind, metadata, start_ns, end_ns, trace_id, plugin_name, plugin_version, plugin_sha256, \
             created_ns) VALUES ",
        );
        for (i, e) in rows.into_iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(Param::I64(e.run_id))
                .push(", ")
                .bind(Param::Str(e.name))
                .push(", ")
                .bind(Param::Str(e.annotator_kind))
                .push(", ")
                .bind(Param::OptStr(e.label))
                .push(", ");
            match e.score {
                Some(score) if score.is_finite() => sql.bind(Param::F64(score)),
                _ => sql.push("NULL"),
            };
            sql.push(", ")
                .bind(Param::OptStr(e.explanation))
                .push(", ")
                .bind(Param::OptStr(e.error))
                .push(", ")
                .bind(Param::OptStr(e.error_kind))
                .push(", ")
                .bind_json(e.metadata)
                .push(", ")
                .bind(Param::I64(e.start_ns))
                .push(", ")
                .bind(Param::I64(e.end_ns))
                .push(", ")
                .bind(Param::OptStr(e.trace_id))
                .push(", ")
                .bind(Param::OptStr(e.plugin_name))
                .push(", ")
                .bind(Param::OptStr(e.plugin_version))
                .push(", ")
                .bind(Param::OptStr(e.plugin_sha256))
                .push(", ")
                .bind(Param::I64(now))
                .push(")");
        }
        sql.push(
            " ON CONFLICT (experiment_run_id, name) DO UPDATE SET annotator_kind = excluded.annotator_kind, \
             label = excluded.label, score = excluded.score, explanation = excluded.explanation, error = excluded.error, \
             error_kind = excluded.error_kind, metadata = excluded.metadata, start_ns = excluded.start_ns, \
             end_ns = excluded.end_ns, trace_id = excluded.trace_id, plugin_name = excluded.plugin_name, \
             plugin_version = excluded.plugin_version, plugin_sha256 = excluded.plugin_sha256, \
             created_ns = excluded.created_ns",
        );
        sql
    }
}
