//! Reads for comparing experiments on one dataset: examples, each experiment's runs and
//! evaluations, and per-evaluation aggregates computed in the database.

use super::sql::Param;
use super::{Dialect, Result, Store};

/// An experiment being compared.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CompareExperiment {
    pub id: i64,
    pub dataset_id: i64,
    pub dataset_version_id: i64,
    pub name: String,
}

/// An example as of a version (JSON texts).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CompareExample {
    pub id: i64,
    pub input: String,
    pub output: String,
    pub metadata: String,
}

/// A run of one of the compared experiments.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CompareRun {
    pub id: i64,
    pub experiment_id: i64,
    pub dataset_example_id: i64,
    pub repetition_number: i64,
    pub output: String,
    pub error: Option<String>,
    pub start_ns: i64,
    pub end_ns: i64,
}

/// An evaluation of a compared run.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CompareEvaluation {
    pub experiment_run_id: i64,
    pub name: String,
    pub label: Option<String>,
    pub score: Option<f64>,
    pub explanation: Option<String>,
    pub error: Option<String>,
    pub error_kind: Option<String>,
}

/// Per experiment and evaluation name: how many, how many scored or failed, and score stats.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EvaluationAggregate {
    pub experiment_id: i64,
    pub name: String,
    pub count: i64,
    pub scored: i64,
    pub errors: i64,
    pub mean_score: Option<f64>,
    pub min_score: Option<f64>,
    pub max_score: Option<f64>,
}

/// Per experiment, evaluation name and label: how many evaluations carry the label.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LabelCount {
    pub experiment_id: i64,
    pub name: String,
    pub label: String,
    pub count: i64,
}

impl Store {
    /// The experiments with these ids (any missing are simply absent).
    pub async fn compare_experiments(&self, ids: &[i64]) -> Result<Vec<CompareExperiment>> {
        let mut sql = self.sql();
        sql.push("SELECT id, dataset_id, dataset_version_id, name FROM experiments WHERE id IN ")
            .bind_list(ids.iter().map(|id| Param::I64(*id)))
            .push(" ORDER BY id");
        self.fetch_all(&sql).await
    }

    /// Examples of `dataset_id` as of `version_id`, by id from `after` (exclusive), at most `limit`.
    pub async fn compare_examples(
        &self,
        dataset_id: i64,
        version_id: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<CompareExample>> {
        let text = |column: &str| match self.dialect() {
            Dialect::Sqlite => column.to_owned(),
            Dialect::Postgres => format!("{column}::text"),
        };
        let mut sql = self.sql();
        sql.push(&format!(
            "SELECT e.id, {} AS input, {} AS output, {} AS metadata FROM dataset_examples e \
             JOIN dataset_example_revisions v ON v.example_id = e.id AND v.version_id = \
             (SELECT MAX(w.version_id) FROM dataset_example_revisions w WHERE w.example_id = e.id AND w.version_id <= ",
            text("v.input"),
            text("v.output"),
            text("v.metadata")
        ))
        .bind(Param::I64(version_id))
        .push(") WHERE v.kind <> 'DELETE' AND e.dataset_id = ")
        .bind(Param::I64(dataset_id))
        .push(" AND e.id > ")
        .bind(Param::I64(after))
        .push(" ORDER BY e.id LIMIT ")
        .bind(Param::I64(limit));
        self.fetch_all(&sql).await
    }

    /// The compared experiments' runs on these examples.
    pub async fn compare_runs(&self, experiment_ids: &[i64], example_ids: &[i64]) -> Result<Vec<CompareRun>> {
        if example_ids.is_empty() {
            return Ok(Vec::new());
        }
        let output = match self.dialect() {
            Dialect::Sqlite => "output",
            Dialect::Postgres => "output::text AS output",
        };
        let mut sql = self.sql();
        sql.push(&format!(
            "SELECT id, experiment_id, dataset_example_id, repetition_number, {output}, error, start_ns, end_ns \
             FROM experiment_runs WHERE experiment_id IN "
        ))
        .bind_list(experiment_ids.iter().map(|id| Param::I64(*id)))
        .push(" AND dataset_example_id IN ")
        .bind_list(example_ids.iter().map(|id| Param::I64(*id)))
        .push(" ORDER BY dataset_example_id, experiment_id, repetition_number");
        self.fetch_all(&sql).await
    }

    /// The evaluations of these runs.
    pub async fn compare_evaluations(&self, run_ids: &[i64]) -> Result<Vec<CompareEvaluation>> {
        if run_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = self.sql();
        sql.push(
            "SELECT experiment_run_id, name, label, score, explanation, error, error_kind FROM experiment_evaluations \
             WHERE experiment_run_id IN ",
        )
        .bind_list(run_ids.iter().map(|id| Param::I64(*id)))
        .push(" ORDER BY experiment_run_id, name");
        self.fetch_all(&sql).await
    }

    /// Score statistics per experiment and evaluation name, over every run.
    pub async fn evaluation_aggregates(&self, experiment_ids: &[i64]) -> Result<Vec<EvaluationAggregate>> {
        let mut sql = self.sql();
        sql.push(
            "SELECT r.experiment_id, v.name, COUNT(*) AS count, COUNT(v.score) AS scored, \
             SUM(CASE WHEN v.error IS NULL THEN 0 ELSE 1 END) AS errors, \
             AVG(v.score) AS mean_score, MIN(v.score) AS min_score, MAX(v.score) AS max_score \
             FROM experiment_evaluations v JOIN experiment_runs r ON r.id = v.experiment_run_id WHERE r.experiment_id IN ",
        )
        .bind_list(experiment_ids.iter().map(|id| Param::I64(*id)))
        .push(" GROUP BY r.experiment_id, v.name ORDER BY v.name, r.experiment_id");
        self.fetch_all(&sql).await
    }

    /// Label counts per experiment and evaluation name.
    pub async fn label_counts(&self, experiment_ids: &[i64]) -> Result<Vec<LabelCount>> {
        let mut sql = self.sql();
        sql.push(
            "SELECT r.experiment_id, v.name, v.label, COUNT(*) AS count FROM experiment_evaluations v \
             JOIN experiment_runs r ON r.id = v.experiment_run_id WHERE v.label IS NOT NULL AND r.experiment_id IN ",
        )
        .bind_list(experiment_ids.iter().map(|id| Param::I64(*id)))
        .push(" GROUP BY r.experiment_id, v.name, v.label ORDER BY v.name, r.experiment_id, v.label");
        self.fetch_all(&sql).await
    }
}
