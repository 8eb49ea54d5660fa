//! `regex` evaluator: does the output match a regular expression? The pattern comes from the
//! configuration, or else from `expected`. Syntax is the `regex` crate's (RE2-like: no
//! backreferences or look-around), so matching time stays linear in the output's length.

use ember_plugin_sdk::evaluator::{Descriptor, EvalInput, Evaluator, PluginError, Score};
use ember_plugin_sdk::json;
use regex::{Regex, RegexBuilder};
use serde::Deserialize;
use serde_json::json;

/// The score's name and the plugin's.
pub const NAME: &str = "regex";

/// Compiled patterns larger than this are refused, bounding memory and compile time.
const SIZE_LIMIT: usize = 1 << 20;

/// The pattern and how to apply it.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The regular expression; when absent, `expected` holds it.
    pub pattern: Option<String>,
    /// The whole output must match, not just part of it.
    pub full_match: bool,
    /// Ignore letter case.
    pub case_insensitive: bool,
}

/// Applies the pattern to the output.
pub fn score(config: &Config, input: &EvalInput) -> Result<Score, PluginError> {
    let (pattern, regex) = match &config.pattern {
        Some(pattern) => (pattern.clone(), compile(pattern, config).map_err(PluginError::invalid_config)?),
        None => {
            let expected = input.expected.as_deref().ok_or_else(|| {
                PluginError::invalid_input("no pattern: set `pattern` in the configuration or give it as `expected`")
            })?;
            let pattern = json::text(expected);
            let regex = compile(&pattern, config).map_err(PluginError::invalid_input)?;
            (pattern, regex)
        }
    };
    let output = input.output_text();
    let found = regex.find(&output).map(|m| m.as_str().to_owned());
    let explanation = match (found.is_some(), config.full_match) {
        (true, true) => format!("the output matches /{pattern}/"),
        (false, true) => format!("the output does not match /{pattern}/"),
        (true, false) => format!("the output contains a match for /{pattern}/"),
        (false, false) => format!("the output contains no match for /{pattern}/"),
    };
    let (value, label) = if found.is_some() { (1.0, "match") } else { (0.0, "no_match") };
    Ok(Score::new(NAME).score(value).label(label).explanation(explanation).metadata(json!({"match": found})))
}

/// Compiles `pattern`, anchored at both ends for `full_match`; the error says what is wrong.
pub fn compile(pattern: &str, config: &Config) -> Result<Regex, String> {
    let anchored;
    let pattern = if config.full_match {
        anchored = format!(r"\A(?:{pattern})\z");
        &anchored
    } else {
        pattern
    };
    RegexBuilder::new(pattern)
        .case_insensitive(config.case_insensitive)
        .size_limit(SIZE_LIMIT)
        .build()
        .map_err(|e| format!("bad pattern: {e}"))
}

/// The plugin.
pub struct RegexMatch;

impl Evaluator for RegexMatch {
    fn describe() -> Descriptor {
        Descriptor::new(NAME, env!("CARGO_PKG_VERSION"), "Does the output match a regular expression?").config_schema(
            json!({
                "type": "object",
                "properties": {
                    "pattern": {"type": "string", "description": "Regular expression (Rust regex syntax); when absent, taken from `expected`."},
                    "full_match": {"type": "boolean", "default": false, "description": "The whole output must match."},
                    "case_insensitive": {"type": "boolean", "default": false}
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

ember_plugin_sdk::export_evaluator!(RegexMatch);

#[cfg(test)]
mod tests {
    use super::*;

    fn input(output: &str, expected: Option<&str>) -> EvalInput {
        EvalInput::new(r#""q""#, output, expected.map(str::to_owned))
    }

    fn config(pattern: &str, full_match: bool) -> Config {
        Config { pattern: Some(pattern.into()), full_match, case_insensitive: false }
    }

    #[test]
    fn partial_match() {
        let s = score(&config(r"\d{3}-\d{4}", false), &input(r#""call 555-1234 now""#, None)).unwrap();
        assert_eq!((s.score, s.label.as_deref()), (Some(1.0), Some("match")));
        assert_eq!(s.metadata.as_deref(), Some(r#"{"match":"555-1234"}"#));
        let s = score(&config(r"\d{3}-\d{4}", false), &input(r#""no number""#, None)).unwrap();
        assert_eq!((s.score, s.label.as_deref()), (Some(0.0), Some("no_match")));
        assert_eq!(s.explanation.as_deref(), Some(r"the output contains no match for /\d{3}-\d{4}/"));
    }

    #[test]
    fn full_match_needs_the_whole_output() {
        let s = score(&config(r"yes|no", true), &input(r#""yes""#, None)).unwrap();
        assert_eq!(s.score, Some(1.0));
        assert_eq!(s.explanation.as_deref(), Some("the output matches /yes|no/"));
        // Without the group around the pattern, `\Ayes|no\z` would accept "yesterday".
        let s = score(&config(r"yes|no", true), &input(r#""yesterday""#, None)).unwrap();
        assert_eq!(s.score, Some(0.0));
    }

    #[test]
    fn unicode_and_case_insensitivity() {
        let cfg = Config { pattern: Some(r"^\p{Lu}\w+$".into()), full_match: false, case_insensitive: false };
        assert_eq!(score(&cfg, &input(r#""Ésope""#, None)).unwrap().score, Some(1.0));
        let cfg = Config { pattern: Some("paris".into()), full_match: true, case_insensitive: true };
        assert_eq!(score(&cfg, &input(r#""PARIS""#, None)).unwrap().score, Some(1.0));
    }

    #[test]
    fn pattern_from_expected() {
        let s = score(&Config::default(), &input(r#""order #123""#, Some(r##""#\\d+""##))).unwrap();
        assert_eq!(s.score, Some(1.0));
        let err = score(&Config::default(), &input(r#""x""#, None)).unwrap_err();
        assert!(matches!(err, PluginError::InvalidInput(_)));
    }

    #[test]
    fn bad_patterns_are_reported() {
        let err = score(&config("(unclosed", false), &input(r#""x""#, None)).unwrap_err();
        assert!(matches!(&err, PluginError::InvalidConfig(m) if m.starts_with("bad pattern")), "{err:?}");
        let err = score(&Config::default(), &input(r#""x""#, Some(r#""[z-a]""#))).unwrap_err();
        assert!(matches!(err, PluginError::InvalidInput(_)), "{err:?}");
        assert!(compile(r"\w{1000}{1000}", &Config::default()).is_err());
    }
}
