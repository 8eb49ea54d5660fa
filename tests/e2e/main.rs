//! End-to-end tests: each starts the real `ember` binary on ephemeral ports, against SQLite and
//! against PostgreSQL, and talks to it with real clients (the official OpenTelemetry exporters,
//! HTTP, gRPC).

#![allow(clippy::unwrap_used)] // tests fail loudly on the first surprise

mod harness;

mod amplification;
mod annotations;
mod auth;
mod auth_clients;
mod auth_projects;
mod backpressure;
mod backup;
mod bad_input;
mod cli;
mod cli_experiment;
mod cli_install;
mod crash;
mod datasets;
mod disk_guard;
mod evaluation_jobs;
mod experiments;
mod exposure;
mod faults;
mod graphql;
mod hostile;
mod listener_limits;
mod llm_server;
mod memory_cap;
mod oidc;
mod otel_export;
mod overlapping_exports;
mod pg_cluster;
mod phoenix_client;
mod pipeline;
mod postgres_faults;
mod project_delete;
mod prompts;
mod providers;
mod registry;
mod rest_api;
mod retention;
mod shutdown;
mod slow_clients;
mod small_fs;
mod support;
mod tally;
mod tls;
mod trace_moves;
mod uploads;
