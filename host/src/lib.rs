//! Ember's server: OTLP ingestion, storage, and the Phoenix-compatible REST API.
//!
//! A span travels `ingest` (decode, OpenInference mapping) → `queue` (bounded, acknowledges) →
//! `writer` (one transaction per batch) → `store` (SQLite or PostgreSQL) → `api` (REST reads).

pub mod api;
pub mod attributes;
pub mod call_stats;
pub mod cli;
pub mod config;
pub mod evaluation;
pub mod graphql;
pub mod http_listener;
pub mod ingest;
pub mod live;
pub mod log_writer;
pub mod metrics;
pub mod model;
pub mod plugins;
pub mod prompt_task;
pub mod prompts;
pub mod providers;
pub mod queue;
pub mod secrets;
pub mod server;
pub mod store;
pub mod supervise;
pub mod ui;
pub mod workload;
pub mod write_health;
pub mod writer;

pub use config::ServeConfig;
pub use server::{run, Server};
