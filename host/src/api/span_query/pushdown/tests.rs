//! The compiled condition against the evaluator, on real SQLite and PostgreSQL: for each
//! condition the database must select every span the evaluator keeps, and exactly those where
//! the compilation claims to be exact.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::json;

use super::super::filter::{self, matches};
use super::super::Span;
use super::*;
use crate::model::SpanRecord;
use crate::store::temp_postgres::{on_postgres, on_sqlite};
use crate::store::{SpanQuery, SpanSort, Store};

/// Spans whose fields and attributes cover the types and edge cases the evaluator tells apart.
fn spans() -> Vec<SpanRecord> {
    let attributes = [
        json!({"llm": {"token_count": {"total": 30}, "model_name": "gpt-4o"}, "metadata": {"topic": "geo"}, "flag": true}),
        json!({"llm": {"token_count": {"total": 9_007_199_254_740_993_i64}}, "metadata": {"topic": 3}, "flag": false}),
        json!({"llm": {"token_count": {"total": 1.5}}, "metadata": {"topic": null}, "tags": ["x", "y"]}),
        json!({"llm": {"token_count": {"total": "30"}}, "metadata": {"topic": ["geo"]}, "output": {"value": 42}}),
        json!({"metadata": {"topic": {"geo": 1}}, "input": {"value": ["not", "moved"]}, "flag": 1}),
        json!({"metadata": {"topic": "Ünïcode"}, "llm": {"model_name": "claude"}}),
        json!({}),
    ];
    let names = ["alpha", "beta", "Ünïcode", "", "alpha beta", "ALPHA", "zeta"];
    let kinds = ["LLM", "CHAIN", "TOOL", "LLM", "RETRIEVER", "LLM", "CHAIN"];
    let statuses = ["OK", "ERROR", "UNSET", "OK", "ERROR", "UNSET", "OK"];
    (0..attributes.len())
        .map(|i| SpanRecord {
            project: Arc::from("default"),
            trace_id: format!("{:032x}", i / 2 + 1),
            span_id: format!("{:016x}", i + 1),
            parent_id: (i % 2 == 1).then(|| format!("{:016x}", i)),
            name: names[i].to_owned(),
            span_kind: kinds[i].to_owned(),
            status_code: statuses[i],
            status_message: if i == 1 { "boom".to_owned() } else { String::new() },
            start_ns: 1_000_000 + i as i64 * 1_000,
            end_ns: 1_000_000 + i as i64 * 1_500 + 500,
            model_name: None,
            token_prompt: None,
            token_completion: None,
            token_total: None,
            input_value: (i % 3 != 2).then(|| format!("question {i} about Paris")),
            input_mime_type: (i % 3 == 0).then(|| "text/plain".to_owned()),
            output_value: [Some("Paris is nice"), Some("Rome"), None, None, Some(""), Some("paris"), Some("Ünï")][i]
                .map(str::to_owned),
            output_mime_type: None,
            session_id: None,
            attributes: attributes[i].to_string(),
            events: "[]".to_owned(),
        })
        .collect()
}

/// Conditions with whether their compilation is exact.
const CONDITIONS: &[(&str, bool)] = &[
    ("span_kind == 'LLM'", true),
    ("status_code == 'ERROR'", true),
    ("status_code != 'ERROR'", true),
    ("not status_code == 'ERROR'", true),
    ("span_kind in ('LLM', 'TOOL')", true),
    ("span_kind not in ['LLM', 'TOOL']", true),
    ("name == ''", true),
    ("name < 'beta'", true),
    ("name >= 'alpha'", true),
    ("'beta' > name", true),
    ("name > 'Z'", true),
    ("'alpha' in name", true),
    ("'' in name", true),
    ("'alpha' not in name", true),
    ("parent_id is None", true),
    ("parent_id is not None", true),
    ("parent_id == None", true),
    ("parent_id != '0000000000000001'", true),
    ("'0000000000000001' != parent_id", true),
    ("status_message == 'boom' or span_kind == 'CHAIN'", true),
    ("llm.token_count.total > 10", true),
    ("llm.token_count.total == 30", true),
    ("llm.token_count.total == 9007199254740992", true),
    ("llm.token_count.total == '30'", true),
    ("llm.token_count.total != 30", true),
    ("10 < llm.token_count.total <= 30", true),
    ("llm.token_count.total < 2", true),
    ("attributes.llm.model_name == 'gpt-4o'", true),
    ("llm.model_name is not None", true),
    ("metadata['topic'] == 'geo'", true),
    ("metadata['topic'] in ('geo', 3, None)", true),
    ("metadata['topic'] is None", true),
    ("metadata['topic'] > 'Z'", true),
    ("metadata.topic < 5", true),
    ("metadata.topic == True", true),
    ("flag == True", true),
    ("flag == False", true),
    ("flag == 1", true),
    ("flag is not True", true),
    ("metadata.topic > True", true),
    ("'Paris' in output.value", false),
    ("'' in output.value", false),
    ("'Paris' not in output.value", false),
    ("output.value == 'Rome'", true),
    ("output.value == 42", true),
    ("output.value is None", true),
    ("output.value is not None", true),
    ("input.value == 'question 0 about Paris'", true),
    ("input.mime_type != 'text/plain'", true),
    ("'x' in tags", false),
    ("'x' not in tags", false),
    ("start_time > 1002000", true),
    ("end_time <= 1004000", true),
    ("latency_ms > 0.0001", true),
    ("span_kind == 'LLM' and name == span_kind", false),
    ("span_kind == 'LLM' or name == span_kind", false),
    ("not (name == span_kind)", false),
    ("not ('x' in tags)", false),
    ("llm.token_count.total", false),
    ("tags[0] == 'x'", false),
    ("events == []", false),
    ("span_kind == 'LLM' and (flag == True or llm.token_count.total > 1)", true),
    ("True", true),
    ("None", true),
    ("span_kind == 'LLM' and not (output.value is None or input.mime_type == 'text/plain')", true),
    ("span_kind == 'LLM' and not (output.value is None or 'Paris' in input.value)", false),
];

