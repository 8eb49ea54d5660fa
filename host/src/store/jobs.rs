//! Storage for jobs (being written).
