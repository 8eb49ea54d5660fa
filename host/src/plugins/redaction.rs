//! Redactor stages: every piece of text in a span (name, input, output, status message, string
//! attributes, event attributes) is offered to the plugin, in chunks, and replaced where it asks.

use std::collections::HashMap;

use ember_sandbox::{Field, Plugin, PluginErrorKind, SandboxError};
use serde_json::{Map, Value};

use super::pipeline::StageOutcome;
use crate::model::SpanRecord;

/// Text sent per call; bounds the guest memory one call needs whatever the batch size.
const CHUNK_BYTES: usize = 2 << 20;
const CHUNK_FIELDS: usize = 20_000;

/// Where a field's text lives in its span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Place {
    Name,
    Input,
    Output,
    StatusMessage,
    /// The session id column (also kept as `session.id` in the attributes).
    SessionId,
    /// The n-th string leaf of the attributes, depth first.
    Attribute(usize),
    /// The n-th string leaf of the events' attributes, depth first.
    Event(usize),
}

/// One span's text, parsed once, with the replacements decided so far.
struct SpanText {
    attributes: Value,
    events: Value,
    replacements: HashMap<Place, String>,
}

pub(super) fn run(plugin: &Plugin, spans: &mut [SpanRecord], selected: &[usize]) -> StageOutcome {
    let mut outcome = StageOutcome::default();
    let mut texts = Vec::with_capacity(selected.len());
    for &index in selected {
        let span = &spans[index];
        let parsed = serde_json::from_str(&span.attributes).and_then(|a| Ok((a, serde_json::from_str(&span.events)?)));
        match parsed {
            Ok((attributes, events)) => texts.push(SpanText { attributes, events, replacements: HashMap::new() }),
            // Text the redactor cannot be shown must not be stored as if it had been: the stage
            // fails and its policy decides.
            Err(err) => {
                outcome.error = Some(SandboxError::Plugin {
                    kind: PluginErrorKind::InvalidInput,
                    message: format!("span {}: attributes cannot be offered for redaction: {err}", span.span_id),
                });
                return outcome;
            }
        }
    }

    let mut chunk: Vec<Field> = Vec::new();
    let mut places: Vec<(usize, Place)> = Vec::new();
    let mut chunk_bytes = 0;
    for (position, &index) in selected.iter().enumerate() {
        let span = &spans[index];
        let text = &texts[position];
        let mut fields: Vec<(String, String, Place)> = Vec::new();
        fields.push(("name".into(), span.name.clone(), Place::Name));
        if let Some(input) = &span.input_value {
            fields.push(("input.value".into(), input.clone(), Place::Input));
        }
        if let Some(output) = &span.output_value {
            fields.push(("output.value".into(), output.clone(), Place::Output));
        }
        if !span.status_message.is_empty() {
            fields.push(("status.message".into(), span.status_message.clone(), Place::StatusMessage));
        }
        if let Some(session) = &span.session_id {
            fields.push(("session.id".into(), session.clone(), Place::SessionId));
        }
        let mut counter = 0;
        collect(&text.attributes, &mut String::new(), &mut counter, &mut |path, value, n| {
            fields.push((path, value, Place::Attribute(n)));
        });
        let mut counter = 0;
        if let Value::Array(events) = &text.events {
            for (event_index, event) in events.iter().enumerate() {
                let mut prefix = format!("events.{event_index}");
                collect(&event["attributes"], &mut prefix, &mut counter, &mut |path, value, n| {
                    fields.push((path, value, Place::Event(n)));
                });
            }
        }
        for (path, value, place) in fields {
            chunk_bytes += value.len();
            chunk.push(Field { span: position as u32, path, value });
            places.push((position, place));
            if chunk_bytes >= CHUNK_BYTES || chunk.len() >= CHUNK_FIELDS {
                redact_chunk(plugin, &chunk, &places, &mut texts, &mut outcome);
                chunk.clear();
                places.clear();
                chunk_bytes = 0;
            }
        }
    }
    if !chunk.is_empty() {
        redact_chunk(plugin, &chunk, &places, &mut texts, &mut outcome);
    }

    // A stage that failed anywhere leaves every span as it was; its policy decides what follows.
    if outcome.error.is_some() {
        return outcome;
    }
    for (position, text) in texts.into_iter().enumerate() {
        if text.replacements.is_empty() {
            continue;
        }
        outcome.spans_changed += 1;
        apply(&mut spans[selected[position]], text);
    }
    outcome
}