fn query(project_id: i64, condition: Option<SpanCondition>) -> SpanQuery {
    SpanQuery {
        project_id,
        sort: SpanSort::Id,
        descending: false,
        limit: 1_000,
        cursor: None,
        start_ns: None,
        end_ns: None,
        trace_ids: Vec::new(),
        span_ids: Vec::new(),
        parent_id: None,
        names: Vec::new(),
        span_kinds: Vec::new(),
        status_codes: Vec::new(),
        model_names: Vec::new(),
        attributes: Vec::new(),
        condition,
    }
}

async fn database_agrees_with_the_evaluator(store: &Store) {
    store.write_batch(&spans()).await.expect("written");
    let project = store.project_by_name("default").await.expect("read").expect("project");
    let all: Vec<Span> =
        store.list_spans(&query(project.id, None)).await.expect("all").into_iter().map(Span::new).collect();
    assert_eq!(all.len(), spans().len());
    let mut some_selected = 0;
    for (text, exact) in CONDITIONS {
        let expr = filter::parse(text).expect("parses");
        let pushdown = compile(&expr);
        assert_eq!(pushdown.exact, *exact, "{text}: exactness of {:?}", pushdown.condition);
        let kept: BTreeSet<&str> =
            all.iter().filter(|s| matches(&expr, &|k| s.field(k))).map(|s| s.row.span_id.as_str()).collect();
        let rows = store
            .list_spans(&query(project.id, Some(pushdown.condition.clone())))
            .await
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        let selected: BTreeSet<&str> = rows
            .iter()
            .map(|r| all.iter().find(|s| s.row.span_id == r.span_id).expect("known").row.span_id.as_str())
            .collect();
        assert!(kept.is_subset(&selected), "{text}: kept {kept:?}, the database selected {selected:?}");
        if *exact {
            assert_eq!(kept, selected, "{text}");
        }
        some_selected += usize::from(!kept.is_empty() && kept.len() < all.len());
    }
    // The conditions tell spans apart, so the comparison above means something.
    assert!(some_selected > CONDITIONS.len() / 2, "{some_selected}");
}

#[tokio::test]
async fn sqlite_selects_what_the_evaluator_keeps() {
    on_sqlite(database_agrees_with_the_evaluator).await;
}

#[tokio::test]
async fn postgres_selects_what_the_evaluator_keeps() {
    on_postgres("pushdown", database_agrees_with_the_evaluator).await;
}

#[test]
fn what_cannot_compile_widens_and_is_never_negated() {
    let c = |text: &str| compile(&filter::parse(text).expect("parses"));
    // A part that cannot compile drops out of an `and`…
    let and = c("span_kind == 'LLM' and name == span_kind");
    assert_eq!(
        and.condition,
        SpanCondition::All(vec![SpanCondition::Compare(
            Operand::Text(TextColumn::SpanKind),
            Comparison::Eq,
            Literal::Text("LLM".into())
        )])
    );
    // …makes an `or` unconstrained, and is not negated.
    for text in ["span_kind == 'LLM' or name == span_kind", "not ('x' in tags)", "events == []"] {
        assert_eq!(c(text), Pushdown { condition: SpanCondition::All(Vec::new()), exact: false }, "{text}");
    }
    assert_eq!(source("attributes.name"), Source::Attribute("name"));
    assert_eq!(source("context.trace_id"), Source::Text(TextColumn::TraceId));
}
