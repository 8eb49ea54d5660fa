//! `levenshtein_distance` evaluator: how close the output is to the expected text, as the
//! Levenshtein (edit) distance normalised into a similarity: 1.0 identical, 0.0 nothing shared.

use ember_plugin_sdk::evaluator::{Descriptor, EvalInput, Evaluator, PluginError, Score};
use ember_plugin_sdk::json;
use serde::Deserialize;
use serde_json::json;

/// The score's name and the plugin's.
pub const NAME: &str = "levenshtein_distance";

/// The distance takes time proportional to the product of the lengths; beyond this many cells the
/// input is refused instead of running out of the call's budget.
const MAX_CELLS: u64 = 25_000_000;

/// How the texts are compared.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Compare ignoring letter case.
    pub case_insensitive: bool,
    /// Ignore whitespace at both ends.
    pub strip_whitespace: bool,
    /// Similarity at or above which the label is `match` (else `no_match`).
    pub threshold: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self { case_insensitive: false, strip_whitespace: true, threshold: 0.8 }
    }
}

/// The edit distance between two texts and the similarity derived from it.
#[derive(Debug, PartialEq)]
pub struct Distance {
    /// Insertions, deletions and substitutions (of characters) turning one text into the other.
    pub distance: usize,
    /// `1 - distance / max(length)`, 1.0 for two empty texts.
    pub similarity: f64,
    /// Length of the longer text, in characters.
    pub max_len: usize,
}

/// Compares the output with the expected text.
pub fn score(config: &Config, input: &EvalInput) -> Result<Score, PluginError> {
    if !(0.0..=1.0).contains(&config.threshold) {
        return Err(PluginError::invalid_config("`threshold` must be between 0 and 1"));
    }
    let expected = json::text(input.require_expected()?);
    let output = input.output_text();
    let d = distance(config, &output, &expected)?;
    let hit = d.similarity >= config.threshold;
    Ok(Score::new(NAME)
        .score(d.similarity)
        .label(if hit { "match" } else { "no_match" })
        .explanation(format!(
            "{} edit{} over {} characters (similarity {:.3})",
            d.distance,
            if d.distance == 1 { "" } else { "s" },
            d.max_len,
            d.similarity
        ))
        .metadata(json!({"distance": d.distance, "max_length": d.max_len})))
}

/// The distance between `a` and `b` under `config`.
pub fn distance(config: &Config, a: &str, b: &str) -> Result<Distance, PluginError> {
    let (a, b) = if config.strip_whitespace { (a.trim(), b.trim()) } else { (a, b) };
    let (a, b) =
        if config.case_insensitive { (a.to_lowercase(), b.to_lowercase()) } else { (a.to_owned(), b.to_owned()) };
    let (len_a, len_b) = (a.chars().count(), b.chars().count());
    if (len_a as u64).saturating_mul(len_b as u64) > MAX_CELLS {
        return Err(PluginError::invalid_input(format!(
            "texts too long for an edit distance ({len_a} × {len_b} characters; at most {MAX_CELLS} pairs)"
        )));
    }
    let distance = strsim::levenshtein(&a, &b);
    let max_len = len_a.max(len_b);
    let similarity = if max_len == 0 { 1.0 } else { 1.0 - distance as f64 / max_len as f64 };
    Ok(Distance { distance, similarity, max_len })
}

/// The plugin.
pub struct Levenshtein;

impl Evaluator for Levenshtein {
    fn describe() -> Descriptor {
        Descriptor::new(NAME, env!("CARGO_PKG_VERSION"), "Edit distance between the output and the expected text")
            .config_schema(json!({
                "type": "object",
                "properties": {
                    "case_insensitive": {"type": "boolean", "default": false},
                    "strip_whitespace": {"type": "boolean", "default": true, "description": "Ignore whitespace at both ends."},
                    "threshold": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.8,
                                  "description": "Similarity from which the label is `match`."}
                },
                "additionalProperties": false
            }))
    }

    fn evaluate(input: EvalInput) -> Result<Vec<Score>, PluginError> {
        let config: Config = ember_plugin_sdk::config()?;
        Ok(vec![score(&config, &input)?])
    }
}

ember_plugin_sdk::export_evaluator!(Levenshtein);

#[cfg(test)]
mod tests {
    use super::*;

    fn input(output: &str, expected: Option<&str>) -> EvalInput {
        EvalInput::new(r#""q""#, output, expected.map(str::to_owned))
    }

    #[test]
    fn classic_distances() {
        let cfg = Config::default();
        let d = distance(&cfg, "kitten", "sitting").unwrap();
        assert_eq!(d.distance, 3);
        assert_eq!(d.max_len, 7);
        assert!((d.similarity - 4.0 / 7.0).abs() < 1e-12);
        assert_eq!(distance(&cfg, "", "").unwrap().similarity, 1.0);
        assert_eq!(distance(&cfg, "abc", "").unwrap().similarity, 0.0);
        // Characters, not bytes.
        assert_eq!(distance(&cfg, "naïve", "naive").unwrap().distance, 1);
    }

    #[test]
    fn case_and_whitespace() {
        let cfg = Config::default();
        assert_eq!(distance(&cfg, " Paris ", "paris").unwrap().distance, 1);
        let cfg = Config { case_insensitive: true, ..Config::default() };
        assert_eq!(distance(&cfg, " Paris ", "paris").unwrap().distance, 0);
        let cfg = Config { strip_whitespace: false, ..Config::default() };
        assert_eq!(distance(&cfg, " Paris ", "Paris").unwrap().distance, 2);
    }

    #[test]
    fn score_and_label() {
        let s = score(&Config::default(), &input(r#""Pariss""#, Some(r#""Paris""#))).unwrap();
        assert!((s.score.unwrap() - 5.0 / 6.0).abs() < 1e-12);
        assert_eq!(s.label.as_deref(), Some("match"));
        assert_eq!(s.metadata.as_deref(), Some(r#"{"distance":1,"max_length":6}"#));
        let s = score(&Config::default(), &input(r#""Rome""#, Some(r#""Paris""#))).unwrap();
        assert_eq!(s.label.as_deref(), Some("no_match"));
    }

    #[test]
    fn errors() {
        let err = score(&Config::default(), &input(r#""x""#, None)).unwrap_err();
        assert!(matches!(err, PluginError::InvalidInput(_)));
        let cfg = Config { threshold: 1.5, ..Config::default() };
        assert!(matches!(score(&cfg, &input(r#""x""#, Some(r#""x""#))), Err(PluginError::InvalidConfig(_))));
        let long = "a".repeat(10_000);
        assert!(matches!(distance(&Config::default(), &long, &long), Err(PluginError::InvalidInput(_))));
    }
}
