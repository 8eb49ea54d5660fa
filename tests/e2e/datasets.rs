//! End-to-end tests for datasets (being written).
