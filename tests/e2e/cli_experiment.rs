//! `ember dataset …` and `ember experiment run` against a real server with the first-party
//! evaluator plugins: upload a CSV, run experiments scored server-side, read the summary.

use std::process::Output;

use serde_json::Value;

use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;

const CSV: &str = "question,answer,prediction\n\
                   capital of France?,Paris,Paris\n\
                   2+2?,4,4\n\
                   colour of the sky?,blue,blue\n\
                   largest planet?,Jupiter,Saturn\n";

async fn ember(server: &Ember, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_ember"))
        .args(args)
        .env("EMBER_SERVER_URL", &server.http)
        .env("RUST_LOG", "error")
        .output()
        .await
        .expect("run ember")
}

fn json_of(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|_| {
        panic!("not JSON ({}): {stdout}\nstderr: {}", output.status, String::from_utf8_lossy(&output.stderr))
    })
}

fn evaluator<'a>(summary: &'a Value, name: &str) -> &'a Value {
    summary["evaluators"]
        .as_array()
        .and_then(|all| all.iter().find(|e| e["name"] == name))
        .unwrap_or_else(|| panic!("no evaluator {name} in {summary}"))
}

async fn upload_run_and_summarise(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let server = Ember::start_with_plugins(&db, &[]).await;
    let file = db.dir.path().join("qa.csv");
    std::fs::write(&file, CSV).unwrap();
    let file = file.display().to_string();

    let out = ember(
        &server,
        &["dataset", "upload", &file, "--name", "qa", "--input-keys", "question", "--output-keys", "answer"]
            .into_iter()
            .chain(["--metadata-keys", "prediction", "--json"])
            .collect::<Vec<_>>(),
    )
    .await;
    assert!(out.status.success(), "upload: {}", String::from_utf8_lossy(&out.stderr));
    let uploaded = json_of(&out);
    assert_eq!(uploaded["example_count"], 4, "{uploaded}");
    let dataset_id = uploaded["dataset_id"].as_str().unwrap().to_owned();
    assert!(uploaded["version_id"].is_string(), "{uploaded}");

    let out = ember(&server, &["dataset", "list", "--json"]).await;
    assert!(out.status.success(), "list: {}", String::from_utf8_lossy(&out.stderr));
    assert!(json_of(&out).as_array().unwrap().iter().any(|d| d["name"] == "qa"));

    let out = ember(&server, &["dataset", "export", "qa", "--format", "jsonl"]).await;
    assert!(out.status.success(), "export: {}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4);
    assert!(lines.iter().any(|l| l["output"]["answer"] == "Jupiter" && l["metadata"]["prediction"] == "Saturn"));

    // Stored outputs: 3 of 4 predictions equal the answer.
    let args = ["experiment", "run", "--dataset", "qa", "--evaluator", "exact_match", "--output-key", "prediction"];
    let out =
        ember(&server, &args.into_iter().chain(["--json", "--strict", "--timeout", "60"]).collect::<Vec<_>>()).await;
    let summary = json_of(&out);
    assert!(out.status.success(), "{summary}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(summary["runs"]["succeeded"], 4, "{summary}");
    assert_eq!(summary["ok"], true, "{summary}");
    let exact = evaluator(&summary, "exact_match");
    assert_eq!(exact["evaluated"], 4, "{summary}");
    assert_eq!(exact["mean_score"], 0.75, "{summary}");
    assert_eq!(exact["pass_rate"], 0.75, "{summary}");
    assert_eq!(exact["labels"]["match"], 3, "{summary}");
    assert!(exact["plugin"].as_str().unwrap().starts_with("exact_match@"), "{summary}");

    // The table, for people.
    let out = ember(&server, &args).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("exact_match") && table.contains("0.750") && table.contains("75.0%"), "{table}");

    // A shell task reading the example on stdin; one example fails, two evaluators (one configured).
    let task = "if grep -q planet; then echo no planets here >&2; exit 3; fi; echo Paris";
    let out = ember(
        &server,
        &["experiment", "run", "--dataset", &dataset_id, "--name", "shell", "--task-cmd", task, "--concurrency", "2"]
            .into_iter()
            .chain(["--evaluator", "exact_match@0.1.0", "--evaluator", r#"contains={"keywords": ["paris"]}"#])
            .chain(["--json", "--timeout", "60"])
            .collect::<Vec<_>>(),
    )
    .await;
    let summary = json_of(&out);
    assert!(out.status.success(), "without --strict a failed run is not a failed command: {summary}");
    assert_eq!((summary["runs"]["succeeded"].as_u64(), summary["runs"]["failed"].as_u64()), (Some(3), Some(1)));
    assert!(summary["runs"]["errors"][0].as_str().unwrap().contains("no planets here"), "{summary}");
    assert_eq!(evaluator(&summary, "exact_match")["labels"]["match"], 1, "{summary}");
    assert_eq!(evaluator(&summary, "contains")["labels"]["contains"], 3, "case-insensitive by default: {summary}");

    // The same with --strict fails the command.
    let out = ember(
        &server,
        &["experiment", "run", "--dataset", "qa", "--task-cmd", task, "--evaluator", "exact_match", "--strict"],
    )
    .await;
    assert!(!out.status.success(), "--strict: {}", String::from_utf8_lossy(&out.stdout));

    // JSON on stdout is parsed: one string field unwraps to the expected text.
    let out = ember(
        &server,
        &[
            "experiment",
            "run",
            "--dataset",
            "qa",
            "--task-cmd",
            r#"echo '{"answer": "4"}'"#,
            "--evaluator",
            "exact_match",
        ]
        .into_iter()
        .chain(["--repetitions", "2", "--json", "--strict", "--timeout", "60"])
        .collect::<Vec<_>>(),
    )
    .await;
    let summary = json_of(&out);
    assert!(out.status.success(), "{summary}");
    assert_eq!(summary["runs"]["succeeded"], 8, "{summary}");
    let exact = evaluator(&summary, "exact_match");
    assert_eq!((exact["evaluated"].as_u64(), exact["labels"]["match"].as_u64()), (Some(8), Some(2)), "{summary}");

    // An unknown plugin is refused with the server's message.
    let out = ember(
        &server,
        &["experiment", "run", "--dataset", "qa", "--output-key", "prediction", "--evaluator", "nope@9.9.9"],
    )
    .await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("422") && stderr.contains("nope"), "{stderr}");

    // An unknown dataset is named.
    let out = ember(&server, &["experiment", "run", "--dataset", "missing", "--output-key", "x"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing"));

    drop(server);
    db.cleanup().await;
}

on_both_backends!(upload_run_and_summarise);

#[test]
fn a_task_or_an_output_key_is_required() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ember"))
        .args(["experiment", "run", "--dataset", "qa", "--server", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ember"))
        .args([
            "experiment",
            "run",
            "--dataset",
            "qa",
            "--output-key",
            "a",
            "--evaluator",
            "x={",
            "--server",
            "http://127.0.0.1:9",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not JSON"), "{}", String::from_utf8_lossy(&out.stderr));
}
