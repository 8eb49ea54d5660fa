//! Evaluators attached to experiments: which plugin version, under which name and config, and
//! the state of their jobs.

use std::collections::HashMap;

use super::sql::Param;
use super::{Dialect, Result, Store, StoreError};
use crate::time::now_ns;

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

/// Jobs of an experiment by state, for one evaluator or all.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct JobCounts {
    pub pending: i64,
    pub running: i64,
    pub done: i64,
    pub failed: i64,
    pub total: i64,
}

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
}

fn evaluator_columns(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "SELECT id, experiment_id, plugin_id, name, config, created_ns FROM experiment_evaluators",
        Dialect::Postgres => {
            "SELECT id, experiment_id, plugin_id, name, config::text AS config, created_ns FROM experiment_evaluators"
        }
    }
}
