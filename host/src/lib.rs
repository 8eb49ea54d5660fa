//! Ember's server: OTLP ingestion, storage, the Phoenix-compatible REST API, GraphQL and the web
//! UI, with sandboxed Wasm plugins.
//!
//! A span travels `ingest` (decode, OpenInference mapping) → `ingest::queue` (bounded) →
//! `ingest::writer` (one transaction per batch; the export is acknowledged after its commit) →
//! `store` (SQLite or PostgreSQL) → `api` (REST, GraphQL and UI reads), until `lifecycle`'s
//! retention sweeper deletes it.
//!
//! # Module map
//!
//! Layers, top to bottom; a module imports only from layers below it.
//!
//! | layer | modules | owns |
//! |---|---|---|
//! | binaries | `main.rs` with `cli/`, `bin/` | the `ember` command and its client subcommands (HTTP and the sandbox only); load tools |
//! | server | `server`, `config`, `exposure` | wiring, shutdown order, whether a configuration may serve (auth switch against the bound address) |
//! | HTTP and gRPC | `api` (REST v1, `api::graphql`, `api::ui`, `api::listener`), `ingest::http`, `ingest::grpc` | routes, extractors, error-to-status mapping, connection limits; one convention each for JSON bodies (`api::json_body`), pages (`api::page`) and errors (`api::error`, `ingest::refusal`) |
//! | services | `ingest` (decode, `queue`, `writer`, `write_health`), `evaluation` (leased jobs, `prompt_task`), `providers`, `prompts`, `secrets`, `live`, `auth` (accounts, keys, sessions, roles and permissions), `lifecycle` (retention sweeper, disk guard, rollup maintainer) | what the routes do |
//! | plugins | `plugins` | the registry, the ingest pipeline, the one call seam into `ember_sandbox` (`plugins::call`: tracing span, panic isolation, busy retry, metrics) |
//! | store | `store` | SQL for both dialects, typed storage faults, the per-hour rollups the summaries read (`store::rollups`) |
//! | leaves | `ids`, `time`, `model` (spans, prompt types), `attributes`, `metrics`, `call_stats`, `log_writer`, `supervise` (restarts long-lived tasks), `body_read` (why a request body could not be read), `tls` (the listeners' certificates, reloaded on change) | shared by all |
//!
//! No import runs upwards: the prompt types `store` keeps live in `model::prompt`, metrics take
//! plain values, and only `plugins` (the call seam, and the sandbox's value types it re-exports)
//! and `providers` (the provider world's chat types) name `ember_sandbox` below the binaries.
//! `src/tests.rs` checks both rules over the source.
//!
//! Unit tests sit in `mod tests` at the end of the module's file, or, when long, in
//! `<module>/tests.rs` beside it (`mod tests;`); end-to-end tests are in the top-level `tests/`.
//!
//! The load tools' and tests' workload generator is a crate of its own, `ember-workload`
//! (`host/workload`), outside the server library.

pub mod api;
pub mod attributes;
pub mod auth;
pub mod body_read;
pub mod call_stats;
pub mod config;
pub mod evaluation;
pub mod exposure;
pub mod ids;
pub mod ingest;
pub mod lifecycle;
pub mod live;
pub mod log_writer;
pub mod metrics;
pub mod model;
pub mod plugins;
pub mod prompts;
pub mod providers;
pub mod secrets;
pub mod server;
pub mod store;
pub mod supervise;
pub mod time;
pub mod tls;

#[cfg(test)]
mod tests;

pub use config::ServeConfig;
pub use server::{run, Server};
