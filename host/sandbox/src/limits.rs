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
    /// Largest accepted return value, in bytes of strings and lists.
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

impl Limits {
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
}
