//! `json_distance` evaluator: structural distance between the output and the expected JSON.
//!
//! Both documents are flattened into leaves keyed by JSON Pointer paths (`/items/0/name`; empty
//! objects and arrays are leaves too). The distance is the number of paths whose values differ or
//! that exist on one side only; the score is `1 - distance / paths`, over the union of paths.

use ember_plugin_sdk::evaluator::{Descriptor, EvalInput, Evaluator, PluginError, Score};
use ember_plugin_sdk::json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The score's name and the plugin's.
pub const NAME: &str = "json_distance";

/// At most this many differing paths are listed in the metadata.
const MAX_LISTED: usize = 20;

/// How values are compared.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Numbers closer than this count as equal.
    pub numeric_tolerance: f64,
    /// Compare arrays as unordered collections.
    pub ignore_array_order: bool,
}

/// The result of a comparison.
#[derive(Debug, PartialEq)]
pub struct Diff {
    /// Paths whose values differ or that exist on one side only, in path order.
    pub differing: Vec<String>,
    /// Number of paths in either document.
    pub paths: usize,
}

impl Diff {
    /// `1 - differing / paths`.
    pub fn similarity(&self) -> f64 {
        1.0 - self.differing.len() as f64 / self.paths.max(1) as f64
    }
}

/// Compares the output with the expected JSON.
pub fn score(config: &Config, input: &EvalInput) -> Result<Score, PluginError> {
    if !(config.numeric_tolerance >= 0.0 && config.numeric_tolerance.is_finite()) {
        return Err(PluginError::invalid_config("`numeric_tolerance` must be a finite number ≥ 0"));
    }
    let expected = document(input.require_expected()?)
        .map_err(|e| PluginError::invalid_input(format!("`expected` is not JSON: {e}")))?;
    let output = match document(&input.output) {
        Ok(output) => output,
        Err(e) => {
            return Ok(Score::new(NAME)
                .score(0.0)
                .label("invalid_json")
                .explanation(format!("the output is not JSON: {e}")))
        }
    };
    let diff = compare(config, &output, &expected);
    let n = diff.differing.len();
    let explanation = if n == 0 {
        format!("all {} paths are equal", diff.paths)
    } else {
        format!("{n} of {} paths differ, first {}", diff.paths, diff.differing[0])
    };
    Ok(Score::new(NAME)
        .score(diff.similarity())
        .label(if n == 0 { "match" } else { "no_match" })
        .explanation(explanation)
        .metadata(json!({
            "distance": n,
            "paths": diff.paths,
            "differences": diff.differing.iter().take(MAX_LISTED).collect::<Vec<_>>(),
        })))
}

/// A stored value as a document: JSON text, where a JSON string whose content is itself JSON
/// (a model's answer) stands for that content.
fn document(text: &str) -> Result<Value, serde_json::Error> {
    let value = json::parse(text)?;
    if let Value::String(s) = &value {
        if let Ok(inner) = json::parse(s) {
            return Ok(inner);
        }
    }
    Ok(value)
}

/// Compares two documents.
pub fn compare(config: &Config, a: &Value, b: &Value) -> Diff {
    let (a, b) = if config.ignore_array_order { (sorted(a), sorted(b)) } else { (a.clone(), b.clone()) };
    let (mut left, mut right) = (BTreeMap::new(), BTreeMap::new());
    leaves(&a, String::new(), &mut left);
    leaves(&b, String::new(), &mut right);
    let mut paths = 0;
    let mut differing = Vec::new();
    for (path, value) in &left {
        paths += 1;
        if !right.get(path).is_some_and(|other| equal(config, value, other)) {
            differing.push(display(path));
        }
    }
    for path in right.keys().filter(|p| !left.contains_key(*p)) {
        paths += 1;
        differing.push(display(path));
    }
    differing.sort();
    Diff { differing, paths }
}

/// Collects the leaves of `value` under `prefix` (a JSON Pointer).
fn leaves<'a>(value: &'a Value, prefix: String, out: &mut BTreeMap<String, &'a Value>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, v) in map {
                leaves(v, format!("{prefix}/{}", key.replace('~', "~0").replace('/', "~1")), out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                leaves(v, format!("{prefix}/{i}"), out);
            }
        }
        _ => {
            out.insert(prefix, value);
        }
    }
}

fn equal(config: &Config, a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= config.numeric_tolerance,
        _ => a == b,
    }
}

