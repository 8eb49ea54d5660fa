//! One job's plugin call, on a blocking thread, and what becomes of the job: stored scores,
//! a stored typed error, or a retry.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use super::WorkerConfig;
use crate::plugins::{EvalInput, InstalledPlugin, PluginHost, ResolvedPlugin, Score};
use crate::store::{ClaimedJob, EvaluationResult, EvaluatorRow, FinishedJob, JobEnd, RunInput};

/// Why a job's plugin cannot run.
#[derive(Debug, Clone)]
pub(super) enum Unavailable {
    /// Disabled or deleted: the evaluation fails with this message.
    Gone(String),
    /// Could not be loaded just now (database or compile trouble): retried with backoff.
    Unloadable(String),
}

/// One job with everything its call needs.
pub(super) struct Work {
    pub(super) job: ClaimedJob,
    pub(super) evaluator: Arc<EvaluatorRow>,
    pub(super) plugin: Result<InstalledPlugin, Unavailable>,
    pub(super) input: Option<RunInput>,
}

/// What became of one job.
pub(super) enum Done {
    Finished(FinishedJob),
    /// Try again later; `backoff` false when the job was merely not started (shutdown), which
    /// does not count as an attempt.
    Retry {
        job_id: i64,
        error: String,
        backoff: bool,
        attempts: i64,
    },
}

/// Runs one job's call (on a blocking thread) and decides what becomes of the job.
pub(super) fn run_one(work: Work, stop: &AtomicBool, host: &PluginHost, config: &WorkerConfig) -> Done {
    let Work { job, evaluator, plugin, input } = work;
    if stop.load(Ordering::Relaxed) {
        return Done::Retry {
            job_id: job.id,
            error: "server shutting down".into(),
            backoff: false,
            attempts: job.attempts,
        };
    }
    let start_ns = crate::time::now_ns();
    let failed = |kind: &str, message: String, identity: Option<&InstalledPlugin>| {
        let (name, version, sha256) = identity.map_or_else(
            || (String::new(), String::new(), String::new()),
            |p| (p.record.name.clone(), p.record.version.clone(), p.record.sha256.clone()),
        );
        Done::Finished(FinishedJob {
            job_id: job.id,
            end: JobEnd::Failed,
            evaluations: vec![EvaluationResult {
                run_id: job.experiment_run_id,
                name: evaluator.name.clone(),
                label: None,
                score: None,
                explanation: None,
                error: Some(message),
                error_kind: Some(kind.to_owned()),
                metadata: "{}".into(),
                start_ns,
                end_ns: crate::time::now_ns(),
                plugin_name: name,
                plugin_version: version,
                plugin_sha256: sha256,
            }],
        })
    };
    if job.attempts > config.max_attempts {
        // Claimed again and again without finishing: each attempt ended with the server (a
        // crash, a lost lease). Stop here rather than loop for ever.
        let message = format!("abandoned after {} attempts that did not finish", job.attempts - 1);
        return failed("abandoned", message, plugin.as_ref().ok());
    }
    let plugin = match plugin {
        Ok(plugin) => plugin,
        Err(Unavailable::Gone(message)) => return failed("plugin_unavailable", message, None),
        Err(Unavailable::Unloadable(message)) if job.attempts < config.max_attempts => {
            return Done::Retry { job_id: job.id, error: message, backoff: true, attempts: job.attempts }
        }
        Err(Unavailable::Unloadable(message)) => return failed("plugin_unavailable", message, None),
    };
    let Some(input) = input else {
        return failed(
            "missing_example",
            "the run's dataset example is missing at the experiment's version".into(),
            Some(&plugin),
        );
    };
    let eval_input = EvalInput {
        input: input.input,
        output: input.output,
        expected: Some(input.expected),
        metadata: input.metadata,
    };
    let resolved = ResolvedPlugin::from(&plugin).with_config(evaluator.config.clone());
    let report = host.evaluate_blocking(&resolved, &eval_input, &format_args!("job {}", job.id));
    let end_ns = crate::time::now_ns();
    match report.outcome {
        Ok(scores) => Done::Finished(FinishedJob {
            job_id: job.id,
            end: JobEnd::Done,
            evaluations: evaluations(
                &evaluator,
                &plugin,
                job.experiment_run_id,
                scores,
                report.instructions,
                start_ns,
                end_ns,
            ),
        }),
        Err(err) if err.is_retryable() && job.attempts < config.max_attempts => {
            Done::Retry { job_id: job.id, error: err.to_string(), backoff: true, attempts: job.attempts }
        }
        Err(err) => failed(err.kind(), err.to_string(), Some(&plugin)),
    }
}

/// The stored evaluations of one successful call: one per score. A single score is stored under
/// the evaluator's name; several under `evaluator.score`.
fn evaluations(
    evaluator: &EvaluatorRow,
    plugin: &InstalledPlugin,
    run_id: i64,
    scores: Vec<Score>,
    instructions: u64,
    start_ns: i64,
    end_ns: i64,
) -> Vec<EvaluationResult> {
    let single = scores.len() == 1;
    let record = &plugin.record;
    let result = |name: String, score: Option<Score>| {
        let mut metadata = score
            .as_ref()
            .and_then(|s| s.metadata.as_deref())
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({}));
        metadata["ember"] =
            json!({ "instructions": instructions, "plugin": format!("{}@{}", record.name, record.version) });
        EvaluationResult {
            run_id,
            name,
            label: score.as_ref().and_then(|s| s.label.clone()),
            score: score.as_ref().and_then(|s| s.score),
            explanation: score.as_ref().and_then(|s| s.explanation.clone()),
            error: None,
            error_kind: None,
            metadata: metadata.to_string(),
            start_ns,
            end_ns,
            plugin_name: record.name.clone(),
            plugin_version: record.version.clone(),
            plugin_sha256: record.sha256.clone(),
        }
    };
    if scores.is_empty() {
        return vec![result(evaluator.name.clone(), None)];
    }
    let mut names = std::collections::HashSet::new();
    scores
        .into_iter()
        .map(|score| {
            let base = if single { evaluator.name.clone() } else { format!("{}.{}", evaluator.name, score.name) };
            // A plugin may return two scores of one name; each is stored, the second as `name#2`.
            let mut name = base.clone();
            let mut n = 1;
            while !names.insert(name.clone()) {
                n += 1;
                name = format!("{base}#{n}");
            }
            result(name, Some(score))
        })
        .collect()
}
