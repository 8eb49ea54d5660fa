//! End-to-end tests for evaluation_jobs (being written).
