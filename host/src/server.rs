//! Wires store, queue, writer and both listeners together, and shuts them down in order:
//! stop accepting → finish in-flight requests → drain the queue into the database → exit.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::api::{self, AppState};
use crate::auth::{Auth, Bootstrap};
use crate::config::ServeConfig;
use crate::exposure::Exposure;
use crate::ingest::grpc::TraceService;
use crate::ingest::queue::span_queue;
use crate::ingest::writer::spawn_writer;
use crate::ingest::Ingestor;
use crate::metrics::Metrics;
use crate::plugins::{Pipeline, PipelineConfig, PluginHost, PluginHostError};
use crate::providers::{Broker, HttpTransport, Pacing, Providers};
use crate::secrets::Secrets;
use crate::store::{Store, StoreError};
use crate::supervise::Supervisor;
use ember_sandbox::Services;

/// Why the server could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("http server failed: {0}")]
    Http(std::io::Error),
    #[error("grpc server failed: {0}")]
    Grpc(std::io::Error),
    #[error("server task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error("the span writer task died; exiting so that the service manager restarts the server")]
    WriterDied,
    #[error("the {0} task failed; exiting so that the service manager restarts the server")]
    TaskFailed(&'static str),
    #[error(transparent)]
    Plugins(#[from] PluginHostError),
    #[error("ingest pipeline: {0}")]
    Pipeline(String),
    #[error(transparent)]
    Secrets(#[from] crate::secrets::SecretError),
    #[error(transparent)]
    Exposure(#[from] crate::exposure::ExposureError),
    #[error("authentication setup: {0}")]
    Auth(#[from] crate::auth::AuthError),
    #[error(transparent)]
    Oidc(#[from] crate::auth::OidcConfigError),
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
}

/// A bound, not yet running server; `serve` runs it until `shutdown` resolves.
pub struct Server {
    config: ServeConfig,
    store: Store,
    plugins: PluginHost,
    pipeline: Pipeline,
    metrics: Arc<Metrics>,
    secrets: Secrets,
    providers: Providers,
    auth: Auth,
    http: TcpListener,
    grpc: TcpListener,
    /// The listeners' certificates, when TLS is configured.
    tls: Option<crate::tls::Tls>,
}

impl Server {
    /// Connects to the database (applying migrations) and binds both ports.
    pub async fn bind(config: ServeConfig) -> Result<Self, ServerError> {
        let exposure = crate::exposure::check_from_env(&config)?;
        let read_limit = crate::store::ReadLimit(Duration::from_millis(config.query_timeout_ms.max(1)));
        let store = Store::connect_with(
            config.database_url.as_deref(),
            &config.working_dir(),
            config.sqlite_synchronous,
            read_limit,
        )
        .await?;
        let mut settings = config.auth_settings(exposure == Exposure::Authenticated);
        settings.oidc_providers = crate::auth::providers_from(std::env::vars())?;
        let auth = Auth::new(store.clone(), settings);
        if auth.enabled() {
            bootstrap_admin(&auth, &config).await?;
        }
        let metrics = Arc::new(Metrics::new());
        let secrets = Secrets::open(store.clone(), config.secret.get()).await?;
        if secrets.enabled() {
            let unusable = secrets.load().await?;
            if unusable > 0 {
                tracing::warn!(secrets = unusable, "stored secrets cannot be opened with this EMBER_SECRET");
            }
        }
        let plugins = start_sandbox(&config, metrics.clone()).await?;
        let pacing = Pacing::new(config.provider_concurrency, config.provider_rpm);
        let providers = Providers::new(plugins.clone(), pacing, config.retry_policy());
        plugins.set_services(Services {
            outbound: Some(HttpTransport::new(secrets.clone(), config.outbound_max_bytes).into_service()),
            llm: Some(Arc::new(Broker(providers.clone()))),
        });
        install_plugins(&config, &store, &plugins).await?;
        let pipeline = load_pipeline(&config, &store, &plugins).await?;
        let tls = config.tls_files().map(crate::tls::Tls::load).transpose()?;
        let http = bind(SocketAddr::new(config.host, config.port)).await?;
        let grpc = bind(SocketAddr::new(config.host, config.grpc_port)).await?;
        Ok(Self { config, store, plugins, pipeline, metrics, secrets, providers, auth, http, grpc, tls })
    }

    /// The bound HTTP address (useful with port 0).
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.local_addr().ok()
    }

    /// The bound gRPC address (useful with port 0).
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc.local_addr().ok()
    }

    /// Serves until `shutdown` completes, then drains every acknowledged span to the database.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let Self { config, store, plugins, pipeline, metrics, secrets, providers, auth, http, grpc, tls } = self;
        let (queue, receiver) = span_queue(config.queue_capacity, metrics.clone());
        let events = crate::live::SpanEvents::default();
        let supervisor = Supervisor::new(metrics.clone(), &config.fault_task_panics);
        let mut writer = spawn_writer(
            &supervisor,
            store.clone(),
            receiver,
            metrics.clone(),
            config.batch_spans,
            events.clone(),
            config.fault_writer_panics,
        );
        let quota = Arc::new(config.disk_quota());
        let ingestor = Ingestor::new(queue.clone(), metrics.clone(), config.max_body_bytes)
            .with_ack_timeout(Duration::from_secs(config.ingest_ack_timeout_seconds.max(1)))
            .with_quota(quota.clone());
        ingestor.set_pipeline(pipeline);
        let accepting = Arc::new(AtomicBool::new(true));
        let jobs = crate::evaluation::JobSignal::default();
        let tasks = crate::evaluation::prompt_task::TaskRunner::new(
            store.clone(),
            providers.clone(),
            plugins.clone(),
            ingestor.clone(),
            jobs.clone(),
        );
        let sweeper = crate::lifecycle::Sweeper::new(store.clone(), metrics.clone(), config.sweeper_config());
        let state = AppState {
            store: store.clone(),
            ingestor: ingestor.clone(),
            plugins,
            metrics,
            accepting: accepting.clone(),
            max_plugin_bytes: config.max_plugin_bytes,
            jobs,
            secrets,
            providers,
            tasks: tasks.clone(),
            ui: crate::api::ui::UiAssets::new(&config.root_path, config.ui_dir.clone()),
            events,
            supervisor: supervisor.clone(),
            auth: auth.clone(),
            protect_metrics: config.protect_metrics,
            allowed_origins: config.allowed_origins.iter().filter(|o| !o.is_empty()).cloned().collect(),
            default_retention: config.sweeper_config().default_rule,
            sweeper_wake: sweeper.wake_handle(),
        };
        let task_watch = supervisor.spawn_restarting("prompt-task-watch", move || {
            let tasks = tasks.clone();
            async move {
                let mut every = tokio::time::interval(Duration::from_secs(30));
                loop {
                    every.tick().await;
                    tasks.resume_stale().await;
                }
            }
        });
        let sweeping = supervisor.spawn_restarting("retention-sweeper", move || sweeper.clone().run());
        let rollup_store = store.clone();
        let maintaining = supervisor
            .spawn_restarting("rollup-maintainer", move || crate::lifecycle::rollups::maintain(rollup_store.clone()));
        let guarding = quota.is_limited().then(|| {
            let (store, metrics) = (store.clone(), state.metrics.clone());
            let every = Duration::from_secs(config.database_usage_check_seconds.max(1));
            supervisor.spawn_restarting("disk-guard", move || {
                crate::lifecycle::disk_guard::watch(store.clone(), quota.clone(), metrics.clone(), every)
            })
        });
        let worker = crate::evaluation::Worker::spawn(
            &supervisor,
            store.clone(),
            state.plugins.clone(),
            state.metrics.clone(),
            state.jobs.clone(),
            config.worker_config(),
        );

        let (stop_tx, stop_rx) = watch::channel(false);
        let stopped = move || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|stop| *stop).await;
            }
        };
        let root_path = config.root_path.clone();
        let app = api::router(state).map_request(move |mut request: axum::extract::Request| {
            if let Some(uri) = crate::api::ui::strip_root_path(&root_path, request.uri()) {
                *request.uri_mut() = uri;
            }
            request
        });
        let limits = crate::api::listener::ListenerLimits {
            header_timeout: Duration::from_secs(config.header_timeout_seconds.max(1)),
            body_timeout: Duration::from_secs(config.body_timeout_seconds.max(1)),
            max_connections: config.max_connections,
        };
        let tls_watch = tls.clone().map(|tls| supervisor.spawn_restarting("tls-reload", move || tls.clone().watch()));
        let http_server = crate::api::listener::serve(http, app, limits, tls.clone(), stopped());
        // gRPC through the same listener, so that it gets the same timeouts and connection cap.
        let otlp_grpc =
            ServiceExt::<axum::extract::Request>::map_response(TraceService::new(ingestor, auth), |response| {
                response.map(axum::body::Body::new)
            });
        let grpc_server = crate::api::listener::serve(grpc, otlp_grpc, limits, tls, stopped());
        let http_task = supervisor.spawn_essential("http-server", stop_tx.subscribe(), async move {
            http_server.await.map_err(ServerError::Http)
        });
        let grpc_task = supervisor.spawn_essential("grpc-server", stop_tx.subscribe(), async move {
            grpc_server.await.map_err(ServerError::Grpc)
        });

        // A dead writer or server task leaves a half-alive server: shut down and exit non-zero
        // instead, so that the service manager restarts it.
        let failure = tokio::select! {
            () = shutdown => None,
            () = writer.died() => Some(ServerError::WriterDied),
            task = supervisor.failed() => Some(ServerError::TaskFailed(task)),
        };
        tracing::info!("shutdown requested: refusing new work and finishing in-flight requests");
        accepting.store(false, Ordering::Relaxed);
        let _ = stop_tx.send(true);
        let grace = Duration::from_secs(config.shutdown_grace_seconds);
        let servers = async {
            let http = http_task.await;
            let grpc = grpc_task.await;
            (http, grpc)
        };
        let result = match tokio::time::timeout(grace, servers).await {
            Ok((http, grpc)) => flatten(http).and(flatten(grpc)),
            Err(_) => {
                tracing::warn!(seconds = grace.as_secs(), "in-flight requests did not finish in time");
                Ok(())
            }
        };
        task_watch.abort();
        sweeping.abort();
        maintaining.abort();
        if let Some(guarding) = guarding {
            guarding.abort();
        }
        if let Some(tls_watch) = tls_watch {
            tls_watch.abort();
        }
        worker.stop().await;
        queue.close();
        tracing::info!(queued_spans = queue.depth(), "draining the ingest queue");
        writer.drain_and_stop().await;
        store.close().await;
        if let Some(failure) = failure {
            return Err(failure);
        }
        tracing::info!("shutdown complete");
        result
    }
}

