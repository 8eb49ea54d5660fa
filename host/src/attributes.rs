//! Attribute maps: OTLP key/values ⇄ nested JSON, the way OpenInference stores them.
//!
//! Ingest turns dotted keys into nested objects (`llm.token_count.prompt` → `{"llm": {"token_count":
//! {"prompt": …}}}`), with numeric segments becoming list indexes; the REST API flattens them back.

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use serde_json::{Map, Value};

/// Attributes that OpenInference sends as JSON strings and that are stored parsed, matched on
/// the whole key or on its ending (`retrieval.documents.0.document.metadata`).
const JSON_STRING_KEYS: [&str; 4] =
    ["metadata", "llm.prompt_template.variables", "tool.parameters", "document.metadata"];

fn is_json_string_key(key: &str) -> bool {
    JSON_STRING_KEYS.iter().any(|k| key.strip_suffix(k).is_some_and(|head| head.is_empty() || head.ends_with('.')))
}

/// Deepest nesting a dotted key creates; deeper segments stay flat in one key, so that a hostile
/// `a.a.a.…` key cannot drive the recursive tree code into a stack overflow.
const MAX_KEY_DEPTH: usize = 32;

/// Replaces NUL characters, which neither PostgreSQL text nor JSONB can store.
pub fn clean_text(s: String) -> String {
    if s.contains('\0') {
        s.replace('\0', "\u{FFFD}")
    } else {
        s
    }
}

/// Converts one OTLP value to JSON.
pub fn any_value_to_json(value: Option<AnyValue>) -> Value {
    let Some(value) = value.and_then(|v| v.value) else {
        return Value::Null;
    };
    match value {
        any_value::Value::StringValue(s) => Value::String(clean_text(s)),
        any_value::Value::BoolValue(b) => Value::Bool(b),
        any_value::Value::IntValue(i) => Value::from(i),
        any_value::Value::DoubleValue(d) => serde_json::Number::from_f64(d).map_or(Value::Null, Value::Number),
        any_value::Value::ArrayValue(array) => {
            Value::Array(array.values.into_iter().map(|v| any_value_to_json(Some(v))).collect())
        }
        any_value::Value::KvlistValue(list) => Value::Object(nest(list.values)),
        any_value::Value::BytesValue(bytes) => Value::String(base64_encode(&bytes)),
        any_value::Value::StringValueStrindex(_) => Value::Null,
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Builds the nested attribute tree from OTLP key/values.
pub fn nest(pairs: Vec<KeyValue>) -> Map<String, Value> {
    let mut root = Map::new();
    for pair in pairs {
        let key = clean_text(pair.key);
        let mut value = any_value_to_json(pair.value);
        if value.is_null() {
            continue;
        }
        if is_json_string_key(&key) {
            value = parse_json_string(value);
        }
        insert_nested(&mut root, &key, value, 0);
    }
    for value in root.values_mut() {
        lists_from_numeric_maps(value);
    }
    root
}

fn parse_json_string(value: Value) -> Value {
    let Value::String(text) = &value else {
        return value;
    };
    match serde_json::from_str::<Value>(text) {
        Ok(mut parsed @ (Value::Object(_) | Value::Array(_))) => {
            clean_json(&mut parsed);
            parsed
        }
        _ => value,
    }
}

/// Replaces NUL characters in every string of a parsed document (serde_json bounds its depth).
fn clean_json(value: &mut Value) {
    match value {
        Value::String(s) if s.contains('\0') => *s = s.replace('\0', "\u{FFFD}"),
        Value::Array(items) => items.iter_mut().for_each(clean_json),
        Value::Object(map) => {
            if map.keys().any(|k| k.contains('\0')) {
                let entries = std::mem::take(map);
                *map = entries.into_iter().map(|(k, v)| (clean_text(k), v)).collect();
            }
            map.values_mut().for_each(clean_json);
        }
        _ => {}
    }
}

/// Inserts `value` at the dotted `key`. A key that collides with a leaf already there is kept
/// flat at the level where it collides, so that no attribute is lost.
pub fn insert_path(node: &mut Map<String, Value>, key: &str, value: Value) {
    insert_nested(node, key, value, 0);
}

fn insert_nested(node: &mut Map<String, Value>, key: &str, value: Value, depth: usize) {
    if let Some((head, tail)) = key.split_once('.') {
        if !head.is_empty() && !tail.is_empty() && depth < MAX_KEY_DEPTH {
            // Look up before inserting: most segments (`llm`, `input_messages`) already exist, and
            // `entry` would allocate the key every time.
            if !node.contains_key(head) {
                node.insert(head.to_owned(), Value::Object(Map::new()));
            }
            if let Some(Value::Object(child)) = node.get_mut(head) {
                insert_nested(child, tail, value, depth + 1);
                return;
            }
        }
    }
    match node.get_mut(key) {
        Some(Value::Object(existing)) => {
            if let Value::Object(incoming) = value {
                existing.extend(incoming);
            } else {
                node.insert(key.to_owned(), value);
            }
        }
        Some(_) | None => {
            node.insert(key.to_owned(), value);
        }
    }
}

/// Turns objects whose keys are all list indexes (`{"0": …, "1": …}`) into arrays, recursively.
fn lists_from_numeric_maps(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for child in map.values_mut() {
                lists_from_numeric_maps(child);
            }
            let indexes: Option<Vec<usize>> = map.keys().map(|k| k.parse::<usize>().ok()).collect();
            let Some(indexes) = indexes else { return };
            let Some(&max) = indexes.iter().max() else { return };
            // A sparse map (say only "1000") stays an object rather than growing a huge list.
            if max >= indexes.len() * 2 + 8 {
                return;
            }
            let mut list = vec![Value::Null; max + 1];
            for (key, child) in std::mem::take(map) {
                if let Ok(index) = key.parse::<usize>() {
                    list[index] = child;
                }
            }
            *value = Value::Array(list);
        }
        Value::Array(items) => items.iter_mut().for_each(lists_from_numeric_maps),
        _ => {}
    }
}

