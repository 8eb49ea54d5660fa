//! Backup and restore: `ember backup` copies SQLite while ingest runs, consistently (every span
//! acknowledged before it started is in the copy), `ember restore` refuses a database in use and
//! puts the copy back for a server to serve; PostgreSQL's `pg_dump` / `pg_restore` round trip
//! serves the same data.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use sqlx::Connection;

use crate::harness::{Backend, Ember, TestDb};
use crate::tally::{wait_until, Background};

/// Runs `ember ARGS` to completion: success, and what it printed (stdout and stderr).
fn ember(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_ember"))
        .args(args)
        .env_remove("EMBER_DATABASE_URL")
        .output()
        .expect("run ember");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

async fn span_ids_in(file: &Path) -> HashSet<String> {
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display())).await.expect("open backup");
    let rows: Vec<(String,)> = sqlx::query_as("SELECT span_id FROM spans").fetch_all(&mut conn).await.expect("select");
    rows.into_iter().map(|(id,)| id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backup_while_ingesting_and_restore() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else { return };
    let ember_server = Ember::start(&db).await;
    let sender = Background::start(&ember_server);
    wait_until("spans are acknowledged", Duration::from_secs(30), &sender, || sender.acked() >= 2000).await;
    let before = sender.acked_ids();
    let dir = db.dir.path().display().to_string();
    let copy = tempfile::tempdir().expect("tempdir");
    let file = copy.path().join("backup.db");
    let file_arg = file.display().to_string();
    let (ok, said) = tokio::task::spawn_blocking({
        let (file_arg, dir) = (file_arg.clone(), dir.clone());
        move || ember(&["backup", &file_arg, "--working-dir", &dir])
    })
    .await
    .expect("backup");
    assert!(ok, "{said}");
    assert!(sender.acked() > before.len(), "ingest went on during the backup");
    let in_backup = span_ids_in(&file).await;
    let missing = before.iter().filter(|id| !in_backup.contains(*id)).count();
    eprintln!(
        "backup under load: {} acknowledged before it began, {} in the copy, {missing} missing: {said}",
        before.len(),
        in_backup.len()
    );
    assert_eq!(missing, 0, "a span acknowledged before the backup began is missing from it");

    let (ok, said) = ember(&["backup", &file_arg, "--working-dir", &dir]);
    assert!(!ok && said.contains("already exists"), "{said}");
    let (ok, said) = ember(&["restore", &file_arg, "--working-dir", &dir]);
    assert!(!ok && said.contains("in use"), "a running server's database is not replaced: {said}");
    sender.settle("backup under load", ember_server, &db).await;

    // Restore into a fresh working directory and serve it.
    let restored = TestDb::new(Backend::Sqlite).await.expect("sqlite");
    let target = restored.dir.path().display().to_string();
    let (ok, said) = ember(&["restore", &file_arg, "--working-dir", &target]);
    assert!(ok, "{said}");
    let served = Ember::start(&restored).await;
    let (status, body) = served.get_json("/v1/projects/faults/spans?limit=5").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"].as_array().map(Vec::len), Some(5));
    assert_eq!(restored.count("SELECT count(*) FROM spans").await as usize, in_backup.len());
    served.terminate();
    assert!(served.wait(Duration::from_secs(60)).await);

    // Restoring over a stopped server's database keeps the one it replaces.
    let (ok, said) = ember(&["restore", &file_arg, "--working-dir", &dir]);
    assert!(ok, "{said}");
    let kept = std::fs::read_dir(db.dir.path())
        .expect("dir")
        .flatten()
        .any(|entry| entry.file_name().to_string_lossy().starts_with("ember.db.before-restore-"));
    assert!(kept, "the replaced database is kept");
    let (ok, said) = ember(&["restore", "/nonexistent/backup.db", "--working-dir", &dir]);
    assert!(!ok && said.contains("not a SQLite database"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_dump_and_restore_serve_the_same_data() {
    let Some(db) = TestDb::new(Backend::Postgres).await else { return };
    let first = Ember::start(&db).await;
    let sender = Background::start(&first);
    wait_until("spans are acknowledged", Duration::from_secs(30), &sender, || sender.acked() >= 1000).await;
    let tally = sender.settle("before pg_dump", first, &db).await;
    let dump = db.dir.path().join("ember.dump");
    let url = db.server_url().expect("postgres url");
    let status = Command::new("pg_dump").args(["-Fc", "-f"]).arg(&dump).arg(&url).status().expect("pg_dump");
    assert!(status.success(), "pg_dump");

    let restored = TestDb::new(Backend::Postgres).await.expect("postgres");
    let target = restored.server_url().expect("postgres url");
    let status =
        Command::new("pg_restore").args(["--no-owner", "-d", &target]).arg(&dump).status().expect("pg_restore");
    assert!(status.success(), "pg_restore");
    let served = Ember::start(&restored).await;
    let stored = restored.stored_span_ids().await;
    assert!(tally.acked.iter().all(|id| stored.contains(id)), "every acknowledged span is in the restored database");
    let (status, body) = served.get_json("/v1/projects/faults/spans?limit=5").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"].as_array().map(Vec::len), Some(5));
    served.terminate();
    assert!(served.wait(Duration::from_secs(60)).await);
    db.cleanup().await;
    restored.cleanup().await;
}
