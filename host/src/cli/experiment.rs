//! `ember experiment run`: runs a task over a dataset's examples, records each run on the server,
//! lets the server's sandboxed evaluator plugins score them, and prints a summary.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{ArgGroup, Args, Subcommand};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};

use super::http::{encode, has_status, Client, ServerArgs};
use super::summary::{self, Jobs};
use super::task::{run_task, stored_output, task_input};

/// `ember experiment` and its options.
#[derive(Debug, Args)]
pub struct ExperimentArgs {
    /// The server.
    #[command(flatten)]
    pub server: ServerArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: ExperimentCommand,
}

/// Experiment tools.
#[derive(Debug, Subcommand)]
pub enum ExperimentCommand {
    /// Run a task over a dataset and evaluate the runs with evaluator plugins on the server.
    Run(RunArgs),
}

/// `ember experiment run` arguments.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("task").required(true).args(["task_cmd", "output_key"])))]
pub struct RunArgs {
    /// The dataset's name or id.
    #[arg(long)]
    pub dataset: String,
    /// A dataset version other than the latest.
    #[arg(long)]
    pub version_id: Option<String>,
    /// The experiment's name (else the server picks one).
    #[arg(long)]
    pub name: Option<String>,
    /// The experiment's description.
    #[arg(long)]
    pub description: Option<String>,
    /// An evaluator plugin: `plugin[@version][={json config}]`, optionally `alias:` first to name
    /// its scores. Repeatable.
    #[arg(long = "evaluator", value_name = "SPEC")]
    pub evaluators: Vec<String>,
    /// The task: a shell command (`sh -c`) reading the example
    /// `{"input":…,"expected":…,"metadata":…}` on stdin; its stdout (JSON, else text) is the output.
    #[arg(long)]
    pub task_cmd: Option<String>,
    /// No task: the run output is the example's stored value under this key (looked up in its
    /// output, then metadata, then input).
    #[arg(long)]
    pub output_key: Option<String>,
    /// Tasks run at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
    /// Runs per example.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repetitions: u32,
    /// Seconds one task may take before it is killed and its run recorded as an error.
    #[arg(long, default_value_t = 300)]
    pub task_timeout: u64,
    /// Seconds to wait for the server to finish evaluating.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Exit non-zero when a run or an evaluation failed (or evaluation timed out).
    #[arg(long)]
    pub strict: bool,
    /// Print a machine-readable summary instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// One `--evaluator` as the server's attach endpoint takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluatorSpec {
    /// `name` or `name@version`.
    pub plugin: String,
    /// The name its scores are stored under.
    pub name: String,
    /// Plugin configuration (a JSON object), if any.
    pub config: Option<Value>,
}

/// Parses `[alias:]plugin[@version][={json object}]`.
pub fn parse_evaluator(spec: &str) -> Result<EvaluatorSpec> {
    let (reference, config) = match spec.split_once('=') {
        Some((reference, config)) => {
            let value: Value =
                serde_json::from_str(config).with_context(|| format!("evaluator {reference}: config is not JSON"))?;
            if !value.is_object() {
                bail!("evaluator {reference}: config must be a JSON object, not {value}");
            }
            (reference.trim(), Some(value))
        }
        None => (spec.trim(), None),
    };
    let (alias, plugin) = match reference.split_once(':') {
        Some((alias, plugin)) => (Some(alias.trim()), plugin.trim()),
        None => (None, reference),
    };
    let plugin_name = plugin.split_once('@').map_or(plugin, |(name, _)| name);
    let valid = |s: &str| !s.is_empty() && !s.contains(char::is_whitespace);
    if !valid(plugin_name) || plugin.ends_with('@') || alias.is_some_and(|a| !valid(a)) {
        bail!("bad evaluator {spec:?}: expected [alias:]plugin[@version][={{json}}]");
    }
    let name = alias.unwrap_or(plugin_name).to_owned();
    Ok(EvaluatorSpec { plugin: plugin.to_owned(), name, config })
}

