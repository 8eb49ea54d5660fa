//! The summary `ember experiment run` prints: per evaluator, how many runs it scored, the mean
//! score, the pass rate of its labels and its errors by kind. Read from the experiment's export
//! (`GET /v1/experiments/{id}/json`, Phoenix's shape), else from `GET /v1/compare`.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use anyhow::Result;
use serde_json::{json, Value};

use super::http::{encode, has_status, Client};

/// Labels read as a pass.
const PASS: &[&str] =
    &["match", "pass", "passed", "true", "yes", "correct", "valid", "contains", "similar", "ok", "success"];
/// Labels read as a failure.
const FAIL: &[&str] = &[
    "no_match",
    "mismatch",
    "fail",
    "failed",
    "false",
    "no",
    "incorrect",
    "invalid",
    "invalid_json",
    "missing",
    "different",
    "dissimilar",
    "not_found",
];

/// Server-side evaluation job counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Jobs {
    /// Waiting.
    pub pending: u64,
    /// Being evaluated.
    pub running: u64,
    /// Finished.
    pub done: u64,
    /// Failed.
    pub failed: u64,
    /// All.
    pub total: u64,
}

impl Jobs {
    /// Reads `{"pending","running","done","failed","total"}` (missing counts are 0).
    pub fn from_json(value: &Value) -> Self {
        let n = |k: &str| value[k].as_u64().unwrap_or(0);
        Self { pending: n("pending"), running: n("running"), done: n("done"), failed: n("failed"), total: n("total") }
    }
}

/// What happened to the runs on this side.
#[derive(Debug, Default)]
pub struct Runs {
    /// Runs attempted.
    pub total: u64,
    /// Recorded without error.
    pub succeeded: u64,
    /// Recorded with an error (the task failed).
    pub failed: u64,
    /// The server refused or never got them.
    pub not_recorded: u64,
    /// Error messages.
    pub errors: Vec<String>,
}

/// One evaluator's results.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct EvaluatorSummary {
    /// The score name.
    pub name: String,
    /// `plugin@version`, when known.
    pub plugin: Option<String>,
    /// Evaluations that produced a score or label.
    pub evaluated: u64,
    /// Mean of the scores.
    pub mean_score: Option<f64>,
    /// Label counts.
    pub labels: BTreeMap<String, u64>,
    /// Errors by kind.
    pub errors: BTreeMap<String, u64>,
}

impl EvaluatorSummary {
    /// The share of labelled evaluations with a passing label, when every label is a known one.
    pub fn pass_rate(&self) -> Option<f64> {
        let total: u64 = self.labels.values().sum();
        let known = |l: &str| PASS.contains(&l) || FAIL.contains(&l);
        if total == 0 || !self.labels.keys().all(|l| known(&l.to_ascii_lowercase())) {
            return None;
        }
        let passed: u64 =
            self.labels.iter().filter(|(l, _)| PASS.contains(&l.to_ascii_lowercase().as_str())).map(|(_, n)| n).sum();
        Some(passed as f64 / total as f64)
    }
}

/// The experiment's outcome.
#[derive(Debug)]
pub struct Report {
    /// The experiment.
    pub experiment_id: String,
    /// Runs on this side.
    pub runs: Runs,
    /// Server-side job counts, if the server reports them.
    pub jobs: Option<Jobs>,
    /// Whether waiting for evaluations timed out.
    pub timed_out: bool,
    /// Per evaluator.
    pub evaluators: Vec<EvaluatorSummary>,
    /// Where the numbers came from.
    pub source: &'static str,
}

/// The kind of an evaluation error: `error_kind`, or the `kind` of an error object, else `error`.
fn error_kind(annotation: &Value) -> Option<String> {
    let error = &annotation["error"];
    let present = match error {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        _ => true,
    };
    if let Some(kind) = annotation["error_kind"].as_str() {
        return Some(kind.to_owned());
    }
    present.then(|| error["kind"].as_str().unwrap_or("error").to_owned())
}

/// `plugin@version` from an annotation's `plugin` object or `plugin_name`/`plugin_version`.
fn plugin_of(annotation: &Value) -> Option<String> {
    let plugin = &annotation["plugin"];
    let name = plugin["name"].as_str().or(plugin.as_str()).or(annotation["plugin_name"].as_str())?;
    let version = plugin["version"].as_str().or(annotation["plugin_version"].as_str());
    Some(version.map_or_else(|| name.to_owned(), |v| format!("{name}@{v}")))
}