/// `value` with every array's elements sorted by their JSON text.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(sorted).collect();
            items.sort_by_cached_key(Value::to_string);
            Value::Array(items)
        }
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), sorted(v))).collect()),
        other => other.clone(),
    }
}

fn display(path: &str) -> String {
    if path.is_empty() {
        "/".to_owned()
    } else {
        path.to_owned()
    }
}

/// The plugin.
pub struct JsonDistance;

impl Evaluator for JsonDistance {
    fn describe() -> Descriptor {
        Descriptor::new(NAME, env!("CARGO_PKG_VERSION"), "Structural distance between the output and the expected JSON")
            .config_schema(json!({
                "type": "object",
                "properties": {
                    "numeric_tolerance": {"type": "number", "minimum": 0, "default": 0,
                                          "description": "Numbers closer than this count as equal."},
                    "ignore_array_order": {"type": "boolean", "default": false}
                },
                "additionalProperties": false
            }))
    }

    fn evaluate(input: EvalInput) -> Result<Vec<Score>, PluginError> {
        let config: Config = ember_plugin_sdk::config()?;
        Ok(vec![score(&config, &input)?])
    }
}

ember_plugin_sdk::export_evaluator!(JsonDistance);

#[cfg(test)]
mod tests {
    use super::*;

    fn input(output: &str, expected: Option<&str>) -> EvalInput {
        EvalInput::new(r#""q""#, output, expected.map(str::to_owned))
    }

    #[test]
    fn equal_documents() {
        let s =
            score(&Config::default(), &input(r#"{"a": 1, "b": [1, 2]}"#, Some(r#"{"b": [1, 2], "a": 1}"#))).unwrap();
        assert_eq!((s.score, s.label.as_deref()), (Some(1.0), Some("match")));
    }

    #[test]
    fn counts_differing_and_missing_leaves() {
        let a = json!({"name": "Ada", "age": 36, "tags": ["x", "y"], "extra": {}});
        let b = json!({"name": "Ada", "age": 37, "tags": ["x"], "city": "London"});
        let diff = compare(&Config::default(), &a, &b);
        assert_eq!(diff.differing, ["/age", "/city", "/extra", "/tags/1"]);
        assert_eq!(diff.paths, 6);
        assert!((diff.similarity() - 2.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn json_inside_a_string_is_compared_structurally() {
        let s = score(&Config::default(), &input(r#""{\"a\": 1, \"b\": 2}""#, Some(r#"{"a": 1, "b": 3}"#))).unwrap();
        assert_eq!(s.score, Some(0.5));
        assert_eq!(s.metadata.as_deref(), Some(r#"{"differences":["/b"],"distance":1,"paths":2}"#));
    }

    #[test]
    fn scalars_and_type_changes() {
        let diff = compare(&Config::default(), &json!("Paris"), &json!("Paris"));
        assert_eq!((diff.differing.len(), diff.paths), (0, 1));
        let diff = compare(&Config::default(), &json!({"a": [1]}), &json!({"a": 1}));
        assert_eq!(diff.differing, ["/a", "/a/0"]);
        let diff = compare(&Config::default(), &json!({"a/b": 1}), &json!({}));
        assert_eq!(diff.differing, ["/", "/a~1b"]);
    }

    #[test]
    fn options() {
        let cfg = Config { numeric_tolerance: 0.01, ignore_array_order: false };
        assert!(compare(&cfg, &json!([1.0, 2.005]), &json!([1, 2])).differing.is_empty());
        assert_eq!(compare(&Config::default(), &json!([1, 2]), &json!([2, 1])).differing.len(), 2);
        let cfg = Config { numeric_tolerance: 0.0, ignore_array_order: true };
        assert!(compare(&cfg, &json!([1, {"b": [3, 2]}]), &json!([{"b": [2, 3]}, 1])).differing.is_empty());
    }

    #[test]
    fn errors() {
        assert!(matches!(score(&Config::default(), &input("{}", None)), Err(PluginError::InvalidInput(_))));
        assert!(matches!(score(&Config::default(), &input("{}", Some("{"))), Err(PluginError::InvalidInput(_))));
        let s = score(&Config::default(), &input("not json", Some("{}"))).unwrap();
        assert_eq!(s.label.as_deref(), Some("invalid_json"));
        let cfg = Config { numeric_tolerance: -1.0, ignore_array_order: false };
        assert!(matches!(score(&cfg, &input("{}", Some("{}"))), Err(PluginError::InvalidConfig(_))));
    }
}
