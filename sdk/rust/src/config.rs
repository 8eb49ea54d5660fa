//! The plugin's configuration: the JSON object it was installed, attached or enabled with.

use serde::de::DeserializeOwned;
use std::fmt;

/// The configuration does not have the shape the plugin expects. Every world's `PluginError`
/// converts from it (into `invalid-config`), so `config()?` works in any export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(String);

impl ConfigError {
    /// An error with this message, for checks serde cannot express (e.g. a bad regex).
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// The message, without the `invalid configuration` prefix.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The raw configuration JSON (`{}` when none was given).
pub fn config_json() -> String {
    crate::host::config()
}

/// The configuration, deserialized into `T`. Give `T` `#[serde(default)]` so that `{}` works.
pub fn config<T: DeserializeOwned>() -> Result<T, ConfigError> {
    parse_config(&config_json())
}

/// Deserializes a configuration document; an empty string counts as `{}`. This is what
/// [`config`] does with the host's answer, exposed so tests can feed configurations directly.
pub fn parse_config<T: DeserializeOwned>(json: &str) -> Result<T, ConfigError> {
    let json = if json.trim().is_empty() { "{}" } else { json };
    serde_json::from_str(json).map_err(|e| ConfigError(e.to_string()))
}

/// Outside the sandbox, sets what [`config`] returns on this thread (default `{}`), so a unit test
/// can run an export end to end.
#[cfg(not(target_arch = "wasm32"))]
pub fn set_native_config(json: impl Into<String>) {
    crate::host::NATIVE_CONFIG.with(|c| *c.borrow_mut() = json.into());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Default, Debug, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct Cfg {
        case_sensitive: bool,
        words: Vec<String>,
    }

    #[test]
    fn empty_and_object() {
        assert_eq!(parse_config::<Cfg>("").unwrap(), Cfg::default());
        assert_eq!(parse_config::<Cfg>("{}").unwrap(), Cfg::default());
        let cfg: Cfg = parse_config(r#"{"case_sensitive": true, "words": ["a"]}"#).unwrap();
        assert!(cfg.case_sensitive);
        assert_eq!(cfg.words, ["a"]);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let err = parse_config::<Cfg>(r#"{"case_sensitive": "yes"}"#).unwrap_err();
        assert!(err.to_string().starts_with("invalid configuration: invalid type"), "{err}");
        let err = parse_config::<Cfg>(r#"{"nope": 1}"#).unwrap_err();
        assert!(err.message().contains("unknown field `nope`"), "{err}");
    }

    #[test]
    fn native_override() {
        set_native_config(r#"{"words": ["x"]}"#);
        assert_eq!(config::<Cfg>().unwrap().words, ["x"]);
        set_native_config("{}");
    }
}