fn redact_chunk(
    plugin: &Plugin,
    chunk: &[Field],
    places: &[(usize, Place)],
    texts: &mut [SpanText],
    outcome: &mut StageOutcome,
) {
    if outcome.error.is_some() {
        return;
    }
    let Some(redactions) = outcome.record(plugin.redact(chunk), plugin) else { return };
    for redaction in redactions {
        let Some(&(position, place)) = places.get(redaction.field as usize) else {
            outcome.error.get_or_insert(SandboxError::Plugin {
                kind: PluginErrorKind::Failed,
                message: format!("redaction names field {} of a {}-field batch", redaction.field, chunk.len()),
            });
            continue;
        };
        texts[position].replacements.insert(place, redaction.value);
    }
}

/// Writes a span's replacements back into its record.
fn apply(span: &mut SpanRecord, mut text: SpanText) {
    let replacements = &mut text.replacements;
    if let Some(name) = replacements.remove(&Place::Name) {
        span.name = name;
    }
    if let Some(input) = replacements.remove(&Place::Input) {
        span.input_value = Some(input);
    }
    if let Some(output) = replacements.remove(&Place::Output) {
        span.output_value = Some(output);
    }
    if let Some(message) = replacements.remove(&Place::StatusMessage) {
        span.status_message = message;
    }
    if let Some(session) = replacements.remove(&Place::SessionId) {
        span.session_id = Some(session);
    }
    if replacements.keys().any(|key| matches!(key, Place::Attribute(_))) {
        replace(&mut text.attributes, &mut 0, &mut |n| replacements.remove(&Place::Attribute(n)));
        span.attributes = text.attributes.to_string();
    }
    if replacements.keys().any(|key| matches!(key, Place::Event(_))) {
        let mut counter = 0;
        if let Value::Array(events) = &mut text.events {
            for event in events.iter_mut() {
                if let Some(attributes) = event.get_mut("attributes") {
                    replace(attributes, &mut counter, &mut |n| replacements.remove(&Place::Event(n)));
                }
            }
        }
        span.events = text.events.to_string();
    }
}

/// Calls `found(path, text, n)` for every string leaf, depth first, numbering them from `counter`.
fn collect(value: &Value, path: &mut String, counter: &mut usize, found: &mut impl FnMut(String, String, usize)) {
    match value {
        Value::String(text) => {
            found(path.clone(), text.clone(), *counter);
            *counter += 1;
        }
        Value::Object(map) => each_child(map, path, |child, path| collect(child, path, counter, found)),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let length = path.len();
                push_segment(path, &index.to_string());
                collect(item, path, counter, found);
                path.truncate(length);
            }
        }
        _ => {}
    }
}

fn each_child(map: &Map<String, Value>, path: &mut String, mut visit: impl FnMut(&Value, &mut String)) {
    for (key, child) in map {
        let length = path.len();
        push_segment(path, key);
        visit(child, path);
        path.truncate(length);
    }
}

fn push_segment(path: &mut String, segment: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(segment);
}

/// Visits string leaves in the same order as `collect`, replacing those `replacement` answers.
fn replace(value: &mut Value, counter: &mut usize, replacement: &mut impl FnMut(usize) -> Option<String>) {
    match value {
        Value::String(text) => {
            if let Some(new) = replacement(*counter) {
                *text = new;
            }
            *counter += 1;
        }
        Value::Object(map) => map.values_mut().for_each(|child| replace(child, counter, replacement)),
        Value::Array(items) => items.iter_mut().for_each(|item| replace(item, counter, replacement)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collect_and_replace_visit_leaves_in_the_same_order() {
        let mut value: Value = serde_json::json!({
            "llm": {"input_messages": [{"message": {"content": "a@b.com", "role": "user"}}], "model_name": "m"},
            "n": 3,
        });
        let mut seen = Vec::new();
        collect(&value, &mut String::new(), &mut 0, &mut |path, text, n| seen.push((path, text, n)));
        assert_eq!(
            seen,
            vec![
                ("llm.input_messages.0.message.content".to_owned(), "a@b.com".to_owned(), 0),
                ("llm.input_messages.0.message.role".to_owned(), "user".to_owned(), 1),
                ("llm.model_name".to_owned(), "m".to_owned(), 2),
            ]
        );
        replace(&mut value, &mut 0, &mut |n| (n == 0).then(|| "<EMAIL>".to_owned()));
        assert_eq!(value["llm"]["input_messages"][0]["message"]["content"], "<EMAIL>");
        assert_eq!(value["llm"]["input_messages"][0]["message"]["role"], "user");
    }
}
