//! What the span writer last saw of the store, shared with the ingest queue (which refuses new
//! exports while the disk is full, so that clients retry instead of piling acknowledged spans in
//! memory) and with `/readyz` (which says why the server is not ready).

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, Ordering};

use crate::store::StorageFault;

/// The writer's latest outcome: the fault of its last failed write, cleared by its next commit.
#[derive(Debug)]
pub struct WriteHealth {
    fault: AtomicU8,
    /// The last write attempt panicked (its spans are kept and retried).
    panicked: AtomicBool,
    /// The writer task ended while the server was not stopping: nothing writes spans any more.
    down: AtomicBool,
    /// When the writer last committed a batch (Unix milliseconds); 0 before the first.
    last_commit_ms: AtomicI64,
}

const HEALTHY: u8 = 0;

impl Default for WriteHealth {
    fn default() -> Self {
        Self {
            fault: AtomicU8::new(HEALTHY),
            panicked: AtomicBool::new(false),
            down: AtomicBool::new(false),
            last_commit_ms: AtomicI64::new(0),
        }
    }
}

impl WriteHealth {
    /// A batch was committed: whatever failed before has healed.
    pub fn record_commit(&self) {
        self.fault.store(HEALTHY, Ordering::Relaxed);
        self.panicked.store(false, Ordering::Relaxed);
        self.last_commit_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// A write failed with `fault`; the writer keeps the spans and retries.
    pub fn record_failure(&self, fault: StorageFault) {
        self.fault.store(encode(fault), Ordering::Relaxed);
    }

    /// A write attempt panicked; the writer keeps the spans and retries.
    pub fn record_panic(&self) {
        self.panicked.store(true, Ordering::Relaxed);
    }

    /// Whether the writer's latest write attempt panicked.
    pub fn panicked(&self) -> bool {
        self.panicked.load(Ordering::Relaxed)
    }

    /// The writer task is gone: liveness fails so that the service manager restarts the process.
    pub fn record_down(&self) {
        self.down.store(true, Ordering::Relaxed);
    }

    /// Whether the writer task has ended unexpectedly.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// The fault of the writer's latest write, `None` when it succeeded.
    pub fn fault(&self) -> Option<StorageFault> {
        decode(self.fault.load(Ordering::Relaxed))
    }

    /// The fault for which new exports must be refused (see [`StorageFault::refuses_ingest`]).
    pub fn ingest_refusal(&self) -> Option<StorageFault> {
        self.fault().filter(|fault| fault.refuses_ingest())
    }

    /// When the writer last committed (Unix milliseconds), if it has.
    pub fn last_commit_ms(&self) -> Option<i64> {
        Some(self.last_commit_ms.load(Ordering::Relaxed)).filter(|ms| *ms > 0)
    }
}

fn encode(fault: StorageFault) -> u8 {
    match fault {
        StorageFault::DiskFull => 1,
        StorageFault::Io => 2,
        StorageFault::Unavailable => 3,
        StorageFault::Busy => 4,
        StorageFault::Other => 5,
        StorageFault::Refused => 6,
    }
}

fn decode(code: u8) -> Option<StorageFault> {
    match code {
        1 => Some(StorageFault::DiskFull),
        2 => Some(StorageFault::Io),
        3 => Some(StorageFault::Unavailable),
        4 => Some(StorageFault::Busy),
        5 => Some(StorageFault::Other),
        6 => Some(StorageFault::Refused),
        _ => None,
    }
}

fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_clears_the_last_fault() {
        let health = WriteHealth::default();
        assert_eq!((health.fault(), health.last_commit_ms()), (None, None));
        health.record_failure(StorageFault::DiskFull);
        assert_eq!(health.ingest_refusal(), Some(StorageFault::DiskFull));
        health.record_failure(StorageFault::Io);
        assert_eq!(health.ingest_refusal(), Some(StorageFault::Io));
        health.record_failure(StorageFault::Busy);
        assert_eq!(health.ingest_refusal(), None, "contention does not stop ingest");
        health.record_commit();
        assert_eq!(health.fault(), None);
        assert!(health.last_commit_ms().is_some());
    }
}
