//! Starts the real `ember` binary on ephemeral ports against a fresh database.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::Connection;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// PostgreSQL server the suite creates its databases on.
fn postgres_admin_url() -> String {
    std::env::var("EMBER_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database of its own for one test: a SQLite file in a temporary directory, or a fresh
/// PostgreSQL database that is dropped at the end.
pub struct TestDb {
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    pg_name: Option<String>,
    /// The PostgreSQL server's administrative URL.
    admin: String,
}

static NEXT_DB: AtomicUsize = AtomicUsize::new(0);
static NEXT_LOG: AtomicUsize = AtomicUsize::new(0);

impl TestDb {
    /// `None` when PostgreSQL is unreachable outside CI (the test is skipped, loudly); in CI
    /// (`CI` set) an unreachable PostgreSQL fails the test.
    pub async fn new(backend: Backend) -> Option<Self> {
        if backend == Backend::Sqlite {
            let dir = tempfile::tempdir().expect("temporary directory");
            return Some(Self { backend, dir, pg_name: None, admin: String::new() });
        }
        Self::postgres_on(&postgres_admin_url()).await
    }

    /// A fresh database on the PostgreSQL server at `admin` (its `postgres` database URL).
    pub async fn postgres_on(admin: &str) -> Option<Self> {
        let (backend, dir, admin) =
            (Backend::Postgres, tempfile::tempdir().expect("temporary directory"), admin.to_owned());
        let mut conn = match sqlx::PgConnection::connect(&admin).await {
            Ok(conn) => conn,
            Err(err) if std::env::var_os("CI").is_none() => {
                eprintln!("\n!!! SKIPPING PostgreSQL half of this test: cannot connect to {admin}: {err}\n!!! set EMBER_TEST_POSTGRES_URL or start PostgreSQL; CI never skips\n");
                return None;
            }
            Err(err) => panic!("CI requires PostgreSQL at {admin}: {err}"),
        };
        let name = format!("ember_e2e_{}_{}", std::process::id(), NEXT_DB.fetch_add(1, Ordering::Relaxed));
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&mut conn).await.expect("drop old database");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create database");
        Some(Self { backend, dir, pg_name: Some(name), admin })
    }

    /// The URL the server is given, `None` for SQLite in its working directory.
    pub fn server_url(&self) -> Option<String> {
        let name = self.pg_name.as_ref()?;
        let base = self.admin.rsplit_once('/').map_or(self.admin.as_str(), |(base, _)| base);
        Some(format!("{base}/{name}"))
    }

    fn direct_url(&self) -> String {
        self.server_url().unwrap_or_else(|| format!("sqlite://{}", self.dir.path().join("ember.db").display()))
    }

    /// Every stored span id, read straight from the database.
    pub async fn stored_span_ids(&self) -> HashSet<String> {
        let url = self.direct_url();
        let rows: Vec<(String,)> = match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("open sqlite");
                sqlx::query_as("SELECT span_id FROM spans").fetch_all(&mut conn).await.expect("select")
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&url).await.expect("open postgres");
                sqlx::query_as("SELECT span_id FROM spans").fetch_all(&mut conn).await.expect("select")
            }
        };
        rows.into_iter().map(|(id,)| id).collect()
    }

    /// The single integer a query returns (a `count(*)`), read straight from the database.
    pub async fn count(&self, sql: &str) -> i64 {
        let url = self.direct_url();
        let (count,): (i64,) = match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("open sqlite");
                sqlx::query_as(sql).fetch_one(&mut conn).await.expect("select")
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&url).await.expect("open postgres");
                sqlx::query_as(sql).fetch_one(&mut conn).await.expect("select")
            }
        };
        count
    }

    /// All text stored for spans (names, messages, inputs, outputs, attributes, events), read
    /// straight from the database: what a redaction test searches for leaks.
    pub async fn stored_text(&self) -> String {
        let url = self.direct_url();
        let sql = "SELECT name || ' ' || status_message || ' ' || COALESCE(input_value, '') || ' ' || \
                   COALESCE(output_value, '') || ' ' || COALESCE(session_id, '') || ' ' || CAST(attributes AS TEXT) || ' ' || \
                   CAST(events AS TEXT) FROM spans UNION ALL SELECT session_id FROM sessions";
        let rows: Vec<(String,)> = match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("open sqlite");
                sqlx::query_as(sql).fetch_all(&mut conn).await.expect("select")
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&url).await.expect("open postgres");
                sqlx::query_as(sql).fetch_all(&mut conn).await.expect("select")
            }
        };
        rows.into_iter().map(|(text,)| text).collect::<Vec<_>>().join("\n")
    }

    /// Everything in the database as text: the raw SQLite files (with the write-ahead log), or
    /// every row of every PostgreSQL table (`bytea` shows as hex). What a test searches for a
    /// secret stored in clear.
    pub async fn dump_all(&self) -> String {
        if self.backend == Backend::Sqlite {
            let mut dump = String::new();
            for entry in std::fs::read_dir(self.dir.path()).expect("read test dir").flatten() {
                if entry.file_name().to_string_lossy().starts_with("ember.db") {
                    dump.push_str(&String::from_utf8_lossy(&std::fs::read(entry.path()).expect("read sqlite file")));
                }
            }
            return dump;
        }
        let mut conn = sqlx::PgConnection::connect(&self.direct_url()).await.expect("open postgres");
        let tables: Vec<(String,)> =
            sqlx::query_as("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'")
                .fetch_all(&mut conn)
                .await
                .expect("list tables");
        let mut dump = Vec::new();
        for (table,) in tables {
            let rows: Vec<(String,)> = sqlx::query_as(&format!("SELECT CAST(t AS TEXT) FROM \"{table}\" t"))
                .fetch_all(&mut conn)
                .await
                .expect("select rows");
            dump.extend(rows.into_iter().map(|(row,)| format!("{table}: {row}")));
        }
        dump.join("\n")
    }

    /// Drops the PostgreSQL database.
    pub async fn cleanup(self) {
        let Some(name) = &self.pg_name else { return };
        if let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await;
        }
    }
}

