//! Every first-party plugin (plugins/) exercised through the sandbox, as the server runs them:
//! compiled components, fresh instances, configuration through `host.config`.

#![allow(clippy::unwrap_used)] // tests fail loudly on the first surprise

mod support;

use ember_sandbox::{EvalInput, Field, PluginErrorKind, SandboxError, Score, Span, World};
use support::first_party;

fn score(plugin: &str, config: &str, input: EvalInput) -> Score {
    let report = first_party(plugin).with_config(config).evaluate(&input);
    let mut scores = report.outcome.unwrap_or_else(|err| panic!("{plugin}: {err}"));
    assert_eq!(scores.len(), 1, "{plugin}");
    scores.remove(0)
}

fn io(output: &str, expected: &str) -> EvalInput {
    EvalInput::new(r#""question""#, output).expected(expected)
}

#[test]
fn exact_match_compares_text_with_its_options() {
    assert_eq!(first_party("exact_match").world(), World::Evaluator);
    let hit = score("exact_match", "{}", io(r#""Paris""#, r#""Paris""#));
    assert_eq!((hit.score, hit.label.as_deref()), (Some(1.0), Some("match")));
    assert_eq!(score("exact_match", "{}", io(r#""paris""#, r#""Paris""#)).score, Some(0.0));
    assert_eq!(score("exact_match", r#"{"case_insensitive": true}"#, io(r#""paris""#, r#""Paris""#)).score, Some(1.0));
    let missing = first_party("exact_match").evaluate(&EvalInput::new("1", r#""Paris""#)).outcome;
    assert!(matches!(missing, Err(SandboxError::Plugin { kind: PluginErrorKind::InvalidInput, .. })), "{missing:?}");
    let bad = first_party("exact_match").with_config(r#"{"case_insensitive": "yes"}"#).evaluate(&io("1", "1")).outcome;
    assert!(matches!(bad, Err(SandboxError::Plugin { kind: PluginErrorKind::InvalidConfig, .. })), "{bad:?}");
}

#[test]
fn contains_checks_keywords_in_any_or_all_mode() {
    let input = EvalInput::new(r#""q""#, r#""Refunds are processed within 30 days""#);
    let any = score("contains", r#"{"keywords": ["refund", "30 days"], "mode": "any"}"#, input.clone());
    assert_eq!(any.score, Some(1.0));
    let all = score("contains", r#"{"keywords": ["30 days", "receipt"], "mode": "all"}"#, input.clone());
    assert_eq!(all.score, Some(0.5));
    assert_eq!(all.label.as_deref(), Some("missing"));
    let sensitive = score("contains", r#"{"keywords": ["REFUND"], "case_sensitive": true}"#, input);
    assert_eq!(sensitive.score, Some(0.0));
}

#[test]
fn regex_matches_a_configured_or_expected_pattern() {
    let input = EvalInput::new(r#""q""#, r#""order #12345 shipped""#);
    assert_eq!(score("regex", r##"{"pattern": "#\\d{5}"}"##, input.clone()).score, Some(1.0));
    assert_eq!(score("regex", r##"{"pattern": "#\\d{5}", "full_match": true}"##, input.clone()).score, Some(0.0));
    assert_eq!(score("regex", "{}", input.clone().expected(r#""shipped$""#)).score, Some(1.0));
    let invalid = first_party("regex").with_config(r#"{"pattern": "("}"#).evaluate(&input).outcome;
    assert!(matches!(invalid, Err(SandboxError::Plugin { kind: PluginErrorKind::InvalidConfig, .. })), "{invalid:?}");
}

#[test]
fn json_valid_checks_syntax_and_an_optional_schema() {
    assert_eq!(score("json_valid", "{}", EvalInput::new("1", r#""{\"a\": 1}""#)).score, Some(1.0));
    let broken = score("json_valid", "{}", EvalInput::new("1", r#""{\"a\": 1""#));
    assert_eq!((broken.score, broken.label.as_deref()), (Some(0.0), Some("invalid_json")));
    let schema = r#"{"schema": {"type": "object", "required": ["name"], "properties": {"age": {"type": "integer"}}}}"#;
    assert_eq!(score("json_valid", schema, EvalInput::new("1", r#"{"name": "Ada", "age": 36}"#)).score, Some(1.0));
    assert_eq!(score("json_valid", schema, EvalInput::new("1", r#"{"age": "old"}"#)).score, Some(0.0));
}

#[test]
fn levenshtein_distance_scores_similarity() {
    let kitten = score("levenshtein_distance", "{}", io(r#""kitten""#, r#""sitting""#));
    // Three edits over seven characters.
    assert!((kitten.score.unwrap() - (1.0 - 3.0 / 7.0)).abs() < 1e-9, "{kitten:?}");
    assert_eq!(score("levenshtein_distance", "{}", io(r#""same""#, r#""same""#)).score, Some(1.0));
    let relaxed = score("levenshtein_distance", r#"{"case_insensitive": true}"#, io(r#""SAME""#, r#""same""#));
    assert_eq!(relaxed.score, Some(1.0));
}

#[test]
fn json_distance_compares_structure() {
    let same = score("json_distance", "{}", io(r#"{"a": 1, "b": [1, 2]}"#, r#"{"b": [1, 2], "a": 1}"#));
    assert_eq!((same.score, same.label.as_deref()), (Some(1.0), Some("match")));
    let differs = score("json_distance", "{}", io(r#"{"a": 1, "b": [1, 3]}"#, r#"{"a": 1, "b": [1, 2]}"#));
    assert!(differs.score.unwrap() < 1.0 && differs.score.unwrap() > 0.0, "{differs:?}");
    assert_eq!(differs.label.as_deref(), Some("no_match"));
}

fn field(span: u32, path: &str, value: &str) -> Field {
    Field { span, path: path.into(), value: value.into() }
}

#[test]
fn pii_redacts_what_it_must_and_nothing_else() {
    let plugin = first_party("pii");
    assert_eq!(plugin.world(), World::Redactor);
    let fields = vec![
        field(0, "input.value", "write to jane.doe@example.com or call +1 415-555-0132"),
        field(0, "output.value", "card 4111-1111-1111-1111 ok, ref 4111 1111 1111 1112"),
        field(
            1,
            "llm.input_messages.0.message.content",
            "key sk-proj-abcdefghijklmnopqrstuvwxyz0123456789 from 10.1.2.3",
        ),
        field(1, "name", "ChatCompletion"),
        field(2, "note", "3 items at 12:30, order 2024-05-01"),
        field(2, "aws", "AKIAIOSFODNN7EXAMPLE"),
    ];
    let report = plugin.redact(&fields);
    let redactions = report.outcome.expect("redacts");
    let value = |index: u32| redactions.iter().find(|r| r.field == index).map(|r| r.value.as_str());
    assert_eq!(value(0), Some("write to <EMAIL> or call <PHONE>"));
    assert_eq!(value(1), Some("card <CARD> ok, ref 4111 1111 1111 1112"));
    let secret = value(2).expect("secret and IP redacted");
    assert!(secret.contains("<SECRET>") && secret.contains("<IP>") && !secret.contains("sk-proj"), "{secret}");
    assert_eq!(value(3), None, "unchanged fields are not returned");
    assert_eq!(value(4), None, "times, dates and small numbers are not PII");
    assert_eq!(value(5), Some("<SECRET>"));
}

fn llm_span(model: &str, prompt: i64, completion: i64) -> Span {
    Span {
        project: "default".into(),
        trace_id: "0".repeat(32),
        span_id: "1".repeat(16),
        parent_id: None,
        name: "ChatCompletion".into(),
        kind: "LLM".into(),
        status_code: "OK".into(),
        start_time_unix_nano: 0,
        end_time_unix_nano: 1,
        model_name: Some(model.into()),
        model_provider: None,
        prompt_tokens: Some(prompt),
        completion_tokens: Some(completion),
        total_tokens: Some(prompt + completion),
        attributes: "{}".into(),
    }
}

#[test]
fn cost_prices_llm_spans_and_leaves_the_rest() {
    let plugin = first_party("cost");
    assert_eq!(plugin.world(), World::SpanProcessor);
    let mut chain = llm_span("none", 0, 0);
    chain.kind = "CHAIN".into();
    chain.model_name = None;
    chain.prompt_tokens = None;
    let spans = vec![
        llm_span("gpt-4o-2024-08-06", 1_000_000, 1_000_000),
        chain,
        llm_span("gpt-4o-mini", 1_000_000, 0),
        llm_span("my-private-model", 10, 10),
    ];
    let changes = plugin.process(&spans).outcome.expect("processes");
    let cost = |index: u32| -> Option<serde_json::Value> {
        let change = changes.iter().find(|c| c.index == index)?;
        serde_json::from_str(&change.set_attributes).ok()
    };
    let gpt4o = cost(0).expect("gpt-4o priced");
    assert_eq!(gpt4o["llm.cost.prompt"], 2.5);
    assert_eq!(gpt4o["llm.cost.completion"], 10.0);
    assert_eq!(gpt4o["llm.cost.total"], 12.5);
    assert!(cost(1).is_none(), "no LLM, no cost");
    assert_eq!(cost(2).expect("mini priced")["llm.cost.prompt"], 0.15, "gpt-4o-mini is not gpt-4o");
    assert!(cost(3).is_none(), "unknown models are left alone");

    let custom = plugin.with_config(r#"{"prices": {"my-private-model": {"prompt": 1.0, "completion": 3.0}}}"#);
    let changes = custom.process(&spans[3..]).outcome.expect("processes");
    let set: serde_json::Value = serde_json::from_str(&changes[0].set_attributes).unwrap();
    assert!((set["llm.cost.total"].as_f64().unwrap() - 40.0 / 1e6).abs() < 1e-12, "{set}");
}

#[test]
fn every_first_party_plugin_describes_itself() {
    for (name, world) in [
        ("exact_match", World::Evaluator),
        ("contains", World::Evaluator),
        ("regex", World::Evaluator),
        ("json_valid", World::Evaluator),
        ("levenshtein_distance", World::Evaluator),
        ("json_distance", World::Evaluator),
        ("pii", World::Redactor),
        ("cost", World::SpanProcessor),
    ] {
        let plugin = first_party(name);
        assert_eq!(plugin.world(), world, "{name}");
        let descriptor = plugin.info().descriptor.clone().expect("described at load");
        assert_eq!(descriptor.name, name);
        assert!(!plugin.info().imports_wasi, "{name} is a pure component");
        assert!(plugin.info().size_bytes < 1 << 20, "{name} is small");
    }
}