/// Parses every `--evaluator`, renaming repeats of one name `name_2`, `name_3`, ….
pub fn parse_evaluators(specs: &[String]) -> Result<Vec<EvaluatorSpec>> {
    let mut parsed: Vec<EvaluatorSpec> = Vec::new();
    for spec in specs {
        let mut evaluator = parse_evaluator(spec)?;
        let base = evaluator.name.clone();
        let mut n = 1;
        while parsed.iter().any(|e| e.name == evaluator.name) {
            n += 1;
            evaluator.name = format!("{base}_{n}");
        }
        parsed.push(evaluator);
    }
    Ok(parsed)
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

fn progress(len: u64, message: &'static str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len).with_message(message);
    if let Ok(style) = ProgressStyle::with_template("{msg:>10} [{bar:40.cyan/blue}] {pos}/{len} ({elapsed}, eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Runs the task for one example and repetition, and records the run; returns the run's error.
async fn one_run(
    client: &Client,
    experiment: &str,
    args: &RunArgs,
    example: &Value,
    repetition: u32,
) -> Result<Option<String>> {
    let start_time = now();
    let result = match (&args.task_cmd, &args.output_key) {
        (Some(command), _) => run_task(command, &task_input(example), Duration::from_secs(args.task_timeout)).await,
        (None, Some(key)) => stored_output(example, key).ok_or_else(|| format!("the example has no value {key:?}")),
        (None, None) => Err("no task".to_owned()),
    };
    let end_time = now();
    let (output, error) = match result {
        Ok(output) => (output, None),
        Err(error) => (Value::Null, Some(error)),
    };
    let body = json!({
        "dataset_example_id": example["id"],
        "output": output,
        "repetition_number": repetition,
        "start_time": start_time,
        "end_time": end_time,
        "error": error,
    });
    client.post(&format!("/v1/experiments/{}/runs", encode(experiment)), &body).await?;
    Ok(error)
}

/// Server-side evaluation progress, or `None` when the server has no evaluators endpoint.
async fn jobs(client: &Client, experiment: &str) -> Result<Option<Jobs>> {
    match client.get(&format!("/v1/experiments/{}/evaluators", encode(experiment))).await {
        Ok(answer) => Ok(Some(Jobs::from_json(&answer["data"]["jobs"]))),
        Err(err) if has_status(&err, 404) || has_status(&err, 405) => Ok(None),
        Err(err) => Err(err),
    }
}

/// Polls until no evaluation is pending or running (and at least `expected` jobs exist, or the
/// count has been still for a few seconds); returns the last counts and whether time ran out.
async fn wait_for_evaluations(
    client: &Client,
    experiment: &str,
    expected: u64,
    timeout: Duration,
) -> Result<(Option<Jobs>, bool)> {
    let deadline = tokio::time::Instant::now() + timeout;
    let bar = progress(expected, "evaluating");
    let mut idle_since: Option<tokio::time::Instant> = None;
    loop {
        let Some(jobs) = jobs(client, experiment).await? else {
            bar.finish_and_clear();
            return Ok((None, false));
        };
        bar.set_length(jobs.total.max(expected));
        bar.set_position(jobs.done + jobs.failed);
        if jobs.pending + jobs.running == 0 {
            let since = *idle_since.get_or_insert_with(tokio::time::Instant::now);
            if jobs.total >= expected || since.elapsed() >= Duration::from_secs(3) {
                bar.finish_and_clear();
                return Ok((Some(jobs), false));
            }
        } else {
            idle_since = None;
        }
        if tokio::time::Instant::now() >= deadline {
            bar.abandon();
            return Ok((Some(jobs), true));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs an experiment subcommand; `Ok(false)` asks for a non-zero exit (`--strict` failures).
pub async fn run(args: ExperimentArgs) -> Result<bool> {
    let client = Client::new(&args.server)?;
    match args.command {
        ExperimentCommand::Run(run_args) => run_experiment(&client, &run_args).await,
    }
}

async fn run_experiment(client: &Client, args: &RunArgs) -> Result<bool> {
    let evaluators = parse_evaluators(&args.evaluators)?;
    let dataset = super::dataset::resolve(client, &args.dataset).await?;
    let Some(dataset_id) = dataset["id"].as_str() else { bail!("unexpected dataset record: {dataset}") };
    let task =
        args.task_cmd.as_ref().map_or_else(|| json!({"output_key": args.output_key}), |c| json!({"task_cmd": c}));
    let body = json!({
        "name": args.name,
        "description": args.description,
        "version_id": args.version_id,
        "repetitions": args.repetitions,
        "metadata": {"created_by": "ember experiment run", "task": task},
    });
    let created = client.post(&format!("/v1/datasets/{}/experiments", encode(dataset_id)), &body).await?;
    let experiment = created["data"].clone();
    let Some(experiment_id) = experiment["id"].as_str() else { bail!("unexpected experiment answer: {created}") };
    let version_id = experiment["dataset_version_id"].as_str().map(str::to_owned).or_else(|| args.version_id.clone());
    if !args.json {
        eprintln!(
            "experiment {} ({experiment_id}) on dataset {} ({dataset_id})",
            experiment["name"].as_str().unwrap_or(""),
            dataset["name"].as_str().unwrap_or("")
        );
    }

    let mut attached = Vec::new();
    if !evaluators.is_empty() {
        let list: Vec<Value> = evaluators
            .iter()
            .map(|e| {
                let mut v = json!({"plugin": e.plugin, "name": e.name});
                if let Some(config) = &e.config {
                    v["config"] = config.clone();
                }
                v
            })
            .collect();
        let path = format!("/v1/experiments/{}/evaluators", encode(experiment_id));
        match client.post(&path, &json!({"evaluators": list})).await {
            Ok(answer) => attached = answer["data"].as_array().cloned().unwrap_or_default(),
            Err(err) => {
                // Leave no empty experiment behind for a typo in an evaluator.
                let _ = client.delete(&format!("/v1/experiments/{}", encode(experiment_id))).await;
                return Err(err.context("attaching the evaluators"));
            }
        }
    }

    let mut path = format!("/v1/datasets/{}/examples", encode(dataset_id));
    if let Some(version) = &version_id {
        path.push_str(&format!("?version_id={}", encode(version)));
    }
    let examples = client.get(&path).await?["data"]["examples"].as_array().cloned().unwrap_or_default();
    let work: Vec<(&Value, u32)> = examples.iter().flat_map(|e| (1..=args.repetitions).map(move |r| (e, r))).collect();
    let bar = progress(work.len() as u64, "runs");
    let results: Vec<Result<Option<String>>> = futures::stream::iter(work)
        .map(|(example, repetition)| one_run(client, experiment_id, args, example, repetition))
        .buffer_unordered(args.concurrency as usize)
        .inspect(|_| bar.inc(1))
        .collect()
        .await;
    bar.finish_and_clear();
    let mut runs = summary::Runs { total: results.len() as u64, ..Default::default() };
    for result in results {
        match result {
            Ok(None) => runs.succeeded += 1,
            Ok(Some(error)) => {
                runs.failed += 1;
                runs.errors.push(error);
            }
            Err(err) => {
                runs.not_recorded += 1;
                runs.errors.push(format!("{err:#}"));
            }
        }
    }

    let expected_jobs = if attached.is_empty() { 0 } else { runs.succeeded * attached.len() as u64 };
    let (jobs, timed_out) = if evaluators.is_empty() {
        (None, false)
    } else {
        wait_for_evaluations(client, experiment_id, expected_jobs, Duration::from_secs(args.timeout)).await?
    };
    if timed_out {
        eprintln!("warning: evaluation still running after {}s; the summary is partial", args.timeout);
    }
    let report = summary::collect(client, experiment_id, &attached, runs, jobs, timed_out).await?;
    if args.json {
        let mut value = report.to_json();
        value["dataset_id"] = json!(dataset_id);
        value["dataset_version_id"] = json!(version_id);
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        report.print();
    }
    Ok(!args.strict || report.ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluator_specs_parse() {
        let e = parse_evaluator("exact_match").unwrap();
        assert_eq!(e, EvaluatorSpec { plugin: "exact_match".into(), name: "exact_match".into(), config: None });
        let e = parse_evaluator(r#"contains@0.1.0={"keywords": ["a=b"]}"#).unwrap();
        assert_eq!((e.plugin.as_str(), e.name.as_str()), ("contains@0.1.0", "contains"));
        assert_eq!(e.config, Some(json!({"keywords": ["a=b"]})));
        let e = parse_evaluator("strict:exact_match@0.1.0={}").unwrap();
        assert_eq!((e.plugin.as_str(), e.name.as_str()), ("exact_match@0.1.0", "strict"));
        for bad in ["", "@1", "x@", "x=[1]", "x={", "a b", ":x"] {
            assert!(parse_evaluator(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn repeated_evaluators_get_distinct_names() {
        let specs = ["contains={\"keywords\":[\"a\"]}".to_owned(), "contains".to_owned(), "contains".to_owned()];
        let names: Vec<String> = parse_evaluators(&specs).unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(names, ["contains", "contains_2", "contains_3"]);
    }
}
