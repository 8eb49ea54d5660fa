//! End-to-end tests: each starts the real `ember` binary on ephemeral ports, against SQLite and
//! against PostgreSQL, and talks to it with real clients (the official OpenTelemetry exporters,
//! HTTP, gRPC).

#![allow(clippy::unwrap_used)] // tests fail loudly on the first surprise

mod harness;

mod backpressure;
mod bad_input;
mod cli;
mod hostile;
mod otel_export;
mod pipeline;
mod rest_api;
mod shutdown;
mod support;