/// Aggregates a Phoenix-shaped experiment export (an array of runs, each with `annotations`
/// or `evaluations`) per evaluator name; `attached` (the attach answer) names the plugins.
pub fn from_export(export: &Value, attached: &[Value]) -> Vec<EvaluatorSummary> {
    let runs = export.as_array().or(export["data"].as_array()).or(export["runs"].as_array());
    let mut by_name: BTreeMap<String, (EvaluatorSummary, f64, u64)> = BTreeMap::new();
    for e in attached {
        if let Some(name) = e["name"].as_str() {
            let entry = by_name.entry(name.to_owned()).or_default();
            entry.0.name = name.to_owned();
            entry.0.plugin = plugin_of(e);
        }
    }
    for run in runs.into_iter().flatten() {
        let annotations = run["annotations"].as_array().or(run["evaluations"].as_array());
        for a in annotations.into_iter().flatten() {
            let Some(name) = a["name"].as_str() else { continue };
            let (summary, sum, scored) = by_name.entry(name.to_owned()).or_default();
            summary.name = name.to_owned();
            if summary.plugin.is_none() {
                summary.plugin = plugin_of(a);
            }
            if let Some(kind) = error_kind(a) {
                *summary.errors.entry(kind).or_default() += 1;
                continue;
            }
            let score = a["score"].as_f64();
            let label = a["label"].as_str();
            if score.is_none() && label.is_none() {
                continue;
            }
            summary.evaluated += 1;
            if let Some(score) = score {
                *sum += score;
                *scored += 1;
            }
            if let Some(label) = label {
                *summary.labels.entry(label.to_owned()).or_default() += 1;
            }
        }
    }
    by_name
        .into_values()
        .map(|(mut summary, sum, scored)| {
            summary.mean_score = (scored > 0).then(|| sum / scored as f64);
            summary
        })
        .collect()
}

/// Reads `/v1/compare`'s `aggregates` for one experiment.
pub fn from_compare(compare: &Value, experiment_id: &str, attached: &[Value]) -> Vec<EvaluatorSummary> {
    let aggregates = compare["data"]["aggregates"].as_array().into_iter().flatten();
    aggregates
        .filter(|a| a["experiment_id"].as_str().is_none_or(|id| id == experiment_id))
        .filter_map(|a| {
            let name = a["evaluator"].as_str().or(a["evaluator"]["name"].as_str())?.to_owned();
            let plugin = attached.iter().find(|e| e["name"] == name.as_str()).and_then(plugin_of);
            let errors = match &a["errors"] {
                Value::Object(kinds) => kinds.iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0))).collect(),
                Value::Number(n) if n.as_u64().unwrap_or(0) > 0 => {
                    BTreeMap::from([("error".to_owned(), n.as_u64().unwrap_or(0))])
                }
                _ => BTreeMap::new(),
            };
            let evaluated = a["count"].as_u64().unwrap_or(0);
            Some(EvaluatorSummary {
                name,
                plugin,
                evaluated,
                mean_score: a["mean_score"].as_f64(),
                labels: BTreeMap::new(),
                errors,
            })
        })
        .collect()
}

/// Fetches the per-evaluator numbers: the export first, `/v1/compare` when there is none.
pub async fn collect(
    client: &Client,
    experiment_id: &str,
    attached: &[Value],
    runs: Runs,
    jobs: Option<Jobs>,
    timed_out: bool,
) -> Result<Report> {
    let id = encode(experiment_id);
    let (evaluators, source) = match client.get_text(&format!("/v1/experiments/{id}/json")).await {
        Ok(text) => (from_export(&serde_json::from_str(&text)?, attached), "export"),
        Err(err) if has_status(&err, 404) || has_status(&err, 405) => {
            let compare = client.get(&format!("/v1/compare?experiment_id={id}")).await?;
            (from_compare(&compare, experiment_id, attached), "compare")
        }
        Err(err) => return Err(err),
    };
    Ok(Report { experiment_id: experiment_id.to_owned(), runs, jobs, timed_out, evaluators, source })
}

impl Report {
    /// No failed run, no evaluation error, no failed job and no timeout.
    pub fn ok(&self) -> bool {
        self.runs.failed == 0
            && self.runs.not_recorded == 0
            && !self.timed_out
            && self.jobs.is_none_or(|j| j.failed == 0)
            && self.evaluators.iter().all(|e| e.errors.is_empty())
    }

    /// The machine-readable summary.
    pub fn to_json(&self) -> Value {
        let evaluators: Vec<Value> = self
            .evaluators
            .iter()
            .map(|e| {
                json!({"name": e.name, "plugin": e.plugin, "evaluated": e.evaluated, "mean_score": e.mean_score,
                       "pass_rate": e.pass_rate(), "labels": e.labels, "errors": e.errors})
            })
            .collect();
        let jobs = self.jobs.map(|j| json!({"pending": j.pending, "running": j.running, "done": j.done, "failed": j.failed, "total": j.total}));
        json!({
            "experiment_id": self.experiment_id,
            "ok": self.ok(),
            "runs": {"total": self.runs.total, "succeeded": self.runs.succeeded, "failed": self.runs.failed,
                     "not_recorded": self.runs.not_recorded, "errors": self.runs.errors},
            "jobs": jobs,
            "timed_out": self.timed_out,
            "source": self.source,
            "evaluators": evaluators,
        })
    }

