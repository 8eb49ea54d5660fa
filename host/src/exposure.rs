//! Whether a configuration may serve at all: the authentication switch against the address the
//! listeners are exposed on, checked before anything binds.
//!
//! Without authentication, whoever reaches the port reads every trace, installs plugins and
//! stores secrets. That is the single-user laptop case, so it is the default only on loopback; on
//! any other address the server refuses to start unless the operator says `--insecure-no-auth`,
//! and then warns on every start.

use std::net::IpAddr;

use crate::config::ServeConfig;

/// Phoenix's name for the switch, read when Ember's own is not set.
const PHOENIX_ENABLE_AUTH: &str = "PHOENIX_ENABLE_AUTH";

/// Why a configuration is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExposureError {
    #[error(
        "EMBER_HOST={host} is reachable from other machines and authentication is off: anyone who \
         reaches the port would be Ember's administrator. Bind to 127.0.0.1, or pass \
         --insecure-no-auth (EMBER_INSECURE_NO_AUTH=true) to serve without authentication anyway"
    )]
    ExposedWithoutAuth { host: IpAddr },
}

/// How the server will be exposed, once the configuration is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// Loopback only, no authentication: the single-user default.
    Local,
    /// Another address, no authentication, as the operator asked with `--insecure-no-auth`.
    InsecureNetwork,
    /// Authentication on: any address.
    Authenticated,
}

/// Decides whether `config` may serve. `phoenix_enable_auth` is Phoenix's switch from the
/// environment, used when `EMBER_ENABLE_AUTH` is not set.
pub fn check(config: &ServeConfig, phoenix_enable_auth: Option<&str>) -> Result<Exposure, ExposureError> {
    let phoenix = phoenix_enable_auth.map(is_true);
    if config.enable_auth.or(phoenix).unwrap_or(false) {
        return Ok(Exposure::Authenticated);
    }
    if is_loopback(config.host) {
        return Ok(Exposure::Local);
    }
    if config.insecure_no_auth {
        return Ok(Exposure::InsecureNetwork);
    }
    Err(ExposureError::ExposedWithoutAuth { host: config.host })
}

/// [`check`] with Phoenix's switch read from the environment; warns when it lets an exposed,
/// unauthenticated server start.
pub fn check_from_env(config: &ServeConfig) -> Result<Exposure, ExposureError> {
    let phoenix = std::env::var(PHOENIX_ENABLE_AUTH).ok();
    let exposure = check(config, phoenix.as_deref())?;
    if exposure == Exposure::InsecureNetwork {
        tracing::warn!(
            host = %config.host,
            "serving WITHOUT AUTHENTICATION on a network address (--insecure-no-auth): anyone who \
             reaches this port can read every trace, install plugins and use stored secrets"
        );
    }
    Ok(exposure)
}

/// Phoenix's reading of a boolean setting: `true`, `1`, `yes`, `on` in any case.
fn is_true(value: &str) -> bool {
    matches!(value.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "y" | "on")
}

/// Loopback, including an IPv4 loopback address written as IPv6 (`::ffff:127.0.0.1`).
fn is_loopback(host: IpAddr) -> bool {
    match host {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        config: ServeConfig,
    }

    fn config(args: &[&str]) -> ServeConfig {
        let mut argv = vec!["ember"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).expect("valid arguments").config
    }

    #[test]
    fn loopback_needs_nothing() {
        assert_eq!(check(&config(&[]), None), Ok(Exposure::Local));
        assert_eq!(check(&config(&["--host", "::1"]), None), Ok(Exposure::Local));
        assert_eq!(check(&config(&["--host", "::ffff:127.0.0.1"]), None), Ok(Exposure::Local));
    }

    #[test]
    fn a_network_address_without_auth_is_refused_unless_insecure_is_explicit() {
        let exposed = config(&["--host", "0.0.0.0"]);
        assert_eq!(check(&exposed, None), Err(ExposureError::ExposedWithoutAuth { host: exposed.host }));
        let insecure = config(&["--host", "0.0.0.0", "--insecure-no-auth"]);
        assert_eq!(check(&insecure, None), Ok(Exposure::InsecureNetwork));
        let said_no = config(&["--host", "10.1.2.3", "--insecure-no-auth", "false"]);
        assert!(check(&said_no, None).is_err());
    }

    #[test]
    fn with_auth_any_address_serves() {
        let ember = config(&["--enable-auth", "true", "--host", "0.0.0.0"]);
        assert_eq!(check(&ember, None), Ok(Exposure::Authenticated));
        assert_eq!(check(&config(&["--host", "10.0.0.1"]), Some("True")), Ok(Exposure::Authenticated));
        assert_eq!(check(&config(&[]), Some("false")), Ok(Exposure::Local));
        // Ember's own setting wins over Phoenix's.
        assert_eq!(check(&config(&["--enable-auth", "false"]), Some("true")), Ok(Exposure::Local));
    }
}
