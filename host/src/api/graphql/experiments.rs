//! Datasets (versions, examples, experiments) and experiments (runs, evaluations, aggregates).

use std::collections::HashMap;

use async_graphql::{Context, Json, Object, SimpleObject, ID};
use serde_json::{json, Map, Value};

use super::{internal, json_column, state};
use crate::ids::global_id;
use crate::store::{DatasetRow, EvaluationRow, ExperimentRow, RunRow};
use crate::time::iso_time;

/// Most examples, versions, experiments or runs one field returns.
const MAX_ROWS: i64 = 1000;

/// A dataset.
pub struct Dataset(pub DatasetRow);

/// A version of a dataset.
#[derive(SimpleObject)]
pub struct DatasetVersion {
    pub id: ID,
    pub description: Option<String>,
    pub created_at: String,
}

/// An example at a dataset version.
#[derive(SimpleObject)]
pub struct Example {
    pub id: ID,
    pub input: Json<Value>,
    pub output: Json<Value>,
    pub metadata: Json<Value>,
    /// The span it was made from, if any.
    pub span_id: Option<String>,
}

#[Object]
impl Dataset {
    async fn id(&self) -> ID {
        ID(global_id("Dataset", self.0.id))
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// Examples at the newest version.
    async fn example_count(&self) -> i64 {
        self.0.example_count
    }

    async fn created_at(&self) -> String {
        iso_time(self.0.created_ns)
    }

    async fn updated_at(&self) -> String {
        iso_time(self.0.updated_ns)
    }

    /// Versions, newest first.
    async fn versions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<DatasetVersion>> {
        let rows = state(ctx).store.list_dataset_versions(self.0.id, None, MAX_ROWS).await.map_err(internal)?;
        Ok(rows
            .into_iter()
            .map(|row| DatasetVersion {
                id: ID(global_id("DatasetVersion", row.id)),
                description: row.description,
                created_at: iso_time(row.created_ns),
            })
            .collect())
    }

    /// Examples at `versionId` (default: the newest version), at most 1,000.
    async fn examples(&self, ctx: &Context<'_>, version_id: Option<ID>) -> async_graphql::Result<Vec<Example>> {
        let store = &state(ctx).store;
        let version = match version_id {
            Some(id) => super::row_id("DatasetVersion", &id)?,
            None => match store.latest_dataset_version(self.0.id).await.map_err(internal)? {
                Some(version) => version.id,
                None => return Ok(Vec::new()),
            },
        };
        let rows = store.examples_at_version(self.0.id, version).await.map_err(internal)?;
        Ok(rows
            .into_iter()
            .take(MAX_ROWS as usize)
            .map(|row| Example {
                id: ID(global_id("DatasetExample", row.id)),
                input: Json(json_column(&row.input)),
                output: Json(json_column(&row.output)),
                metadata: Json(json_column(&row.metadata)),
                span_id: row.span_id,
            })
            .collect())
    }

    /// Experiments on this dataset, newest first.
    #[graphql(complexity = "super::NOMINAL_LIST * child_complexity")]
    async fn experiments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Experiment>> {
        let rows = state(ctx).store.list_experiments(self.0.id, None, MAX_ROWS).await.map_err(internal)?;
        Ok(rows.into_iter().map(Experiment).collect())
    }
}

/// An experiment.
pub struct Experiment(pub ExperimentRow);

/// One run of a task on an example.
pub struct ExperimentRun {
    row: RunRow,
    evaluations: Vec<EvaluationRow>,
}

/// One evaluation of a run.
#[derive(SimpleObject)]
pub struct Evaluation {
    pub name: String,
    pub annotator_kind: String,
    pub label: Option<String>,
    pub score: Option<f64>,
    pub explanation: Option<String>,
    pub error: Option<String>,
    pub error_kind: Option<String>,
    /// The evaluator plugin that scored it, for server-side evaluations.
    pub plugin: Option<String>,
    pub plugin_version: Option<String>,
}

impl From<EvaluationRow> for Evaluation {
    fn from(row: EvaluationRow) -> Self {
        Self {
            name: row.name,
            annotator_kind: row.annotator_kind,
            label: row.label,
            score: row.score,
            explanation: row.explanation,
            error: row.error,
            error_kind: row.error_kind,
            plugin: row.plugin_name,
            plugin_version: row.plugin_version,
        }
    }
}

#[Object]
impl ExperimentRun {
    async fn id(&self) -> ID {
        ID(global_id("ExperimentRun", self.row.id))
    }

