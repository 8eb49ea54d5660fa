//! `json_valid` evaluator: is the output valid JSON, and does it match a JSON Schema when one is
//! given (in the configuration, or per example in `expected`)?
//!
//! A JSON string output is unwrapped first: a model's answer is usually stored as a string whose
//! content should itself be JSON. Schemas follow drafts 4, 6 and 7 (the `jsonschema-valid`
//! crate); a schema's `$schema` picks the draft, draft 7 otherwise.

use ember_plugin_sdk::evaluator::{Descriptor, EvalInput, Evaluator, PluginError, Score};
use ember_plugin_sdk::json;
use jsonschema_valid::schemas::Draft;
use serde::Deserialize;
use serde_json::{json, Value};

/// The score's name and the plugin's.
pub const NAME: &str = "json_valid";

/// At most this many schema violations are reported.
const MAX_ERRORS: usize = 10;

/// Where the schema comes from.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// A JSON Schema the output must match.
    pub schema: Option<Value>,
    /// Each example's `expected` holds the schema (instead of `schema`).
    pub schema_in_expected: bool,
}

/// Checks the output.
pub fn score(config: &Config, input: &EvalInput) -> Result<Score, PluginError> {
    let schema = if config.schema_in_expected {
        let expected = input.require_expected()?;
        let schema = document(expected)
            .map_err(|e| PluginError::invalid_input(format!("`expected` is not a JSON Schema: {e}")))?;
        Some(schema)
    } else {
        config.schema.clone()
    };
    let value = match document(&input.output) {
        Ok(value) => value,
        Err(e) => {
            return Ok(fail(
                "invalid_json",
                format!("the output is not valid JSON: {e}"),
                json!({"errors": [e.to_string()]}),
            ))
        }
    };
    let Some(schema) = schema else {
        return Ok(pass("the output is valid JSON"));
    };
    let errors = validate(&schema, &value).map_err(|e| {
        if config.schema_in_expected {
            PluginError::invalid_input(format!("`expected` is not a valid JSON Schema: {e}"))
        } else {
            PluginError::invalid_config(format!("`schema` is not a valid JSON Schema: {e}"))
        }
    })?;
    if errors.is_empty() {
        return Ok(pass("the output is valid JSON and matches the schema"));
    }
    let first = errors.first().cloned().unwrap_or_default();
    let more = if errors.len() > 1 { format!(" (and {} more)", errors.len() - 1) } else { String::new() };
    Ok(fail(
        "schema_mismatch",
        format!("the output does not match the schema: {first}{more}"),
        json!({"errors": errors}),
    ))
}

fn pass(explanation: &str) -> Score {
    Score::new(NAME).score(1.0).label("valid").explanation(explanation)
}

fn fail(label: &str, explanation: String, metadata: Value) -> Score {
    Score::new(NAME).score(0.0).label(label).explanation(explanation).metadata(metadata)
}

/// A stored value as a document: a JSON string's content must itself be JSON; anything else is
/// the document. (Unlike [`json::text`], an object with one string field is not unwrapped.)
fn document(output: &str) -> Result<Value, serde_json::Error> {
    match json::parse(output)? {
        Value::String(inner) => json::parse(&inner),
        value => Ok(value),
    }
}

/// Validates `value`; `Err` when the schema itself is invalid, else the violations (at most
/// [`MAX_ERRORS`]), each as `<instance path>: <message>`.
pub fn validate(schema: &Value, value: &Value) -> Result<Vec<String>, String> {
    if !schema.is_object() && !schema.is_boolean() {
        return Err("a schema is a JSON object or a boolean".into());
    }
    let draft = match schema.get("$schema").and_then(Value::as_str) {
        Some(uri) if uri.contains("draft-04") => Draft::Draft4,
        Some(uri) if uri.contains("draft-06") => Draft::Draft6,
        _ => Draft::Draft7,
    };
    let checker = jsonschema_valid::Config::from_schema(schema, Some(draft)).map_err(|e| e.to_string())?;
    if let Err(errors) = checker.validate_schema() {
        let first = errors.map(|e| describe(&e)).next().unwrap_or_default();
        return Err(first);
    }
    let errors = match checker.validate(value) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.take(MAX_ERRORS).map(|e| describe(&e)).collect(),
    };
    Ok(errors)
}

/// One violation as `<instance path>: <message>`; the crate keeps paths innermost first.
fn describe(error: &jsonschema_valid::ValidationError) -> String {
    let path: String = error.instance_path.iter().rev().map(|p| format!("/{p}")).collect();
    format!("{}: {}", if path.is_empty() { "/" } else { &path }, error.msg)
}

