//! Prompts against a real store: `Store::resolve_prompt_version` and rendering a stored version,
//! on an embedded SQLite store.

use serde_json::{json, Map, Value};

use super::validate::version_data;
use super::{chat_parts, render, PromptRef};
use crate::store::Store;

fn version(question: &str) -> Value {
    json!({
        "model_provider": "OPENAI", "model_name": "gpt-4o-mini",
        "template_type": "CHAT", "template_format": "MUSTACHE",
        "template": {"type": "chat", "messages": [{"role": "user", "content": question}]},
        "invocation_parameters": {"type": "openai", "openai": {"max_completion_tokens": 8}},
    })
}

#[tokio::test]
async fn references_resolve_to_versions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::connect(None, dir.path()).await.expect("store");
    let first = version_data(&version("first {{x}}")).expect("valid");
    let v1 = store.create_prompt_version("qa", None, "{}", &first).await.expect("created").version;
    let second = version_data(&version("second {{x}}")).expect("valid");
    let tags = [("prod".to_owned(), None)];
    let v2 = store.add_prompt_version(v1.prompt_id, &second, &tags).await.expect("added").version;
    store.set_prompt_version_tag(v1.prompt_id, v1.id, "old", None).await.expect("tagged");

    let resolve = |reference: PromptRef| {
        let store = store.clone();
        async move { store.resolve_prompt_version(&reference).await.expect("resolved").map(|v| v.id) }
    };
    let prompt_gid = crate::ids::global_id("Prompt", v1.prompt_id);
    assert_eq!(resolve(PromptRef::Version(v1.id)).await, Some(v1.id));
    assert_eq!(resolve(PromptRef::Latest("qa".into())).await, Some(v2.id));
    assert_eq!(resolve(PromptRef::Latest(prompt_gid.clone())).await, Some(v2.id));
    assert_eq!(resolve(PromptRef::Tag("qa".into(), "prod".into())).await, Some(v2.id));
    assert_eq!(resolve(PromptRef::Tag(prompt_gid, "old".into())).await, Some(v1.id));
    assert_eq!(resolve(PromptRef::Tag("qa".into(), "none".into())).await, None);
    assert_eq!(resolve(PromptRef::Latest("missing".into())).await, None);
    assert_eq!(resolve(PromptRef::Latest("Not A Name".into())).await, None);
    assert_eq!(resolve(PromptRef::Version(999)).await, None);

    let stored = store.resolve_prompt_version(&PromptRef::Version(v2.id)).await.expect("read").expect("found");
    assert_eq!(stored.prompt_name, "qa");
    let variables: Map<String, Value> = json!({"x": "y"}).as_object().cloned().unwrap_or_default();
    assert_eq!(render(&stored, &variables).expect("rendered")[0].content, "second y");
    assert_eq!(chat_parts(&stored).max_tokens, Some(8));
}
