//! Server-side evaluation end to end: a custom evaluator built from `examples/` and a
//! first-party one score an experiment's runs in the sandbox while a hostile evaluator in the
//! same experiment fails each of its evaluations with a typed error; jobs survive a crash.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;
use crate::registry::{component, upload};

async fn post(ember: &Ember, path: &str, body: Value) -> Value {
    let response = ember.client.post(ember.url(path)).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!((200..300).contains(&status), "POST {path}: {status} {body}");
    body
}

/// Uploads a CSV dataset as Phoenix's client uploads a DataFrame; returns its id.
async fn upload_csv(ember: &Ember, name: &str, csv: &str) -> String {
    let form = Form::new()
        .text("name", name.to_owned())
        .text("action", "create")
        .text("input_keys[]", "question")
        .text("output_keys[]", "answer")
        .part(
            "file",
            Part::bytes(csv.as_bytes().to_vec()).file_name(format!("{name}.csv")).mime_str("text/csv").unwrap(),
        );
    let response = ember.client.post(ember.url("/v1/datasets/upload?sync=true")).multipart(form).send().await.unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body["data"]["dataset_id"].as_str().unwrap().to_owned()
}

/// Creates an experiment and posts a run with `output_for(question)` for each example that has
/// one; returns the experiment id and the examples.
async fn experiment_with_runs(
    ember: &Ember,
    dataset: &str,
    output_for: impl Fn(&str) -> Option<String>,
) -> (String, Vec<Value>) {
    let experiment = post(ember, &format!("/v1/datasets/{dataset}/experiments"), json!({"name": "baseline"})).await;
    let experiment = experiment["data"]["id"].as_str().unwrap().to_owned();
    let (_, examples) = ember.get_json(&format!("/v1/datasets/{dataset}/examples")).await;
    let examples = examples["data"]["examples"].as_array().unwrap().clone();
    for example in &examples {
        let question = example["input"]["question"].as_str().unwrap();
        let Some(output) = output_for(question) else { continue };
        post(
            ember,
            &format!("/v1/experiments/{experiment}/runs"),
            json!({"dataset_example_id": example["id"], "output": output, "repetition_number": 1,
                   "start_time": "2026-11-24T10:00:00+00:00", "end_time": "2026-11-24T10:00:01+00:00"}),
        )
        .await;
    }
    (experiment, examples)
}

