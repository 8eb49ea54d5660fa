//! Phoenix's `Span` serialised straight from a stored row, for the span listings that return
//! thousands of spans a page.
//!
//! The stored attributes are a nested JSON tree; Phoenix returns them flattened to dotted keys.
//! Parsing them into a `serde_json::Map`, flattening that into a second map and serialising it
//! allocated every key and every string value three times, and made reading spans back slower
//! than writing them. Here each level of the tree is scanned as borrowed [`RawValue`]s and the
//! leaves are written to the output as they are found: values are copied verbatim, never
//! unescaped, and only the dotted keys are built.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::ids::global_id;
use crate::store::SpanRow;
use crate::time::iso_time;

/// A span row as Phoenix's `Span`: flat dotted attributes without `openinference.span.kind`,
/// ISO times.
pub struct SpanJson<'a>(pub &'a SpanRow);

impl Serialize for SpanJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let row = self.0;
        let mut span = serializer.serialize_map(Some(11))?;
        span.serialize_entry("id", &global_id("Span", row.id))?;
        span.serialize_entry("name", &row.name)?;
        span.serialize_entry("context", &Context { trace_id: &row.trace_id, span_id: &row.span_id })?;
        span.serialize_entry("span_kind", &row.span_kind)?;
        span.serialize_entry("parent_id", &row.parent_id)?;
        span.serialize_entry("start_time", &iso_time(row.start_ns))?;
        span.serialize_entry("end_time", &iso_time(row.end_ns))?;
        span.serialize_entry("status_code", &row.status_code)?;
        span.serialize_entry("status_message", &row.status_message)?;
        span.serialize_entry("attributes", &Attributes(row))?;
        span.serialize_entry("events", &events(&row.events))?;
        span.end()
    }
}

#[derive(serde::Serialize)]
struct Context<'a> {
    trace_id: &'a str,
    span_id: &'a str,
}

/// The row's attributes flattened, with the input and output columns put back in.
struct Attributes<'a>(&'a SpanRow);

impl Attributes<'_> {
    /// The columns stored beside the tree; a column that is set wins over the tree's key.
    fn columns(&self) -> [(&'static str, Option<&str>); 4] {
        let row = self.0;
        [
            ("input.value", row.input_value.as_deref()),
            ("input.mime_type", row.input_mime_type.as_deref()),
            ("output.value", row.output_value.as_deref()),
            ("output.mime_type", row.output_mime_type.as_deref()),
        ]
    }

    fn left_out(&self, key: &str) -> bool {
        key == "openinference.span.kind" || self.columns().iter().any(|(name, value)| value.is_some() && *name == key)
    }
}

impl Serialize for Attributes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        // The top level is parsed whole before anything is written, which validates the whole
        // tree: a malformed one (never written by Ember) gives no attributes, not half of them.
        if let Ok(Entries(entries)) = serde_json::from_str::<Entries<'_>>(&self.0.attributes) {
            let mut key = String::with_capacity(64);
            for (name, value) in entries {
                key.clear();
                key.push_str(&name);
                flatten_into(&mut map, &mut key, value, &|key: &str| self.left_out(key))?;
            }
        }
        for (name, value) in self.columns() {
            if let Some(value) = value {
                map.serialize_entry(name, value)?;
            }
        }
        map.end()
    }
}

/// Writes `value` under `key`, flattened as Phoenix does: objects become dotted keys, lists of
/// objects get index segments, lists of scalars stay lists, nulls are dropped.
fn flatten_into<M: SerializeMap>(
    map: &mut M,
    key: &mut String,
    value: &RawValue,
    left_out: &dyn Fn(&str) -> bool,
) -> Result<(), M::Error> {
    let text = value.get().trim_start();
    match text.as_bytes().first() {
        Some(b'n') => Ok(()),
        Some(b'{') => {
            let Ok(Entries(entries)) = serde_json::from_str::<Entries<'_>>(text) else { return Ok(()) };
            for (name, child) in entries {
                let len = key.len();
                key.push('.');
                key.push_str(&name);
                flatten_into(map, key, child, left_out)?;
                key.truncate(len);
            }
            Ok(())
        }
        Some(b'[') => {
            let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(text) else { return Ok(()) };
            if !items.iter().any(|item| item.get().trim_start().starts_with('{')) {
                return leaf(map, key, value, left_out);
            }
            for (index, item) in items.into_iter().enumerate() {
                let len = key.len();
                key.push('.');
                let _ = write!(key, "{index}");
                flatten_into(map, key, item, left_out)?;
                key.truncate(len);
            }
            Ok(())
        }
        _ => leaf(map, key, value, left_out),
    }
}

fn leaf<M: SerializeMap>(
    map: &mut M,
    key: &str,
    value: &RawValue,
    left_out: &dyn Fn(&str) -> bool,
) -> Result<(), M::Error> {
    if left_out(key) {
        return Ok(());
    }
    map.serialize_entry(key, value)
}

