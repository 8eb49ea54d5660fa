//! Admission control: calls run only while they fit in the concurrency and memory budgets, so
//! that many large sandboxes at once cannot exhaust the server's memory. A call reserves its
//! linear memory and the host memory it may hold (`Limits::reserved_bytes`).

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::error::SandboxError;

/// Counts running calls and the memory their limits reserve.
#[derive(Debug)]
pub(crate) struct Admission {
    state: Mutex<Budget>,
    freed: Condvar,
    max_calls: u32,
    memory_budget: u64,
}

#[derive(Debug, Default)]
struct Budget {
    calls: u32,
    memory: u64,
}

/// A running call's share of the budget; returned on drop.
pub(crate) struct Ticket<'a> {
    admission: &'a Admission,
    memory: u64,
    slot: bool,
}

impl Admission {
    pub fn new(max_calls: u32, memory_budget: u64) -> Self {
        Self { state: Mutex::new(Budget::default()), freed: Condvar::new(), max_calls: max_calls.max(1), memory_budget }
    }

    /// Waits up to `wait` for `memory` bytes of budget and, when `slot`, a call slot.
    pub fn admit(&self, memory: u64, slot: bool, wait: Duration) -> Result<Ticket<'_>, SandboxError> {
        if memory > self.memory_budget {
            return Err(SandboxError::Busy(format!(
                "the call would reserve {memory} bytes (memory limit plus host copies), over the sandbox budget of {} bytes",
                self.memory_budget
            )));
        }
        let deadline = Instant::now() + wait;
        let mut budget = self.state.lock().map_err(|_| SandboxError::Busy("admission lock poisoned".into()))?;
        while (slot && budget.calls >= self.max_calls) || budget.memory + memory > self.memory_budget {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(SandboxError::Busy(format!(
                    "{} calls running, {} of {} bytes reserved",
                    budget.calls, budget.memory, self.memory_budget
                )));
            }
            budget = self
                .freed
                .wait_timeout(budget, left)
                .map_err(|_| SandboxError::Busy("admission lock poisoned".into()))?
                .0;
        }
        budget.calls += u32::from(slot);
        budget.memory += memory;
        Ok(Ticket { admission: self, memory, slot })
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if let Ok(mut budget) = self.admission.state.lock() {
            budget.calls -= u32::from(self.slot);
            budget.memory -= self.memory;
        }
        // Every waiter re-checks: the one that fits may not be the first in line.
        self.admission.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_over_budget_wait_then_are_refused() {
        let admission = Admission::new(2, 100);
        let first = admission.admit(60, true, Duration::ZERO).unwrap();
        assert!(matches!(admission.admit(60, true, Duration::from_millis(10)), Err(SandboxError::Busy(_))));
        let second = admission.admit(30, true, Duration::ZERO).unwrap();
        assert!(matches!(admission.admit(1, true, Duration::ZERO), Err(SandboxError::Busy(_))), "slot limit");
        // A nested call needs no slot, but its memory counts.
        let nested = admission.admit(10, false, Duration::ZERO).unwrap();
        assert!(matches!(admission.admit(1, false, Duration::ZERO), Err(SandboxError::Busy(_))), "memory limit");
        drop((first, nested));
        assert!(admission.admit(60, true, Duration::ZERO).is_ok());
        drop(second);
        assert!(matches!(admission.admit(101, true, Duration::from_secs(10)), Err(SandboxError::Busy(_))));
    }
}
