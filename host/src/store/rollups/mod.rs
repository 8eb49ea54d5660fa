//! Rollups: a project's totals kept per hour of span start, so that the projects page and a
//! project's header read a few rows per hour of data instead of every span.
//!
//! The span writer appends one row per (project, hour) per batch, in the batch's transaction
//! ([`write`]); nothing is ever updated in place, so concurrent writers (PostgreSQL replicas) never
//! wait on one hot row. The maintainer ([`maintain`]) merges an hour's rows into one, recomputes
//! the hours whose spans were deleted or moved, and fills in spans stored before rollups existed.
//! [`read`] sums what is there. Every path folds spans through [`Rollup::add`], so that a rollup
//! and a recomputation from spans cannot disagree.

mod dirty;
mod maintain;
mod read;
mod traces;
mod write;

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use sketches_ddsketch::{Config, DDSketch};

pub(crate) use dirty::{mark_span, mark_traces};
pub use maintain::MaintainOutcome;
pub(crate) use traces::{add_to_traces, recompute_without_span};
pub(crate) use write::{batch_rollups, batch_trace_sums, encode, facts_of, insert_rollups};

/// Width of a rollup bucket: one hour, in nanoseconds.
pub const BUCKET_NS: i64 = 3_600_000_000_000;

/// The bucket a span starting at `start_ns` falls in. SQL computes the same with
/// `start_ns - start_ns % BUCKET_NS` (both truncate toward zero).
pub fn bucket_of(start_ns: i64) -> i64 {
    start_ns - start_ns % BUCKET_NS
}

/// What a rollup needs of one span.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SpanFacts<'a> {
    pub start_ns: i64,
    pub is_error: bool,
    pub is_root: bool,
    pub is_llm: bool,
    pub latency_ms: f64,
    pub model_name: Option<&'a str>,
    pub token_prompt: Option<i64>,
    pub token_completion: Option<i64>,
    pub cost_total: Option<f64>,
}

/// The totals of a set of spans (one batch's hour, one stored hour, or a whole project).
#[derive(Clone)]
pub struct Rollup {
    pub span_count: i64,
    pub error_count: i64,
    /// Root spans: one per trace whose root has arrived.
    pub root_count: i64,
    /// Over LLM spans only, as Phoenix counts them.
    pub token_prompt: i64,
    pub token_completion: i64,
    pub cost_total: f64,
    pub last_start_ns: i64,
    pub models: BTreeSet<String>,
    /// Root-span latencies in milliseconds.
    pub latency: DDSketch,
}

impl Default for Rollup {
    fn default() -> Self {
        Self {
            span_count: 0,
            error_count: 0,
            root_count: 0,
            token_prompt: 0,
            token_completion: 0,
            cost_total: 0.0,
            last_start_ns: i64::MIN,
            models: BTreeSet::new(),
            latency: DDSketch::new(Config::defaults()),
        }
    }
}

impl std::fmt::Debug for Rollup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rollup")
            .field("span_count", &self.span_count)
            .field("error_count", &self.error_count)
            .field("root_count", &self.root_count)
            .field("token_prompt", &self.token_prompt)
            .field("token_completion", &self.token_completion)
            .field("cost_total", &self.cost_total)
            .field("last_start_ns", &self.last_start_ns)
            .field("models", &self.models)
            .field("latency_count", &self.latency.count())
            .finish()
    }
}

impl Rollup {
    /// Counts one span in.
    pub(crate) fn add(&mut self, span: &SpanFacts<'_>) {
        self.span_count += 1;
        self.error_count += i64::from(span.is_error);
        self.last_start_ns = self.last_start_ns.max(span.start_ns);
        if let Some(model) = span.model_name {
            if !self.models.contains(model) {
                self.models.insert(model.to_owned());
            }
        }
        if span.is_llm {
            self.token_prompt += span.token_prompt.unwrap_or(0);
            self.token_completion += span.token_completion.unwrap_or(0);
            self.cost_total += span.cost_total.unwrap_or(0.0);
        }
        if span.is_root {
            self.root_count += 1;
            self.latency.add(span.latency_ms.max(0.0));
        }
    }

    /// Adds another rollup's totals to this one.
    pub fn merge(&mut self, other: &Rollup) {
        self.span_count += other.span_count;
        self.error_count += other.error_count;
        self.root_count += other.root_count;
        self.token_prompt += other.token_prompt;
        self.token_completion += other.token_completion;
        self.cost_total += other.cost_total;
        self.last_start_ns = self.last_start_ns.max(other.last_start_ns);
        self.models.extend(other.models.iter().cloned());
        // Every sketch here is built with the default configuration, the only case merge refuses.
        let _ = self.latency.merge(&other.latency);
    }

    /// The nearest-rank `q` quantile of root-span latency (the value at rank ⌈q·n⌉, as the
    /// projects page always reported it): exact for the smallest and the largest, within
    /// DDSketch's 1% relative accuracy between them.
    pub fn latency_quantile(&self, q: f64) -> Option<f64> {
        let n = self.latency.count() as u64;
        if n == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as u64).clamp(1, n) - 1;
        // DDSketch reads rank ⌊q'·(n − 1)⌋; aim at the middle of the wanted rank's interval.
        let at = if rank == 0 { 0.0 } else { ((rank as f64 + 0.5) / (n - 1) as f64).min(1.0) };
        self.latency.quantile(at).ok().flatten()
    }
}

/// Rollups of a set of spans, keyed by project and bucket.
pub(crate) type Buckets = BTreeMap<(i64, i64), Rollup>;

/// Folds one span of `project_id` into `buckets`.
pub(crate) fn add_span(buckets: &mut Buckets, project_id: i64, span: &SpanFacts<'_>) {
    buckets.entry((project_id, bucket_of(span.start_ns))).or_default().add(span);
}

/// The `llm.cost.total` attribute of a span's attributes document, read without building the
/// document: most spans carry no cost, and those are told by a substring search alone.
pub(crate) fn cost_of(attributes: &str) -> Option<f64> {
    #[derive(Deserialize)]
    struct Attributes {
        llm: Option<Llm>,
    }
    #[derive(Deserialize)]
    struct Llm {
        cost: Option<Cost>,
    }
    #[derive(Deserialize)]
    struct Cost {
        total: Option<serde_json::Value>,
    }
    if !attributes.contains("\"cost\"") {
        return None;
    }
    let parsed: Attributes = serde_json::from_str(attributes).ok()?;
    parsed.llm?.cost?.total?.as_f64()
}

#[cfg(test)]
mod tests;
