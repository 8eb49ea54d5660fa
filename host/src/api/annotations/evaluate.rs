//! `POST /v1/projects/{p}/evaluate_spans`: runs an evaluator plugin over a project's spans,
//! chosen with the span listing's filters, and stores each score as a span annotation.
//!
//! Body: `{"evaluator": "name" | "name@version", "config": {…}, "annotation_name": …,
//! "identifier": …, "expected": …, "filter": {"span_kind", "name", "status_code", "attribute",
//! "trace_id", "span_id", "start_time", "end_time", "limit"}}`. A failing call is reported for its
//! span and does not stop the others.

use axum::extract::State;
use axum::Json;
use futures::stream::{self, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};

use super::super::error::{ApiError, ApiResult};
use super::super::json_body::JsonBody;
use super::super::projects::ProjectRequest;
use super::super::span_filter::RawSpanFilter;
use super::super::AppState;
use crate::plugins::{CallError, EvalInput, ResolvedPlugin, Score, World};
use crate::store::{AnnotationTarget, NewAnnotation, SpanCursor, SpanQuery, SpanRow};
use crate::time::parse_time;

/// Spans evaluated when the filter sets no limit.
const DEFAULT_LIMIT: i64 = 1000;
/// Most spans one request may evaluate.
const MAX_LIMIT: i64 = 10_000;
/// Spans read (and annotated) per round.
const PAGE: i64 = 200;
/// Plugin calls in flight at once for one request; the sandbox's admission control also applies.
const CONCURRENCY: usize = 4;

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
    result: Result<Vec<Score>, CallError>,
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
    if resolved.world() != World::Evaluator {
        return Err(ApiError::invalid(format!("{} is a {} plugin, not an evaluator", resolved.name, resolved.world())));
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
    let plugin = resolved.with_config(config.clone());
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

/// Runs the evaluator on one span through the plugin host's call seam.
async fn run_one(state: &AppState, plugin: &ResolvedPlugin, span: SpanRow, expected: Option<String>) -> Outcome {
    let input = eval_input(&span, expected);
    let report = state.plugins.evaluate(plugin.clone(), input, format!("span {}", span.span_id)).await;
    Outcome { span, result: report.outcome, instructions: report.instructions }
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

fn time(name: &str, value: Option<String>) -> ApiResult<Option<i64>> {
    value
        .map(|raw| parse_time(&raw).ok_or_else(|| ApiError::invalid(format!("filter.{name} is not an ISO 8601 time"))))
        .transpose()
}

fn span_query(filter: SpanFilter, project_id: i64) -> ApiResult<SpanQuery> {
    let raw = RawSpanFilter {
        span_kind: strings(filter.span_kind),
        status_code: strings(filter.status_code),
        attribute: strings(filter.attribute),
        name: strings(filter.name),
        trace_id: strings(filter.trace_id),
        span_id: strings(filter.span_id),
        start_ns: time("start_time", filter.start_time)?,
        end_ns: time("end_time", filter.end_time)?,
    };
    raw.into_query(project_id, PAGE)
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
