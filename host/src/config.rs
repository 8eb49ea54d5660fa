//! `ember serve` settings: every flag is also an environment variable.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;

use crate::store::SqliteSync;

/// How the server listens, stores and buffers.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address both listeners bind to. Another address than loopback needs authentication, or
    /// `--insecure-no-auth`.
    #[arg(long, env = "EMBER_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Require accounts and API keys (Phoenix's `PHOENIX_ENABLE_AUTH` is read too).
    #[arg(long, env = "EMBER_ENABLE_AUTH", value_parser = clap::builder::BoolishValueParser::new())]
    pub enable_auth: Option<bool>,
    /// Serve without authentication on an address other than loopback: anyone who reaches the
    /// port is Ember's administrator. Warned about on every start.
    #[arg(
        long = "insecure-no-auth",
        env = "EMBER_INSECURE_NO_AUTH",
        value_parser = clap::builder::BoolishValueParser::new(),
        default_value_t = false,
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub insecure_no_auth: bool,
    /// Minutes a browser session's access token lasts (refreshed by the UI while in use).
    #[arg(long, env = "EMBER_ACCESS_TOKEN_EXPIRY_MINUTES", default_value_t = 10)]
    pub access_token_minutes: u64,
    /// Minutes a refresh token lasts: how long a browser stays signed in without use.
    #[arg(long, env = "EMBER_REFRESH_TOKEN_EXPIRY_MINUTES", default_value_t = 30 * 24 * 60)]
    pub refresh_token_minutes: u64,
    /// Origins (`https://host:port`, comma-separated) whose pages may make cookie-authenticated
    /// writes, besides the server's own.
    #[arg(long, env = "EMBER_CSRF_TRUSTED_ORIGINS", value_delimiter = ',', default_value = "")]
    pub csrf_trusted_origins: Vec<String>,
    /// Origins (comma-separated) whose pages may call the API from a browser (CORS); none by
    /// default, so only the server's own pages can.
    #[arg(long, env = "EMBER_ALLOWED_ORIGINS", value_delimiter = ',', default_value = "")]
    pub allowed_origins: Vec<String>,
    /// Mark session cookies `Secure` (set it when clients reach Ember over HTTPS).
    #[arg(long, env = "EMBER_USE_SECURE_COOKIES", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false)]
    pub use_secure_cookies: bool,
    /// PEM certificate chain: with `--tls-key-file`, both listeners speak only TLS. The files are
    /// reloaded when they change.
    #[arg(long, env = "EMBER_TLS_CERT_FILE", requires = "tls_key_file")]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of the TLS certificate.
    #[arg(long, env = "EMBER_TLS_KEY_FILE", requires = "tls_cert_file")]
    pub tls_key_file: Option<PathBuf>,
    /// PEM CA bundle that client certificates are checked against (clients may present one).
    #[arg(long, env = "EMBER_TLS_CA_FILE")]
    pub tls_ca_file: Option<PathBuf>,
    /// Refuse TLS clients without a certificate signed by `--tls-ca-file` (mutual TLS).
    #[arg(long, env = "EMBER_TLS_VERIFY_CLIENT", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false)]
    pub tls_verify_client: bool,
    /// With authentication on, `/metrics` needs a credential with the `read` permission.
    #[arg(long, env = "EMBER_PROTECT_METRICS", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false)]
    pub protect_metrics: bool,
    /// HTTP port: REST API, OTLP/HTTP, health and metrics (0 picks a free port).
    #[arg(long, env = "EMBER_PORT", default_value_t = 6006)]
    pub port: u16,
    /// OTLP/gRPC port (0 picks a free port).
    #[arg(long, env = "EMBER_GRPC_PORT", default_value_t = 4317)]
    pub grpc_port: u16,
    /// Directory for the SQLite database and plugin caches [default: ~/.ember].
    #[arg(long, env = "EMBER_WORKING_DIR")]
    pub working_dir: Option<PathBuf>,
    /// `sqlite:…` or `postgres://…` [default: SQLite file in the working directory].
    #[arg(long, env = "EMBER_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Largest accepted OTLP request, after decompression, in bytes.
    #[arg(long, env = "EMBER_MAX_BODY_BYTES", default_value_t = 32 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Spans the ingest queue holds (including the batch being written) before exports get 503 /
    /// RESOURCE_EXHAUSTED. A full queue of 1–2 KB spans stays around 40 MiB while covering a few
    /// hundred milliseconds of peak load.
    #[arg(long, env = "EMBER_QUEUE_CAPACITY", default_value_t = 12_000)]
    pub queue_capacity: u32,
    /// Most spans the writer commits in one transaction.
    #[arg(long, env = "EMBER_BATCH_SPANS", default_value_t = 4_000)]
    pub batch_spans: usize,
    /// Seconds an export waits for the commit of its spans before it is answered 503 /
    /// UNAVAILABLE (its spans stay queued; the client's retry is deduplicated).
    #[arg(long, env = "EMBER_INGEST_ACK_TIMEOUT_SECONDS", default_value_t = 5)]
    pub ingest_ack_timeout_seconds: u64,
    /// SQLite's `synchronous` setting: `full` makes every acknowledged span survive power loss,
    /// `normal` only a crash of the process (a little faster).
    #[arg(long, env = "EMBER_SQLITE_SYNCHRONOUS", value_enum, default_value_t = SqliteSync::Full)]
    pub sqlite_synchronous: SqliteSync,
    /// Milliseconds one database read may run before it is stopped and its request answered 503
    /// (`statement_timeout` on PostgreSQL, a progress-handler deadline on SQLite).
    #[arg(long, env = "EMBER_QUERY_TIMEOUT_MS", default_value_t = 30_000)]
    pub query_timeout_ms: u64,
    /// Days of traces a project without a retention policy keeps (0 or unset: all of them);
    /// Phoenix's `PHOENIX_DEFAULT_RETENTION_POLICY_DAYS` is read too.
    #[arg(long, env = "EMBER_DEFAULT_RETENTION_DAYS")]
    pub default_retention_days: Option<f64>,
    /// Seconds between two retention sweeps.
    #[arg(long, env = "EMBER_RETENTION_SWEEP_SECONDS", default_value_t = 600)]
    pub retention_sweep_seconds: u64,
    /// Traces the retention sweeper deletes per transaction.
    #[arg(long, env = "EMBER_RETENTION_BATCH_TRACES", default_value_t = 500)]
    pub retention_batch_traces: i64,
    /// Storage allocated to the database, in GiB (unset: no limit); Phoenix's
    /// `PHOENIX_DATABASE_ALLOCATED_STORAGE_CAPACITY_GIBIBYTES` is read too.
    #[arg(long, env = "EMBER_DATABASE_ALLOCATED_STORAGE_CAPACITY_GIBIBYTES")]
    pub database_capacity_gib: Option<f64>,
    /// Percent of the capacity past which the server warns (log, metrics, `/readyz`); Phoenix's
    /// `PHOENIX_DATABASE_USAGE_EMAIL_WARNING_THRESHOLD_PERCENTAGE` is read too.
    #[arg(long, env = "EMBER_DATABASE_USAGE_WARNING_THRESHOLD_PERCENTAGE")]
    pub database_warn_percent: Option<f64>,
    /// Percent of the capacity past which exports are refused (507 / RESOURCE_EXHAUSTED);
    /// Phoenix's `PHOENIX_DATABASE_USAGE_INSERTION_BLOCKING_THRESHOLD_PERCENTAGE` is read too.
    #[arg(long, env = "EMBER_DATABASE_USAGE_BLOCKING_THRESHOLD_PERCENTAGE")]
    pub database_block_percent: Option<f64>,
    /// Seconds between two measurements of the database's size.
    #[arg(long, env = "EMBER_DATABASE_USAGE_CHECK_SECONDS", default_value_t = 30)]
    pub database_usage_check_seconds: u64,
    /// After each delete the retention sweeper rests this many times as long as the delete took,
    /// which caps its share of the database (on SQLite, of the single write connection) at
    /// 1/(1+N).
    #[arg(long, env = "EMBER_RETENTION_REST_FACTOR", default_value_t = 8)]
    pub retention_rest_factor: u32,
    /// Seconds to wait for in-flight requests at shutdown before draining the queue anyway.
    #[arg(long, env = "EMBER_SHUTDOWN_GRACE_SECONDS", default_value_t = 30)]
    pub shutdown_grace_seconds: u64,
    /// Seconds a client has to send a request's headers (idle keep-alive included) before its
    /// connection is closed.
    #[arg(long, env = "EMBER_HEADER_TIMEOUT_SECONDS", default_value_t = 10)]
    pub header_timeout_seconds: u64,
    /// Longest pause, in seconds, between two parts of a request body before the request fails.
    #[arg(long, env = "EMBER_BODY_TIMEOUT_SECONDS", default_value_t = 30)]
    pub body_timeout_seconds: u64,
    /// Connections open at once, per listener (HTTP and gRPC); at the cap the oldest connection
    /// that has not sent a request yet is closed to make room, else the new one is.
    #[arg(long, env = "EMBER_MAX_CONNECTIONS", default_value_t = 8192)]
    pub max_connections: usize,
    /// Fault injection for tests: the span writer panics on its first N batch writes.
    #[arg(long, env = "EMBER_FAULT_WRITER_PANICS", default_value_t = 0, hide = true)]
    pub fault_writer_panics: u32,
    /// Fault injection for tests: supervised tasks panic on their first runs
    /// ("evaluation-worker=2,prompt-task-watch=1,grpc-server=1").
    #[arg(long, env = "EMBER_FAULT_TASK_PANICS", default_value = "", hide = true)]
    pub fault_task_panics: String,
    /// Directory of plugin components (`*.wasm`) installed at start [default: `plugins/dist`
    /// when it exists, where `plugins/build.sh` puts the first-party plugins].
    #[arg(long, env = "EMBER_PLUGIN_DIR")]
    pub plugin_dir: Option<PathBuf>,
    /// Directory for compiled plugin code [default: `compiled/` in the working directory].
    #[arg(long, env = "EMBER_PLUGIN_CACHE_DIR")]
    pub plugin_cache_dir: Option<PathBuf>,
    /// Plugin calls that may run at once (sandbox pool slots); more wait, then fail as busy.
    #[arg(long, env = "EMBER_PLUGIN_MAX_CALLS", default_value_t = 64)]
    pub plugin_max_calls: u32,
    /// Memory, in MiB, that the limits of plugin calls running at once may add up to.
    #[arg(long, env = "EMBER_PLUGIN_MEMORY_BUDGET_MIB", default_value_t = 2048)]
    pub plugin_memory_budget_mib: u64,
    /// Largest plugin component accepted by `POST /v1/plugins`, in bytes.
    #[arg(long, env = "EMBER_MAX_PLUGIN_BYTES", default_value_t = 128 * 1024 * 1024)]
    pub max_plugin_bytes: usize,
    /// Server-side evaluation: plugin calls run at once [default: the number of CPUs].
    #[arg(long, env = "EMBER_EVAL_CONCURRENCY")]
    pub eval_concurrency: Option<usize>,
    /// Server-side evaluation: jobs leased per claim.
    #[arg(long, env = "EMBER_EVAL_BATCH", default_value_t = 512)]
    pub eval_batch: i64,
    /// Server-side evaluation: seconds a claim's lease lasts; jobs of a server that died are
    /// taken up by another (or by it, restarted) after this.
    #[arg(long, env = "EMBER_EVAL_LEASE_SECONDS", default_value_t = 300)]
    pub eval_lease_seconds: u64,
    /// Ingest pipeline file (JSON, `{"stages": [{"plugin": "pii"}, …]}`); when given, it replaces
    /// the pipeline stored through the API.
    #[arg(long, env = "EMBER_PIPELINE")]
    pub pipeline: Option<PathBuf>,
    /// Key material (at least 16 characters) for sealing stored secrets such as provider API
    /// keys; without it, secrets cannot be stored. Read from the environment only.
    #[arg(skip = SecretPassphrase::from_env())]
    pub secret: SecretPassphrase,
    /// Largest response body a provider plugin may receive, in bytes.
    #[arg(long, env = "EMBER_OUTBOUND_MAX_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub outbound_max_bytes: u64,
    /// Wait before retrying a rate-limited or unavailable provider, doubled per attempt.
    #[arg(long, env = "EMBER_PROVIDER_BACKOFF_MS", default_value_t = 500)]
    pub provider_backoff_ms: u64,
    /// Chat completions in flight at once, per provider.
    #[arg(long, env = "EMBER_PROVIDER_CONCURRENCY", default_value_t = 16)]
    pub provider_concurrency: usize,
    /// Chat completions started per minute, per provider [default: unlimited].
    #[arg(long, env = "EMBER_PROVIDER_RPM")]
    pub provider_rpm: Option<u32>,
    /// Path prefix the server is reached under behind a reverse proxy (`/ember`); requests may
    /// arrive with or without it, and the web UI builds its links with it.
    #[arg(long, env = "EMBER_ROOT_PATH", default_value = "", value_parser = parse_root_path)]
    pub root_path: String,
    /// Serve the web UI from this directory instead of the copy built into the binary (for UI
    /// development: a rebuilt `ui/dist` is served without restarting).
    #[arg(long, env = "EMBER_UI_DIR")]
    pub ui_dir: Option<PathBuf>,
}