/// One level of a JSON object: keys (borrowed unless they hold escapes) and raw values.
struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(access.size_hint().unwrap_or(8));
                while let Some(Key(key)) = access.next_key()? {
                    entries.push((key, access.next_value::<&RawValue>()?));
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

/// An object key, borrowed from the input when it holds no escape sequence.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(key)))
            }
            fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(key.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// The stored events (`[{name, timestamp_ns, attributes}]`) in Phoenix's shape. Events are few
/// and small, so they go through `Value`.
fn events(stored: &str) -> Vec<Value> {
    serde_json::from_str::<Vec<Value>>(stored)
        .unwrap_or_default()
        .into_iter()
        .map(|event| {
            let timestamp = event.get("timestamp_ns").and_then(Value::as_i64).unwrap_or(0);
            let mut out = Map::new();
            out.insert("name".into(), event.get("name").cloned().unwrap_or(Value::Null));
            out.insert("timestamp".into(), Value::String(iso_time(timestamp)));
            out.insert(
                "attributes".into(),
                event.get("attributes").cloned().unwrap_or_else(|| Value::Object(Map::new())),
            );
            Value::Object(out)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(attributes: Value) -> SpanRow {
        SpanRow {
            id: 7,
            project_id: 1,
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            span_id: "b7ad6b7169203331".into(),
            parent_id: None,
            name: "llm".into(),
            span_kind: "LLM".into(),
            status_code: "OK".into(),
            status_message: String::new(),
            start_ns: 1_700_000_000_000_000_000,
            end_ns: 1_700_000_001_000_000_000,
            latency_ms: 1000.0,
            model_name: None,
            token_prompt: None,
            token_completion: None,
            token_total: None,
            input_value: Some("What is \"Ember\"?".into()),
            input_mime_type: None,
            output_value: None,
            output_mime_type: None,
            session_id: None,
            attributes: attributes.to_string(),
            events: r#"[{"name":"exception","timestamp_ns":5,"attributes":{"exception.message":"boom"}}]"#.into(),
        }
    }

    #[test]
    fn attributes_are_flattened_as_phoenix_returns_them() {
        let row = row(json!({
            "openinference": {"span": {"kind": "LLM"}},
            "llm": {
                "model_name": "gpt-4o",
                "input_messages": [
                    {"message": {"role": "user", "content": "line\nwith \"quotes\" and é"}},
                    {"message": {"role": "assistant", "content": null}},
                ],
                "invocation_parameters": "{\"temperature\":0}",
            },
            "embedding": {"vector": [0.5, -1, 2e-3]},
            "tags": ["a", null],
            "input": {"value": "the column wins", "mime_type": "text/plain"},
            "empty": {},
            "dropped": null,
            "key \"quoted\"": true,
        }));
        let span = serde_json::to_value(SpanJson(&row)).expect("serialises");
        assert_eq!(
            span["attributes"],
            json!({
                "llm.model_name": "gpt-4o",
                "llm.input_messages.0.message.role": "user",
                "llm.input_messages.0.message.content": "line\nwith \"quotes\" and é",
                "llm.input_messages.1.message.role": "assistant",
                "llm.invocation_parameters": "{\"temperature\":0}",
                "embedding.vector": [0.5, -1, 2e-3],
                "tags": ["a", null],
                "input.value": "What is \"Ember\"?",
                "input.mime_type": "text/plain",
                "key \"quoted\"": true,
            })
        );
        assert_eq!(span["id"], global_id("Span", 7));
        assert_eq!(span["context"], json!({"trace_id": row.trace_id, "span_id": row.span_id}));
        assert_eq!(span["events"][0]["attributes"]["exception.message"], "boom");
        assert_eq!(span["events"][0]["timestamp"], iso_time(5));
        assert_eq!(span["start_time"], iso_time(row.start_ns));
    }

    #[test]
    fn the_bytes_are_valid_json_with_no_key_twice() {
        let row = row(json!({"input": {"value": "from the tree"}, "a": {"b": [{"c": 1}, 2]}}));
        let bytes = serde_json::to_vec(&SpanJson(&row)).expect("serialises");
        let text = std::str::from_utf8(&bytes).expect("utf-8");
        assert_eq!(text.matches("\"input.value\"").count(), 1, "{text}");
        let span: Value = serde_json::from_slice(&bytes).expect("valid JSON");
        assert_eq!(span["attributes"], json!({"a.b.0.c": 1, "a.b.1": 2, "input.value": "What is \"Ember\"?"}));
    }

    #[test]
    fn malformed_stored_attributes_give_none() {
        let mut row = row(json!({}));
        row.attributes = "{\"a\": {\"b\": 1}".into();
        let span = serde_json::to_value(SpanJson(&row)).expect("serialises");
        assert_eq!(span["attributes"], json!({"input.value": "What is \"Ember\"?"}));
    }
}
