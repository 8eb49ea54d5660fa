//! The data lifecycle: retention (deleting what projects no longer keep) and, with it, the
//! background work that must never stall ingest.

pub mod sweeper;

pub use sweeper::{Sweeper, SweeperConfig};
