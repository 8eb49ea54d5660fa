//! Storage for experiments (being written).
