//! Who may reach a server without authentication: loopback by default; any other address only
//! with an explicit `--insecure-no-auth`, warned about on every start. With authentication on,
//! any address serves (`tests/e2e/auth.rs`).

use std::process::Stdio;
use std::time::Duration;

use crate::harness::{Backend, Ember, TestDb};

/// Runs `ember serve` with `args` and `env`, expects it to exit with a failure before serving,
/// and returns its stderr.
async fn refused(args: &[&str], env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().expect("working dir");
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_ember"));
    command
        .args(["serve", "--port", "0", "--grpc-port", "0"])
        .args(args)
        .env("EMBER_WORKING_DIR", dir.path())
        .env("RUST_LOG", "warn")
        .env_remove("EMBER_DATABASE_URL")
        .env_remove("EMBER_HOST")
        .env_remove("EMBER_ENABLE_AUTH")
        .env_remove("PHOENIX_ENABLE_AUTH")
        .env_remove("EMBER_INSECURE_NO_AUTH")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .expect("the server exits at once")
        .expect("run ember");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "the server must refuse to start; stdout: {stdout}");
    assert!(!stdout.contains("http="), "it must not announce listeners: {stdout}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn a_network_address_without_auth_is_refused() {
    let stderr = refused(&["--host", "0.0.0.0"], &[]).await;
    assert!(stderr.contains("EMBER_HOST=0.0.0.0") && stderr.contains("--insecure-no-auth"), "{stderr}");
    let stderr = refused(&[], &[("EMBER_HOST", "::")]).await;
    assert!(stderr.contains("authentication is off"), "{stderr}");
    // Saying no to the escape hatch is not saying yes.
    let stderr = refused(&["--host", "0.0.0.0"], &[("EMBER_INSECURE_NO_AUTH", "false")]).await;
    assert!(stderr.contains("--insecure-no-auth"), "{stderr}");
}

#[tokio::test]
async fn insecure_no_auth_serves_on_the_network_and_warns() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else { return };
    let env = [("EMBER_HOST", "0.0.0.0"), ("EMBER_INSECURE_NO_AUTH", "true")];
    let (ember, log) = Ember::start_capturing_logs(&db, &env).await;
    let response = ember.client.get(ember.url("/readyz")).send().await.expect("readyz");
    assert_eq!(response.status().as_u16(), 200);
    let text = std::fs::read_to_string(&log).expect("read log");
    assert!(text.contains("WITHOUT AUTHENTICATION"), "the start must warn: {text}");
}
