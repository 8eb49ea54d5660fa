//! The ingest pipeline: redactors, then span processors, run on each decoded batch before it is
//! queued, for all projects or for the ones a stage names.
//!
//! A stage's failure follows its `on_error` policy: `keep` stores the spans as they were and
//! counts the error; `reject` refuses the whole request, so that (for a redactor) unredacted
//! text is never stored. Spans are never dropped silently either way.

use std::time::Duration;

use ember_sandbox::{Limits, Plugin, SandboxError, World};
use serde::{Deserialize, Serialize};

use super::{processing, redaction, PluginHost};
use crate::metrics::Metrics;
use crate::model::SpanRecord;

/// The pipeline as configured (file or API).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    #[serde(default)]
    pub stages: Vec<PipelineStage>,
}

/// One plugin in the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineStage {
    /// Name of an installed redactor or span-processor plugin.
    pub plugin: String,
    /// Projects the stage applies to; `["*"]` (the default) means all.
    #[serde(default = "all_projects")]
    pub projects: Vec<String>,
    /// What a failure does; by default `reject` for redactors (fail closed), `keep` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_error: Option<OnError>,
    /// Configuration handed to the plugin (`host.config`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    /// Limits for this stage's calls; pipeline defaults when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
}

fn all_projects() -> Vec<String> {
    vec!["*".into()]
}

/// What a failing stage does to the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Store the spans unmodified by this stage and count the error.
    Keep,
    /// Refuse the whole request.
    Reject,
}

/// Why a pipeline could not be built or a batch was refused.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("no plugin named `{0}` is installed")]
    UnknownPlugin(String),
    #[error("plugin `{plugin}` is a {world} plugin; the ingest pipeline runs redactors and span processors")]
    WrongWorld { plugin: String, world: World },
    #[error("plugin `{plugin}` failed and its policy rejects the request: {error}")]
    Rejected { plugin: String, error: SandboxError },
}

/// What one stage did to one batch, for metrics and logs.
#[derive(Debug)]
pub struct StageReport {
    pub plugin: String,
    pub world: World,
    pub calls: u32,
    pub spans_changed: usize,
    pub instructions: u64,
    pub elapsed: Duration,
    /// The failure, when the stage kept the spans unmodified.
    pub error: Option<SandboxError>,
}

impl StageReport {
    /// Records the stage's calls, costs, outcome and changed spans.
    pub fn record(&self, metrics: &Metrics) {
        let outcome = self.error.as_ref().map_or("ok", SandboxError::kind);
        metrics.record_calls(&self.plugin, outcome, self.calls, self.instructions, self.elapsed);
        metrics.record_spans_changed(&self.plugin, self.spans_changed);
    }
}

/// A built pipeline: stages resolved to plugins, redactors first.
#[derive(Debug, Clone, Default)]
pub struct Pipeline {
    config: PipelineConfig,
    stages: Vec<Stage>,
}

#[derive(Debug, Clone)]
struct Stage {
    name: String,
    plugin: Plugin,
    all_projects: bool,
    projects: Vec<String>,
    on_error: OnError,
}

/// Limits of pipeline calls unless a stage sets its own: a call handles a whole chunk of a
/// batch (up to a few MiB of text), so it gets more instructions and time than one evaluation.
pub fn default_stage_limits() -> Limits {
    Limits { fuel: 4_000_000_000, deadline: Duration::from_secs(5), ..Limits::default() }
}

/// The settings key under which the ingest pipeline set through the API is stored.
const PIPELINE_SETTING: &str = "ingest_pipeline";

impl PipelineConfig {
    /// The pipeline stored through the API, as its JSON text, if one was.
    pub async fn load_stored(store: &crate::store::Store) -> Result<Option<String>, crate::store::StoreError> {
        store.setting(PIPELINE_SETTING).await
    }

