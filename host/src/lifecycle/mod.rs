//! The data lifecycle: retention (deleting what projects no longer keep), the disk guard
//! (refusing ingest before the database outgrows its allocated storage) and the rollup
//! maintainer (keeping the per-hour totals the summaries read small and true).

pub mod disk_guard;
pub mod rollups;
pub mod sweeper;

pub use sweeper::{Sweeper, SweeperConfig};
