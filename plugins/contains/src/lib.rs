//! `contains` evaluator: does the output contain the keywords? Keywords come from the
//! configuration, or else from `expected` (a JSON array of strings, or one text).

use ember_plugin_sdk::evaluator::{Descriptor, EvalInput, Evaluator, PluginError, Score};
use ember_plugin_sdk::json;
use serde::Deserialize;
use serde_json::{json, Value};

/// The score's name and the plugin's.
pub const NAME: &str = "contains";

/// Whether one keyword suffices or all are needed.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Any keyword: score 1.0 when at least one is found.
    #[default]
    Any,
    /// All keywords: score is the fraction found, 1.0 when every one is.
    All,
}

/// What to look for and how.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Keywords; when empty, they are taken from `expected`.
    pub keywords: Vec<String>,
    /// Match letter case exactly.
    pub case_sensitive: bool,
    /// `any` or `all`.
    pub mode: Mode,
}

/// Looks for the keywords in the output.
pub fn score(config: &Config, input: &EvalInput) -> Result<Score, PluginError> {
    let keywords = if config.keywords.is_empty() { keywords_from_expected(input)? } else { config.keywords.clone() };
    let output = input.output_text();
    let (found, missing) = split_found(&output, &keywords, config.case_sensitive);
    let (value, hit) = match config.mode {
        Mode::Any => (if found.is_empty() { 0.0 } else { 1.0 }, !found.is_empty()),
        Mode::All => (found.len() as f64 / keywords.len() as f64, missing.is_empty()),
    };
    let explanation = match (config.mode, hit) {
        (Mode::Any, true) => format!("the output contains {}", quoted(&found)),
        (Mode::Any, false) => format!("the output contains none of {}", quoted(&missing)),
        (Mode::All, true) => format!("the output contains all {} keywords", keywords.len()),
        (Mode::All, false) => {
            format!("found {} of {} keywords; missing {}", found.len(), keywords.len(), quoted(&missing))
        }
    };
    Ok(Score::new(NAME)
        .score(value)
        .label(if hit { "contains" } else { "missing" })
        .explanation(explanation)
        .metadata(json!({"found": found, "missing": missing})))
}

/// Keywords from `expected`: a JSON array of strings, or the expected text as one keyword.
fn keywords_from_expected(input: &EvalInput) -> Result<Vec<String>, PluginError> {
    let expected = input.expected.as_deref().ok_or_else(|| {
        PluginError::invalid_input("no keywords: set `keywords` in the configuration or give an `expected` value")
    })?;
    let keywords = match json::parse(expected) {
        Ok(Value::Array(items)) => items.iter().map(json::value_text).collect(),
        _ => vec![json::text(expected)],
    };
    if keywords.iter().all(String::is_empty) {
        return Err(PluginError::invalid_input("`expected` holds no keyword"));
    }
    Ok(keywords)
}

/// Splits the keywords into those found in `text` and those missing, keeping their order.
pub fn split_found(text: &str, keywords: &[String], case_sensitive: bool) -> (Vec<String>, Vec<String>) {
    let haystack = if case_sensitive { text.to_owned() } else { text.to_lowercase() };
    keywords.iter().cloned().partition(|k| {
        if case_sensitive {
            haystack.contains(k.as_str())
        } else {
            haystack.contains(&k.to_lowercase())
        }
    })
}

fn quoted(words: &[String]) -> String {
    words.iter().map(|w| format!("{w:?}")).collect::<Vec<_>>().join(", ")
}

/// The plugin.
pub struct Contains;

impl Evaluator for Contains {
    fn describe() -> Descriptor {
        Descriptor::new(NAME, env!("CARGO_PKG_VERSION"), "Does the output contain the given keywords?").config_schema(
            json!({
                "type": "object",
                "properties": {
                    "keywords": {"type": "array", "items": {"type": "string"},
                                 "description": "Keywords to look for; when empty, taken from `expected`."},
                    "case_sensitive": {"type": "boolean", "default": false},
                    "mode": {"enum": ["any", "all"], "default": "any",
                             "description": "`any`: 1.0 when one keyword is found; `all`: the fraction found."}
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

ember_plugin_sdk::export_evaluator!(Contains);

#[cfg(test)]
mod tests {
    use super::*;

    fn input(output: &str, expected: Option<&str>) -> EvalInput {
        EvalInput::new(r#""q""#, output, expected.map(str::to_owned))
    }

    fn config(keywords: &[&str], case_sensitive: bool, mode: Mode) -> Config {
        Config { keywords: keywords.iter().map(|k| k.to_string()).collect(), case_sensitive, mode }
    }

    #[test]
    fn any_mode() {
        let cfg = config(&["paris", "lyon"], false, Mode::Any);
        let s = score(&cfg, &input(r#""The capital is Paris.""#, None)).unwrap();
        assert_eq!((s.score, s.label.as_deref()), (Some(1.0), Some("contains")));
        let s = score(&cfg, &input(r#""The capital is Rome.""#, None)).unwrap();
        assert_eq!((s.score, s.label.as_deref()), (Some(0.0), Some("missing")));
    }

    #[test]
    fn all_mode_gives_the_fraction_found() {
        let cfg = config(&["red", "green", "blue", "black"], false, Mode::All);
        let s = score(&cfg, &input(r#""Red, green and blue""#, None)).unwrap();
        assert_eq!(s.score, Some(0.75));
        assert_eq!(s.label.as_deref(), Some("missing"));
        let meta: Value = serde_json::from_str(s.metadata.as_deref().unwrap()).unwrap();
        assert_eq!(meta["missing"], json!(["black"]));
    }

    #[test]
    fn case_sensitivity() {
        let (found, missing) = split_found("Hello World", &["world".into(), "Hello".into()], true);
        assert_eq!((found, missing), (vec!["Hello".to_string()], vec!["world".to_string()]));
        let (found, _) = split_found("Hello World", &["world".into()], false);
        assert_eq!(found, ["world"]);
    }

    #[test]
    fn keywords_from_expected() {
        let cfg = Config { mode: Mode::All, ..Config::default() };
        let s = score(&cfg, &input(r#""a cat and a dog""#, Some(r#"["cat", "dog"]"#))).unwrap();
        assert_eq!(s.score, Some(1.0));
        let s = score(&cfg, &input(r#""a cat""#, Some(r#""dog""#))).unwrap();
        assert_eq!(s.score, Some(0.0));
    }

    #[test]
    fn no_keywords_anywhere_is_invalid_input() {
        let err = score(&Config::default(), &input(r#""x""#, None)).unwrap_err();
        assert!(matches!(err, PluginError::InvalidInput(_)));
        let err = score(&Config::default(), &input(r#""x""#, Some(r#""""#))).unwrap_err();
        assert!(matches!(err, PluginError::InvalidInput(_)));
    }

    #[test]
    fn bad_mode_is_invalid_config() {
        let err = ember_plugin_sdk::parse_config::<Config>(r#"{"mode": "most"}"#).unwrap_err();
        assert!(err.message().contains("unknown variant"), "{err}");
    }
}
