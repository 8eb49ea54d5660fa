//! Ingestion: OTLP over gRPC and HTTP, decoded and mapped, then handed to the queue.

pub mod grpc;
pub mod http;
pub mod openinference;
pub mod otlp;

pub use otlp::{Decoded, DecodeError, DEFAULT_PROJECT};