/// The plugin.
pub struct JsonValid;

impl Evaluator for JsonValid {
    fn describe() -> Descriptor {
        Descriptor::new(NAME, env!("CARGO_PKG_VERSION"), "Is the output valid JSON, optionally matching a JSON Schema?")
            .config_schema(json!({
                "type": "object",
                "properties": {
                    "schema": {"type": ["object", "boolean"], "description": "JSON Schema (draft 4, 6 or 7) the output must match."},
                    "schema_in_expected": {"type": "boolean", "default": false,
                                           "description": "Take the schema from each example's `expected` instead."}
                },
                "additionalProperties": false
            }))
    }

    fn evaluate(input: EvalInput) -> Result<Vec<Score>, PluginError> {
        let config: Config = ember_plugin_sdk::config()?;
        Ok(vec![score(&config, &input)?])
    }
}

ember_plugin_sdk::export_evaluator!(JsonValid);

#[cfg(test)]
mod tests {
    use super::*;

    fn input(output: &str, expected: Option<&str>) -> EvalInput {
        EvalInput::new(r#""q""#, output, expected.map(str::to_owned))
    }

    fn person_schema() -> Value {
        json!({
            "type": "object",
            "required": ["name", "age"],
            "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
            "additionalProperties": false
        })
    }

    #[test]
    fn json_in_a_string_is_unwrapped() {
        let s = score(&Config::default(), &input(r#""{\"a\": [1, 2]}""#, None)).unwrap();
        assert_eq!((s.score, s.label.as_deref()), (Some(1.0), Some("valid")));
        let s = score(&Config::default(), &input(r#"{"a": 1, "b": 2}"#, None)).unwrap();
        assert_eq!(s.score, Some(1.0));
    }

    #[test]
    fn broken_json_fails() {
        let s = score(&Config::default(), &input(r#""{\"a\": 1,}""#, None)).unwrap();
        assert_eq!((s.score, s.label.as_deref()), (Some(0.0), Some("invalid_json")));
        let s = score(&Config::default(), &input(r#""Sure! Here is the JSON you asked for""#, None)).unwrap();
        assert_eq!(s.label.as_deref(), Some("invalid_json"));
    }

    #[test]
    fn schema_from_config() {
        let cfg = Config { schema: Some(person_schema()), schema_in_expected: false };
        let s = score(&cfg, &input(r#""{\"name\": \"Ada\", \"age\": 36}""#, None)).unwrap();
        assert_eq!(s.score, Some(1.0), "{s:?}");
        let s = score(&cfg, &input(r#""{\"name\": \"Ada\", \"age\": -1, \"x\": 0}""#, None)).unwrap();
        assert_eq!((s.score, s.label.as_deref()), (Some(0.0), Some("schema_mismatch")));
        let meta: Value = serde_json::from_str(s.metadata.as_deref().unwrap()).unwrap();
        let errors = meta["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().any(|e| e.as_str().unwrap().starts_with("/age:")), "{errors:?}");
    }

    #[test]
    fn schema_from_expected() {
        let cfg = Config { schema: None, schema_in_expected: true };
        let schema = person_schema().to_string();
        let s = score(&cfg, &input(r#"{"name": "Ada"}"#, Some(&schema))).unwrap();
        assert_eq!(s.label.as_deref(), Some("schema_mismatch"));
        assert!(s.explanation.unwrap().contains("age"));
        let err = score(&cfg, &input(r#"{"name": "Ada"}"#, None)).unwrap_err();
        assert!(matches!(err, PluginError::InvalidInput(_)));
    }

    #[test]
    fn refs_and_draft_selection() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "definitions": {"tag": {"type": "string", "enum": ["a", "b"]}},
            "type": "array",
            "items": {"$ref": "#/definitions/tag"}
        });
        assert_eq!(validate(&schema, &json!(["a", "b"])).unwrap(), Vec::<String>::new());
        assert_eq!(validate(&schema, &json!(["a", "c"])).unwrap().len(), 1);
    }

    #[test]
    fn invalid_schemas_are_errors() {
        let cfg = Config { schema: Some(json!({"type": 5})), schema_in_expected: false };
        let err = score(&cfg, &input("{}", None)).unwrap_err();
        assert!(matches!(err, PluginError::InvalidConfig(_)), "{err:?}");
        assert!(validate(&json!([1]), &json!(1)).is_err());
    }
}
