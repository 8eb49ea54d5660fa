//! End-to-end tests for experiments (being written).
