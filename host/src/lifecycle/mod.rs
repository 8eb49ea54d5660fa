//! The data lifecycle: retention (deleting what projects no longer keep) and the disk guard
//! (refusing ingest before the database outgrows its allocated storage).

pub mod disk_guard;
pub mod sweeper;

pub use sweeper::{Sweeper, SweeperConfig};
