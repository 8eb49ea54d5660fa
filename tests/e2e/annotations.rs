//! End-to-end tests for annotations (being written).
