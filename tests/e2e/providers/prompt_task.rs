//! An experiment whose task is a prompt, end to end: a Phoenix-shaped prompt (mustache chat
//! template, OpenAI `echo`) runs over every example through the `openai` provider, each run is
//! scored by the `qa_correctness` LLM judge (the fake server's `judge` model), and the example
//! whose provider call keeps failing carries the error instead.

use std::time::Duration;

use serde_json::{json, Value};

use super::{chat, send, setup};
use crate::datasets::post_json;
use crate::harness::{Backend, Ember};
use crate::llm_server::{FORCE_500_MARKER, JUDGE_BAD_MARKER};
use crate::on_both_backends;

const PROMPT: &str = "qa-echo";
const RIGHT: &str = "What is the capital of France?";
/// The judge's bad marker in the question ends up in the output it judges.
const WRONG: &str = "Name a WRONG colour for the sky";
/// The provider answers 500 to this one, every time.
const FAILING: &str = "FORCE_500 this question";

/// Creates the prompt the way Phoenix's client does; the task echoes `Question: {{question}}`.
async fn create_prompt(ember: &Ember) {
    let body = json!({
        "prompt": {"name": PROMPT, "description": "echoes the question"},
        "version": {
            "description": "first", "model_provider": "OPENAI", "model_name": "echo",
            "template_type": "CHAT", "template_format": "MUSTACHE",
            "template": {"type": "chat", "messages": [
                {"role": "system", "content": "You answer questions."},
                {"role": "user", "content": "Question: {{question}}"},
            ]},
            "invocation_parameters": {"type": "openai", "openai": {"temperature": 0.0}},
        },
    });
    let (status, created) = post_json(ember, "/v1/prompts", &body).await;
    assert!((200..300).contains(&status), "{status} {created}");
}

/// Uploads the three questions and creates an experiment over them; returns its id.
async fn create_experiment(ember: &Ember) -> String {
    let upload = json!({"name": "qa", "inputs": [{"question": RIGHT}, {"question": WRONG}, {"question": FAILING}],
        "outputs": [{"answer": "Paris"}, {"answer": "blue"}, {"answer": "none"}]});
    let (status, uploaded) = post_json(ember, "/v1/datasets/upload?sync=true", &upload).await;
    assert_eq!(status, 200, "{uploaded}");
    let dataset = uploaded["data"]["dataset_id"].as_str().unwrap();
    let (status, experiment) =
        post_json(ember, &format!("/v1/datasets/{dataset}/experiments"), &json!({"name": "prompt task"})).await;
    assert_eq!(status, 200, "{experiment}");
    experiment["data"]["id"].as_str().unwrap().to_owned()
}

