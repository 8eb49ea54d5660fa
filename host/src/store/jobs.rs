//! Server-side evaluation: evaluators attached to experiments and the durable job rows that
//! run each evaluator over each run, claimed with leases so that a crashed server's work is
//! taken up again and finished work is never redone.

use std::collections::HashMap;

use super::sql::Param;
use super::write::now_ns;
use super::{Dialect, Result, Sql, Store, StoreError};

/// An evaluator plugin attached to an experiment.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EvaluatorRow {
    pub id: i64,
    pub experiment_id: i64,
    pub plugin_id: i64,
    /// The evaluation name its scores are stored under.
    pub name: String,
    /// Configuration handed to the plugin (JSON text).
    pub config: String,
    pub created_ns: i64,
}

/// An evaluator to attach.
#[derive(Debug, Clone)]
pub struct NewEvaluator {
    pub plugin_id: i64,
    pub name: String,
    pub config: String,
}

/// A job this server holds the lease of.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct ClaimedJob {
    pub id: i64,
    pub evaluator_id: i64,
    pub experiment_run_id: i64,
    /// Attempts so far, this one included.
    pub attempts: i64,
}

/// What an evaluator is given for one run: JSON texts.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunInput {
    pub run_id: i64,
    pub input: String,
    pub output: String,
    pub expected: String,
    pub metadata: String,
}

/// Jobs of an experiment by state, for one evaluator or all.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct JobCounts {
    pub pending: i64,
    pub running: i64,
    pub done: i64,
    pub failed: i64,
    pub total: i64,
}

/// One evaluation (named result) to store for a run.
#[derive(Debug, Clone)]
pub struct EvaluationResult {
    pub run_id: i64,
    pub name: String,
    pub label: Option<String>,
    pub score: Option<f64>,
    pub explanation: Option<String>,
    pub error: Option<String>,
    pub error_kind: Option<String>,
    /// JSON object text.
    pub metadata: String,
    pub start_ns: i64,
    pub end_ns: i64,
    pub plugin_name: String,
    pub plugin_version: String,
    pub plugin_sha256: String,
}

/// How a finished job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEnd {
    /// The plugin scored the run.
    Done,
    /// The plugin failed for good; the evaluation records its typed error.
    Failed,
}

/// A job whose work is over, with the evaluations it produced.
#[derive(Debug, Clone)]
pub struct FinishedJob {
    pub job_id: i64,
    pub end: JobEnd,
    pub evaluations: Vec<EvaluationResult>,
}

/// Rows per multi-row INSERT: 16 parameters each, well under both databases' limits.
const INSERT_CHUNK: usize = 1_000;

