//! Experiment runs and their evaluations, and what the server-side evaluation worker reads.
//!
//! Creating a run queues, in the same transaction, one `evaluation_jobs` row per evaluator
//! attached to the experiment. Re-posting a run for an (example, repetition) whose earlier run
//! failed replaces it: its jobs are reset to pending (attempts 0, due now) and its server-side
//! evaluations (those with a plugin name) deleted, so they are recomputed for the new output.
//! Re-posting over a successful run is refused (`StoreError::RunExists`), as Phoenix does.

use super::datasets::json_text;
use super::evaluations::EvaluationValues;
use super::sql::{Dialect, Param};
use super::tx::Tx;
use super::{Result, Store, StoreError};
use crate::time::now_ns;

/// One experiment run, its output as JSON text.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunRow {
    pub id: i64,
    pub experiment_id: i64,
    pub dataset_example_id: i64,
    pub repetition_number: i64,
    pub output: String,
    pub start_ns: i64,
    pub end_ns: i64,
    pub trace_id: Option<String>,
    pub error: Option<String>,
}

/// A run to record.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub experiment_id: i64,
    pub dataset_example_id: i64,
    pub repetition_number: i64,
    /// JSON text.
    pub output: String,
    pub start_ns: i64,
    pub end_ns: i64,
    pub trace_id: Option<String>,
    pub error: Option<String>,
}

/// One evaluation of a run; server-side ones carry the plugin that made them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EvaluationRow {
    pub id: i64,
    pub experiment_run_id: i64,
    pub name: String,
    pub annotator_kind: String,
    pub label: Option<String>,
    pub score: Option<f64>,
    pub explanation: Option<String>,
    pub error: Option<String>,
    pub error_kind: Option<String>,
    /// JSON object text.
    pub metadata: String,
    pub start_ns: i64,
    pub end_ns: i64,
    pub trace_id: Option<String>,
    pub plugin_name: Option<String>,
    pub plugin_version: Option<String>,
    pub plugin_sha256: Option<String>,
}

/// A client-posted evaluation (`POST /v1/experiment_evaluations`).
#[derive(Debug, Clone)]
pub struct NewEvaluation {
    pub experiment_run_id: i64,
    pub name: String,
    /// `LLM`, `CODE` or `HUMAN`.
    pub annotator_kind: String,
    pub label: Option<String>,
    pub score: Option<f64>,
    pub explanation: Option<String>,
    pub error: Option<String>,
    /// JSON object text.
    pub metadata: String,
    pub start_ns: i64,
    pub end_ns: i64,
    pub trace_id: Option<String>,
}

/// What an evaluator needs about a run: JSON texts of the run's output and of the example's
/// input, expected output and metadata at the experiment's dataset version.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunForEval {
    pub run_id: i64,
    pub experiment_id: i64,
    pub dataset_example_id: i64,
    pub repetition_number: i64,
    pub output: String,
    pub error: Option<String>,
    pub input: String,
    pub expected: String,
    pub metadata: String,
}

fn run_select(dialect: Dialect) -> String {
    format!(
        "SELECT id, experiment_id, dataset_example_id, repetition_number, {}, start_ns, end_ns, trace_id, error \
         FROM experiment_runs",
        json_text(dialect, "output", "output")
    )
}

fn evaluation_select(dialect: Dialect) -> String {
    format!(
        "SELECT ev.id, ev.experiment_run_id, ev.name, ev.annotator_kind, ev.label, ev.score, ev.explanation, \
         ev.error, ev.error_kind, {}, ev.start_ns, ev.end_ns, ev.trace_id, ev.plugin_name, ev.plugin_version, \
         ev.plugin_sha256 FROM experiment_evaluations ev JOIN experiment_runs ru ON ru.id = ev.experiment_run_id",
        json_text(dialect, "ev.metadata", "metadata")
    )
}

impl Store {
    /// Records a run and queues its evaluation jobs in one transaction; returns the run id.
    /// See the module documentation for re-posted runs.
    pub async fn upsert_run(&self, run: &NewRun) -> Result<i64> {
        let now = now_ns();
        let mut tx = self.begin().await?;
        let mut sql = tx.sql();
        sql.push("SELECT id, error FROM experiment_runs WHERE experiment_id = ")
            .bind(Param::I64(run.experiment_id))
            .push(" AND dataset_example_id = ")
            .bind(Param::I64(run.dataset_example_id))
            .push(" AND repetition_number = ")
            .bind(Param::I64(run.repetition_number));
        let existing: Option<(i64, Option<String>)> = tx.fetch_optional(&sql).await?;
        let run_id = match existing {
            Some((_, None)) => return Err(StoreError::RunExists),
            Some((id, Some(_))) => {
                replace_run(&mut tx, id, run, now).await?;
                id
            }
            None => {
                let mut sql = tx.sql();
                sql.push(
                    "INSERT INTO experiment_runs (experiment_id, dataset_example_id, repetition_number, output, \
                     start_ns, end_ns, trace_id, error, created_ns) VALUES (",
                )
                .bind(Param::I64(run.experiment_id))
                .push(", ")
                .bind(Param::I64(run.dataset_example_id))
                .push(", ")
                .bind(Param::I64(run.repetition_number))
                .push(", ")
                .bind_json(&run.output)
                .push(", ")
                .bind(Param::I64(run.start_ns))
                .push(", ")
                .bind(Param::I64(run.end_ns))
                .push(", ")
                .bind(Param::OptStr(run.trace_id.as_deref()))
                .push(", ")
                .bind(Param::OptStr(run.error.as_deref()))
                .push(", ")
                .bind(Param::I64(now))
                .push(") ON CONFLICT (experiment_id, dataset_example_id, repetition_number) DO NOTHING RETURNING id");
                let inserted: Option<(i64,)> = tx.fetch_optional(&sql).await?;
                inserted.ok_or(StoreError::RunExists)?.0
            }
        };
        let mut sql = tx.sql();
        sql.push(
            "INSERT INTO evaluation_jobs (evaluator_id, experiment_run_id, state, attempts, due_ns, created_ns, \
             updated_ns) SELECT id, ",
        )
        .bind(Param::I64(run_id))
        .push(", 'pending', 0, ")
        .bind(Param::I64(now))
        .push(", ")
        .bind(Param::I64(now))
        .push(", ")
        .bind(Param::I64(now))
        .push(" FROM experiment_evaluators WHERE experiment_id = ")
        .bind(Param::I64(run.experiment_id))
        .push(" ON CONFLICT (evaluator_id, experiment_run_id) DO NOTHING");
        tx.execute(&sql).await?;
        tx.commit().await?;
        Ok(run_id)
    }

