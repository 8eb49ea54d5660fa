use serde_json::{json, Value};

use super::*;

fn check(cond: &str, span: &Value) -> bool {
    let expr = parse(cond).expect("parses");
    matches(&expr, &|path: &str| span.get(path).cloned().unwrap_or(Value::Null))
}

/// Runs `f` on a thread with a 256 KiB stack, far less than the 2 MiB of a test thread, so that
/// any recursion proportional to the input's size overflows and fails the test.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .expect("spawns")
        .join()
        .expect("did not overflow or panic");
}

#[test]
fn python_conditions_evaluate() {
    let span = json!({"span_kind": "LLM", "llm.token_count.total": 30, "output.value": "Paris is nice",
                      "parent_id": null, "metadata.topic": "geo"});
    assert!(check("span_kind == 'LLM'", &span));
    assert!(check("span_kind == \"LLM\" and llm.token_count.total > 10", &span));
    assert!(!check("llm.token_count.total >= 31 or span_kind != 'LLM'", &span));
    assert!(check("'Paris' in output.value", &span));
    assert!(check("'Rome' not in output.value", &span));
    assert!(check("parent_id is None", &span));
    assert!(!check("parent_id is not None", &span));
    assert!(check("metadata['topic'] in ('geo', 'math')", &span));
    assert!(check("not (span_kind in ['CHAIN'])", &span));
    assert!(check("10 < llm.token_count.total <= 30", &span));
    assert!(!check("missing.attr > 3", &span));
    assert!(check("llm.token_count.total > -1.5", &span));
    assert!(check("span_kind == 'X' or span_kind == 'Y' or span_kind == 'LLM'", &span));
    assert!(!check("span_kind == 'LLM' and parent_id is None and missing.attr", &span));
    assert!(check("(span_kind == 'X' or 1) and not not span_kind", &span));
}

#[test]
fn bad_conditions_are_refused() {
    for bad in ["span_kind ==", "'open", "a $ b", "annotations['x'].score > 1", "(a", "a b", "- 'x'"] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}

fn nested_conditions(n: usize) -> Vec<String> {
    vec![
        format!("{}a{}", "(".repeat(n), ")".repeat(n)),
        format!("a in {}1{}", "[".repeat(n), "]".repeat(n)),
        format!("{}a", "not ".repeat(n)),
        format!("a > {}1", "- ".repeat(n)),
        format!("a > {}1", "+".repeat(n)),
        "(".repeat(n),
    ]
}

#[test]
fn deep_nesting_is_refused_without_deep_recursion() {
    on_small_stack(|| {
        // 10,000 levels: refused (by the length or depth limit), never a stack overflow.
        for cond in nested_conditions(10_000) {
            assert!(parse(&cond).is_err(), "{} bytes accepted", cond.len());
        }
        // 1,500 levels fit the length and token limits, so the depth limit must refuse them.
        for cond in nested_conditions(1_500) {
            let err = parse(&cond).expect_err("refused");
            assert!(err.contains("nested more than 64 levels"), "{err}");
        }
    });
}

#[test]
fn nesting_up_to_the_limit_parses_and_evaluates() {
    on_small_stack(|| {
        let span = json!({"a": 3});
        let field = |path: &str| span.get(path).cloned().unwrap_or(Value::Null);
        let n = 60;
        let cases = [
            (format!("{}a == 3{}", "(".repeat(n), ")".repeat(n)), true),
            (format!("{}a == 3{}", "(not not ".repeat(n / 3), ")".repeat(n / 3)), true),
            (format!("{}a == 4", "not ".repeat(n - 1)), true),
            (format!("a == {}3", "- ".repeat(n)), true),
            (format!("a > {}3", "- ".repeat(n - 1)), true),
            (format!("{}a == 3 or a{}", "(a == 3 and ".repeat(n), ")".repeat(n)), true),
            (format!("{}a == 3{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH)), true),
        ];
        for (cond, expected) in cases {
            let expr = parse(&cond).unwrap_or_else(|e| panic!("{cond}: {e}"));
            assert_eq!(matches(&expr, &field), expected, "{cond}");
        }
        let over = format!("{}a == 3{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        assert!(parse(&over).is_err());
    });
}

#[test]
fn long_and_or_chains_stay_flat() {
    on_small_stack(|| {
        let span = json!({"a": 3});
        let field = |path: &str| span.get(path).cloned().unwrap_or(Value::Null);
        let ors = format!("{}a == 3", "a == 1 or ".repeat(1_000));
        let ands = format!("{}a == 4", "a == 3 and ".repeat(1_000));
        assert!(matches(&parse(&ors).expect("parses"), &field));
        assert!(!matches(&parse(&ands).expect("parses"), &field));
        let long_list = format!("a in ({})", vec!["3"; 2_000].join(","));
        assert!(matches(&parse(&long_list).expect("parses"), &field));
    });
}

#[test]
fn oversized_conditions_are_refused() {
    let long = format!("a == '{}'", "x".repeat(MAX_CONDITION_BYTES));
    assert!(parse(&long).expect_err("too long").contains("bytes long"));
    let many = vec!["a"; MAX_TOKENS + 1].join(",");
    assert!(parse(&format!("a in [{many}]")).expect_err("too many").contains("tokens"));
    let fits = vec!["1"; MAX_TOKENS / 2 - 10].join(",");
    assert!(parse(&format!("a in [{fits}]")).is_ok());
}
