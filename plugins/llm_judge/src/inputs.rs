//! What a judge reads from an example: the question, the output being judged and, for most
//! judges, a reference text (the retrieved context or the reference answer).

use ember_plugin_sdk::evaluator::EvalInput;
use ember_plugin_sdk::json;
use serde_json::Value;

/// Where a judge looks for its reference text, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    /// The judge needs none (toxicity).
    None,
    /// Context for the output: metadata `reference` / `context`, else `expected`, else the
    /// input's `context` / `reference` field. Missing → `invalid-input`.
    Context,
    /// Like `Context`, but missing means the output itself is the text to judge (relevance of
    /// what a retriever task returned).
    ContextOrOutput,
    /// A reference answer: `expected` first, then as for `Context`. Missing → `invalid-input`.
    Answer,
}

/// Fields of the input object that hold the question, in order of preference.
const QUESTION_FIELDS: [&str; 4] = ["question", "query", "input", "prompt"];
/// Fields of metadata or the input object that hold the reference text, in order of preference.
const REFERENCE_FIELDS: [&str; 2] = ["reference", "context"];

/// The question: the input object's `question`/`query`/`input`/`prompt` string, else the input
/// as text (see [`json::text`]).
pub fn question(input: &EvalInput) -> String {
    if let Ok(Value::Object(map)) = json::parse(&input.input) {
        if let Some(question) = QUESTION_FIELDS.iter().find_map(|f| map.get(*f).and_then(Value::as_str)) {
            return question.to_owned();
        }
    }
    input.input_text()
}

/// The output being judged, as text.
pub fn output(input: &EvalInput) -> String {
    input.output_text()
}

/// The reference text for `kind`; `None` when there is none where `kind` looks.
pub fn reference(input: &EvalInput, kind: Reference) -> Option<String> {
    let from_metadata = || field_of(&input.metadata);
    let from_expected = || input.expected.as_deref().filter(|e| !is_empty_json(e)).map(json::text);
    let from_input = || field_of(&input.input);
    match kind {
        Reference::None => None,
        Reference::Context => from_metadata().or_else(from_expected).or_else(from_input),
        Reference::ContextOrOutput => {
            from_metadata().or_else(from_expected).or_else(from_input).or_else(|| Some(output(input)))
        }
        Reference::Answer => from_expected().or_else(from_metadata).or_else(from_input),
    }
}

/// The first non-empty `reference` / `context` field of a JSON object, as text.
fn field_of(json_text: &str) -> Option<String> {
    let Ok(Value::Object(map)) = json::parse(json_text) else { return None };
    REFERENCE_FIELDS.iter().filter_map(|f| map.get(*f)).map(value_text).find(|text| !text.trim().is_empty())
}

/// A value as text: a string as it is, a list (of retrieved documents) one item per paragraph.
fn value_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join("\n\n"),
        other => json::value_text(other),
    }
}

/// `null`, `""`, `{}` or `[]`: a dataset column with nothing in it.
fn is_empty_json(text: &str) -> bool {
    match json::parse(text) {
        Ok(Value::Null) => true,
        Ok(Value::String(s)) => s.trim().is_empty(),
        Ok(Value::Object(map)) => map.is_empty(),
        Ok(Value::Array(items)) => items.is_empty(),
        _ => text.trim().is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(input: &str, output: &str, expected: Option<&str>, metadata: &str) -> EvalInput {
        let mut example = EvalInput::new(input, output, expected.map(str::to_owned));
        example.metadata = metadata.to_owned();
        example
    }

    #[test]
    fn question_prefers_named_fields() {
        assert_eq!(question(&example(r#"{"question": "Why?", "context": "c"}"#, "1", None, "{}")), "Why?");
        assert_eq!(question(&example(r#""plain""#, "1", None, "{}")), "plain");
        assert_eq!(question(&example(r#"{"a": 1, "b": 2}"#, "1", None, "{}")), r#"{"a": 1, "b": 2}"#);
    }

    #[test]
    fn context_order_metadata_expected_input() {
        let all = example(
            r#"{"q": "x", "context": "from input"}"#,
            r#""o""#,
            Some(r#""from expected""#),
            r#"{"context": ["doc a", "doc b"]}"#,
        );
        assert_eq!(reference(&all, Reference::Context).as_deref(), Some("doc a\n\ndoc b"));
        assert_eq!(reference(&all, Reference::Answer).as_deref(), Some("from expected"));
        let no_metadata =
            example(r#"{"q": "x", "reference": "from input"}"#, r#""o""#, Some(r#""from expected""#), "{}");
        assert_eq!(reference(&no_metadata, Reference::Context).as_deref(), Some("from expected"));
        let input_only = example(r#"{"q": "x", "reference": "from input"}"#, r#""o""#, Some("null"), "{}");
        assert_eq!(reference(&input_only, Reference::Context).as_deref(), Some("from input"));
        assert_eq!(reference(&input_only, Reference::Answer).as_deref(), Some("from input"));
        let meta_reference = example(r#""x""#, r#""o""#, None, r#"{"reference": "r", "context": "c"}"#);
        assert_eq!(reference(&meta_reference, Reference::Context).as_deref(), Some("r"));
    }

    #[test]
    fn missing_reference() {
        let bare = example(r#""x""#, r#""the output""#, None, "{}");
        assert_eq!(reference(&bare, Reference::Context), None);
        assert_eq!(reference(&bare, Reference::Answer), None);
        assert_eq!(reference(&bare, Reference::None), None);
        assert_eq!(reference(&bare, Reference::ContextOrOutput).as_deref(), Some("the output"));
        let blank = example(r#""x""#, r#""o""#, Some(r#""""#), r#"{"context": ""}"#);
        assert_eq!(reference(&blank, Reference::Context), None);
    }
}