/// A server task's result: `None` when it panicked (the supervisor has logged it).
fn flatten(joined: Result<Option<Result<(), ServerError>>, tokio::task::JoinError>) -> Result<(), ServerError> {
    match joined {
        Ok(Some(result)) => result,
        Ok(None) => Ok(()),
        Err(err) => Err(ServerError::Join(err)),
    }
}

/// Starts the sandbox.
async fn start_sandbox(config: &ServeConfig, metrics: Arc<Metrics>) -> Result<PluginHost, ServerError> {
    let cache_dir = config.plugin_cache_dir();
    let (max_calls, budget) = (config.plugin_max_calls, config.plugin_memory_budget_mib.saturating_mul(1 << 20));
    Ok(tokio::task::spawn_blocking(move || PluginHost::new(&cache_dir, max_calls, budget, metrics)).await??)
}

/// Loads the registered plugins and registers the components of the plugin directory (bundled
/// plugins).
async fn install_plugins(config: &ServeConfig, store: &Store, plugins: &PluginHost) -> Result<(), ServerError> {
    match plugins.load_registered(store).await {
        Ok(count) => tracing::info!(plugins = count, "registered plugins loaded"),
        Err(err) => tracing::error!(error = %err, "registered plugins not loaded"),
    }
    match config.plugin_dir() {
        Some(dir) => {
            let installed = plugins.register_dir(store, &dir).await?;
            tracing::info!(dir = %dir.display(), plugins = ?installed, "bundled plugins installed");
        }
        None => tracing::warn!(
            "no plugin directory (EMBER_PLUGIN_DIR) and no plugins/dist here: no first-party plugins; \
             build them with `bash plugins/build.sh`"
        ),
    }
    tokio::task::spawn_blocking(release_freed_memory).await?;
    Ok(())
}