impl Store {
    /// Attaches evaluators to an experiment and queues a job for each of its existing runs, in one
    /// transaction. A name already attached is `StoreError::EvaluatorExists`.
    pub async fn attach_evaluators(
        &self,
        experiment_id: i64,
        evaluators: &[NewEvaluator],
    ) -> Result<Vec<EvaluatorRow>> {
        let now = now_ns();
        let existing = self.evaluators(experiment_id).await?;
        if let Some(taken) = evaluators.iter().find(|new| existing.iter().any(|old| old.name == new.name)) {
            return Err(StoreError::EvaluatorExists(taken.name.clone()));
        }
        let mut statements = Vec::with_capacity(evaluators.len() + 1);
        for evaluator in evaluators {
            let mut sql = self.sql();
            sql.push("INSERT INTO experiment_evaluators (experiment_id, plugin_id, name, config, created_ns) VALUES (")
                .bind(Param::I64(experiment_id))
                .push(", ")
                .bind(Param::I64(evaluator.plugin_id))
                .push(", ")
                .bind(Param::Str(&evaluator.name))
                .push(", ")
                .bind_json(&evaluator.config)
                .push(", ")
                .bind(Param::I64(now))
                .push(")");
            statements.push(sql);
        }
        let mut jobs = self.sql();
        jobs.push(
            "INSERT INTO evaluation_jobs (evaluator_id, experiment_run_id, state, attempts, due_ns, created_ns, updated_ns) \
             SELECT e.id, r.id, 'pending', 0, ",
        )
        .bind(Param::I64(now))
        .push(", ")
        .bind(Param::I64(now))
        .push(", ")
        .bind(Param::I64(now))
        .push(" FROM experiment_evaluators e JOIN experiment_runs r ON r.experiment_id = e.experiment_id WHERE e.experiment_id = ")
        .bind(Param::I64(experiment_id))
        .push(" AND e.name IN ")
        .bind_list(evaluators.iter().map(|e| Param::Str(&e.name)))
        .push(" ON CONFLICT (evaluator_id, experiment_run_id) DO NOTHING");
        statements.push(jobs);
        match self.execute_in_transaction(&statements).await {
            Ok(_) => {}
            Err(StoreError::Database(sqlx::Error::Database(db))) if db.is_unique_violation() => {
                return Err(StoreError::EvaluatorExists(evaluators.first().map(|e| e.name.clone()).unwrap_or_default()))
            }
            Err(StoreError::Database(sqlx::Error::Database(db))) if db.is_foreign_key_violation() => {
                return Err(StoreError::Database(sqlx::Error::RowNotFound))
            }
            Err(err) => return Err(err),
        }
        let names: Vec<&str> = evaluators.iter().map(|e| e.name.as_str()).collect();
        Ok(self.evaluators(experiment_id).await?.into_iter().filter(|e| names.contains(&e.name.as_str())).collect())
    }

    /// The evaluators attached to an experiment, in attachment order.
    pub async fn evaluators(&self, experiment_id: i64) -> Result<Vec<EvaluatorRow>> {
        let mut sql = self.sql();
        sql.push(evaluator_columns(self.dialect())).push(" WHERE experiment_id = ").bind(Param::I64(experiment_id));
        sql.push(" ORDER BY id");
        self.fetch_all(&sql).await
    }

