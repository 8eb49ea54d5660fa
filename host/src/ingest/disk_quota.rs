//! The database's allocated storage and how much of it is used (Phoenix's
//! `PHOENIX_DATABASE_ALLOCATED_STORAGE_CAPACITY_GIBIBYTES` and usage thresholds): past the block
//! threshold new exports are refused with 507 / RESOURCE_EXHAUSTED before anything is queued,
//! while reads and deletes go on. `lifecycle::disk_guard` measures; this holds the latest figure.

use std::sync::atomic::{AtomicU64, Ordering};

/// Where usage stands against the thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaLevel {
    Ok,
    /// Past the warning threshold: logged, in `/metrics` and `/readyz`.
    Warn,
    /// Past the blocking threshold: ingest is refused.
    Block,
}

/// The configured capacity and thresholds, and the last measured usage.
#[derive(Debug)]
pub struct DiskQuota {
    capacity_bytes: u64,
    warn_percent: f64,
    block_percent: f64,
    /// The last measurement.
    used_bytes: AtomicU64,
    /// Bytes of spans committed since the last measurement: counted at once, so that ingest
    /// between two measurements cannot run far past the block threshold.
    since_measured: AtomicU64,
}

/// Why an export was refused for storage.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error(
    "the database uses {used_mib:.1} MiB, {percent:.0}% of its allocated {capacity_mib:.1} MiB (ingest stops at \
     {block_percent:.0}%): delete data, shorten retention or raise EMBER_DATABASE_ALLOCATED_STORAGE_CAPACITY_GIBIBYTES"
)]
pub struct QuotaExceeded {
    pub used_mib: f64,
    pub capacity_mib: f64,
    pub percent: f64,
    pub block_percent: f64,
}

impl DiskQuota {
    /// A quota of `capacity_bytes` (0: none) warning at `warn_percent` and blocking ingest at
    /// `block_percent` of it.
    pub fn new(capacity_bytes: u64, warn_percent: f64, block_percent: f64) -> Self {
        Self {
            capacity_bytes,
            warn_percent,
            block_percent,
            used_bytes: AtomicU64::new(0),
            since_measured: AtomicU64::new(0),
        }
    }

    /// No capacity configured: nothing is ever blocked.
    pub fn unlimited() -> Self {
        Self::new(0, 100.0, 100.0)
    }

    /// Whether a capacity is configured.
    pub fn is_limited(&self) -> bool {
        self.capacity_bytes > 0
    }

    /// Records a measurement; returns the level it puts usage at.
    pub fn record(&self, used_bytes: u64) -> QuotaLevel {
        self.used_bytes.store(used_bytes, Ordering::Relaxed);
        self.since_measured.store(0, Ordering::Relaxed);
        self.level()
    }

    /// Counts `bytes` of spans just committed, until the next measurement includes them.
    pub fn add_written(&self, bytes: u64) {
        if self.is_limited() {
            self.since_measured.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// The usage as last measured plus what was written since, and the capacity.
    pub fn usage(&self) -> (u64, u64) {
        let used = self.used_bytes.load(Ordering::Relaxed).saturating_add(self.since_measured.load(Ordering::Relaxed));
        (used, self.capacity_bytes)
    }

    /// Usage in percent of the capacity (0 without one).
    pub fn percent(&self) -> f64 {
        if !self.is_limited() {
            return 0.0;
        }
        self.usage().0 as f64 * 100.0 / self.capacity_bytes as f64
    }

    /// Where the last measurement stands.
    pub fn level(&self) -> QuotaLevel {
        let percent = self.percent();
        if !self.is_limited() || percent < self.warn_percent.min(self.block_percent) {
            QuotaLevel::Ok
        } else if percent < self.block_percent {
            QuotaLevel::Warn
        } else {
            QuotaLevel::Block
        }
    }

    /// The refusal for a new export, when usage is past the block threshold.
    pub fn refusal(&self) -> Option<QuotaExceeded> {
        (self.level() == QuotaLevel::Block).then(|| self.exceeded())
    }

    /// The figures, told as a refusal.
    pub fn exceeded(&self) -> QuotaExceeded {
        let (used, capacity) = self.usage();
        QuotaExceeded {
            used_mib: used as f64 / 1_048_576.0,
            capacity_mib: capacity as f64 / 1_048_576.0,
            percent: self.percent(),
            block_percent: self.block_percent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_thresholds() {
        let quota = DiskQuota::new(1000, 80.0, 95.0);
        assert_eq!(quota.record(500), QuotaLevel::Ok);
        assert_eq!(quota.record(800), QuotaLevel::Warn);
        assert!(quota.refusal().is_none());
        quota.add_written(150);
        assert_eq!(quota.level(), QuotaLevel::Block, "writes since the measurement count");
        assert_eq!(quota.record(800), QuotaLevel::Warn, "until a measurement replaces them");
        assert_eq!(quota.record(950), QuotaLevel::Block);
        let refusal = quota.refusal().expect("blocked");
        assert!(refusal.to_string().contains("95% of its allocated"), "{refusal}");
        assert_eq!(quota.record(100), QuotaLevel::Ok, "a delete brings it back");
        let unlimited = DiskQuota::unlimited();
        assert_eq!(unlimited.record(u64::MAX), QuotaLevel::Ok);
    }
}
