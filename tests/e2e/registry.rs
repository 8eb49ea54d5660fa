//! End-to-end tests for registry (being written).
