//! `POST /v1/projects/{p}/evaluate_spans`: runs an evaluator plugin over a project's spans,
//! chosen with the span listing's filters, and stores each score as a span annotation.
//!
//! Body: `{"evaluator": "name" | "name@version", "config": {…}, "annotation_name": …,
//! "identifier": …, "expected": …, "filter": {"span_kind", "name", "status_code", "attribute",
//! "trace_id", "span_id", "start_time", "end_time", "limit"}}`. A failing call is reported for its
//! span and does not stop the others.

use std::time::Duration;

use axum::extract::State;
use axum::Json;
use ember_sandbox::{EvalInput, SandboxError, Score, World};
use futures::stream::{self, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};

use super::super::error::{ApiError, ApiResult};
use super::super::json_body::JsonBody;
use super::super::projects::ProjectRequest;
use super::super::AppState;
use crate::ingest::openinference::SPAN_KINDS;
use crate::plugins::ResolvedPlugin;
use crate::store::{AnnotationTarget, NewAnnotation, SpanCursor, SpanQuery, SpanRow, SpanSort};
use crate::time::parse_time;

/// Spans evaluated when the filter sets no limit.
const DEFAULT_LIMIT: i64 = 1000;
/// Most spans one request may evaluate.
const MAX_LIMIT: i64 = 10_000;
/// Spans read (and annotated) per round.
const PAGE: i64 = 200;
/// Plugin calls in flight at once for one request; the sandbox's admission control also applies.
const CONCURRENCY: usize = 4;
/// Attempts of a call the sandbox refused for lack of capacity.
const BUSY_ATTEMPTS: u32 = 5;

/// A string or a list of strings.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Strings {
    One(String),
    Many(Vec<String>),
}

impl Strings {
    fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(one) => vec![one],
            Self::Many(many) => many,
        }
    }
}

fn strings(value: Option<Strings>) -> Vec<String> {
    value.map(Strings::into_vec).unwrap_or_default()
}

/// Which spans to evaluate.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpanFilter {
    span_kind: Option<Strings>,
    name: Option<Strings>,
    status_code: Option<Strings>,
    attribute: Option<Strings>,
    trace_id: Option<Strings>,
    span_id: Option<Strings>,
    start_time: Option<String>,
    end_time: Option<String>,
    limit: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EvaluateBody {
    evaluator: String,
    #[serde(default)]
    config: Option<Value>,
    #[serde(default)]
    annotation_name: Option<String>,
    #[serde(default)]
    identifier: Option<String>,
    #[serde(default)]
    expected: Option<Value>,
    #[serde(default)]
    filter: SpanFilter,
}

/// What one span's evaluation produced.
struct Outcome {
    span: SpanRow,
    result: Result<Vec<Score>, SandboxError>,
    instructions: u64,
}

