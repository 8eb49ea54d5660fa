//! End-to-end tests for phoenix_client (being written).