/// A running `ember serve`.
pub struct Ember {
    child: Child,
    pub http: String,
    pub grpc: SocketAddr,
    pub client: reqwest::Client,
}

impl Ember {
    pub async fn start(db: &TestDb) -> Self {
        Self::start_with(db, &[]).await
    }

    /// Starts the server with the first-party plugins (`plugins/dist`) installed, compiled code
    /// cached across tests, and extra environment variables.
    pub async fn start_with_plugins(db: &TestDb, env: &[(&str, &str)]) -> Self {
        Self::spawn_with_plugins(db, env, Stdio::inherit()).await
    }

    /// Starts the server like [`Ember::start_with_plugins`], at `RUST_LOG=debug`, with its stderr
    /// (the whole log) written to a file in the test's directory; returns the file's path.
    pub async fn start_capturing_logs(db: &TestDb, env: &[(&str, &str)]) -> (Self, PathBuf) {
        let path = db.dir.path().join(format!("ember-stderr-{}.log", NEXT_LOG.fetch_add(1, Ordering::Relaxed)));
        let file = std::fs::File::create(&path).expect("create log file");
        let mut all = vec![("RUST_LOG", "debug")];
        all.extend_from_slice(env);
        let ember = Self::spawn_with_plugins(db, &all, Stdio::from(file)).await;
        (ember, path)
    }

    async fn spawn_with_plugins(db: &TestDb, env: &[(&str, &str)], stderr: Stdio) -> Self {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let plugins = repo.join("plugins/dist");
        assert!(plugins.is_dir(), "{} missing: run `bash plugins/build.sh` (tests/run.sh does)", plugins.display());
        let cache = repo.join("target/ember-test-cache");
        let plugins = plugins.display().to_string();
        let cache = cache.display().to_string();
        let mut all = vec![("EMBER_PLUGIN_DIR", plugins.as_str()), ("EMBER_PLUGIN_CACHE_DIR", cache.as_str())];
        all.extend_from_slice(env);
        Self::spawn(db, &all, stderr).await
    }

