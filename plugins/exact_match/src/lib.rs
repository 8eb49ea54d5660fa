//! `exact_match` evaluator: 1.0 when the output equals the expected value, else 0.0. Both sides
//! are unwrapped to text first (a JSON string, or an object's single string field).

use ember_plugin_sdk::evaluator::{Descriptor, EvalInput, Evaluator, PluginError, Score};
use ember_plugin_sdk::json;
use serde::Deserialize;
use serde_json::json;

/// The score's name and the plugin's.
pub const NAME: &str = "exact_match";

/// How the two texts are compared.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Compare ignoring letter case.
    pub case_insensitive: bool,
    /// Ignore whitespace at both ends.
    pub strip_whitespace: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self { case_insensitive: false, strip_whitespace: true }
    }
}

/// Compares the output with the expected value.
pub fn score(config: &Config, input: &EvalInput) -> Result<Score, PluginError> {
    let expected = json::text(input.require_expected()?);
    let output = input.output_text();
    let hit = matches(config, &output, &expected);
    let explanation =
        if hit { "the output equals the expected value" } else { "the output differs from the expected value" };
    Ok(Score::new(NAME)
        .score(if hit { 1.0 } else { 0.0 })
        .label(if hit { "match" } else { "no_match" })
        .explanation(explanation))
}

/// Whether two texts are equal under `config`.
pub fn matches(config: &Config, output: &str, expected: &str) -> bool {
    let (output, expected) =
        if config.strip_whitespace { (output.trim(), expected.trim()) } else { (output, expected) };
    if config.case_insensitive {
        output.chars().flat_map(char::to_lowercase).eq(expected.chars().flat_map(char::to_lowercase))
    } else {
        output == expected
    }
}

/// The plugin.
pub struct ExactMatch;

impl Evaluator for ExactMatch {
    fn describe() -> Descriptor {
        Descriptor::new(NAME, env!("CARGO_PKG_VERSION"), "Does the output equal the expected value?").config_schema(
            json!({
                "type": "object",
                "properties": {
                    "case_insensitive": {"type": "boolean", "default": false, "description": "Ignore letter case."},
                    "strip_whitespace": {"type": "boolean", "default": true, "description": "Ignore whitespace at both ends."}
                },
                "additionalProperties": false
            }),
        )
    }

    fn evaluate(input: EvalInput) -> Result<Vec<Score>, PluginError> {
        let config: Config = ember_plugin_sdk::config()?;
        Ok(vec![score(&config, &input)?])
    }
}

ember_plugin_sdk::export_evaluator!(ExactMatch);

#[cfg(test)]
mod tests {
    use super::*;

    fn input(output: &str, expected: Option<&str>) -> EvalInput {
        EvalInput::new(r#""question""#, output, expected.map(str::to_owned))
    }

    #[test]
    fn equal_text_matches() {
        let s = score(&Config::default(), &input(r#""Paris""#, Some(r#"{"answer": "Paris"}"#))).unwrap();
        assert_eq!(s.score, Some(1.0));
        assert_eq!(s.label.as_deref(), Some("match"));
        assert_eq!(s.name, NAME);
    }

    #[test]
    fn different_text_does_not_match() {
        let s = score(&Config::default(), &input(r#""Paris""#, Some(r#""London""#))).unwrap();
        assert_eq!(s.score, Some(0.0));
        assert_eq!(s.label.as_deref(), Some("no_match"));
    }

    #[test]
    fn case_and_whitespace_options() {
        let default = Config::default();
        assert!(matches(&default, " Paris\n", "Paris"));
        assert!(!matches(&default, "paris", "Paris"));
        let strict = Config { case_insensitive: false, strip_whitespace: false };
        assert!(!matches(&strict, " Paris", "Paris"));
        let loose = Config { case_insensitive: true, strip_whitespace: true };
        assert!(matches(&loose, "  PARÍS ", "parís"));
        assert!(!matches(&loose, "Pari", "Paris"));
    }

    #[test]
    fn non_string_json_compares_as_json_text() {
        assert_eq!(score(&Config::default(), &input("42", Some("42"))).unwrap().score, Some(1.0));
        assert_eq!(score(&Config::default(), &input(r#"{"a": 1}"#, Some(r#"{"a": 2}"#))).unwrap().score, Some(0.0));
    }

    #[test]
    fn missing_expected_is_invalid_input() {
        let err = score(&Config::default(), &input(r#""Paris""#, None)).unwrap_err();
        assert!(matches!(err, PluginError::InvalidInput(_)), "{err:?}");
    }

    #[test]
    fn evaluate_runs_natively_with_config() {
        ember_plugin_sdk::set_native_config(r#"{"case_insensitive": true}"#);
        let scores = ExactMatch::evaluate(input(r#""PARIS""#, Some(r#""paris""#))).unwrap();
        assert_eq!(scores[0].score, Some(1.0));
        ember_plugin_sdk::set_native_config(r#"{"bogus": 1}"#);
        let err = ExactMatch::evaluate(input(r#""PARIS""#, Some(r#""paris""#))).unwrap_err();
        assert!(matches!(err, PluginError::InvalidConfig(_)), "{err:?}");
    }
}