/// `POST /v1/projects/{p}/evaluate_spans`.
pub async fn evaluate_spans(
    State(state): State<AppState>,
    ProjectRequest { project, .. }: ProjectRequest,
    JsonBody(body): JsonBody<EvaluateBody>,
) -> ApiResult<Json<Value>> {
    let resolved = state
        .plugins
        .resolve(&body.evaluator)
        .ok_or_else(|| ApiError::not_found(format!("no plugin {} is installed", body.evaluator)))?;
    if resolved.plugin.world() != World::Evaluator {
        return Err(ApiError::invalid(format!(
            "{} is a {} plugin, not an evaluator",
            resolved.name,
            resolved.plugin.world()
        )));
    }
    let config = match &body.config {
        Some(config @ Value::Object(_)) => config.to_string(),
        Some(Value::Null) | None => "{}".to_owned(),
        Some(_) => return Err(ApiError::invalid("`config` must be a JSON object")),
    };
    let annotation_name = match body.annotation_name.as_deref().map(str::trim) {
        Some("") => return Err(ApiError::invalid("`annotation_name` must be non-empty")),
        Some(name) => name.to_owned(),
        None => resolved.name.clone(),
    };
    let limit = body.filter.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(format!("filter.limit must be from 1 to {MAX_LIMIT}, got {limit}")));
    }
    let mut query = span_query(body.filter, project.id)?;
    let plugin = ResolvedPlugin { plugin: resolved.plugin.with_config(config.clone()), ..resolved };
    let expected = body.expected.as_ref().map(Value::to_string);
    let identifier = body.identifier.unwrap_or_default();
    let config: Value = serde_json::from_str(&config).unwrap_or_else(|_| json!({}));

    let (mut evaluated, mut annotated, mut failed) = (0u64, 0u64, Vec::new());
    let mut remaining = limit;
    while remaining > 0 {
        query.limit = remaining.min(PAGE);
        let mut spans = state.store.list_spans(&query).await?;
        let next = if spans.len() as i64 > query.limit { spans.pop() } else { None };
        remaining -= spans.len() as i64;
        let outcomes: Vec<Outcome> = stream::iter(spans)
            .map(|span| run_one(&state, &plugin, span, expected.clone()))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut annotations = Vec::new();
        for outcome in outcomes {
            match outcome.result {
                Ok(scores) => {
                    evaluated += 1;
                    let several = scores.len() > 1;
                    for score in scores {
                        let name = if several { score.name.clone() } else { annotation_name.clone() };
                        let metadata = json!({
                            "evaluator": { "name": plugin.name, "version": plugin.version, "sha256": plugin.sha256 },
                            "config": config,
                            "instructions": outcome.instructions,
                            "score_name": score.name,
                            "score_metadata": score.metadata.as_deref().and_then(|m| serde_json::from_str::<Value>(m).ok()),
                        });
                        annotations.push(NewAnnotation {
                            target_rowid: outcome.span.id,
                            name,
                            annotator_kind: "CODE".to_owned(),
                            label: score.label,
                            score: score.score,
                            explanation: score.explanation,
                            metadata: metadata.to_string(),
                            identifier: identifier.clone(),
                            source: "API".to_owned(),
                            user_id: None,
                        });
                    }
                }
                Err(err) => failed.push(json!({
                    "span_id": outcome.span.span_id,
                    "kind": err.kind(),
                    "message": err.to_string(),
                })),
            }
        }
        annotated += state.store.upsert_annotations(AnnotationTarget::Span, &annotations).await?.len() as u64;
        match next {
            Some(row) => query.cursor = Some(SpanCursor { start_ns: row.start_ns, id: row.id }),
            None => break,
        }
    }
    tracing::info!(
        project = %project.name,
        evaluator = %plugin.name,
        evaluated,
        annotated,
        failed = failed.len(),
        "spans evaluated"
    );
    Ok(Json(json!({ "data": { "evaluated": evaluated, "annotated": annotated, "failed": failed } })))
}

/// Runs the evaluator on one span on the blocking pool, retrying capacity refusals briefly,
/// and records the call's metrics.
async fn run_one(state: &AppState, plugin: &ResolvedPlugin, span: SpanRow, expected: Option<String>) -> Outcome {
    let input = eval_input(&span, expected);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let call = plugin.plugin.clone();
        let input = input.clone();
        let tracing_span = tracing::info_span!(
            "plugin_call",
            plugin = %plugin.name,
            world = "evaluator",
            span_id = %span.span_id,
        );
        let report = tokio::task::spawn_blocking(move || tracing_span.in_scope(|| call.evaluate(&input))).await;
        let report = match report {
            Ok(report) => report,
            Err(err) => {
                let err = SandboxError::Trap(format!("the plugin call did not complete: {err}"));
                return Outcome { span, result: Err(err), instructions: 0 };
            }
        };
        let outcome = report.outcome.as_ref().err().map_or("ok", SandboxError::kind);
        state.metrics.record_call(&plugin.name, outcome, report.instructions, report.elapsed);
        match report.outcome {
            Err(err) if err.is_transient() && attempt < BUSY_ATTEMPTS => {
                tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
            }
            result => return Outcome { span, result, instructions: report.instructions },
        }
    }
}

/// A span's value as the evaluator sees it: parsed JSON when its MIME type says JSON (and it
/// parses), else the text; `null` when absent.
fn value_json(value: Option<&str>, mime_type: Option<&str>) -> String {
    let Some(value) = value else { return "null".to_owned() };
    if mime_type.is_some_and(|m| m.to_ascii_lowercase().contains("json")) {
        if let Ok(parsed) = serde_json::from_str::<Value>(value) {
            return parsed.to_string();
        }
    }
    Value::String(value.to_owned()).to_string()
}

