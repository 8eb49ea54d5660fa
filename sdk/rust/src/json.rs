//! Helpers for the JSON values that cross the boundary as text (`input`, `output`, `expected`).

use serde_json::Value;

/// Parses a JSON document.
pub fn parse(json: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str(json)
}

/// The text an evaluator usually wants from a stored value: a JSON string gives its content, an
/// object with exactly one string field gives that string, anything else gives the JSON text.
/// Text that is not JSON at all is returned as it is.
pub fn text(json: &str) -> String {
    match parse(json) {
        Ok(Value::String(s)) => s,
        Ok(Value::Object(map)) if map.len() == 1 && map.values().all(Value::is_string) => {
            map.into_iter().next().and_then(|(_, v)| v.as_str().map(str::to_owned)).unwrap_or_default()
        }
        _ => json.trim().to_owned(),
    }
}

/// [`text`] for a value already parsed.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Object(map) if map.len() == 1 => match map.values().next() {
            Some(Value::String(s)) => s.clone(),
            _ => value.to_string(),
        },
        _ => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_unwraps_strings_and_single_fields() {
        assert_eq!(text(r#""Paris""#), "Paris");
        assert_eq!(text(r#"{"answer": "Paris"}"#), "Paris");
        assert_eq!(text(r#" {"a": "x", "b": "y"} "#), r#"{"a": "x", "b": "y"}"#);
        assert_eq!(text(r#"{"n": 1}"#), r#"{"n": 1}"#);
        assert_eq!(text("42"), "42");
        assert_eq!(text("not json"), "not json");
        assert_eq!(text(r#""line\nbreak""#), "line\nbreak");
    }

    #[test]
    fn value_text_matches_text() {
        for json in [r#""a""#, r#"{"k": "v"}"#, r#"{"k": 1}"#, "[1,2]", "null"] {
            let value = parse(json).unwrap();
            assert_eq!(value_text(&value), text(&value.to_string()), "{json}");
        }
    }
}