    /// Starts the server with extra environment variables.
    pub async fn start_with(db: &TestDb, env: &[(&str, &str)]) -> Self {
        Self::spawn(db, env, Stdio::inherit()).await
    }

    /// Starts the server under `prlimit --nofile=SOFT:HARD` (a service manager's open-files limit).
    pub async fn start_with_open_files(db: &TestDb, nofile: &str, env: &[(&str, &str)]) -> Self {
        Self::start_wrapped(db, &["prlimit", &format!("--nofile={nofile}")], env).await
    }

    /// Starts the server as the last argument of `wrapper` (a program that execs it, such as
    /// `prlimit` or `fiu-run`).
    pub async fn start_wrapped(db: &TestDb, wrapper: &[&str], env: &[(&str, &str)]) -> Self {
        let (program, args) = wrapper.split_first().expect("a wrapper program");
        let mut command = Command::new(program);
        command.args(args).arg(env!("CARGO_BIN_EXE_ember"));
        Self::spawn_command(command, db, env, Stdio::inherit()).await
    }

    async fn spawn(db: &TestDb, env: &[(&str, &str)], stderr: Stdio) -> Self {
        Self::spawn_command(Command::new(env!("CARGO_BIN_EXE_ember")), db, env, stderr).await
    }

    async fn spawn_command(mut command: Command, db: &TestDb, env: &[(&str, &str)], stderr: Stdio) -> Self {
        command
            .args(["serve", "--port", "0", "--grpc-port", "0"])
            .env("EMBER_WORKING_DIR", db.dir.path())
            .env_remove("EMBER_DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true);
        if let Some(url) = db.server_url() {
            command.env("EMBER_DATABASE_URL", url);
        }
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start ember");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("ember announces its ports within a minute")
            .expect("read stdout")
            .expect("ember exited before listening");
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .map(str::to_owned)
                .expect("address in ready line")
        };
        let http = format!("http://{}", field("http="));
        let grpc = field("grpc=").parse().expect("grpc address");
        Self { child, http, grpc, client: reqwest::Client::new() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.http)
    }

    /// GET returning status and parsed JSON (`Null` when the body is not JSON).
    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self.client.get(self.url(path)).send().await.expect("GET");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
    }

    /// Polls the project's span listing until it holds `count` spans (or fails after 20 s).
    pub async fn wait_for_spans(&self, project: &str, count: usize) -> Vec<serde_json::Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let (status, body) = self.get_json(&format!("/v1/projects/{project}/spans?limit=1000")).await;
            if status == 200 {
                let spans = body["data"].as_array().cloned().unwrap_or_default();
                if spans.len() >= count {
                    return spans;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "project {project} did not reach {count} spans; last: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A memory field of the server's `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in bytes.
    pub fn proc_status_bytes(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("read /proc status");
        let kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|value| value.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("{field} missing from /proc/<pid>/status"));
        kib << 10
    }

    /// Resets the server's peak resident size (`VmHWM`) to its current size.
    pub fn reset_peak_memory(&self) {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5").expect("reset the peak resident size");
    }

    pub fn pid(&self) -> i32 {
        self.child.id().expect("running") as i32
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        // SAFETY: kill(2) on our own child's pid with a valid signal number has no memory effects.
        #[allow(unsafe_code)]
        let rc = unsafe { libc::kill(self.pid(), libc::SIGTERM) };
        assert_eq!(rc, 0, "SIGTERM delivered");
    }

    /// Kills the process with SIGKILL (no chance to drain or flush anything) and reaps it.
    pub async fn kill_9(mut self) {
        self.child.start_kill().expect("SIGKILL delivered");
        tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await.expect("dies at once").expect("wait");
    }

    /// Waits for the process to exit and returns whether it exited successfully.
    pub async fn wait(mut self, timeout: Duration) -> bool {
        let status =
            tokio::time::timeout(timeout, self.child.wait()).await.expect("ember exits in time").expect("wait");
        if !status.success() {
            eprintln!("ember exited with {status}");
        }
        status.success()
    }
}

/// Runs an async test body once per backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    super::$name($crate::harness::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    super::$name($crate::harness::Backend::Postgres).await
                }
            }
        )*
    };
}
