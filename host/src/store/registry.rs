//! Storage for registry (being written).