    /// Prints the table on stdout.
    pub fn print(&self) {
        let r = &self.runs;
        println!(
            "experiment {}: {} runs, {} succeeded, {} failed{}",
            self.experiment_id,
            r.total,
            r.succeeded,
            r.failed,
            if r.not_recorded > 0 { format!(", {} not recorded", r.not_recorded) } else { String::new() }
        );
        for error in r.errors.iter().take(5) {
            println!("  run error: {error}");
        }
        if let Some(j) = self.jobs.filter(|j| j.failed > 0 || self.timed_out) {
            println!(
                "evaluation jobs: {} done, {} failed, {} pending, {} running",
                j.done, j.failed, j.pending, j.running
            );
        }
        if self.evaluators.is_empty() {
            println!("no evaluations");
            return;
        }
        let mut table = comfy_table::Table::new();
        table.load_preset(if std::io::stdout().is_terminal() {
            comfy_table::presets::UTF8_FULL_CONDENSED
        } else {
            comfy_table::presets::ASCII_MARKDOWN
        });
        table.set_header(["evaluator", "plugin", "evaluated", "mean score", "pass rate", "labels", "errors"]);
        for e in &self.evaluators {
            let labels: Vec<String> = e.labels.iter().map(|(l, n)| format!("{l}: {n}")).collect();
            let errors: Vec<String> = e.errors.iter().map(|(k, n)| format!("{k}: {n}")).collect();
            table.add_row([
                e.name.clone(),
                e.plugin.clone().unwrap_or_default(),
                e.evaluated.to_string(),
                e.mean_score.map_or_else(|| "-".into(), |m| format!("{m:.3}")),
                e.pass_rate().map_or_else(|| "-".into(), |p| format!("{:.1}%", p * 100.0)),
                labels.join(", "),
                errors.join(", "),
            ]);
        }
        println!("{table}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_are_aggregated_per_evaluator() {
        let ann =
            |score: f64, label: &str| json!({"name": "exact_match", "score": score, "label": label, "error": null});
        let export = json!([
            {"example_id": "a", "annotations": [ann(1.0, "match")]},
            {"example_id": "b", "annotations": [ann(1.0, "match"), {"name": "contains", "error": "boom", "error_kind": "out_of_fuel"}]},
            {"example_id": "c", "annotations": [ann(1.0, "match"), {"name": "contains", "error": {"kind": "trap"}}]},
            {"example_id": "d", "error": "task failed", "annotations": [ann(0.0, "no_match")]},
        ]);
        let attached =
            [json!({"name": "exact_match", "plugin": {"name": "exact_match", "version": "0.1.0", "sha256": "ab"}})];
        let summaries = from_export(&export, &attached);
        let contains = &summaries[0];
        assert_eq!((contains.name.as_str(), contains.evaluated, contains.mean_score), ("contains", 0, None));
        assert_eq!(contains.errors, BTreeMap::from([("out_of_fuel".into(), 1), ("trap".into(), 1)]));
        let exact = &summaries[1];
        assert_eq!(
            (exact.plugin.as_deref(), exact.evaluated, exact.mean_score),
            (Some("exact_match@0.1.0"), 4, Some(0.75))
        );
        assert_eq!(exact.pass_rate(), Some(0.75));
    }

    #[test]
    fn unknown_labels_have_no_pass_rate() {
        let e = EvaluatorSummary {
            labels: BTreeMap::from([("blue".into(), 2), ("match".into(), 1)]),
            ..Default::default()
        };
        assert_eq!(e.pass_rate(), None);
    }

    #[test]
    fn compare_aggregates_are_read() {
        let compare = json!({"data": {"aggregates": [
            {"experiment_id": "x", "evaluator": "exact_match", "count": 4, "mean_score": 0.75, "errors": 0},
            {"experiment_id": "y", "evaluator": "exact_match", "count": 9, "mean_score": 0.1, "errors": 2},
        ]}});
        let s = from_compare(&compare, "x", &[]);
        assert_eq!((s.len(), s[0].evaluated, s[0].mean_score, s[0].errors.is_empty()), (1, 4, Some(0.75), true));
    }

    #[test]
    fn strictness_counts_every_failure() {
        let report = |runs: Runs, evaluators| Report {
            experiment_id: "x".into(),
            runs,
            jobs: None,
            timed_out: false,
            evaluators,
            source: "export",
        };
        assert!(report(Runs::default(), vec![]).ok());
        assert!(!report(Runs { failed: 1, ..Default::default() }, vec![]).ok());
        let broken = EvaluatorSummary { errors: BTreeMap::from([("trap".into(), 1)]), ..Default::default() };
        assert!(!report(Runs::default(), vec![broken]).ok());
    }
}