/// Hands memory freed after compiling plugins back to the kernel: glibc keeps it in its arenas
/// otherwise, and a first start (nothing cached yet) would carry ~70 MiB of compiler garbage.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel; it has no preconditions.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The pipeline from `--pipeline`, else the one stored through the API, else none.
async fn load_pipeline(config: &ServeConfig, store: &Store, plugins: &PluginHost) -> Result<Pipeline, ServerError> {
    let (source, text) = match &config.pipeline {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|err| ServerError::Pipeline(format!("reading {}: {err}", path.display())))?;
            (path.display().to_string(), text)
        }
        None => match PipelineConfig::load_stored(store).await? {
            Some(text) => ("the database".to_owned(), text),
            None => return Ok(Pipeline::default()),
        },
    };
    let parsed: PipelineConfig =
        serde_json::from_str(&text).map_err(|err| ServerError::Pipeline(format!("{source}: {err}")))?;
    let pipeline = Pipeline::build(parsed, plugins).map_err(|err| ServerError::Pipeline(format!("{source}: {err}")))?;
    tracing::info!(%source, stages = pipeline.config().stages.len(), "ingest pipeline loaded");
    Ok(pipeline)
}

/// Connections the kernel may hold completed but not yet accepted. tokio's default (1,024) is
/// soon full under a burst of connections; past it the kernel drops handshakes silently, and a
/// client that waits to be spoken to hangs until its own timeout.
const LISTEN_BACKLOG: u32 = 4096;

async fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    let bound = || -> std::io::Result<TcpListener> {
        let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(LISTEN_BACKLOG)
    };
    bound().map_err(|source| ServerError::Bind { addr, source })
}

/// Raises the soft open-files limit to the hard one. Every connection, SQLite file and plugin
/// cache mapping takes a descriptor, and service managers often leave the soft limit at 1,024:
/// a thousand idle clients would then lock everyone else out.
fn raise_open_files_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open files limit"),
        Err(err) => tracing::warn!(error = %err, "could not raise the open files limit"),
    }
}

/// Listens for SIGTERM and SIGINT from the moment it is called; the future resolves on the first.
///
/// Registration must happen before the listeners answer: until a handler is installed SIGTERM's
/// default action kills the process outright, skipping the drain, so a service manager that
/// stops a server it has just seen ready would get a signal exit instead of a clean one.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let terminate = signal(SignalKind::terminate());
        let interrupt = signal(SignalKind::interrupt());
        async move {
            match (terminate, interrupt) {
                (Ok(mut terminate), Ok(mut interrupt)) => {
                    tokio::select! {
                        _ = terminate.recv() => {}
                        _ = interrupt.recv() => {}
                    }
                }
                (Ok(mut only), Err(err)) | (Err(err), Ok(mut only)) => {
                    tracing::error!(error = %err, "cannot listen for one of SIGTERM and SIGINT");
                    only.recv().await;
                }
                (Err(err), Err(_)) => {
                    tracing::error!(error = %err, "cannot listen for SIGTERM or SIGINT; stop the server with SIGKILL");
                    std::future::pending::<()>().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async move {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Binds, announces the bound addresses on stdout, and serves until SIGTERM/SIGINT.
pub async fn run(config: ServeConfig) -> Result<(), ServerError> {
    raise_open_files_limit();
    let stop = shutdown_signal();
    let server = Server::bind(config).await?;
    let http = server.http_addr().map(|a| a.to_string()).unwrap_or_default();
    let grpc = server.grpc_addr().map(|a| a.to_string()).unwrap_or_default();
    tracing::info!(%http, %grpc, "ember listening");
    // One machine-readable line, so that scripts and tests using port 0 learn the real ports.
    println!("ember listening http={http} grpc={grpc}");
    server.serve(stop).await
}

/// Makes sure an administrator can sign in to a server with authentication on.
async fn bootstrap_admin(auth: &Auth, config: &ServeConfig) -> Result<(), ServerError> {
    let initial = std::env::var(crate::auth::INITIAL_PASSWORD_ENV)
        .or_else(|_| std::env::var(crate::auth::PHOENIX_INITIAL_PASSWORD_ENV))
        .ok()
        .map(zeroize::Zeroizing::new);
    match auth.bootstrap(initial.as_deref().map(String::as_str), &config.working_dir()).await? {
        Bootstrap::Done => {}
        Bootstrap::AdminCreated => tracing::warn!(
            username = "admin",
            "created the first administrator with the initial password from the environment; \
             it must be changed at first sign-in"
        ),
        Bootstrap::AwaitingSetup { file } => tracing::warn!(
            file = %file.display(),
            "no accounts yet: create the first administrator with POST /auth/setup and the one-time \
             token in this file (readable by this user only)"
        ),
    }
    Ok(())
}
