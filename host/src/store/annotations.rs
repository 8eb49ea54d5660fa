//! Storage for annotations (being written).
