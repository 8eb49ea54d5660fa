//! Experiments: create, read, update, delete, with their run counts. Runs and evaluations are in
//! `experiment_runs`.

use super::datasets::json_text;
use super::sql::{Dialect, Param};
use super::{Result, Store};
use crate::time::now_ns;

/// One experiment. `counts` is filled only by the lookups whose responses show it
/// (`experiment_with_counts`, `list_experiments`, `create_experiment`, `update_experiment`):
/// computing it reads every example and run, too slow for the per-run lookup.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExperimentRow {
    pub id: i64,
    pub dataset_id: i64,
    pub dataset_version_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub repetitions: i64,
    /// JSON object text.
    pub metadata: String,
    pub project_name: Option<String>,
    pub created_ns: i64,
    pub updated_ns: i64,
    /// The counts Phoenix reports, when loaded.
    #[sqlx(skip)]
    pub counts: Option<ExperimentCounts>,
}

/// The example and run counts Phoenix reports with an experiment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct ExperimentCounts {
    /// Examples in the experiment's dataset version.
    pub example_count: i64,
    /// Runs without an error.
    pub successful_run_count: i64,
    /// Runs with an error.
    pub failed_run_count: i64,
}

impl ExperimentCounts {
    /// Runs still to do: every (example, repetition) without a run.
    pub fn missing_run_count(&self, repetitions: i64) -> i64 {
        (self.example_count * repetitions - self.successful_run_count - self.failed_run_count).max(0)
    }
}

/// A row of `counted_select`: the experiment and its counts.
#[derive(sqlx::FromRow)]
struct CountedRow {
    #[sqlx(flatten)]
    row: ExperimentRow,
    #[sqlx(flatten)]
    counts: ExperimentCounts,
}

impl From<CountedRow> for ExperimentRow {
    fn from(counted: CountedRow) -> Self {
        ExperimentRow { counts: Some(counted.counts), ..counted.row }
    }
}

/// What `create_experiment` needs.
#[derive(Debug, Clone)]
pub struct NewExperiment<'a> {
    pub dataset_id: i64,
    pub dataset_version_id: i64,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub repetitions: i64,
    /// JSON object text.
    pub metadata: &'a str,
    pub project_name: Option<&'a str>,
}

/// The experiment's own columns, no counts: one primary-key lookup.
fn plain_select(dialect: Dialect) -> String {
    format!(
        "SELECT x.id, x.dataset_id, x.dataset_version_id, x.name, x.description, x.repetitions, {}, \
         x.project_name, x.created_ns, x.updated_ns FROM experiments x",
        json_text(dialect, "x.metadata", "metadata")
    )
}

/// The experiment's columns with its counts, each a correlated subquery over its examples and runs.
fn counted_select(dialect: Dialect) -> String {
    format!(
        "SELECT x.id, x.dataset_id, x.dataset_version_id, x.name, x.description, x.repetitions, {}, \
         x.project_name, x.created_ns, x.updated_ns, \
         (SELECT COUNT(*) FROM dataset_examples e WHERE e.dataset_id = x.dataset_id AND \
           (SELECT r.kind FROM dataset_example_revisions r WHERE r.example_id = e.id \
            AND r.version_id <= x.dataset_version_id ORDER BY r.version_id DESC LIMIT 1) <> 'DELETE') AS example_count, \
         (SELECT COUNT(*) FROM experiment_runs ru WHERE ru.experiment_id = x.id AND ru.error IS NULL) \
           AS successful_run_count, \
         (SELECT COUNT(*) FROM experiment_runs ru WHERE ru.experiment_id = x.id AND ru.error IS NOT NULL) \
           AS failed_run_count \
         FROM experiments x",
        json_text(dialect, "x.metadata", "metadata")
    )
}