/// Normalises a root path to `""` or `/segment[/segment…]` without a trailing slash.
fn parse_root_path(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim().trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    let valid = trimmed.split('/').all(|segment| {
        !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
    });
    if !valid {
        return Err(format!("{raw:?} is not a path prefix such as /ember or /tools/ember"));
    }
    Ok(format!("/{trimmed}"))
}

/// `EMBER_SECRET`, kept out of `Debug` output and command lines.
#[derive(Clone, Default)]
pub struct SecretPassphrase(Option<zeroize::Zeroizing<String>>);

impl SecretPassphrase {
    fn from_env() -> Self {
        Self(std::env::var("EMBER_SECRET").ok().filter(|value| !value.is_empty()).map(zeroize::Zeroizing::new))
    }

    /// The passphrase, when set.
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref().map(String::as_str)
    }
}

impl std::fmt::Debug for SecretPassphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "SecretPassphrase(set)" } else { "SecretPassphrase(unset)" })
    }
}

impl ServeConfig {
    /// The authentication settings; `enabled` is the resolved switch (see `crate::exposure`).
    pub fn auth_settings(&self, enabled: bool) -> crate::auth::AuthSettings {
        crate::auth::AuthSettings {
            enabled,
            access_ttl: std::time::Duration::from_secs(self.access_token_minutes.max(1) * 60),
            refresh_ttl: std::time::Duration::from_secs(self.refresh_token_minutes.max(1) * 60),
            // Cookies of a server reached over TLS are always `Secure`.
            secure_cookies: self.use_secure_cookies || self.tls_files().is_some(),
            csrf_trusted_origins: self.csrf_trusted_origins.iter().filter(|o| !o.is_empty()).cloned().collect(),
            oidc_providers: Vec::new(),
        }
    }