    async fn example_id(&self) -> ID {
        ID(global_id("DatasetExample", self.row.dataset_example_id))
    }

    async fn repetition_number(&self) -> i64 {
        self.row.repetition_number
    }

    async fn output(&self) -> Json<Value> {
        Json(json_column(&self.row.output))
    }

    async fn error(&self) -> Option<&str> {
        self.row.error.as_deref()
    }

    async fn trace_id(&self) -> Option<&str> {
        self.row.trace_id.as_deref()
    }

    async fn start_time(&self) -> String {
        iso_time(self.row.start_ns)
    }

    async fn end_time(&self) -> String {
        iso_time(self.row.end_ns)
    }

    async fn evaluations(&self) -> Vec<Evaluation> {
        self.evaluations.iter().cloned().map(Evaluation::from).collect()
    }
}

#[Object]
impl Experiment {
    async fn id(&self) -> ID {
        ID(global_id("Experiment", self.0.id))
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    async fn dataset_id(&self) -> ID {
        ID(global_id("Dataset", self.0.dataset_id))
    }

    async fn dataset_version_id(&self) -> ID {
        ID(global_id("DatasetVersion", self.0.dataset_version_id))
    }

    async fn created_at(&self) -> String {
        iso_time(self.0.created_ns)
    }

    async fn repetitions(&self) -> i64 {
        self.0.repetitions
    }

    async fn project_name(&self) -> Option<&str> {
        self.0.project_name.as_deref()
    }

    async fn example_count(&self) -> i64 {
        self.0.counts.map_or(0, |counts| counts.example_count)
    }

    /// Runs stored, with or without an error.
    async fn run_count(&self) -> i64 {
        self.0.counts.map_or(0, |counts| counts.successful_run_count + counts.failed_run_count)
    }

    async fn failed_run_count(&self) -> i64 {
        self.0.counts.map_or(0, |counts| counts.failed_run_count)
    }

    /// The attached evaluator plugins and their jobs by state, as
    /// `GET /v1/experiments/{id}/evaluators` returns them.
    async fn evaluators(&self, ctx: &Context<'_>) -> async_graphql::Result<Json<Value>> {
        let body = crate::api::evaluators::evaluators_body(state(ctx), self.0.id).await.map_err(internal)?;
        Ok(Json(body))
    }

    /// Runs in id order (at most 1,000), each with its evaluations; two queries in all.
    async fn runs(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ExperimentRun>> {
        let store = &state(ctx).store;
        let rows = store.list_runs(self.0.id, None, Some(MAX_ROWS)).await.map_err(internal)?;
        let mut by_run: HashMap<i64, Vec<EvaluationRow>> = HashMap::new();
        for evaluation in store.experiment_evaluations(self.0.id).await.map_err(internal)? {
            by_run.entry(evaluation.experiment_run_id).or_default().push(evaluation);
        }
        Ok(rows
            .into_iter()
            .map(|row| {
                let mut evaluations = by_run.remove(&row.id).unwrap_or_default();
                evaluations.sort_by(|a, b| a.name.cmp(&b.name));
                ExperimentRun { row, evaluations }
            })
            .collect())
    }

    /// Per evaluation name: `{name, count, scored, errors, mean, min, max, labels}`.
    async fn aggregates(&self, ctx: &Context<'_>) -> async_graphql::Result<Json<Value>> {
        let store = &state(ctx).store;
        let ids = [self.0.id];
        let aggregates = store.evaluation_aggregates(&ids).await.map_err(internal)?;
        let mut labels: HashMap<String, Map<String, Value>> = HashMap::new();
        for count in store.label_counts(&ids).await.map_err(internal)? {
            labels.entry(count.name).or_default().insert(count.label, json!(count.count));
        }
        let list: Vec<Value> = aggregates
            .into_iter()
            .map(|a| {
                json!({
                    "name": a.name,
                    "count": a.count,
                    "scored": a.scored,
                    "errors": a.errors,
                    "mean": a.mean_score,
                    "min": a.min_score,
                    "max": a.max_score,
                    "labels": labels.remove(&a.name).unwrap_or_default(),
                })
            })
            .collect();
        Ok(Json(Value::Array(list)))
    }
}