impl Store {
    /// Creates an experiment and returns it.
    pub async fn create_experiment(&self, new: &NewExperiment<'_>) -> Result<ExperimentRow> {
        let now = now_ns();
        let mut tx = self.begin().await?;
        let mut sql = tx.sql();
        sql.push(
            "INSERT INTO experiments (dataset_id, dataset_version_id, name, description, repetitions, metadata, \
             project_name, created_ns, updated_ns) VALUES (",
        )
        .bind(Param::I64(new.dataset_id))
        .push(", ")
        .bind(Param::I64(new.dataset_version_id))
        .push(", ")
        .bind(Param::Str(new.name))
        .push(", ")
        .bind(Param::OptStr(new.description))
        .push(", ")
        .bind(Param::I64(new.repetitions))
        .push(", ")
        .bind_json(new.metadata)
        .push(", ")
        .bind(Param::OptStr(new.project_name))
        .push(", ")
        .bind(Param::I64(now))
        .push(", ")
        .bind(Param::I64(now))
        .push(") RETURNING id");
        let id = tx.returning_id(&sql).await?;
        tx.commit().await?;
        self.experiment_with_counts(id).await?.ok_or(super::StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// An experiment by row id, without counts: for checking a posted run and other internal uses.
    pub async fn experiment_by_id(&self, id: i64) -> Result<Option<ExperimentRow>> {
        let select = plain_select(self.dialect());
        let mut sql = self.sql();
        sql.push(&select).push(" WHERE x.id = ").bind(Param::I64(id));
        self.fetch_optional(&sql).await
    }

    /// An experiment by row id with its counts, for responses that show them.
    pub async fn experiment_with_counts(&self, id: i64) -> Result<Option<ExperimentRow>> {
        let select = counted_select(self.dialect());
        let mut sql = self.sql();
        sql.push(&select).push(" WHERE x.id = ").bind(Param::I64(id));
        let row: Option<CountedRow> = self.fetch_optional(&sql).await?;
        Ok(row.map(ExperimentRow::from))
    }

    /// A dataset's experiments with their counts, newest first, from `from_id` (inclusive).
    pub async fn list_experiments(
        &self,
        dataset_id: i64,
        from_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ExperimentRow>> {
        let select = counted_select(self.dialect());
        let mut sql = self.sql();
        sql.push(&select)
            .push(" WHERE x.dataset_id = ")
            .bind(Param::I64(dataset_id))
            .push(" AND x.id <= ")
            .bind(Param::I64(from_id.unwrap_or(i64::MAX)))
            .push(" ORDER BY x.id DESC LIMIT ")
            .bind(Param::I64(limit));
        let rows: Vec<CountedRow> = self.fetch_all(&sql).await?;
        Ok(rows.into_iter().map(ExperimentRow::from).collect())
    }

    /// Sets whichever of name, description (`Some(None)` clears it) and metadata are given;
    /// `None` when the experiment does not exist. Returns the experiment with its counts.
    pub async fn update_experiment(
        &self,
        id: i64,
        name: Option<&str>,
        description: Option<Option<&str>>,
        metadata: Option<&str>,
    ) -> Result<Option<ExperimentRow>> {
        let mut sql = self.sql();
        sql.push("UPDATE experiments SET updated_ns = ").bind(Param::I64(now_ns()));
        if let Some(name) = name {
            sql.push(", name = ").bind(Param::Str(name));
        }
        if let Some(description) = description {
            sql.push(", description = ").bind(Param::OptStr(description));
        }
        if let Some(metadata) = metadata {
            sql.push(", metadata = ").bind_json(metadata);
        }
        sql.push(" WHERE id = ").bind(Param::I64(id));
        if self.execute(&sql).await? == 0 {
            return Ok(None);
        }
        self.experiment_with_counts(id).await
    }

    /// Deletes an experiment with its runs, evaluations and jobs; false when it did not exist.
    pub async fn delete_experiment(&self, id: i64) -> Result<bool> {
        let mut sql = self.sql();
        sql.push("DELETE FROM experiments WHERE id = ").bind(Param::I64(id));
        Ok(self.execute(&sql).await? > 0)
    }
}