    /// The listeners' TLS files, when a certificate and key are configured.
    pub fn tls_files(&self) -> Option<crate::tls::TlsFiles> {
        Some(crate::tls::TlsFiles {
            cert: self.tls_cert_file.clone()?,
            key: self.tls_key_file.clone()?,
            client_ca: self.tls_ca_file.clone(),
            require_client_cert: self.tls_verify_client,
        })
    }

    /// The working directory, with `~/.ember` as the default.
    pub fn working_dir(&self) -> PathBuf {
        if let Some(dir) = &self.working_dir {
            return dir.clone();
        }
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
        home.join(".ember")
    }

    /// The plugin directory: the configured one, else `plugins/dist` if it exists.
    pub fn plugin_dir(&self) -> Option<PathBuf> {
        self.plugin_dir.clone().or_else(|| {
            let default = PathBuf::from("plugins/dist");
            default.is_dir().then_some(default)
        })
    }

    /// How the server-side evaluation worker runs.
    pub fn worker_config(&self) -> crate::evaluation::WorkerConfig {
        let defaults = crate::evaluation::WorkerConfig::default();
        crate::evaluation::WorkerConfig {
            batch: self.eval_batch.max(1),
            concurrency: self.eval_concurrency.unwrap_or(defaults.concurrency).max(1),
            lease: std::time::Duration::from_secs(self.eval_lease_seconds.max(1)),
            ..defaults
        }
    }

