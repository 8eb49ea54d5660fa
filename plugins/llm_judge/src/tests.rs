use super::*;
use ember_plugin_sdk::evaluator::llm::Role;

const JUDGE: Judge = Judge {
    name: "grounded",
    description: "test judge",
    template: "Q={input}\nA={output}\nR={reference}\nLABEL: grounded or ungrounded",
    good: "grounded",
    bad: "ungrounded",
    reference: Reference::Context,
    reference_name: "a context",
};

fn config(json: &str) -> Config {
    ember_plugin_sdk::parse_config(json).unwrap()
}

fn example() -> EvalInput {
    let mut input = EvalInput::new(r#"{"question": "Capital of France?"}"#, r#""Paris""#, None);
    input.metadata = r#"{"context": "Paris is the capital of France."}"#.into();
    input
}

fn reply(content: &str) -> Result<ChatResponse, ChatError> {
    Ok(ChatResponse {
        model: "judge-model-1".into(),
        message: Message::assistant(content),
        finish_reason: Some("stop".into()),
        usage: None,
    })
}

#[test]
fn sends_one_user_message_and_scores_the_label() {
    let cfg = config(r#"{"provider": "openai", "model": "gpt-4o-mini", "max_tokens": 200}"#);
    let mut seen = None;
    let score = JUDGE
        .evaluate_with(&cfg, &example(), |provider, request| {
            seen = Some((provider.to_owned(), request.clone()));
            reply("EXPLANATION: The context says so.\nLABEL: grounded")
        })
        .unwrap();
    let (provider, request) = seen.unwrap();
    assert_eq!(provider, "openai");
    assert_eq!(request.model, "gpt-4o-mini");
    assert_eq!(request.temperature, Some(0.0));
    assert_eq!(request.max_tokens, Some(200));
    assert_eq!(request.messages.len(), 1);
    assert!(matches!(request.messages[0].role, Role::User));
    assert_eq!(
        request.messages[0].content,
        "Q=Capital of France?\nA=Paris\nR=Paris is the capital of France.\nLABEL: grounded or ungrounded"
    );
    assert_eq!(score.name, "grounded");
    assert_eq!(score.score, Some(1.0));
    assert_eq!(score.label.as_deref(), Some("grounded"));
    assert_eq!(score.explanation.as_deref(), Some("The context says so."));
    assert_eq!(score.metadata.as_deref(), Some(r#"{"model":"judge-model-1","provider":"openai"}"#));
}

#[test]
fn bad_label_scores_zero() {
    let cfg = config(r#"{"provider": "p", "model": "m", "temperature": 0.5}"#);
    let score = JUDGE.evaluate_with(&cfg, &example(), |_, _| reply("Ungrounded.")).unwrap();
    assert_eq!(score.score, Some(0.0));
    assert_eq!(score.label.as_deref(), Some("ungrounded"));
    assert_eq!(score.explanation, None);
}

#[test]
fn unparsable_reply_is_a_plugin_error() {
    let cfg = config(r#"{"provider": "p", "model": "m"}"#);
    let err = JUDGE.evaluate_with(&cfg, &example(), |_, _| reply("I am not sure.")).unwrap_err();
    assert!(matches!(&err, PluginError::Failed(m) if m.starts_with("unparsable judge reply: ")), "{err:?}");
    assert!(err.message().contains("I am not sure."), "{err:?}");
    let long = "x".repeat(1000);
    let err = JUDGE.evaluate_with(&cfg, &example(), |_, _| reply(&long)).unwrap_err();
    assert!(err.message().len() < 400, "{err:?}");
}

#[test]
fn chat_errors_are_named() {
    let cfg = config(r#"{"provider": "openai", "model": "m"}"#);
    let cases = [
        (ChatError::InvalidRequest("unknown model".into()), "invalid-request: unknown model"),
        (ChatError::RateLimited(Some(1500)), "rate-limited (retry after 1500 ms)"),
        (ChatError::RateLimited(None), "rate-limited"),
        (ChatError::Unavailable("openai 503: down".into()), "unavailable: openai 503: down"),
        (ChatError::Failed("response larger than 10 bytes".into()), "failed: response larger than 10 bytes"),
    ];
    for (error, expected) in cases {
        let err = JUDGE.evaluate_with(&cfg, &example(), |_, _| Err(error)).unwrap_err();
        assert!(matches!(&err, PluginError::Failed(_)), "{err:?}");
        assert_eq!(err.message(), format!("llm call through `openai` failed: {expected}"));
    }
}

#[test]
fn missing_provider_or_model_names_the_key() {
    let never = |_: &str, _: &ChatRequest| -> Result<ChatResponse, ChatError> { panic!("no call expected") };
    let err = JUDGE.evaluate_with(&config(r#"{"model": "m"}"#), &example(), never).unwrap_err();
    assert!(matches!(&err, PluginError::InvalidConfig(m) if m.contains("`provider`")), "{err:?}");
    let err = JUDGE.evaluate_with(&config(r#"{"provider": " "}"#), &example(), never).unwrap_err();
    assert!(matches!(&err, PluginError::InvalidConfig(m) if m.contains("`provider`")), "{err:?}");
    let err = JUDGE.evaluate_with(&config(r#"{"provider": "p"}"#), &example(), never).unwrap_err();
    assert!(matches!(&err, PluginError::InvalidConfig(m) if m.contains("`model`")), "{err:?}");
    assert!(ember_plugin_sdk::parse_config::<Config>(r#"{"provider": "p", "modle": "m"}"#).is_err());
}

#[test]
fn missing_reference_is_invalid_input() {
    let cfg = config(r#"{"provider": "p", "model": "m"}"#);
    let input = EvalInput::new(r#""q""#, r#""a""#, None);
    let never = |_: &str, _: &ChatRequest| -> Result<ChatResponse, ChatError> { panic!("no call expected") };
    let err = JUDGE.evaluate_with(&cfg, &input, never).unwrap_err();
    assert!(matches!(&err, PluginError::InvalidInput(m) if m.contains("a context")), "{err:?}");
}

#[test]
fn template_override() {
    let cfg = config(r#"{"provider": "p", "model": "m", "template": "Judge {output} against {reference}."}"#);
    let mut prompt = String::new();
    JUDGE
        .evaluate_with(&cfg, &example(), |_, request| {
            prompt = request.messages[0].content.clone();
            reply("grounded")
        })
        .unwrap();
    assert_eq!(prompt, "Judge Paris against Paris is the capital of France..");
    let cfg = config(r#"{"provider": "p", "model": "m", "template": "{nope}"}"#);
    let err = JUDGE.evaluate_with(&cfg, &example(), |_, _| reply("grounded")).unwrap_err();
    assert!(matches!(&err, PluginError::InvalidConfig(m) if m.contains("{nope}")), "{err:?}");
}
