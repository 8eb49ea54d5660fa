//! Per-plugin limits and capability grants.

use std::collections::BTreeSet;
use std::time::Duration;

/// Resource limits applied to every call of one plugin.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Instruction (fuel) budget of one export call.
    pub fuel: u64,
    /// Linear memory, summed over the component's memories, in bytes.
    pub memory_bytes: u64,
    /// Wall-clock deadline of one call, instantiation included.
    #[serde(with = "millis")]
    pub deadline: Duration,
    /// Largest value the host copies out of the sandbox at once (a call's result, or one import
    /// call's arguments): bytes of strings plus each list entry's size in host memory.
    pub max_output_bytes: u64,
    /// Largest log kept per call, in bytes.
    pub max_log_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            fuel: 100_000_000,
            memory_bytes: 64 << 20,
            deadline: Duration::from_secs(1),
            max_output_bytes: 4 << 20,
            max_log_bytes: 64 << 10,
        }
    }
}

/// Host memory a lifted value may take per byte wasmtime charges for it. Wasmtime charges a
/// string's bytes and each list entry's host size, not the allocator's overhead for each
/// non-empty string or list (at most 32 bytes with glibc). Each such allocation hangs off a
/// 24-byte header that is charged, so the overhead is at most 4/3 of the charge: 7/3 in all.
const LIFT_OVERHEAD_NUM: u64 = 5;
const LIFT_OVERHEAD_DEN: u64 = 2;

/// Live component-model handles (WASI streams, pollables, …) one call may hold; a Python or
/// JavaScript guest uses a few dozen.
pub(crate) const MAX_HANDLES: usize = 10_000;

/// What the host may keep per live handle: a resource-table entry and the boxed resource.
const HANDLE_BYTES: u64 = 256;

impl Limits {
    /// The most the host copies out of the sandbox in one transfer: the call's result, or the
    /// arguments of one import call (WASI's included). A plugin cannot hold a legitimate value
    /// larger than its own memory, so the output cap is clamped to it.
    pub fn transfer_bytes(&self) -> u64 {
        self.max_output_bytes.min(self.memory_bytes)
    }

    /// Host memory one call may hold besides its linear memory, reserved against the sandbox's
    /// memory budget while it runs. At any moment a call holds either its lifted result, or one
    /// import's lifted arguments plus what serving them costs (an outbound request's copy in the
    /// HTTP client and its response, each capped at the transfer size): 2½ + 2 transfers. Besides
    /// those: its log and the two WASI output pipes (each capped at `max_log_bytes`), and its
    /// handles.
    pub fn host_bytes(&self) -> u64 {
        let transfer = self.transfer_bytes();
        let lifted = transfer.saturating_mul(LIFT_OVERHEAD_NUM) / LIFT_OVERHEAD_DEN;
        lifted
            .saturating_add(transfer.saturating_mul(2))
            .saturating_add(self.max_log_bytes.saturating_mul(3))
            .saturating_add(MAX_HANDLES as u64 * HANDLE_BYTES)
    }

    /// What admission reserves for one call: its linear memory plus [`Limits::host_bytes`].
    pub fn reserved_bytes(&self) -> u64 {
        self.memory_bytes.saturating_add(self.host_bytes())
    }

    /// Defaults sized for interpreted guests (Python, JavaScript): the same work costs them
    /// 10–100× the instructions of a Rust guest, and their runtimes need more memory.
    pub fn interpreted() -> Self {
        Self { fuel: 5_000_000_000, memory_bytes: 256 << 20, deadline: Duration::from_secs(5), ..Self::default() }
    }
}

/// Capabilities an administrator granted to a plugin. Everything else is denied.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Grants {
    /// Hosts (exact names, or `*.example.com`) the plugin may reach through `outbound-http`.
    pub hosts: BTreeSet<String>,
    /// Whether granted hosts may resolve to private, loopback or link-local addresses.
    pub private_addresses: bool,
    /// Names of secrets the host may put into the plugin's request headers.
    pub secrets: BTreeSet<String>,
    /// Whether an evaluator may call the `llm` import.
    pub llm: bool,
}

impl Grants {
    /// Whether `host` (a DNS name or an IP literal, lowercase) is granted.
    pub fn allows_host(&self, host: &str) -> bool {
        self.hosts.iter().any(|granted| match granted.strip_prefix("*.") {
            Some(suffix) => {
                let suffix = suffix.to_ascii_lowercase();
                host.len() > suffix.len() + 1
                    && host.ends_with(&suffix)
                    && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
            }
            None => granted.eq_ignore_ascii_case(host),
        })
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_hosts_match_subdomains_only() {
        let grants = Grants { hosts: ["*.openai.com".into(), "api.anthropic.com".into()].into(), ..Grants::default() };
        assert!(grants.allows_host("api.openai.com"));
        assert!(!grants.allows_host("openai.com"));
        assert!(!grants.allows_host("evilopenai.com"));
        assert!(grants.allows_host("api.anthropic.com"));
        assert!(!grants.allows_host("api.anthropic.com.evil.net"));
        let upper = Grants { hosts: ["*.OpenAI.com".into()].into(), ..Grants::default() };
        assert!(upper.allows_host("api.openai.com"));
    }

    #[test]
    fn limits_round_trip_with_millisecond_deadlines() {
        let limits: Limits = serde_json::from_str(r#"{"fuel": 5, "deadline": 250}"#).unwrap();
        assert_eq!(limits.fuel, 5);
        assert_eq!(limits.deadline, std::time::Duration::from_millis(250));
        assert_eq!(limits.memory_bytes, Limits::default().memory_bytes);
    }

    #[test]
    fn transfers_are_capped_by_the_output_limit_and_by_memory() {
        let limits = Limits::default();
        assert_eq!(limits.transfer_bytes(), 4 << 20);
        let small = Limits { memory_bytes: 1 << 20, ..Limits::default() };
        assert_eq!(small.transfer_bytes(), 1 << 20);
        // 4.5 transfers, three logs' worth, the handles.
        assert_eq!(limits.host_bytes(), (18 << 20) + (192 << 10) + 2_560_000);
        assert_eq!(limits.reserved_bytes(), (64 << 20) + limits.host_bytes());
    }
}
