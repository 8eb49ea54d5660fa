//! Provider failures through the playground: a 429 retried into a success, rate limits and 5xx
//! that outlast the retries, a timeout, an oversized reply; failed calls stored as ERROR spans.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{chat, chat_request, configure, error_message, setup};
use crate::harness::Backend;
use crate::llm_server::{ANTHROPIC_500_MESSAGE, OPENAI_500_MESSAGE};
use crate::on_both_backends;

/// Attempts the host makes by default before giving up (contract: `max_attempts` default 4).
const DEFAULT_MAX_ATTEMPTS: usize = 4;

async fn retries_and_provider_errors(backend: Backend) {
    let Some(setup) = setup(backend).await else { return };
    let (ember, llm) = (&setup.ember, &setup.llm);
    for provider in ["openai", "anthropic"] {
        // Refused once with `retry-after: 0`, then answered: one success after two attempts.
        let before = llm.count("rate-limit-once");
        let text = format!("retry me through {provider}");
        let (status, body) = chat(ember, &chat_request(provider, "rate-limit-once", &text)).await;
        assert_eq!(status, 200, "{provider}: {body}");
        assert_eq!(body["data"]["attempts"], 2, "{body}");
        assert_eq!(body["data"]["message"]["content"], text.as_str());
        assert_eq!(llm.count("rate-limit-once") - before, 2, "{provider}");

        // Always rate limited: 429 once the attempts are spent.
        let before = llm.count("always-429");
        let (status, body) = chat(ember, &chat_request(provider, "always-429", "hi")).await;
        assert_eq!(status, 429, "{provider}: {body}");
        assert!(!error_message(&body).is_empty(), "{body}");
        assert_eq!(llm.count("always-429") - before, DEFAULT_MAX_ATTEMPTS, "{provider}");

        // Always failing: 502 carrying the provider's own message, after the same retries.
        let before = llm.count("always-500");
        let (status, body) = chat(ember, &chat_request(provider, "always-500", "hi")).await;
        assert_eq!(status, 502, "{provider}: {body}");
        let expected = if provider == "anthropic" { ANTHROPIC_500_MESSAGE } else { OPENAI_500_MESSAGE };
        let message = error_message(&body);
        assert!(message.contains(expected) && message.contains("500"), "{provider}: {body}");
        assert_eq!(llm.count("always-500") - before, DEFAULT_MAX_ATTEMPTS, "{provider}");
    }

    // Failed calls are stored too, as ERROR spans naming the model.
    let spans = ember.wait_for_spans("playground", 6).await;
    let failed: Vec<_> = spans.iter().filter(|s| s["status_code"] == "ERROR").collect();
    assert_eq!(failed.len(), 4, "two failures per provider: {spans:?}");
    assert!(failed.iter().all(|s| s["span_kind"] == "LLM"), "{failed:?}");
    assert!(failed.iter().any(|s| s["attributes"]["llm.model_name"] == "always-500"), "{failed:?}");
    assert!(failed.iter().any(|s| s["status_message"].as_str().unwrap_or_default().contains("500")), "{failed:?}");
    setup.db.cleanup().await;
}

async fn timeout_and_oversized_reply(backend: Backend) {
    let Some(setup) = setup(backend).await else { return };
    let (ember, llm) = (&setup.ember, &setup.llm);
    let base_url = format!("{}/v1", llm.base_url());

    // The provider answers after 10 s; the plugin's 300 ms timeout ends each attempt early.
    configure(ember, "openai", json!({"base_url": base_url, "timeout_ms": 300})).await;
    let started = Instant::now();
    let (status, body) = chat(ember, &chat_request("openai", "slow", "take your time")).await;
    let elapsed = started.elapsed();
    assert_eq!(status, 502, "{body}");
    assert!(error_message(&body).contains("timeout"), "{body}");
    assert!(elapsed < Duration::from_secs(8), "timed out after {elapsed:?}");
    assert!(llm.count("slow") >= 1);

    // A 2 MiB reply over the 1 MiB cap: refused as too large, and not retried.
    configure(ember, "openai", json!({"base_url": base_url})).await;
    let (status, body) = chat(ember, &chat_request("openai", "huge", "say a lot")).await;
    assert_eq!(status, 502, "{body}");
    let message = error_message(&body);
    assert!(message.contains("larger than") && message.contains("1048576"), "{body}");
    assert_eq!(llm.count("huge"), 1, "an oversized reply is not retried");

    // The server, and the provider, keep working.
    let (status, body) = chat(ember, &chat_request("openai", "echo", "still there?")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["message"]["content"], "still there?");
    let (status, _) = ember.get_json("/healthz").await;
    assert_eq!(status, 200);
    setup.db.cleanup().await;
}

on_both_backends!(retries_and_provider_errors, timeout_and_oversized_reply);
