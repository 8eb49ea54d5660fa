//! Span-processor stages: spans go to the plugin in chunks; the changes it returns (dotted
//! attributes to set or remove) are merged into the spans' nested attributes.

use ember_sandbox::{Plugin, PluginErrorKind, SandboxError, Span, SpanChange};
use serde_json::{Map, Value};

use super::pipeline::StageOutcome;
use crate::attributes::{get_path, insert_path};
use crate::model::SpanRecord;

/// Spans and attribute text sent per call.
const CHUNK_SPANS: usize = 1_000;
const CHUNK_BYTES: usize = 2 << 20;

pub(super) fn run(plugin: &Plugin, spans: &mut [SpanRecord], selected: &[usize]) -> StageOutcome {
    let mut outcome = StageOutcome::default();
    let mut pending = Vec::new();
    let mut start = 0;
    while start < selected.len() && outcome.error.is_none() {
        let mut end = start;
        let mut bytes = 0;
        while end < selected.len() && end - start < CHUNK_SPANS && (bytes < CHUNK_BYTES || end == start) {
            bytes += spans[selected[end]].attributes.len();
            end += 1;
        }
        let chunk = &selected[start..end];
        let batch: Vec<Span> = chunk.iter().map(|&index| to_wit(&spans[index])).collect();
        if let Some(changes) = outcome.record(plugin.process(&batch), plugin) {
            match validate(chunk, changes) {
                Ok(changes) => pending.extend(changes),
                Err(err) => outcome.error = Some(err),
            }
        }
        start = end;
    }
    // A stage that failed anywhere leaves every span as it was; its policy decides what follows.
    if outcome.error.is_none() {
        match apply(spans, pending) {
            Ok(changed) => outcome.spans_changed = changed,
            Err(err) => outcome.error = Some(err),
        }
    }
    outcome
}

fn to_wit(span: &SpanRecord) -> Span {
    Span {
        project: span.project.to_string(),
        trace_id: span.trace_id.clone(),
        span_id: span.span_id.clone(),
        parent_id: span.parent_id.clone(),
        name: span.name.clone(),
        kind: span.span_kind.clone(),
        status_code: span.status_code.to_owned(),
        start_time_unix_nano: span.start_ns,
        end_time_unix_nano: span.end_ns,
        model_name: span.model_name.clone(),
        model_provider: model_provider(&span.attributes),
        prompt_tokens: span.token_prompt,
        completion_tokens: span.token_completion,
        total_tokens: span.token_total,
        attributes: span.attributes.clone(),
    }
}

/// `llm.provider`, else `llm.system`: found by a cheap text check before any parsing, since most
/// spans carry neither.
fn model_provider(attributes: &str) -> Option<String> {
    if !attributes.contains("\"provider\"") && !attributes.contains("\"system\"") {
        return None;
    }
    let root: Map<String, Value> = serde_json::from_str(attributes).ok()?;
    ["llm.provider", "llm.system"]
        .iter()
        .find_map(|key| get_path(&root, key).and_then(Value::as_str).map(str::to_owned))
}

/// A change checked against its chunk: (span index in the batch, keys to set, keys to remove).
type Pending = (usize, Map<String, Value>, Vec<String>);

/// Checks every change of one chunk before any is applied.
fn validate(chunk: &[usize], changes: Vec<SpanChange>) -> Result<Vec<Pending>, SandboxError> {
    changes
        .into_iter()
        .map(|change| {
            let Some(&index) = chunk.get(change.index as usize) else {
                return Err(invalid(format!("change for span {} of a {}-span batch", change.index, chunk.len())));
            };
            let set: Map<String, Value> = serde_json::from_str(&change.set_attributes)
                .map_err(|err| invalid(format!("set-attributes is not a JSON object: {err}")))?;
            Ok((index, set, change.remove_attributes))
        })
        .collect()
}

/// Applies validated changes. All spans are parsed first, so that a span whose attributes cannot
/// be parsed fails the stage before any span is modified.
fn apply(spans: &mut [SpanRecord], pending: Vec<Pending>) -> Result<usize, SandboxError> {
    let mut parsed = Vec::with_capacity(pending.len());
    for (index, set, remove) in pending {
        let root: Map<String, Value> = serde_json::from_str(&spans[index].attributes)
            .map_err(|err| invalid(format!("span {}: attributes cannot be changed: {err}", spans[index].span_id)))?;
        parsed.push((index, root, set, remove));
    }
    let changed = parsed.len();
    for (index, mut root, set, remove) in parsed {
        for key in &remove {
            remove_path(&mut root, key);
        }
        for (key, value) in set {
            insert_path(&mut root, &key, value);
        }
        spans[index].attributes = Value::Object(root).to_string();
    }
    Ok(changed)
}

fn invalid(message: String) -> SandboxError {
    SandboxError::Plugin { kind: PluginErrorKind::Failed, message }
}

/// Removes the value at a dotted key, if present.
fn remove_path(root: &mut Map<String, Value>, key: &str) {
    match key.split_once('.') {
        None => {
            root.remove(key);
        }
        Some((head, tail)) => match root.get_mut(head) {
            Some(Value::Object(child)) => remove_path(child, tail),
            _ => {
                root.remove(key);
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_are_read_from_nested_attributes() {
        assert_eq!(model_provider(r#"{"llm":{"provider":"openai","model_name":"x"}}"#).as_deref(), Some("openai"));
        assert_eq!(model_provider(r#"{"llm":{"system":"anthropic"}}"#).as_deref(), Some("anthropic"));
        assert_eq!(model_provider(r#"{"llm":{"model_name":"x"}}"#), None);
    }

    #[test]
    fn removal_follows_dotted_keys() {
        let mut root: Map<String, Value> = serde_json::from_str(r#"{"a":{"b":1,"c":2},"d":3}"#).unwrap();
        remove_path(&mut root, "a.b");
        remove_path(&mut root, "d");
        assert_eq!(Value::Object(root).to_string(), r#"{"a":{"c":2}}"#);
    }
}