fn eval_input(span: &SpanRow, expected: Option<String>) -> EvalInput {
    let attributes = serde_json::from_str::<Value>(&span.attributes).unwrap_or_else(|_| json!({}));
    let metadata = json!({
        "span_id": span.span_id,
        "trace_id": span.trace_id,
        "span_kind": span.span_kind,
        "name": span.name,
        "status_code": span.status_code,
        "attributes": attributes,
    });
    EvalInput {
        input: value_json(span.input_value.as_deref(), span.input_mime_type.as_deref()),
        output: value_json(span.output_value.as_deref(), span.output_mime_type.as_deref()),
        expected,
        metadata: metadata.to_string(),
    }
}

fn upper(values: Vec<String>) -> Vec<String> {
    values.into_iter().map(|v| v.to_ascii_uppercase()).collect()
}

/// `key:value`, the key a dot-path and the value JSON-parsed (else a string), as in the span listing.
fn attribute_filter(raw: &str) -> ApiResult<(Vec<String>, Value)> {
    let Some((key, value)) = raw.split_once(':') else {
        return Err(ApiError::invalid(format!("attribute filter must be key:value, got {raw:?}")));
    };
    let path: Vec<String> = key.split('.').map(str::to_owned).collect();
    if key.is_empty() || path.iter().any(String::is_empty) {
        return Err(ApiError::invalid(format!("attribute filter has an empty key segment: {raw:?}")));
    }
    let value = serde_json::from_str::<Value>(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok((path, value))
}

fn time(name: &str, value: Option<String>) -> ApiResult<Option<i64>> {
    value
        .map(|raw| parse_time(&raw).ok_or_else(|| ApiError::invalid(format!("filter.{name} is not an ISO 8601 time"))))
        .transpose()
}

fn span_query(filter: SpanFilter, project_id: i64) -> ApiResult<SpanQuery> {
    let span_kinds = upper(strings(filter.span_kind));
    if let Some(bad) = span_kinds.iter().find(|k| !SPAN_KINDS.contains(&k.as_str())) {
        return Err(ApiError::invalid(format!("unknown span_kind {bad:?}; expected one of {}", SPAN_KINDS.join(", "))));
    }
    let status_codes = upper(strings(filter.status_code));
    if let Some(bad) = status_codes.iter().find(|k| !["OK", "ERROR", "UNSET"].contains(&k.as_str())) {
        return Err(ApiError::invalid(format!("unknown status_code {bad:?}; expected OK, ERROR or UNSET")));
    }
    let attributes = strings(filter.attribute).iter().map(|raw| attribute_filter(raw)).collect::<ApiResult<_>>()?;
    Ok(SpanQuery {
        project_id,
        sort: SpanSort::Id,
        descending: false,
        limit: PAGE,
        cursor: None,
        start_ns: time("start_time", filter.start_time)?,
        end_ns: time("end_time", filter.end_time)?,
        trace_ids: strings(filter.trace_id),
        span_ids: strings(filter.span_id),
        parent_id: None,
        names: strings(filter.name),
        span_kinds,
        status_codes,
        model_names: Vec::new(),
        attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_parsed_only_when_json() {
        assert_eq!(value_json(Some("{\"a\":1}"), Some("application/json")), "{\"a\":1}");
        assert_eq!(value_json(Some("{\"a\":1}"), Some("text/plain")), "\"{\\\"a\\\":1}\"");
        assert_eq!(value_json(Some("not json"), Some("application/json")), "\"not json\"");
        assert_eq!(value_json(None, None), "null");
    }

    #[test]
    fn filters_are_checked() {
        let filter: SpanFilter =
            serde_json::from_value(json!({"span_kind": "llm", "attribute": ["a.b:1"]})).expect("valid filter");
        let query = span_query(filter, 1).expect("valid filter");
        assert_eq!(query.span_kinds, vec!["LLM"]);
        assert_eq!(query.attributes, vec![(vec!["a".to_owned(), "b".to_owned()], json!(1))]);
        let filter: SpanFilter = serde_json::from_value(json!({"span_kind": "robot"})).expect("valid filter");
        assert!(span_query(filter, 1).is_err());
        assert!(serde_json::from_value::<SpanFilter>(json!({"bogus": 1})).is_err());
    }
}
