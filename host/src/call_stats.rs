//! Recent plugin call statistics per plugin, for the plugins page: calls and errors by kind
//! since start, and instruction percentiles over the last calls.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

/// Calls whose instruction counts the percentiles are taken over.
const RECENT_CALLS: usize = 1024;

/// One plugin's statistics at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallStatsSnapshot {
    pub calls: u64,
    /// Failed calls by error kind (`out_of_fuel`, `trap`, …).
    pub errors: BTreeMap<String, u64>,
    pub instructions_p50: Option<u64>,
    pub instructions_p99: Option<u64>,
}

#[derive(Debug, Default)]
struct PluginCalls {
    calls: u64,
    errors: BTreeMap<String, u64>,
    recent: VecDeque<u64>,
}

/// Statistics of every plugin that was called since the server started.
#[derive(Debug, Default)]
pub struct CallStats {
    plugins: Mutex<HashMap<String, PluginCalls>>,
}

impl CallStats {
    /// Records `calls` calls of `plugin` that ended with `outcome` (`ok` or an error kind),
    /// each using `instructions_per_call`.
    pub fn record(&self, plugin: &str, outcome: &str, calls: u32, instructions_per_call: u64) {
        let Ok(mut plugins) = self.plugins.lock() else { return };
        let entry = plugins.entry(plugin.to_owned()).or_default();
        entry.calls += u64::from(calls);
        if outcome != "ok" {
            *entry.errors.entry(outcome.to_owned()).or_default() += u64::from(calls);
        }
        for _ in 0..calls.min(RECENT_CALLS as u32) {
            if entry.recent.len() == RECENT_CALLS {
                entry.recent.pop_front();
            }
            entry.recent.push_back(instructions_per_call);
        }
    }

    /// The statistics of `plugin`; zeros when it was not called since start.
    pub fn snapshot(&self, plugin: &str) -> CallStatsSnapshot {
        let Ok(plugins) = self.plugins.lock() else { return CallStatsSnapshot::default() };
        let Some(entry) = plugins.get(plugin) else { return CallStatsSnapshot::default() };
        let mut sorted: Vec<u64> = entry.recent.iter().copied().collect();
        sorted.sort_unstable();
        CallStatsSnapshot {
            calls: entry.calls,
            errors: entry.errors.clone(),
            instructions_p50: nearest_rank(&sorted, 50),
            instructions_p99: nearest_rank(&sorted, 99),
        }
    }
}

/// The nearest-rank percentile of sorted values.
fn nearest_rank(sorted: &[u64], percent: usize) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_errors_by_kind_and_takes_percentiles_of_recent_calls() {
        let stats = CallStats::default();
        for i in 1..=100 {
            stats.record("judge", "ok", 1, i * 1000);
        }
        stats.record("judge", "out_of_fuel", 2, 5_000_000);
        let snapshot = stats.snapshot("judge");
        assert_eq!(snapshot.calls, 102);
        assert_eq!(snapshot.errors.get("out_of_fuel"), Some(&2));
        assert_eq!(snapshot.instructions_p50, Some(51_000));
        assert_eq!(snapshot.instructions_p99, Some(5_000_000));
        assert_eq!(stats.snapshot("other"), CallStatsSnapshot::default());
    }

    #[test]
    fn keeps_only_the_most_recent_calls_for_percentiles() {
        let stats = CallStats::default();
        stats.record("p", "ok", 2000, 7);
        stats.record("p", "ok", 1, 9);
        let snapshot = stats.snapshot("p");
        assert_eq!(snapshot.calls, 2001);
        assert_eq!(snapshot.instructions_p99, Some(7));
        assert_eq!(snapshot.instructions_p50, Some(7));
    }
}
