//! Prometheus metrics served at `/metrics`.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, &'static str)>;
/// Labels naming a plugin, whose names are only known at run time.
pub type PluginLabels = Vec<(&'static str, String)>;
/// Labels of a counter split by outcome only.
pub type OutcomeLabels = Vec<(&'static str, &'static str)>;
type HistogramFamily = Family<PluginLabels, Histogram, fn() -> Histogram>;

fn instruction_histogram() -> Histogram {
    Histogram::new(exponential_buckets(1_000.0, 4.0, 14))
}

fn seconds_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_01, 4.0, 12))
}

/// Every metric Ember exports; cloned handles share the same values.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Spans accepted into the queue, by transport (`grpc`, `http`).
    pub spans_accepted: Family<Labels, Counter>,
    /// Spans refused one by one (bad ids, bad UTF-8), reported as OTLP partial success.
    pub spans_rejected: Family<Labels, Counter>,
    /// Whole requests refused, by reason (`queue_full`, `too_large`, `malformed`, `shutting_down`).
    pub requests_rejected: Family<Labels, Counter>,
    /// Spans waiting in the queue.
    pub queue_depth: Gauge,
    /// Spans the queue holds at most.
    pub queue_capacity: Gauge,
    /// Spans per committed batch.
    pub batch_spans: Histogram,
    /// Seconds per batch transaction.
    pub batch_seconds: Histogram,
    /// The database's allocated storage (0: none configured) and the bytes it uses.
    pub database_capacity_bytes: Gauge,
    pub database_used_bytes: Gauge,
    /// 1 while ingest is refused because usage is past the block threshold.
    pub database_ingest_blocked: Gauge,
    /// Spans and traces the retention sweeper deleted.
    pub retention_deleted_spans: Counter,
    pub retention_deleted_traces: Counter,
    /// Seconds per retention sweep (every project once).
    pub retention_sweep_seconds: Histogram,
    /// Seconds from a batch being queued to its commit: what durable acknowledgement adds to an
    /// export's latency.
    pub ack_seconds: Histogram,
    /// Spans stored.
    pub spans_written: Counter,
    /// Spans ignored because their span id was already stored.
    pub spans_duplicate: Counter,
    /// Batch writes that failed, by storage fault (`disk_full`, `io_error`, `unavailable`,
    /// `busy`, `refused`, `other`).
    pub write_errors: Family<Labels, Counter>,
    /// Batch write attempts that panicked (contained; the spans were retried).
    pub writer_panics: Counter,
    /// Panics of supervised background tasks, by task.
    pub task_panics: Family<Labels, Counter>,
    /// When the writer last committed a batch (Unix seconds): alert on `time() - this`.
    pub last_commit: Gauge<f64, std::sync::atomic::AtomicU64>,
    /// When the oldest span the writer still holds was queued (Unix milliseconds; 0 when it holds
    /// none): rendered as the age of the oldest queued span.
    pub oldest_queued_ms: std::sync::atomic::AtomicI64,
    oldest_queued_age: Gauge<f64, std::sync::atomic::AtomicU64>,
    /// Spans the database refused even on their own (reported in the log with their ids).
    pub spans_dropped: Counter,
    /// Plugin calls by plugin and outcome (`ok` or an error kind such as `out_of_fuel`).
    pub plugin_calls: Family<PluginLabels, Counter>,
    /// Instructions (fuel) used per plugin call, by plugin.
    pub plugin_instructions: HistogramFamily,
    /// Wall-clock seconds per plugin call, by plugin.
    pub plugin_seconds: HistogramFamily,
    /// Server-side evaluation jobs finished, by outcome (`done`, `failed`, `retried`).
    pub evaluation_jobs: Family<OutcomeLabels, Counter>,
    /// Recent calls per plugin for the plugins page (not exported to Prometheus).
    pub call_stats: crate::call_stats::CallStats,
    /// Ingest pipeline stage failures, by plugin and policy (`keep` or `reject`).
    pub pipeline_failures: Family<PluginLabels, Counter>,
    /// Spans an ingest pipeline stage changed, by plugin.
    pub pipeline_spans_changed: Family<PluginLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric under the `ember_` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("ember");
        let spans_accepted = Family::<Labels, Counter>::default();
        let spans_rejected = Family::<Labels, Counter>::default();
        let requests_rejected = Family::<Labels, Counter>::default();
        let queue_depth = Gauge::default();
        let queue_capacity = Gauge::default();
        let batch_spans = Histogram::new(exponential_buckets(1.0, 4.0, 9));
        let batch_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 14));
        let ack_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        let retention_deleted_spans = Counter::default();
        let database_capacity_bytes = Gauge::default();
        let database_used_bytes = Gauge::default();
        let database_ingest_blocked = Gauge::default();
        registry.register(
            "database_capacity_bytes",
            "Storage allocated to the database (0: no limit configured)",
            database_capacity_bytes.clone(),
        );
        registry.register("database_used_bytes", "Storage the database uses", database_used_bytes.clone());
        registry.register(
            "database_ingest_blocked",
            "1 while ingest is refused because database usage is past the block threshold",
            database_ingest_blocked.clone(),
        );
        let retention_deleted_traces = Counter::default();
        let retention_sweep_seconds = Histogram::new(exponential_buckets(0.001, 4.0, 10));
        registry.register(
            "retention_deleted_spans",
            "Spans deleted by retention policies",
            retention_deleted_spans.clone(),
        );
        registry.register(
            "retention_deleted_traces",
            "Traces deleted by retention policies",
            retention_deleted_traces.clone(),
        );
        registry.register(
            "retention_sweep_seconds",
            "Duration of one retention sweep over every project",
            retention_sweep_seconds.clone(),
        );
        let spans_written = Counter::default();
        let spans_duplicate = Counter::default();
        let write_errors = Family::<Labels, Counter>::default();
        let last_commit = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        let oldest_queued_age = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        let writer_panics = Counter::default();
        let task_panics = Family::<Labels, Counter>::default();
        let spans_dropped = Counter::default();
        let plugin_calls = Family::<PluginLabels, Counter>::default();
        let plugin_instructions = HistogramFamily::new_with_constructor(instruction_histogram as fn() -> Histogram);
        let plugin_seconds = HistogramFamily::new_with_constructor(seconds_histogram as fn() -> Histogram);
        let pipeline_failures = Family::<PluginLabels, Counter>::default();
        let pipeline_spans_changed = Family::<PluginLabels, Counter>::default();
        registry.register("plugin_calls", "Plugin calls by plugin and outcome", plugin_calls.clone());
        let evaluation_jobs = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "evaluation_jobs",
            "Server-side evaluation jobs by outcome (done, failed, retried)",
            evaluation_jobs.clone(),
        );
        registry.register("plugin_instructions", "Instructions used per plugin call", plugin_instructions.clone());
        registry.register("plugin_call_seconds", "Wall-clock time per plugin call", plugin_seconds.clone());
        registry.register(
            "pipeline_failures",
            "Ingest pipeline stage failures by plugin and policy",
            pipeline_failures.clone(),
        );
        registry.register(
            "pipeline_spans_changed",
            "Spans changed by an ingest pipeline stage",
            pipeline_spans_changed.clone(),
        );
        registry.register("ingest_spans_accepted", "Spans accepted into the ingest queue", spans_accepted.clone());
        registry.register(
            "ingest_spans_rejected",
            "Spans rejected one by one (OTLP partial success)",
            spans_rejected.clone(),
        );
        registry.register(
            "ingest_requests_rejected",
            "Export requests refused whole, by reason",
            requests_rejected.clone(),
        );
        registry.register("ingest_queue_depth_spans", "Spans waiting in the ingest queue", queue_depth.clone());
        registry.register(
            "ingest_queue_capacity_spans",
            "Capacity of the ingest queue in spans",
            queue_capacity.clone(),
        );
        registry.register("writer_batch_spans", "Spans per committed batch", batch_spans.clone());
        registry.register("writer_batch_seconds", "Duration of one batch transaction", batch_seconds.clone());
        registry.register(
            "ingest_ack_seconds",
            "Time from a batch being queued to its commit (when its export is acknowledged)",
            ack_seconds.clone(),
        );
        registry.register("writer_spans_written", "Spans stored", spans_written.clone());
        registry.register(
            "writer_spans_duplicate",
            "Spans ignored because their id was already stored",
            spans_duplicate.clone(),
        );
        registry.register("writer_errors", "Batch writes that failed, by storage fault", write_errors.clone());
        registry.register(
            "writer_panics",
            "Batch write attempts that panicked and were retried",
            writer_panics.clone(),
        );
        registry.register(
            "writer_last_commit_timestamp_seconds",
            "When the writer last committed a batch",
            last_commit.clone(),
        );
        registry.register("task_panics", "Panics of supervised background tasks, by task", task_panics.clone());
        registry.register(
            "queue_oldest_span_age_seconds",
            "How long the oldest acknowledged span not yet committed has waited (0 when none waits)",
            oldest_queued_age.clone(),
        );
        registry.register("writer_spans_dropped", "Spans the database refused on their own", spans_dropped.clone());
        registry.register(
            "log_lines_dropped",
            "Log lines that could not be written (a full disk, a closed pipe)",
            crate::log_writer::DROPPED_LINES.clone(),
        );
        Self {
            registry,
            spans_accepted,
            spans_rejected,
            requests_rejected,
            queue_depth,
            queue_capacity,
            batch_spans,
            batch_seconds,
            ack_seconds,
            database_capacity_bytes,
            database_used_bytes,
            database_ingest_blocked,
            retention_deleted_spans,
            retention_deleted_traces,
            retention_sweep_seconds,
            spans_written,
            spans_duplicate,
            write_errors,
            last_commit,
            oldest_queued_ms: std::sync::atomic::AtomicI64::new(0),
            oldest_queued_age,
            writer_panics,
            task_panics,
            spans_dropped,
            plugin_calls,
            evaluation_jobs,
            plugin_instructions,
            plugin_seconds,
            pipeline_failures,
            pipeline_spans_changed,
            call_stats: crate::call_stats::CallStats::default(),
        }
    }

    /// Records `calls` calls of `plugin` that ended with `outcome` (`ok` or an error kind) and
    /// together used `instructions` and `elapsed`: one ingest pipeline stage over one batch.
    pub fn record_calls(
        &self,
        plugin: &str,
        outcome: &str,
        calls: u32,
        instructions: u64,
        elapsed: std::time::Duration,
    ) {
        let labels = vec![("plugin", plugin.to_owned()), ("outcome", outcome.to_owned())];
        self.plugin_calls.get_or_create(&labels).inc_by(u64::from(calls));
        if calls == 0 {
            return;
        }
        let per_call = instructions as f64 / f64::from(calls);
        self.call_stats.record(plugin, outcome, calls, per_call as u64);
        let seconds = elapsed.as_secs_f64() / f64::from(calls);
        let plugin = vec![("plugin", plugin.to_owned())];
        let (instructions, time) =
            (self.plugin_instructions.get_or_create(&plugin), self.plugin_seconds.get_or_create(&plugin));
        for _ in 0..calls {
            instructions.observe(per_call);
            time.observe(seconds);
        }
    }

    /// Records spans an ingest pipeline stage of `plugin` changed.
    pub fn record_spans_changed(&self, plugin: &str, spans: usize) {
        if spans > 0 {
            self.pipeline_spans_changed.get_or_create(&vec![("plugin", plugin.to_owned())]).inc_by(spans as u64);
        }
    }

    /// Records one plugin call (evaluators and providers, through the plugin host).
    pub fn record_call(&self, plugin: &str, outcome: &str, instructions: u64, elapsed: std::time::Duration) {
        let labels = vec![("plugin", plugin.to_owned()), ("outcome", outcome.to_owned())];
        self.plugin_calls.get_or_create(&labels).inc();
        self.call_stats.record(plugin, outcome, 1, instructions);
        let plugin = vec![("plugin", plugin.to_owned())];
        self.plugin_instructions.get_or_create(&plugin).observe(instructions as f64);
        self.plugin_seconds.get_or_create(&plugin).observe(elapsed.as_secs_f64());
    }

    /// Renders the OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let oldest = self.oldest_queued_ms.load(std::sync::atomic::Ordering::Relaxed);
        let age_ms = if oldest > 0 { (crate::time::now_ns() / 1_000_000 - oldest).max(0) } else { 0 };
        self.oldest_queued_age.set(age_ms as f64 / 1000.0);
        let mut out = String::new();
        if let Err(err) = encode(&mut out, &self.registry) {
            tracing::error!(error = %err, "cannot encode metrics");
        }
        out
    }
}