    /// The database's storage quota: capacity and thresholds, Ember's settings winning over
    /// Phoenix's.
    pub fn disk_quota(&self) -> crate::ingest::disk_quota::DiskQuota {
        let phoenix = |name: &str| std::env::var(name).ok()?.trim().parse::<f64>().ok();
        let capacity = self
            .database_capacity_gib
            .or_else(|| phoenix("PHOENIX_DATABASE_ALLOCATED_STORAGE_CAPACITY_GIBIBYTES"))
            .filter(|gib| gib.is_finite() && *gib > 0.0);
        let warn = self
            .database_warn_percent
            .or_else(|| phoenix("PHOENIX_DATABASE_USAGE_EMAIL_WARNING_THRESHOLD_PERCENTAGE"))
            .unwrap_or(80.0);
        let block = self
            .database_block_percent
            .or_else(|| phoenix("PHOENIX_DATABASE_USAGE_INSERTION_BLOCKING_THRESHOLD_PERCENTAGE"))
            .unwrap_or(95.0);
        let bytes = capacity.map_or(0, |gib| (gib * 1_073_741_824.0) as u64);
        crate::ingest::disk_quota::DiskQuota::new(bytes, warn, block)
    }

    /// How the retention sweeper runs, and the rule of projects without a policy.
    pub fn sweeper_config(&self) -> crate::lifecycle::SweeperConfig {
        let phoenix = || std::env::var("PHOENIX_DEFAULT_RETENTION_POLICY_DAYS").ok()?.trim().parse::<f64>().ok();
        let days = self.default_retention_days.or_else(phoenix).filter(|days| *days > 0.0);
        crate::lifecycle::SweeperConfig {
            interval: std::time::Duration::from_secs(self.retention_sweep_seconds.max(1)),
            batch_traces: self.retention_batch_traces.max(1),
            rest_factor: self.retention_rest_factor,
            default_rule: crate::store::RetentionRule { max_days: days, ..Default::default() },
        }
    }

    /// How provider calls are retried.
    pub fn retry_policy(&self) -> crate::providers::RetryPolicy {
        crate::providers::RetryPolicy {
            max_attempts: 4,
            base: std::time::Duration::from_millis(self.provider_backoff_ms),
        }
    }

    /// Where compiled plugin code is cached.
    pub fn plugin_cache_dir(&self) -> PathBuf {
        self.plugin_cache_dir.clone().unwrap_or_else(|| self.working_dir().join("compiled"))
    }
}
