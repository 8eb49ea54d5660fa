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

    /// Leases up to `limit` jobs that are due (running under an expired lease, then pending)
    /// until `lease_until_ns`. Every job of one claim shares that lease value, which finishing
    /// checks. Each half is one `UPDATE … RETURNING` over its own partial index; on PostgreSQL
    /// rows another server is claiming are skipped, not waited for.
    pub async fn claim_jobs(&self, limit: i64, lease_until_ns: i64) -> Result<Vec<ClaimedJob>> {
        let now = now_ns();
        let mut claimed = self
            .claim_where("state = 'running' AND lease_until_ns < ", now, "lease_until_ns", limit, lease_until_ns)
            .await?;
        let left = limit - claimed.len() as i64;
        if left > 0 {
            claimed.extend(
                self.claim_where("state = 'pending' AND due_ns <= ", now, "due_ns, id", left, lease_until_ns).await?,
            );
        }
        Ok(claimed)
    }

    async fn claim_where(
        &self,
        condition: &str,
        now: i64,
        order: &str,
        limit: i64,
        lease_until_ns: i64,
    ) -> Result<Vec<ClaimedJob>> {
        let mut sql = self.sql();
        sql.push("UPDATE evaluation_jobs SET state = 'running', attempts = attempts + 1, lease_until_ns = ")
            .bind(Param::I64(lease_until_ns))
            .push(", updated_ns = ")
            .bind(Param::I64(now))
            .push(" WHERE id IN (SELECT id FROM evaluation_jobs WHERE ")
            .push(condition)
            .bind(Param::I64(now))
            .push(" ORDER BY ")
            .push(order)
            .push(" LIMIT ")
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
        // One row per (run, name): PostgreSQL refuses an upsert that touches a row twice.
        let mut seen = std::collections::HashSet::new();
        let mut evaluations: Vec<&EvaluationResult> = jobs
            .iter()
            .flat_map(|job| &job.evaluations)
            .rev()
            .filter(|e| seen.insert((e.run_id, e.name.as_str())))
            .collect();
        evaluations.reverse();
        for chunk in evaluations.chunks(INSERT_CHUNK) {
            statements.push(self.upsert_evaluations(chunk, now));
        }
        let updates = statements.len() - evaluations.chunks(INSERT_CHUNK).len();
        let expected = jobs.len() as u64;
        let all_at_once = match self.execute_in_transaction_checked(&statements, updates, expected).await {
            Ok(all) => all,
            Err(err) if err.is_transient() => return Err(err),
            // One job's rows are refused (say, an evaluation the database will not store): the
            // others must not wait on it, so finish job by job.
            Err(err) => {
                tracing::warn!(error = %err, "storing a batch of evaluations failed; storing job by job");
                false
            }
        };
        match all_at_once {
            true => Ok(jobs.len()),
            // Some lease was lost, or some job's rows were refused: finish job by job, each only
            // if still held.
            false => {
                let mut finished = 0;
                for job in jobs {
                    let state = if job.end == JobEnd::Done { "done" } else { "failed" };
                    let mut one = vec![self.finish_statement(state, &[job.job_id], lease_until_ns, now)];
                    let mut seen = std::collections::HashSet::new();
                    let mut refs: Vec<&EvaluationResult> =
                        job.evaluations.iter().rev().filter(|e| seen.insert(e.name.as_str())).collect();
                    refs.reverse();
                    if !refs.is_empty() {
                        one.push(self.upsert_evaluations(&refs, now));
                    }
                    match self.execute_in_transaction_checked(&one, 1, 1).await {
                        Ok(true) => finished += 1,
                        Ok(false) => {}
                        Err(err) if err.is_transient() => return Err(err),
                        // This job's results cannot be stored: record that instead, so that
                        // it ends rather than being claimed again for ever.
                        Err(err) => {
                            let failure = job.evaluations.first().map(|first| EvaluationResult {
                                label: None,
                                score: None,
                                explanation: None,
                                error: Some(format!("the evaluation could not be stored: {err}")),
                                error_kind: Some("store_error".into()),
                                metadata: "{}".into(),
                                ..first.clone()
                            });
                            let mut fallback =
                                vec![self.finish_statement("failed", &[job.job_id], lease_until_ns, now)];
                            if let Some(failure) = &failure {
                                fallback.push(self.upsert_evaluations(&[failure], now));
                            }
                            if self.execute_in_transaction_checked(&fallback, 1, 1).await? {
                                finished += 1;
                            }
                        }
                    }
                }
                Ok(finished)
            }
        }
    }

    /// Puts jobs back to pending, due at `due_ns`, if this server still holds their lease;
    /// `error` records why (a transient failure).
    /// `started` false (the job was handed back unstarted, at shutdown) does not count the
    /// claim as an attempt.
    pub async fn retry_jobs(
        &self,
        job_ids: &[i64],
        lease_until_ns: i64,
        due_ns: i64,
        error: &str,
        started: bool,
    ) -> Result<u64> {
        let mut total = 0;
        for chunk in job_ids.chunks(INSERT_CHUNK) {
            let mut sql = self.sql();
            sql.push(if started {
                "UPDATE evaluation_jobs SET state = 'pending', lease_until_ns = NULL, due_ns = "
            } else {
                "UPDATE evaluation_jobs SET state = 'pending', attempts = attempts - 1, lease_until_ns = NULL, due_ns = "
            })
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

    /// Moves the lease of every job held under `lease_until_ns` to `new_lease_until_ns`, for a
    /// batch that is still running; returns how many jobs are still held.
    pub async fn renew_leases(&self, lease_until_ns: i64, new_lease_until_ns: i64) -> Result<u64> {
        let mut sql = self.sql();
        sql.push("UPDATE evaluation_jobs SET lease_until_ns = ")
            .bind(Param::I64(new_lease_until_ns))
            .push(" WHERE state = 'running' AND lease_until_ns = ")
            .bind(Param::I64(lease_until_ns));
        self.execute(&sql).await
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
