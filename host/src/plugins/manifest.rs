//! What a plugin asks for (its manifest) and how the server turns that into limits and grants.

use std::collections::BTreeSet;
use std::time::Duration;

use ember_sandbox::{ComponentInfo, Grants, Limits};
use serde::{Deserialize, Serialize};

/// Largest limits a manifest may ask for; larger requests are refused, not clamped, so that a
/// plugin never runs under limits its author did not expect.
const MAX_FUEL: u64 = 50_000_000_000;
const MAX_DEADLINE_MS: u64 = 60_000;

/// In a manifest's `hosts` or `secrets`: the administrator may grant any.
pub const ANY: &str = "*";

/// A plugin's manifest: who it is and what it needs. Every field is optional; name, version and
/// description default to what the component's `describe` says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Manifest {
    pub name: Option<String>,
    pub version: Option<String>,
    pub description: Option<String>,
    /// Limits the plugin needs per call.
    pub limits: RequestedLimits,
    /// Hosts it wants to reach through `outbound-http`; `*` lets the administrator grant any
    /// host (a general adapter, such as an OpenAI-compatible one, cannot know them in advance).
    pub hosts: BTreeSet<String>,
    /// Secrets it wants the host to put into its request headers; `*` for any.
    pub secrets: BTreeSet<String>,
    /// Whether it wants the `llm` import.
    pub llm: bool,
}

impl RequestedLimits {
    /// These limits with the fields `other` sets replaced.
    pub fn merged(self, other: RequestedLimits) -> Self {
        Self {
            fuel: other.fuel.or(self.fuel),
            memory_mib: other.memory_mib.or(self.memory_mib),
            deadline_ms: other.deadline_ms.or(self.deadline_ms),
        }
    }
}

/// Per-call limits a manifest asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RequestedLimits {
    pub fuel: Option<u64>,
    pub memory_mib: Option<u64>,
    pub deadline_ms: Option<u64>,
}