    /// Evaluators by id.
    pub async fn evaluators_by_id(&self, ids: &[i64]) -> Result<Vec<EvaluatorRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = self.sql();
        sql.push(evaluator_columns(self.dialect()))
            .push(" WHERE id IN ")
            .bind_list(ids.iter().map(|id| Param::I64(*id)));
        self.fetch_all(&sql).await
    }

    /// Job counts by evaluator id for an experiment.
    pub async fn job_counts(&self, experiment_id: i64) -> Result<HashMap<i64, JobCounts>> {
        let mut sql = self.sql();
        sql.push(
            "SELECT j.evaluator_id, j.state, COUNT(*) FROM evaluation_jobs j \
             JOIN experiment_evaluators e ON e.id = j.evaluator_id WHERE e.experiment_id = ",
        )
        .bind(Param::I64(experiment_id))
        .push(" GROUP BY j.evaluator_id, j.state");
        let rows: Vec<(i64, String, i64)> = self.fetch_all(&sql).await?;
        let mut counts: HashMap<i64, JobCounts> = HashMap::new();
        for (evaluator, state, count) in rows {
            let entry = counts.entry(evaluator).or_default();
            match state.as_str() {
                "pending" => entry.pending += count,
                "running" => entry.running += count,
                "done" => entry.done += count,
                _ => entry.failed += count,
            }
            entry.total += count;
        }
        Ok(counts)
    }

    /// Leases up to `limit` jobs that are due (pending, or running under an expired lease) until
    /// `lease_until_ns`. Every job of one claim shares that lease value, which finishing checks.
    pub async fn claim_jobs(&self, limit: i64, lease_until_ns: i64) -> Result<Vec<ClaimedJob>> {
        let now = now_ns();
        let mut sql = self.sql();
        sql.push("UPDATE evaluation_jobs SET state = 'running', attempts = attempts + 1, lease_until_ns = ")
            .bind(Param::I64(lease_until_ns))
            .push(", updated_ns = ")
            .bind(Param::I64(now))
            .push(" WHERE id IN (SELECT id FROM evaluation_jobs WHERE (state = 'pending' AND due_ns <= ")
            .bind(Param::I64(now))
            .push(") OR (state = 'running' AND lease_until_ns < ")
            .bind(Param::I64(now))
            .push(") ORDER BY due_ns, id LIMIT ")
            .bind(Param::I64(limit));
        if self.dialect() == Dialect::Postgres {
            sql.push(" FOR UPDATE SKIP LOCKED");
        }
        sql.push(") RETURNING id, evaluator_id, experiment_run_id, attempts");
        self.fetch_all_writing(&sql).await
    }

    /// What each run's evaluators are given: the run's output and its example (input, expected
    /// output, metadata) as of the experiment's dataset version.
    pub async fn run_inputs(&self, run_ids: &[i64]) -> Result<Vec<RunInput>> {
        if run_ids.is_empty() {
            return Ok(Vec::new());
        }
        let text = |column: &str| match self.dialect() {
            Dialect::Sqlite => column.to_owned(),
            Dialect::Postgres => format!("{column}::text"),
        };
        let mut sql = self.sql();
        sql.push(&format!(
            "SELECT r.id AS run_id, {} AS input, {} AS output, {} AS expected, {} AS metadata \
             FROM experiment_runs r JOIN experiments x ON x.id = r.experiment_id \
             JOIN dataset_example_revisions v ON v.example_id = r.dataset_example_id AND v.version_id = \
             (SELECT MAX(w.version_id) FROM dataset_example_revisions w \
              WHERE w.example_id = r.dataset_example_id AND w.version_id <= x.dataset_version_id) \
             WHERE r.id IN ",
            text("v.input"),
            text("r.output"),
            text("v.output"),
            text("v.metadata")
        ))
        .bind_list(run_ids.iter().map(|id| Param::I64(*id)));
        self.fetch_all(&sql).await
    }

    /// Stores finished jobs' evaluations and marks them done or failed, in one transaction, but
    /// only if this server still holds their lease (`lease_until_ns`); returns how many it
    /// finished. A job whose lease was lost was taken over by another worker and is skipped.
    pub async fn finish_jobs(&self, jobs: &[FinishedJob], lease_until_ns: i64) -> Result<usize> {
        if jobs.is_empty() {
            return Ok(0);
        }
        let now = now_ns();
        // Fast path: every lease still held, one transaction for the whole claim.
        let mut statements = Vec::new();
        for (end, state) in [(JobEnd::Done, "done"), (JobEnd::Failed, "failed")] {
            let ids: Vec<i64> = jobs.iter().filter(|job| job.end == end).map(|job| job.job_id).collect();
            for chunk in ids.chunks(INSERT_CHUNK) {
                statements.push(self.finish_statement(state, chunk, lease_until_ns, now));
            }
        }
        let evaluations: Vec<&EvaluationResult> = jobs.iter().flat_map(|job| &job.evaluations).collect();
        for chunk in evaluations.chunks(INSERT_CHUNK) {
            statements.push(self.upsert_evaluations(chunk, now));
        }
        let updates = statements.len() - evaluations.chunks(INSERT_CHUNK).len();
        let expected = jobs.len() as u64;
        match self.execute_in_transaction_checked(&statements, updates, expected).await? {
            true => Ok(jobs.len()),
            // Some lease was lost: finish job by job, each only if still held.
            false => {
                let mut finished = 0;
                for job in jobs {
                    let state = if job.end == JobEnd::Done { "done" } else { "failed" };
                    let mut one = vec![self.finish_statement(state, &[job.job_id], lease_until_ns, now)];
                    let refs: Vec<&EvaluationResult> = job.evaluations.iter().collect();
                    if !refs.is_empty() {
                        one.push(self.upsert_evaluations(&refs, now));
                    }
                    if self.execute_in_transaction_checked(&one, 1, 1).await? {
                        finished += 1;
                    }
                }
                Ok(finished)
            }
        }
    }

    /// Puts jobs back to pending, due at `due_ns`, if this server still holds their lease;
    /// `error` records why (a transient failure).
    pub async fn retry_jobs(&self, job_ids: &[i64], lease_until_ns: i64, due_ns: i64, error: &str) -> Result<u64> {
        let mut total = 0;
        for chunk in job_ids.chunks(INSERT_CHUNK) {
            let mut sql = self.sql();
            sql.push("UPDATE evaluation_jobs SET state = 'pending', lease_until_ns = NULL, due_ns = ")
                .bind(Param::I64(due_ns))
                .push(", last_error = ")
                .bind(Param::Str(error))
                .push(", updated_ns = ")
                .bind(Param::I64(now_ns()))
                .push(" WHERE state = 'running' AND lease_until_ns = ")
                .bind(Param::I64(lease_until_ns))
                .push(" AND id IN ")
                .bind_list(chunk.iter().map(|id| Param::I64(*id)));
            total += self.execute(&sql).await?;
        }
        Ok(total)
    }

    fn finish_statement<'a>(&self, state: &'static str, ids: &[i64], lease_until_ns: i64, now: i64) -> Sql<'a> {
        let mut sql = self.sql();
        sql.push("UPDATE evaluation_jobs SET state = '")
            .push(state)
            .push("', lease_until_ns = NULL, last_error = NULL, updated_ns = ")
            .bind(Param::I64(now))
            .push(" WHERE state = 'running' AND lease_until_ns = ")
            .bind(Param::I64(lease_until_ns))
            .push(" AND id IN ")
            .bind_list(ids.iter().map(|id| Param::I64(*id)));
        sql
    }

    fn upsert_evaluations<'a>(&self, evaluations: &[&'a EvaluationResult], now: i64) -> Sql<'a> {
        let mut sql = self.sql();
        sql.push(
            "INSERT INTO experiment_evaluations (experiment_run_id, name, annotator_kind, label, score, explanation, \
             error, error_kind, metadata, start_ns, end_ns, plugin_name, plugin_version, plugin_sha256, created_ns) VALUES ",
        );
        for (i, e) in evaluations.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(Param::I64(e.run_id))
                .push(", ")
                .bind(Param::Str(&e.name))
                .push(", 'CODE', ")
                .bind(Param::OptStr(e.label.as_deref()))
                .push(", ");
            match e.score {
                Some(score) if score.is_finite() => sql.bind(Param::F64(score)),
                _ => sql.push("NULL"),
            };
            sql.push(", ")
                .bind(Param::OptStr(e.explanation.as_deref()))
                .push(", ")
                .bind(Param::OptStr(e.error.as_deref()))
                .push(", ")
                .bind(Param::OptStr(e.error_kind.as_deref()))
                .push(", ")
                .bind_json(&e.metadata)
                .push(", ")
                .bind(Param::I64(e.start_ns))
                .push(", ")
                .bind(Param::I64(e.end_ns))
                .push(", ")
                .bind(Param::Str(&e.plugin_name))
                .push(", ")
                .bind(Param::Str(&e.plugin_version))
                .push(", ")
                .bind(Param::Str(&e.plugin_sha256))
                .push(", ")
                .bind(Param::I64(now))
                .push(")");
        }
        sql.push(
            " ON CONFLICT (experiment_run_id, name) DO UPDATE SET annotator_kind = excluded.annotator_kind, \
             label = excluded.label, score = excluded.score, explanation = excluded.explanation, error = excluded.error, \
             error_kind = excluded.error_kind, metadata = excluded.metadata, start_ns = excluded.start_ns, \
             end_ns = excluded.end_ns, plugin_name = excluded.plugin_name, plugin_version = excluded.plugin_version, \
             plugin_sha256 = excluded.plugin_sha256",
        );
        sql
    }
}

fn evaluator_columns(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "SELECT id, experiment_id, plugin_id, name, config, created_ns FROM experiment_evaluators",
        Dialect::Postgres => {
            "SELECT id, experiment_id, plugin_id, name, config::text AS config, created_ns FROM experiment_evaluators"
        }
    }
}