/// Polls `path` until `done(body)`, or fails after `timeout`.
async fn poll(ember: &Ember, path: &str, timeout: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let (status, body) = ember.get_json(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        if done(&body) {
            return body;
        }
        assert!(tokio::time::Instant::now() < deadline, "{path} not done: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The exported run of the example asking `question`.
fn run_for<'a>(runs: &'a [Value], question: &str) -> &'a Value {
    runs.iter()
        .find(|r| r["input"]["question"] == question)
        .unwrap_or_else(|| panic!("no run for {question}: {runs:?}"))
}

/// The run's `qa_correctness` evaluation.
fn judged(run: &Value) -> &Value {
    let annotations = run["annotations"].as_array().unwrap();
    annotations.iter().find(|a| a["name"] == "qa_correctness").unwrap_or_else(|| panic!("not judged: {run}"))
}

async fn prompt_task_scored_by_llm_judge(backend: Backend) {
    let Some(setup) = setup(backend).await else { return };
    let (ember, llm) = (&setup.ember, &setup.llm);
    create_prompt(ember).await;

    // The prompt renders and runs in the playground too.
    let (status, body) =
        chat(ember, &json!({"prompt": PROMPT, "variables": {"question": "Why is grass green?"}})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["message"]["content"], "Question: Why is grass green?");

    // The judge may call a provider only once granted `llm`; it is configured per attachment.
    let experiment = create_experiment(ember).await;
    super::patch_plugin(ember, "qa_correctness", json!({"grants": {"llm": true}})).await;
    let evaluators =
        json!({"evaluators": [{"plugin": "qa_correctness", "config": {"provider": "openai", "model": "judge"}}]});
    let (status, attached) = post_json(ember, &format!("/v1/experiments/{experiment}/evaluators"), &evaluators).await;
    assert!((200..300).contains(&status), "{status} {attached}");

    let task = json!({"prompt": PROMPT, "concurrency": 2, "max_attempts": 2});
    let (status, queued) =
        send(ember, reqwest::Method::POST, &format!("/v1/experiments/{experiment}/prompt_task"), Some(task)).await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["data"]["experiment_id"], experiment.as_str());
    assert_eq!(queued["data"]["queued"], 3, "{queued}");

    let task_path = format!("/v1/experiments/{experiment}/prompt_task");
    let progress = poll(ember, &task_path, Duration::from_secs(60), |b| b["data"]["state"] == "done").await;
    assert_eq!(progress["data"]["total"], 3, "{progress}");
    assert_eq!(progress["data"]["failed"], 1, "{progress}");
    let jobs_path = format!("/v1/experiments/{experiment}/evaluators");
    // Both successful runs get a judge's job (whether the failed run gets one is not asserted).
    poll(ember, &jobs_path, Duration::from_secs(60), |b| {
        let jobs = &b["data"]["jobs"];
        jobs["done"].as_u64().unwrap_or(0) >= 2 && jobs["pending"] == 0 && jobs["running"] == 0
    })
    .await;

    let (status, export) = ember.get_json(&format!("/v1/experiments/{experiment}/json")).await;
    assert_eq!(status, 200, "{export}");
    let runs = export.as_array().unwrap();
    assert_eq!(runs.len(), 3, "{export}");

    // Each output is the rendered template, echoed; the judge followed its marker rule.
    let right = run_for(runs, RIGHT);
    assert_eq!(right["output"], format!("Question: {RIGHT}"), "{right}");
    assert!(right["error"].is_null(), "{right}");
    let verdict = judged(right);
    assert_eq!((verdict["label"].as_str(), verdict["score"].as_f64()), (Some("correct"), Some(1.0)), "{verdict}");
    assert!(verdict["explanation"].as_str().unwrap_or_default().contains("fake judge says"), "{verdict}");
    assert!(verdict["error"].is_null(), "{verdict}");
    let wrong = run_for(runs, WRONG);
    assert_eq!(wrong["output"], format!("Question: {WRONG}"), "{wrong}");
    let verdict = judged(wrong);
    assert_eq!((verdict["label"].as_str(), verdict["score"].as_f64()), (Some("incorrect"), Some(0.0)), "{verdict}");

    // The failing example: no output, an error naming the provider's failure, after two attempts.
    let failed = run_for(runs, FAILING);
    let error = failed["error"].as_str().unwrap_or_else(|| panic!("the failing run carries an error: {failed}"));
    assert!(error.contains("500"), "{failed}");
    let attempts = llm
        .requests()
        .iter()
        .filter(|r| r.model().as_deref() == Some("echo") && r.text().contains(FORCE_500_MARKER))
        .count();
    assert_eq!(attempts, 2, "max_attempts 2");

    // What went over the wire: the task's rendered prompt with its parameters, and a judge
    // prompt holding the question, the output and the reference answer.
    let task_request = llm
        .requests()
        .into_iter()
        .find(|r| r.model().as_deref() == Some("echo") && r.text().contains(RIGHT))
        .expect("task request")
        .json();
    assert_eq!(task_request["messages"][0], json!({"role": "system", "content": "You answer questions."}));
    assert_eq!(task_request["messages"][1], json!({"role": "user", "content": format!("Question: {RIGHT}")}));
    assert_eq!(task_request["temperature"], 0.0, "{task_request}");
    let judge_prompts: Vec<String> =
        llm.requests().into_iter().filter(|r| r.model().as_deref() == Some("judge")).map(|r| r.text()).collect();
    assert!(
        judge_prompts.iter().any(|p| p.contains(&format!("Question: {RIGHT}")) && p.contains("Paris")),
        "{judge_prompts:?}"
    );
    assert!(judge_prompts.iter().any(|p| p.contains(JUDGE_BAD_MARKER)), "{judge_prompts:?}");
    setup.db.cleanup().await;
}

on_both_backends!(prompt_task_scored_by_llm_judge);