/// Polls the experiment's evaluator jobs until none is pending or running.
async fn wait_for_jobs(ember: &Ember, experiment: &str, timeout: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let (status, body) = ember.get_json(&format!("/v1/experiments/{experiment}/evaluators")).await;
        assert_eq!(status, 200, "{body}");
        let jobs = &body["data"]["jobs"];
        if jobs["pending"] == 0 && jobs["running"] == 0 {
            return body;
        }
        assert!(tokio::time::Instant::now() < deadline, "jobs not finished: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `{(question, evaluation name) → evaluation}` from the experiment's JSON export.
async fn evaluations(ember: &Ember, experiment: &str) -> HashMap<(String, String), Value> {
    let (status, export) = ember.get_json(&format!("/v1/experiments/{experiment}/json")).await;
    assert_eq!(status, 200, "{export}");
    let mut found = HashMap::new();
    for run in export.as_array().unwrap() {
        let question = run["input"]["question"].as_str().unwrap_or_default().to_owned();
        for evaluation in run["annotations"].as_array().unwrap() {
            let name = evaluation["name"].as_str().unwrap().to_owned();
            assert!(
                found.insert((question.clone(), name), evaluation.clone()).is_none(),
                "one evaluation per run and name"
            );
        }
    }
    found
}

const QA_CSV: &str = "question,answer\n\
What is two plus two?,four\n\
Capital of France?,Paris is the capital\n\
Colour of the sky?,blue\n\
Largest planet?,Jupiter\n";

async fn experiment_scored_in_the_sandbox(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start_with_plugins(&db, &[]).await;
    // A custom evaluator (Python, from examples/) and a hostile one, uploaded.
    let (status, body) = upload(&ember, component("examples/dist/python_evaluator.wasm"), "token-f1", "1.0.0").await;
    assert_eq!(status, 201, "{body}");
    let token_f1_sha = body["data"]["sha256"].as_str().unwrap().to_owned();
    let (status, body) =
        upload(&ember, component("tests/plugins/dist/hostile_loop.wasm"), "hostile-loop", "0.1.0").await;
    assert_eq!(status, 201, "{body}");
    // Returns several scores all named alike: each is stored, none collides.
    let (status, body) =
        upload(&ember, component("tests/plugins/dist/hostile_output.wasm"), "same-names", "0.1.0").await;
    assert_eq!(status, 201, "{body}");

    let dataset = upload_csv(&ember, "qa", QA_CSV).await;
    let outputs = HashMap::from([
        ("What is two plus two?", "four"),
        ("Capital of France?", "Paris capital"),
        ("Colour of the sky?", "green"),
    ]);
    // Three runs now, the fourth after the evaluators are attached.
    let (experiment, examples) =
        experiment_with_runs(&ember, &dataset, |q| outputs.get(q).map(|o| (*o).to_owned())).await;
    assert_eq!(examples.len(), 4);

    // Unknown plugins and non-evaluators are refused, and nothing is attached.
    let response = ember
        .client
        .post(ember.url(&format!("/v1/experiments/{experiment}/evaluators")))
        .json(&json!({"evaluators": [{"plugin": "exact_match"}, {"plugin": "no-such-plugin@9"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let response = ember
        .client
        .post(ember.url(&format!("/v1/experiments/{experiment}/evaluators")))
        .json(&json!({"evaluators": [{"plugin": "pii"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let (_, listed) = ember.get_json(&format!("/v1/experiments/{experiment}/evaluators")).await;
    assert_eq!(listed["data"]["evaluators"], json!([]));

    let attached = post(
        &ember,
        &format!("/v1/experiments/{experiment}/evaluators"),
        json!({"evaluators": [
            {"plugin": "token-f1@1.0.0", "name": "f1"},
            {"plugin": "exact_match", "config": {"case_insensitive": true}},
            {"plugin": "hostile-loop@0.1.0", "name": "hostile"},
            {"plugin": "same-names", "name": "many", "config": {"scores": 3}},
        ]}),
    )
    .await;
    assert_eq!(attached["data"].as_array().unwrap().len(), 4);
    assert_eq!(attached["data"][0]["plugin"]["sha256"], token_f1_sha.as_str());

    // A run posted after attaching gets its jobs too.
    let last = examples.iter().find(|e| e["input"]["question"] == "Largest planet?").unwrap();
    post(
        &ember,
        &format!("/v1/experiments/{experiment}/runs"),
        json!({"dataset_example_id": last["id"], "output": "JUPITER", "repetition_number": 1,
               "start_time": "2026-11-24T10:00:00+00:00", "end_time": "2026-11-24T10:00:01+00:00"}),
    )
    .await;
    let status = wait_for_jobs(&ember, &experiment, Duration::from_secs(60)).await;
    let jobs = &status["data"]["jobs"];
    assert_eq!(jobs["total"], 16, "{status}");
    assert_eq!(jobs["done"], 12, "{status}");
    assert_eq!(jobs["failed"], 4, "the hostile evaluator's jobs fail: {status}");

    let found = evaluations(&ember, &experiment).await;
    let get = |q: &str, name: &str| {
        found.get(&(q.to_owned(), name.to_owned())).unwrap_or_else(|| panic!("{q} {name}: {found:?}"))
    };
    // exact_match (case-insensitive by config): 2 of 4.
    assert_eq!(get("What is two plus two?", "exact_match")["score"], 1.0);
    assert_eq!(get("Largest planet?", "exact_match")["score"], 1.0);
    assert_eq!(get("Colour of the sky?", "exact_match")["score"], 0.0);
    assert_eq!(get("Capital of France?", "exact_match")["label"], "no_match");
    // token F1: "paris capital" vs "paris is capital" (SQuAD drops "the"): P 1, R 2/3 → 0.8.
    let f1 = get("Capital of France?", "f1")["score"].as_f64().unwrap();
    assert!((f1 - 0.8).abs() < 1e-9, "{f1}");
    assert_eq!(get("Colour of the sky?", "f1")["score"], 0.0);
    let scored = get("What is two plus two?", "f1");
    assert_eq!(scored["plugin_name"], "token-f1");
    assert_eq!(scored["plugin_version"], "1.0.0");
    assert_eq!(scored["plugin_sha256"], token_f1_sha.as_str());
    assert_eq!(scored["annotator_kind"], "CODE");
    assert!(scored["error"].is_null());
    // The hostile evaluator: a typed error on every run, no score.
    for question in ["What is two plus two?", "Capital of France?", "Colour of the sky?", "Largest planet?"] {
        let hostile = get(question, "hostile");
        assert_eq!(hostile["error_kind"], "out_of_fuel", "{hostile}");
        assert!(hostile["error"].as_str().unwrap().contains("fuel"), "{hostile}");
        assert!(hostile["score"].is_null());
    }

    for suffix in ["", "#2", "#3"] {
        let score = get("Largest planet?", &format!("many.hostile_output{suffix}"));
        assert_eq!(score["score"], 0.5, "{score}");
    }

    // Compare: per-evaluator aggregates over the whole experiment.
    let (status, compare) = ember.get_json(&format!("/v1/compare?experiment_id={experiment}")).await;
    assert_eq!(status, 200, "{compare}");
    let aggregates = compare["data"]["aggregates"].as_array().unwrap();
    let aggregate = |name: &str| aggregates.iter().find(|a| a["evaluation_name"] == name).unwrap().clone();
    assert_eq!(aggregate("exact_match")["mean_score"], 0.5);
    assert_eq!(aggregate("exact_match")["labels"], json!({"match": 2, "no_match": 2}));
    assert_eq!(aggregate("hostile")["errors"], 4);
    assert_eq!(aggregate("hostile")["scored"], 0);
    assert_eq!(compare["data"]["examples"].as_array().unwrap().len(), 4);
    // The server kept serving and counted the calls.
    let metrics = ember.client.get(ember.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains(r#"ember_plugin_calls_total{plugin="hostile-loop",outcome="out_of_fuel"} 4"#),
        "{metrics}"
    );
    db.cleanup().await;
}

async fn compare_two_experiments(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start_with_plugins(&db, &[]).await;
    let dataset = upload_csv(&ember, "qa", QA_CSV).await;
    let (good, _) = experiment_with_runs(&ember, &dataset, |q| {
        Some(
            match q {
                "What is two plus two?" => "four",
                "Capital of France?" => "Paris is the capital",
                "Colour of the sky?" => "blue",
                _ => "Jupiter",
            }
            .to_owned(),
        )
    })
    .await;
    let (bad, _) = experiment_with_runs(&ember, &dataset, |_| Some("no idea".into())).await;
    for experiment in [&good, &bad] {
        post(
            &ember,
            &format!("/v1/experiments/{experiment}/evaluators"),
            json!({"evaluators": [{"plugin": "exact_match"}]}),
        )
        .await;
        wait_for_jobs(&ember, experiment, Duration::from_secs(30)).await;
    }
    let (status, compare) =
        ember.get_json(&format!("/v1/compare?experiment_id={good}&experiment_id={bad}&limit=3")).await;
    assert_eq!(status, 200, "{compare}");
    let data = &compare["data"];
    assert_eq!(data["experiments"].as_array().unwrap().len(), 2);
    let examples = data["examples"].as_array().unwrap();
    assert_eq!(examples.len(), 3, "paged by limit");
    for example in examples {
        let runs = example["runs"].as_object().unwrap();
        assert_eq!(runs[&good][0]["evaluations"]["exact_match"]["score"], 1.0, "{example}");
        assert_eq!(runs[&bad][0]["evaluations"]["exact_match"]["score"], 0.0, "{example}");
        assert_eq!(runs[&bad][0]["output"], "no idea");
    }
    let cursor = compare["next_cursor"].as_str().unwrap();
    let (_, rest) =
        ember.get_json(&format!("/v1/compare?experiment_id={good}&experiment_id={bad}&limit=3&cursor={cursor}")).await;
    assert_eq!(rest["data"]["examples"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());
    let aggregates = data["aggregates"].as_array().unwrap();
    let mean = |experiment: &str| {
        aggregates.iter().find(|a| a["experiment_id"] == experiment).unwrap()["mean_score"].as_f64().unwrap()
    };
    assert_eq!(mean(&good), 1.0);
    assert_eq!(mean(&bad), 0.0);
    // Bad requests.
    let (status, _) = ember.get_json("/v1/compare").await;
    assert_eq!(status, 422);
    let (status, _) = ember.get_json("/v1/compare?experiment_id=RXhwZXJpbWVudDo5OTk5").await;
    assert_eq!(status, 404);
    db.cleanup().await;
}

/// Runs in the restart test.
const RUNS: i64 = 400;

/// Kill the server (SIGKILL) while jobs run; a restarted server finishes the rest, and nothing
/// finished before the crash is evaluated again.
async fn evaluation_resumes_after_restart(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    // One call at a time, small claims and a short lease, so the crash lands mid-way and the
    // restarted server takes up the dead one's claim quickly.
    let env = [("EMBER_EVAL_CONCURRENCY", "1"), ("EMBER_EVAL_BATCH", "2"), ("EMBER_EVAL_LEASE_SECONDS", "2")];
    let ember = Ember::start_with_plugins(&db, &env).await;
    // Levenshtein distance on 1,000-character texts: about 3 ms and 66M instructions per call.
    let rows: String = (0..RUNS).map(|i| format!("q{i},{}\n", "ab".repeat(500))).collect();
    let dataset = upload_csv(&ember, "long", &format!("question,answer\n{rows}")).await;
    let (experiment, _) = experiment_with_runs(&ember, &dataset, |q| Some(format!("{q}{}", "ba".repeat(500)))).await;
    post(
        &ember,
        &format!("/v1/experiments/{experiment}/evaluators"),
        json!({"evaluators": [{"plugin": "levenshtein_distance"}]}),
    )
    .await;
    // Wait until some, not all, are done.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (_, body) = ember.get_json(&format!("/v1/experiments/{experiment}/evaluators")).await;
        assert_eq!(body["data"]["jobs"]["failed"], 0, "{body}");
        let done = body["data"]["jobs"]["done"].as_i64().unwrap();
        if done >= 20 {
            assert!(done < RUNS, "all jobs finished before the crash; make the calls slower");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no progress: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = evaluations(&ember, &experiment).await;
    // SAFETY: kill(2) on our own child's pid.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::kill(ember.pid(), libc::SIGKILL) };
    assert_eq!(rc, 0);
    drop(ember);

    let ember = Ember::start_with_plugins(&db, &env).await;
    let status = wait_for_jobs(&ember, &experiment, Duration::from_secs(120)).await;
    assert_eq!(status["data"]["jobs"]["done"], RUNS, "{status}");
    let after = evaluations(&ember, &experiment).await;
    assert_eq!(after.len() as i64, RUNS, "one evaluation per run");
    for (key, evaluation) in &before {
        let now = &after[key];
        assert_eq!(now["start_time"], evaluation["start_time"], "{key:?} was evaluated again after the restart");
        assert_eq!(now["score"], evaluation["score"]);
    }
    // The restarted server called the plugin only for the unfinished jobs.
    let metrics = ember.client.get(ember.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let calls: usize = metrics
        .lines()
        .find(|line| line.starts_with(r#"ember_plugin_calls_total{plugin="levenshtein_distance",outcome="ok"}"#))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        calls <= RUNS as usize - before.len(),
        "{calls} calls after the restart, {} were done before",
        before.len()
    );
    assert!(calls > 0);
    db.cleanup().await;
}

on_both_backends!(experiment_scored_in_the_sandbox, compare_two_experiments, evaluation_resumes_after_restart);

/// The evaluation worker and the prompt-task watcher panic at their start (a test hook): each is
/// restarted by its supervisor, the panics are counted, the server stays alive, and the
/// experiment's evaluations all complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_panicking_worker_is_restarted() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else { return };
    let env = [("EMBER_FAULT_TASK_PANICS", "evaluation-worker=2,prompt-task-watch=1")];
    let ember = Ember::start_with_plugins(&db, &env).await;
    let dataset = upload_csv(&ember, "qa", QA_CSV).await;
    let (experiment, examples) = experiment_with_runs(&ember, &dataset, |q| Some(format!("answer to {q}"))).await;
    post(
        &ember,
        &format!("/v1/experiments/{experiment}/evaluators"),
        json!({"evaluators": [{"plugin": "levenshtein_distance"}]}),
    )
    .await;
    let status = wait_for_jobs(&ember, &experiment, Duration::from_secs(60)).await;
    assert_eq!(status["data"]["jobs"]["done"], examples.len(), "{status}");
    let metrics = ember.client.get(ember.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for line in [
        r#"ember_task_panics_total{task="evaluation-worker"} 2"#,
        r#"ember_task_panics_total{task="prompt-task-watch"} 1"#,
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} missing from:\n{metrics}");
    }
    let (health, _) = ember.get_json("/healthz").await;
    assert_eq!(health, 200);
}

/// Two servers share one PostgreSQL database and one experiment's jobs, with a lease shorter
/// than the work: leases are renewed, claims skip each other's rows, and every job runs once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_share_the_jobs() {
    let Some(db) = TestDb::new(Backend::Postgres).await else { return };
    const JOBS: i64 = 800;
    // One claim takes every job, and running them (~3 ms each) takes about twice the lease.
    let env = [("EMBER_EVAL_CONCURRENCY", "1"), ("EMBER_EVAL_BATCH", "800"), ("EMBER_EVAL_LEASE_SECONDS", "1")];
    let first = Ember::start_with_plugins(&db, &env).await;
    let second = Ember::start_with_plugins(&db, &env).await;
    let rows: String = (0..JOBS).map(|i| format!("q{i},{}\n", "ab".repeat(500))).collect();
    let dataset = upload_csv(&first, "long", &format!("question,answer\n{rows}")).await;
    let (experiment, _) = experiment_with_runs(&first, &dataset, |q| Some(format!("{q}{}", "ba".repeat(500)))).await;
    post(
        &second,
        &format!("/v1/experiments/{experiment}/evaluators"),
        json!({"evaluators": [{"plugin": "levenshtein_distance"}]}),
    )
    .await;
    let status = wait_for_jobs(&first, &experiment, Duration::from_secs(120)).await;
    assert_eq!(status["data"]["jobs"]["done"], JOBS, "{status}");
    assert_eq!(evaluations(&second, &experiment).await.len() as i64, JOBS);
    // Without renewal the other server would take the claim over when its lease ran out, and
    // the calls would add up to more than one per job.
    let mut total = 0;
    for server in [&first, &second] {
        let metrics = server.client.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
        total += metrics
            .lines()
            .find(|line| line.starts_with(r#"ember_plugin_calls_total{plugin="levenshtein_distance",outcome="ok"}"#))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or(0);
    }
    assert_eq!(total, JOBS, "each job ran exactly once across both servers");
    db.cleanup().await;
}
