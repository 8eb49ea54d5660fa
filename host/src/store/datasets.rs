//! Storage for datasets (being written).
