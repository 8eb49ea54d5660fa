//! The task `ember experiment run` runs per example: a shell command, or a stored value.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

/// What the task sees on stdin.
pub fn task_input(example: &Value) -> Value {
    json!({"input": example["input"], "expected": example["output"], "metadata": example["metadata"]})
}

/// A task's stdout as a run output: JSON when it parses, else the text without its final newline.
pub fn parse_output(stdout: &[u8]) -> Value {
    let text = String::from_utf8_lossy(stdout);
    match serde_json::from_str(text.trim()) {
        Ok(value) if !text.trim().is_empty() => value,
        _ => Value::String(text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text).into()),
    }
}

/// The stored value `key` of an example: its output's, else its metadata's, else its input's.
pub fn stored_output(example: &Value, key: &str) -> Option<Value> {
    ["output", "metadata", "input"].iter().find_map(|group| example[group].get(key).cloned())
}

/// Runs `command` with `sh -c`, `input` on stdin; its stdout is the output, a non-zero exit, a
/// failure to start or a timeout the error.
pub async fn run_task(command: &str, input: &Value, timeout: Duration) -> Result<Value, String> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|err| format!("cannot start the task: {err}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let bytes = input.to_string().into_bytes();
        // A task that ignores stdin closes it early; that is not an error.
        tokio::spawn(async move {
            let _ = stdin.write_all(&bytes).await;
        });
    }
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(output) => output.map_err(|err| format!("task failed: {err}"))?,
        Err(_) => return Err(format!("task timed out after {}s", timeout.as_secs())),
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: String = stderr.trim().chars().rev().take(500).collect::<Vec<_>>().into_iter().rev().collect();
        let status =
            output.status.code().map_or_else(|| "killed by a signal".to_owned(), |c| format!("exit status {c}"));
        return Err(if tail.is_empty() {
            format!("task failed: {status}")
        } else {
            format!("task failed: {status}: {tail}")
        });
    }
    Ok(parse_output(&output.stdout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_output_is_json_or_text() {
        assert_eq!(parse_output(b"{\"a\": 1}\n"), json!({"a": 1}));
        assert_eq!(parse_output(b"\"Paris\"\n"), json!("Paris"));
        assert_eq!(parse_output(b"Paris\n"), json!("Paris"));
        assert_eq!(parse_output(b"two\nlines\n"), json!("two\nlines"));
        assert_eq!(parse_output(b""), json!(""));
    }

    #[test]
    fn stored_outputs_are_looked_up_in_order() {
        let example = json!({"input": {"q": 1, "p": "in"}, "output": {"a": 2}, "metadata": {"p": "meta"}});
        assert_eq!(stored_output(&example, "a"), Some(json!(2)));
        assert_eq!(stored_output(&example, "p"), Some(json!("meta")));
        assert_eq!(stored_output(&example, "q"), Some(json!(1)));
        assert_eq!(stored_output(&example, "zz"), None);
        assert_eq!(task_input(&example)["expected"], json!({"a": 2}));
    }

    #[tokio::test]
    async fn tasks_run_in_a_shell() {
        let input = json!({"input": {"q": "x"}});
        let out = run_task("cat", &input, Duration::from_secs(10)).await.unwrap();
        assert_eq!(out, json!({"input": {"q": "x"}}));
        let err = run_task("echo nope >&2; exit 3", &input, Duration::from_secs(10)).await.unwrap_err();
        assert_eq!(err, "task failed: exit status 3: nope");
        let err = run_task("sleep 5", &input, Duration::from_millis(100)).await.unwrap_err();
        assert!(err.contains("timed out"), "{err}");
    }
}
