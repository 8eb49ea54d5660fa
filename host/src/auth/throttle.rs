//! Login throttling: too many failed logins for one account, or from one address, within a
//! window lock that account or address out until the oldest failure leaves the window.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures remembered per key, and how many lock it.
#[derive(Debug)]
pub struct Throttle {
    window: Duration,
    per_account: usize,
    per_address: usize,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Throttle {
    /// Locks an account after `per_account` failures and an address after `per_address`
    /// failures within `window`.
    pub fn new(window: Duration, per_account: usize, per_address: usize) -> Self {
        Self { window, per_account, per_address, failures: Mutex::new(HashMap::new()) }
    }

    /// How long until `account` (lower-cased) and `address` may try again; `None` when they may
    /// now.
    pub fn locked_for(&self, account: &str, address: &str) -> Option<Duration> {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let account_wait = Self::wait(&mut failures, &Self::account_key(account), self.per_account, self.window, now);
        let address_wait = Self::wait(&mut failures, &Self::address_key(address), self.per_address, self.window, now);
        account_wait.max(address_wait)
    }

    /// Records a failed login.
    pub fn failed(&self, account: &str, address: &str) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if failures.len() > 100_000 {
            // Bounded memory under a flood of made-up names: forget the oldest state wholesale.
            failures.retain(|_, times| times.back().is_some_and(|last| now.duration_since(*last) < self.window));
        }
        for key in [Self::account_key(account), Self::address_key(address)] {
            failures.entry(key).or_default().push_back(now);
        }
    }

    /// Forgets an account's failures after a successful login.
    pub fn succeeded(&self, account: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        failures.remove(&Self::account_key(account));
    }

    fn account_key(account: &str) -> String {
        format!("account:{}", account.to_lowercase())
    }

    fn address_key(address: &str) -> String {
        format!("address:{address}")
    }

    fn wait(
        failures: &mut HashMap<String, VecDeque<Instant>>,
        key: &str,
        limit: usize,
        window: Duration,
        now: Instant,
    ) -> Option<Duration> {
        let times = failures.get_mut(key)?;
        while times.front().is_some_and(|first| now.duration_since(*first) >= window) {
            times.pop_front();
        }
        if times.len() < limit {
            return None;
        }
        let oldest = *times.front()?;
        Some(window.saturating_sub(now.duration_since(oldest)).max(Duration::from_secs(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_locks_after_its_limit_and_unlocks_on_success() {
        let throttle = Throttle::new(Duration::from_secs(60), 3, 100);
        for _ in 0..3 {
            assert_eq!(throttle.locked_for("Alice", "10.0.0.1"), None);
            throttle.failed("Alice", "10.0.0.1");
        }
        let wait = throttle.locked_for("alice", "10.0.0.2").expect("locked whatever the address");
        assert!(wait <= Duration::from_secs(60) && wait >= Duration::from_secs(1));
        assert_eq!(throttle.locked_for("bob", "10.0.0.2"), None, "other accounts are not locked");
        throttle.succeeded("alice");
        assert_eq!(throttle.locked_for("alice", "10.0.0.2"), None);
    }

    #[test]
    fn an_address_locks_across_accounts() {
        let throttle = Throttle::new(Duration::from_secs(60), 100, 2);
        throttle.failed("a", "10.0.0.9");
        throttle.failed("b", "10.0.0.9");
        assert!(throttle.locked_for("c", "10.0.0.9").is_some());
        assert!(throttle.locked_for("c", "10.0.0.8").is_none());
    }

    #[test]
    fn failures_leave_the_window() {
        let throttle = Throttle::new(Duration::from_millis(30), 1, 100);
        throttle.failed("a", "x");
        assert!(throttle.locked_for("a", "x").is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert!(throttle.locked_for("a", "x").is_none());
    }
}
