//! The Python (componentize-py) and JavaScript (componentize-js) example evaluators, loaded by
//! the same sandbox through the same WIT as Rust plugins.

#![allow(clippy::unwrap_used)] // tests fail loudly on the first surprise

mod support;

use ember_sandbox::{CacheOutcome, EvalInput, Limits, PluginErrorKind, SandboxError, World};
use support::example;

#[test]
fn the_python_token_f1_evaluator_scores_through_the_sandbox() {
    let plugin = example("python_evaluator");
    assert_eq!(plugin.world(), World::Evaluator);
    assert!(plugin.info().imports_wasi);
    assert_eq!(plugin.info().descriptor.as_ref().unwrap().name, "token_f1");

    let input =
        EvalInput::new(r#""Who wrote Hamlet?""#, r#""It was Shakespeare""#).expected(r#""William Shakespeare""#);
    let report = plugin.evaluate(&input);
    let scores = report.outcome.expect("scores");
    // Tokens: {it, was, shakespeare} vs {william, shakespeare}: P = 1/3, R = 1/2, F1 = 0.4.
    assert!((scores[0].score.unwrap() - 0.4).abs() < 1e-9, "{scores:?}");
    assert_eq!(scores[0].label.as_deref(), Some("fail"));
    assert!(report.instructions > 0);
    assert!(!report.log.is_empty(), "the example logs through the host");

    let perfect = EvalInput::new(r#""q""#, r#""The Shakespeare.""#).expected(r#"{"answer": "shakespeare"}"#);
    let scores = plugin.evaluate(&perfect).outcome.expect("scores");
    assert_eq!(scores[0].score, Some(1.0));
    assert_eq!(scores[0].label.as_deref(), Some("pass"));

    let missing = plugin.evaluate(&EvalInput::new(r#""q""#, r#""a""#)).outcome;
    assert!(matches!(missing, Err(SandboxError::Plugin { kind: PluginErrorKind::InvalidInput, .. })), "{missing:?}");
}

#[test]
fn the_javascript_keyword_coverage_evaluator_scores_through_the_sandbox() {
    let plugin = example("js_evaluator");
    assert_eq!(plugin.world(), World::Evaluator);
    assert_eq!(plugin.info().descriptor.as_ref().unwrap().name, "keyword_coverage");

    let input = EvalInput::new(r#""Refunds?""#, r#""Refunds within 30 days.""#).expected(r#"["refund", "30 days"]"#);
    let scores = plugin.evaluate(&input).outcome.expect("scores");
    // Whole words: `refund` does not match `Refunds`; `30 days` does.
    assert_eq!(scores[0].score, Some(0.5), "{scores:?}");
    let both =
        EvalInput::new(r#""q""#, r#""A refund within 30  days""#).expected(r#"{"keywords": ["refund", "30 days"]}"#);
    assert_eq!(plugin.evaluate(&both).outcome.expect("scores")[0].score, Some(1.0));
}

#[test]
fn interpreted_guests_are_bounded_by_fuel_too() {
    let starved = example("python_evaluator").with_limits(Limits { fuel: 10_000, ..Limits::interpreted() });
    let input = EvalInput::new(r#""q""#, r#""a b c""#).expected(r#""a b""#);
    assert!(matches!(starved.evaluate(&input).outcome, Err(SandboxError::OutOfFuel { budget: 10_000 })));
}

#[test]
fn a_second_load_comes_from_the_compile_cache() {
    let wasm = support::component("examples", "js_evaluator");
    let sandbox = support::sandbox();
    let _ = sandbox.load_with_outcome(&wasm, Limits::interpreted()).expect("first load");
    let (_, outcome) = sandbox.load_with_outcome(&wasm, Limits::interpreted()).expect("second load");
    assert_eq!(outcome, CacheOutcome::Cached);
}
