pub mod attributes;
pub mod ingest { pub mod openinference; pub mod otlp; }
pub mod model;
pub mod store;