    /// A run by row id.
    pub async fn run_by_id(&self, id: i64) -> Result<Option<RunRow>> {
        let select = run_select(self.dialect());
        let mut sql = self.sql();
        sql.push(&select).push(" WHERE id = ").bind(Param::I64(id));
        self.fetch_optional(&sql).await
    }

    /// An experiment's runs oldest first, from `from_id` (inclusive); every run when `limit` is `None`.
    pub async fn list_runs(&self, experiment_id: i64, from_id: Option<i64>, limit: Option<i64>) -> Result<Vec<RunRow>> {
        let select = run_select(self.dialect());
        let mut sql = self.sql();
        sql.push(&select)
            .push(" WHERE experiment_id = ")
            .bind(Param::I64(experiment_id))
            .push(" AND id >= ")
            .bind(Param::I64(from_id.unwrap_or(0)))
            .push(" ORDER BY id");
        if let Some(limit) = limit {
            sql.push(" LIMIT ").bind(Param::I64(limit));
        }
        self.fetch_all(&sql).await
    }

    /// Inserts or replaces the evaluation named `name` of a run; returns its id. A client-posted
    /// evaluation replacing a server-side one clears the plugin columns.
    pub async fn upsert_evaluation(&self, eval: &NewEvaluation) -> Result<i64> {
        let mut tx = self.begin().await?;
        let mut sql = self.evaluation_upsert([EvaluationValues::from(eval)], now_ns());
        sql.push(" RETURNING id");
        let id = tx.returning_id(&sql).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Every evaluation of an experiment's runs, by run then name.
    pub async fn experiment_evaluations(&self, experiment_id: i64) -> Result<Vec<EvaluationRow>> {
        let select = evaluation_select(self.dialect());
        let mut sql = self.sql();
        sql.push(&select)
            .push(" WHERE ru.experiment_id = ")
            .bind(Param::I64(experiment_id))
            .push(" ORDER BY ev.experiment_run_id, ev.name");
        self.fetch_all(&sql).await
    }

    /// A run's output with its example's input, expected output and metadata at the experiment's
    /// dataset version; `None` when the run does not exist.
    pub async fn experiment_run_for_eval(&self, run_id: i64) -> Result<Option<RunForEval>> {
        let d = self.dialect();
        let select = format!(
            "SELECT ru.id AS run_id, ru.experiment_id, ru.dataset_example_id, ru.repetition_number, {}, ru.error, \
             {}, {}, {} FROM experiment_runs ru JOIN experiments x ON x.id = ru.experiment_id \
             JOIN dataset_example_revisions r ON r.example_id = ru.dataset_example_id \
             WHERE r.id = (SELECT r2.id FROM dataset_example_revisions r2 WHERE r2.example_id = ru.dataset_example_id \
             AND r2.version_id <= x.dataset_version_id ORDER BY r2.version_id DESC LIMIT 1) AND ru.id = ",
            json_text(d, "ru.output", "output"),
            json_text(d, "r.input", "input"),
            json_text(d, "r.output", "expected"),
            json_text(d, "r.metadata", "metadata"),
        );
        let mut sql = self.sql();
        sql.push(&select).bind(Param::I64(run_id));
        self.fetch_optional(&sql).await
    }
}

/// Overwrites a failed run with a new attempt, resets its jobs and drops server-side evaluations.
async fn replace_run(tx: &mut Tx, id: i64, run: &NewRun, now: i64) -> Result<()> {
    let mut sql = tx.sql();
    sql.push("UPDATE experiment_runs SET output = ")
        .bind_json(&run.output)
        .push(", start_ns = ")
        .bind(Param::I64(run.start_ns))
        .push(", end_ns = ")
        .bind(Param::I64(run.end_ns))
        .push(", trace_id = ")
        .bind(Param::OptStr(run.trace_id.as_deref()))
        .push(", error = ")
        .bind(Param::OptStr(run.error.as_deref()))
        .push(" WHERE id = ")
        .bind(Param::I64(id));
    tx.execute(&sql).await?;
    let mut sql = tx.sql();
    sql.push("DELETE FROM experiment_evaluations WHERE plugin_name IS NOT NULL AND experiment_run_id = ")
        .bind(Param::I64(id));
    tx.execute(&sql).await?;
    let mut sql = tx.sql();
    sql.push("UPDATE evaluation_jobs SET state = 'pending', attempts = 0, lease_until_ns = NULL, last_error = NULL, due_ns = ")
        .bind(Param::I64(now))
        .push(", updated_ns = ")
        .bind(Param::I64(now))
        .push(" WHERE experiment_run_id = ")
        .bind(Param::I64(id));
    tx.execute(&sql).await?;
    Ok(())
}