    /// Stores `text` (a pipeline's JSON) as the pipeline the server starts with.
    pub async fn save_stored(store: &crate::store::Store, text: &str) -> Result<(), crate::store::StoreError> {
        store.put_setting(PIPELINE_SETTING, text).await
    }
}

impl Pipeline {
    /// Resolves every stage against the installed plugins.
    pub fn build(config: PipelineConfig, host: &PluginHost) -> Result<Self, PipelineError> {
        let mut stages = Vec::with_capacity(config.stages.len());
        for stage in &config.stages {
            let plugin = host.get(&stage.plugin).ok_or_else(|| PipelineError::UnknownPlugin(stage.plugin.clone()))?;
            let world = plugin.world();
            if !matches!(world, World::Redactor | World::SpanProcessor) {
                return Err(PipelineError::WrongWorld { plugin: stage.plugin.clone(), world });
            }
            let config_text = stage.config.as_ref().map_or_else(|| "{}".to_owned(), ToString::to_string);
            let plugin =
                plugin.with_limits(stage.limits.clone().unwrap_or_else(default_stage_limits)).with_config(config_text);
            let default_policy = if world == World::Redactor { OnError::Reject } else { OnError::Keep };
            stages.push(Stage {
                name: stage.plugin.clone(),
                plugin,
                all_projects: stage.projects.iter().any(|project| project == "*"),
                projects: stage.projects.clone(),
                on_error: stage.on_error.unwrap_or(default_policy),
            });
        }
        // Redactors run first, so that processors (and the database) only see redacted text.
        stages.sort_by_key(|stage| stage.plugin.world() != World::Redactor);
        Ok(Self { config, stages })
    }

    /// The configuration this pipeline was built from.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// Whether no stage is configured.
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Runs every stage over `spans` in place, adding a report per stage that ran to `reports`
    /// (also when a stage rejects the batch, so that its calls are still counted). Blocking and
    /// CPU-bound: call it off the async workers.
    pub fn apply(&self, spans: &mut [SpanRecord], reports: &mut Vec<StageReport>) -> Result<(), PipelineError> {
        for stage in &self.stages {
            let selected: Vec<usize> = (0..spans.len())
                .filter(|&index| stage.all_projects || stage.projects.iter().any(|p| **p == *spans[index].project))
                .collect();
            if selected.is_empty() {
                continue;
            }
            let outcome = match stage.plugin.world() {
                World::Redactor => redaction::run(&stage.plugin, spans, &selected),
                _ => processing::run(&stage.plugin, spans, &selected),
            };
            let report = StageReport {
                plugin: stage.name.clone(),
                world: stage.plugin.world(),
                calls: outcome.calls,
                spans_changed: outcome.spans_changed,
                instructions: outcome.instructions,
                elapsed: outcome.elapsed,
                error: outcome.error,
            };
            let rejected = match (&report.error, stage.on_error) {
                (Some(error), OnError::Reject) => Some(error.clone()),
                _ => None,
            };
            reports.push(report);
            if let Some(error) = rejected {
                return Err(PipelineError::Rejected { plugin: stage.name.clone(), error });
            }
        }
        Ok(())
    }
}

/// What running one stage over a batch came to.
#[derive(Debug, Default)]
pub(super) struct StageOutcome {
    pub calls: u32,
    pub spans_changed: usize,
    pub instructions: u64,
    pub elapsed: Duration,
    pub error: Option<SandboxError>,
}

impl StageOutcome {
    /// Adds one call's costs; returns its value, or records its error.
    pub fn record<T>(&mut self, report: ember_sandbox::Report<T>, plugin: &Plugin) -> Option<T> {
        self.calls += 1;
        self.instructions += report.instructions;
        self.elapsed += report.elapsed;
        for line in &report.log {
            tracing::debug!(plugin = ?plugin.info().descriptor.as_ref().map(|d| &d.name), level = ?line.level, "{}", line.message);
        }
        match report.outcome {
            Ok(value) => Some(value),
            Err(err) => {
                self.error.get_or_insert(err);
                None
            }
        }
    }
}