/// Looks up a dotted path (`llm.token_count.prompt`) in a nested tree.
pub fn get_path<'a>(root: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    let mut segments = key.split('.');
    let mut node = root.get(segments.next()?)?;
    for segment in segments {
        node = match node {
            Value::Object(map) => map.get(segment)?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Removes the string at a dotted path and returns it, dropping parents it leaves empty.
/// Values that live in their own columns are taken out so they are not stored twice.
pub fn take_string(root: &mut Map<String, Value>, key: &str) -> Option<String> {
    match key.split_once('.') {
        None => match root.get(key) {
            Some(Value::String(_)) => match root.remove(key) {
                Some(Value::String(text)) => Some(text),
                _ => None,
            },
            _ => None,
        },
        Some((head, tail)) => {
            let Some(Value::Object(child)) = root.get_mut(head) else { return None };
            let taken = take_string(child, tail);
            if child.is_empty() {
                root.remove(head);
            }
            taken
        }
    }
}

/// Flattens a nested tree back to dotted keys, as Phoenix's REST API returns attributes:
/// lists of objects get index segments, lists of scalars stay lists, nulls are dropped.
pub fn flatten(root: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in root {
        flatten_into(&mut out, key.clone(), value);
    }
    out
}

fn flatten_into(out: &mut Map<String, Value>, prefix: String, value: &Value) {
    match value {
        Value::Null => {}
        Value::Object(map) => {
            for (key, child) in map {
                flatten_into(out, format!("{prefix}.{key}"), child);
            }
        }
        Value::Array(items) if items.iter().any(Value::is_object) => {
            for (index, child) in items.iter().enumerate() {
                flatten_into(out, format!("{prefix}.{index}"), child);
            }
        }
        other => {
            out.insert(prefix, other.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
    }

    fn s(v: &str) -> any_value::Value {
        any_value::Value::StringValue(v.into())
    }

    #[test]
    fn dotted_keys_nest_and_indexes_become_lists() {
        let tree = nest(vec![
            kv("llm.input_messages.0.message.role", s("system")),
            kv("llm.input_messages.1.message.role", s("user")),
            kv("llm.token_count.prompt", any_value::Value::IntValue(12)),
        ]);
        assert_eq!(
            Value::Object(tree),
            json!({"llm": {"input_messages": [{"message": {"role": "system"}}, {"message": {"role": "user"}}],
                           "token_count": {"prompt": 12}}})
        );
    }

    #[test]
    fn json_string_attributes_are_parsed_and_others_are_not() {
        let tree = nest(vec![
            kv("metadata", s(r#"{"tier": "gold"}"#)),
            kv("input.value", s(r#"{"q": 1}"#)),
            kv("retrieval.documents.0.document.metadata", s(r#"{"source": "a"}"#)),
        ]);
        assert_eq!(tree["metadata"], json!({"tier": "gold"}));
        assert_eq!(tree["input"]["value"], json!(r#"{"q": 1}"#));
        assert_eq!(tree["retrieval"]["documents"][0]["document"]["metadata"]["source"], json!("a"));
    }

    #[test]
    fn colliding_keys_lose_nothing() {
        let tree = nest(vec![kv("a", s("leaf")), kv("a.b", s("deeper"))]);
        assert_eq!(tree["a"], json!("leaf"));
        assert_eq!(tree["a.b"], json!("deeper"));
    }

    #[test]
    fn flatten_inverts_nest() {
        let pairs = vec![
            kv("llm.input_messages.0.message.content", s("hi")),
            kv(
                "tag.tags",
                any_value::Value::ArrayValue(opentelemetry_proto::tonic::common::v1::ArrayValue {
                    values: vec![AnyValue { value: Some(s("x")) }],
                }),
            ),
            kv("metadata", s(r#"{"user_id": 7}"#)),
        ];
        let flat = flatten(&nest(pairs));
        assert_eq!(flat["llm.input_messages.0.message.content"], json!("hi"));
        assert_eq!(flat["tag.tags"], json!(["x"]));
        assert_eq!(flat["metadata.user_id"], json!(7));
    }

    #[test]
    fn take_string_removes_the_leaf_and_empty_parents() {
        let mut tree =
            nest(vec![kv("input.value", s("q")), kv("output.value", s("a")), kv("output.mime_type", s("text/plain"))]);
        assert_eq!(take_string(&mut tree, "input.value").as_deref(), Some("q"));
        assert!(!tree.contains_key("input"));
        assert_eq!(take_string(&mut tree, "output.value").as_deref(), Some("a"));
        assert_eq!(tree["output"], json!({"mime_type": "text/plain"}));
        assert_eq!(take_string(&mut tree, "missing.key"), None);
    }

    #[test]
    fn hostile_deep_keys_stay_flat_past_the_depth_limit() {
        let key = vec!["a"; 100_000].join(".");
        let tree = nest(vec![kv(&key, s("deep"))]);
        let mut node = &tree;
        for _ in 0..MAX_KEY_DEPTH {
            node = node["a"].as_object().expect("nested");
        }
        let rest = vec!["a"; 100_000 - MAX_KEY_DEPTH].join(".");
        assert_eq!(node[&rest], json!("deep"));
        assert_eq!(flatten(&tree)[&key], json!("deep"));
    }

    #[test]
    fn nul_characters_in_parsed_json_are_replaced() {
        let tree = nest(vec![kv("metadata", s(r#"{"k\u0000": "v\u0000"}"#))]);
        assert_eq!(tree["metadata"], json!({"k\u{FFFD}": "v\u{FFFD}"}));
    }

    #[test]
    fn nul_characters_are_replaced() {
        let tree = nest(vec![kv("k", s("a\0b"))]);
        assert_eq!(tree["k"], json!("a\u{FFFD}b"));
        assert_eq!(get_path(&tree, "k"), Some(&json!("a\u{FFFD}b")));
    }
}