/// Why a manifest or a grant was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("invalid plugin name {0:?}: use 1–64 characters of a-z, 0-9, _ and -, starting with a letter or digit")]
    Name(String),
    #[error("invalid plugin version {0:?}: use 1–64 characters of A-Z, a-z, 0-9, '.', '+' and '-'")]
    Version(String),
    #[error("the manifest asks for {what} = {asked}, above this server's maximum of {max}")]
    TooLarge { what: &'static str, asked: u64, max: u64 },
    #[error("the manifest asks for {0} = 0: the plugin could never run")]
    Zero(&'static str),
    #[error("the grant gives {what} {value:?}, which the manifest does not ask for")]
    NotRequested { what: &'static str, value: String },
}

/// Checks a plugin name: it appears in URLs (`name@version`) and metric labels.
pub fn check_name(name: &str) -> Result<(), ManifestError> {
    let valid = (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    if valid {
        Ok(())
    } else {
        Err(ManifestError::Name(name.to_owned()))
    }
}

/// Checks a version string (semver is recommended, not required).
pub fn check_version(version: &str) -> Result<(), ManifestError> {
    let valid = (1..=64).contains(&version.len())
        && version.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(ManifestError::Version(version.to_owned()))
    }
}

impl Manifest {
    /// The limits the plugin runs under: what it asked for, else the defaults for its kind of
    /// guest (interpreted guests, which import WASI, get larger ones).
    pub fn limits(&self, info: &ComponentInfo, max_memory_bytes: u64) -> Result<Limits, ManifestError> {
        let mut limits = if info.imports_wasi { Limits::interpreted() } else { Limits::default() };
        for (what, value) in [
            ("fuel", self.limits.fuel),
            ("memory_mib", self.limits.memory_mib),
            ("deadline_ms", self.limits.deadline_ms),
        ] {
            if value == Some(0) {
                return Err(ManifestError::Zero(what));
            }
        }
        if let Some(fuel) = self.limits.fuel {
            if fuel > MAX_FUEL {
                return Err(ManifestError::TooLarge { what: "fuel", asked: fuel, max: MAX_FUEL });
            }
            limits.fuel = fuel;
        }
        if let Some(mib) = self.limits.memory_mib {
            let max = max_memory_bytes >> 20;
            if mib > max {
                return Err(ManifestError::TooLarge { what: "memory_mib", asked: mib, max });
            }
            limits.memory_bytes = mib << 20;
        }
        if let Some(ms) = self.limits.deadline_ms {
            if ms > MAX_DEADLINE_MS {
                return Err(ManifestError::TooLarge { what: "deadline_ms", asked: ms, max: MAX_DEADLINE_MS });
            }
            limits.deadline = Duration::from_millis(ms);
        }
        Ok(limits)
    }

    /// Checks that `grants` gives nothing the manifest did not ask for.
    pub fn check_grants(&self, grants: &Grants) -> Result<(), ManifestError> {
        let any_host = self.hosts.contains(ANY);
        if let Some(host) = grants.hosts.iter().find(|host| !any_host && !self.hosts.contains(*host)) {
            return Err(ManifestError::NotRequested { what: "host", value: host.clone() });
        }
        if let Some(host) = grants.hosts.iter().find(|host| *host == ANY) {
            return Err(ManifestError::NotRequested { what: "host (grant hosts by name)", value: host.clone() });
        }
        let any_secret = self.secrets.contains(ANY);
        if let Some(secret) =
            grants.secrets.iter().find(|secret| *secret == ANY || (!any_secret && !self.secrets.contains(*secret)))
        {
            return Err(ManifestError::NotRequested { what: "secret", value: secret.clone() });
        }
        if grants.llm && !self.llm {
            return Err(ManifestError::NotRequested { what: "capability", value: "llm".into() });
        }
        if grants.private_addresses && grants.hosts.is_empty() {
            return Err(ManifestError::NotRequested { what: "private addresses without hosts", value: "true".into() });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions_are_checked() {
        assert!(check_name("exact_match").is_ok());
        assert!(check_name("token-f1").is_ok());
        for bad in ["", "Exact", "a b", "-x", "x@1", "../x", &"a".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_version("1.2.3-beta.1+build").is_ok());
        for bad in ["", "1 2", "1/2", "1@2"] {
            assert!(check_version(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn grants_must_be_requested() {
        let manifest = Manifest { hosts: ["api.openai.com".into()].into(), ..Manifest::default() };
        let ok = Grants { hosts: ["api.openai.com".into()].into(), ..Grants::default() };
        assert!(manifest.check_grants(&ok).is_ok());
        let extra = Grants { hosts: ["evil.example".into()].into(), ..Grants::default() };
        assert_eq!(
            manifest.check_grants(&extra),
            Err(ManifestError::NotRequested { what: "host", value: "evil.example".into() })
        );
        let llm = Grants { llm: true, ..Grants::default() };
        assert!(manifest.check_grants(&llm).is_err());
    }

    #[test]
    fn a_wildcard_request_lets_any_named_grant_through() {
        let manifest = Manifest { hosts: [ANY.into()].into(), secrets: [ANY.into()].into(), ..Manifest::default() };
        let named = Grants {
            hosts: ["127.0.0.1".into()].into(),
            secrets: ["OPENAI_API_KEY".into()].into(),
            private_addresses: true,
            ..Grants::default()
        };
        assert!(manifest.check_grants(&named).is_ok());
        let wildcard = Grants { hosts: [ANY.into()].into(), ..Grants::default() };
        assert!(manifest.check_grants(&wildcard).is_err(), "a grant must name its hosts");
        assert!(Manifest::default().check_grants(&named).is_err());
    }

    #[test]
    fn unknown_manifest_fields_are_refused() {
        assert!(serde_json::from_str::<Manifest>(r#"{"name":"x","fuel":5}"#).is_err());
        let manifest: Manifest = serde_json::from_str(r#"{"limits":{"fuel":5}}"#).unwrap();
        assert_eq!(manifest.limits.fuel, Some(5));
    }
}
