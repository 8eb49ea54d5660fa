//! Server-side evaluation jobs: durable rows that run each attached evaluator over each run,
//! claimed with leases so that a crashed server's work is taken up again and finished work is
//! never redone.

use super::evaluations::EvaluationValues;
use super::sql::Param;
use super::{Dialect, Result, Sql, Store};
use crate::time::now_ns;

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
            statements.push(self.evaluation_upsert(chunk.iter().map(|e| EvaluationValues::from(*e)), now));
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
                        one.push(self.evaluation_upsert(refs.iter().map(|e| EvaluationValues::from(*e)), now));
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
                                fallback.push(self.evaluation_upsert([EvaluationValues::from(failure)], now));
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
}
