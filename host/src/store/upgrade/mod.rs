//! The upgrade test: a database as the release before rollups left it (schema 0011 holding
//! `fixture_0011.sql`) migrates, fills its rollups in the background and answers as before, on
//! both stores. Every later schema change keeps this test: the fixture stays as it is.

use std::borrow::Cow;
use std::path::Path;

use sqlx::migrate::Migrator;
use sqlx::{Connection, Executor};

use super::temp_postgres::TempPostgres;
use super::{SessionQuery, SpanValueColumn, Store, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};

const FIXTURE: &str = include_str!("fixture_0011.sql");
const FIXTURE_SCHEMA: i64 = 11;

/// The migrations of the release that wrote the fixture.
fn up_to_fixture(all: &Migrator) -> Migrator {
    Migrator {
        migrations: Cow::Owned(all.iter().filter(|m| m.version <= FIXTURE_SCHEMA).cloned().collect()),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    }
}

fn fixture_statements() -> Vec<String> {
    let text: String = FIXTURE.lines().filter(|line| !line.starts_with("--")).collect::<Vec<_>>().join("\n");
    text.split(";\n").map(str::trim).filter(|s| !s.is_empty()).map(|s| s.trim_end_matches(';').to_owned()).collect()
}

async fn answers_as_before(url: &str, dir: &Path) {
    let store = Store::connect(Some(url), dir).await.expect("migrates the old database");
    store.settle_rollups().await.expect("fills the rollups");
    let chat = store.project_by_name("chat").await.expect("reads").expect("project chat");
    let batch = store.project_by_name("batch").await.expect("reads").expect("project batch");
    let stats = store.project_stats(&[chat.id, batch.id]).await.expect("stats");

    let c = &stats[&chat.id];
    assert_eq!((c.span_count, c.trace_count, c.token_prompt, c.token_completion), (5, 2, 50, 12), "{c:?}");
    assert!((c.cost_total - 1.75).abs() < 1e-9, "{c:?}");
    assert_eq!(c.last_start_ns, Some(1_700_004_000_000_000_000));
    let p50 = c.latency_p50_ms.expect("a p50");
    assert!((p50 / 250.0 - 1.0).abs() <= 0.01, "{c:?}");
    assert_eq!(c.latency_p99_ms, Some(400.0), "the largest root latency is exact");

    let b = &stats[&batch.id];
    assert_eq!((b.span_count, b.trace_count, b.latency_p50_ms, b.latency_p99_ms), (2, 2, Some(30.0), Some(50.0)));

    let models = store.distinct_span_values(chat.id, SpanValueColumn::Model).await.expect("models");
    assert_eq!(models, ["claude-3", "gpt-4o"]);
    let names = store.distinct_span_values(chat.id, SpanValueColumn::Name).await.expect("names");
    assert_eq!(names, ["agent", "llm_call", "retrieve"]);
    let sessions = store
        .list_sessions(&SessionQuery { project_id: chat.id, descending: true, limit: 10, from_id: None })
        .await
        .expect("sessions");
    assert_eq!(sessions.len(), 1);
    assert_eq!((sessions[0].session_id.as_str(), sessions[0].token_total), ("conv-1", Some(62)));
    store.close().await;
}

#[tokio::test]
async fn a_sqlite_database_of_the_previous_release_upgrades() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("opens");
    up_to_fixture(&SQLITE_MIGRATIONS).run_direct(&mut conn).await.expect("old schema");
    for statement in fixture_statements() {
        conn.execute(statement.as_str()).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    conn.close().await.expect("closes");
    answers_as_before(&url, dir.path()).await;
}

#[tokio::test]
async fn a_postgres_database_of_the_previous_release_upgrades() {
    let Some(db) = TempPostgres::create("upgrade").await else { return };
    let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connects");
    up_to_fixture(&POSTGRES_MIGRATIONS).run_direct(&mut conn).await.expect("old schema");
    for statement in fixture_statements() {
        conn.execute(statement.as_str()).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    conn.close().await.expect("closes");
    let dir = tempfile::tempdir().expect("temp dir");
    answers_as_before(&db.url, dir.path()).await;
    db.drop().await;
}
