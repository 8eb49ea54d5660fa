//! Pacing provider calls: a concurrency gate and a request-rate gate per provider, and the
//! backoff between attempts.
//!
//! Provider calls run on blocking threads (they are plugin calls), so the gates block too.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Longest wait between attempts, whatever the provider asks for.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// How many attempts and how long between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; at least 1.
    pub max_attempts: u32,
    /// Wait before the second attempt; doubles after each failure.
    pub base: Duration,
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` after `attempt` failed: the provider's `retry-after`
    /// when it gave one and it is longer, else exponential backoff with ±20% jitter.
    pub fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exponential = self.base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let jitter = 0.8 + rand::random::<f64>() * 0.4;
        let exponential = exponential.mul_f64(jitter);
        retry_after.map_or(exponential, |after| after.max(exponential)).min(MAX_BACKOFF)
    }
}

/// A counting semaphore for blocking threads.
#[derive(Debug)]
struct Gate {
    free: Mutex<usize>,
    freed: Condvar,
}

/// A slot held until dropped.
pub struct Slot<'a>(&'a Gate);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if let Ok(mut free) = self.0.free.lock() {
            *free += 1;
            self.0.freed.notify_one();
        }
    }
}

impl Gate {
    fn new(size: usize) -> Self {
        Self { free: Mutex::new(size.max(1)), freed: Condvar::new() }
    }

    /// Waits for a slot until `deadline`; `None` when it passed first.
    fn acquire(&self, deadline: Instant) -> Option<Slot<'_>> {
        let mut free = self.free.lock().ok()?;
        while *free == 0 {
            let left = deadline.checked_duration_since(Instant::now())?;
            free = self.freed.wait_timeout(free, left).ok()?.0;
        }
        *free -= 1;
        Some(Slot(self))
    }
}

/// Spaces requests at least `interval` apart.
#[derive(Debug)]
struct Pace {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pace {
    /// Reserves the next start time; the caller sleeps until then. `None` if it is past `deadline`.
    fn reserve(&self, deadline: Instant) -> Option<Instant> {
        let mut next = self.next.lock().ok()?;
        let start = (*next).max(Instant::now());
        if start > deadline {
            return None;
        }
        *next = start + self.interval;
        Some(start)
    }
}

/// The gates of one provider.
#[derive(Debug)]
pub struct ProviderGates {
    concurrency: Gate,
    pace: Option<Pace>,
}

impl ProviderGates {
    /// Waits for a concurrency slot and the rate gate; `None` when `deadline` passes first.
    pub fn enter(&self, deadline: Instant) -> Option<Slot<'_>> {
        let slot = self.concurrency.acquire(deadline)?;
        if let Some(pace) = &self.pace {
            let start = pace.reserve(deadline)?;
            std::thread::sleep(start.saturating_duration_since(Instant::now()));
        }
        Some(slot)
    }
}

/// Gates by provider name, made on first use.
#[derive(Debug, Clone)]
pub struct Pacing {
    max_concurrency: usize,
    requests_per_minute: Option<u32>,
    gates: Arc<Mutex<HashMap<String, Arc<ProviderGates>>>>,
}

impl Pacing {
    /// At most `max_concurrency` calls in flight and `requests_per_minute` started per provider.
    pub fn new(max_concurrency: usize, requests_per_minute: Option<u32>) -> Self {
        Self { max_concurrency, requests_per_minute, gates: Arc::default() }
    }

    /// The gates of `provider`.
    pub fn gates(&self, provider: &str) -> Arc<ProviderGates> {
        let mut gates = match self.gates.lock() {
            Ok(gates) => gates,
            Err(poisoned) => poisoned.into_inner(),
        };
        gates
            .entry(provider.to_owned())
            .or_insert_with(|| {
                Arc::new(ProviderGates {
                    concurrency: Gate::new(self.max_concurrency),
                    pace: self
                        .requests_per_minute
                        .filter(|rpm| *rpm > 0)
                        .map(|rpm| Pace { interval: Duration::from_secs(60) / rpm, next: Mutex::new(Instant::now()) }),
                })
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_honours_retry_after_and_is_capped() {
        let policy = RetryPolicy { max_attempts: 5, base: Duration::from_millis(100) };
        let first = policy.backoff(1, None);
        assert!((80..=120).contains(&first.as_millis()), "{first:?}");
        let third = policy.backoff(3, None);
        assert!((320..=480).contains(&third.as_millis()), "{third:?}");
        assert_eq!(policy.backoff(1, Some(Duration::from_secs(2))), Duration::from_secs(2));
        assert_eq!(policy.backoff(1, Some(Duration::from_secs(3600))), MAX_BACKOFF);
        assert_eq!(policy.backoff(40, None), MAX_BACKOFF);
    }

    #[test]
    fn the_gate_admits_its_size_then_waits_until_the_deadline() {
        let pacing = Pacing::new(2, None);
        let gates = pacing.gates("openai");
        let deadline = Instant::now() + Duration::from_millis(50);
        let one = gates.enter(deadline);
        let two = gates.enter(deadline);
        assert!(one.is_some() && two.is_some());
        assert!(gates.enter(deadline).is_none(), "a third waits past the deadline");
        drop(one);
        assert!(gates.enter(Instant::now() + Duration::from_millis(50)).is_some());
    }

    #[test]
    fn the_rate_gate_spaces_requests() {
        let pacing = Pacing::new(4, Some(1200));
        let gates = pacing.gates("anthropic");
        let started = Instant::now();
        for _ in 0..3 {
            drop(gates.enter(Instant::now() + Duration::from_secs(5)));
        }
        assert!(started.elapsed() >= Duration::from_millis(100), "three starts 50 ms apart");
    }
}
