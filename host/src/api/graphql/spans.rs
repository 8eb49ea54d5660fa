//! Spans with their attributes, events and annotations, and adding annotations.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Json, Object, SimpleObject, ID};
use serde_json::Value;

use super::loaders::{SpanAnnotations, SpanKey};
use super::{internal, json_column};
use crate::api::AppState;
use crate::store::{AnnotationRow, AnnotationTarget, NewAnnotation, SpanRow};
use crate::time::iso_time;

/// A stored span.
pub struct Span(pub SpanRow);

/// A span's input or output value.
#[derive(SimpleObject)]
pub struct IoValue {
    pub value: String,
    pub mime_type: Option<String>,
}

#[Object]
impl Span {
    /// The span's row id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn span_id(&self) -> &str {
        &self.0.span_id
    }

    async fn trace_id(&self) -> &str {
        &self.0.trace_id
    }

    async fn parent_id(&self) -> Option<&str> {
        self.0.parent_id.as_deref()
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn span_kind(&self) -> &str {
        &self.0.span_kind
    }

    async fn status_code(&self) -> &str {
        &self.0.status_code
    }

    async fn status_message(&self) -> &str {
        &self.0.status_message
    }

    async fn start_time(&self) -> String {
        iso_time(self.0.start_ns)
    }

    async fn end_time(&self) -> String {
        iso_time(self.0.end_ns)
    }

    async fn latency_ms(&self) -> f64 {
        self.0.latency_ms
    }

    /// `llm.model_name`.
    async fn model(&self) -> Option<&str> {
        self.0.model_name.as_deref()
    }

    async fn token_prompt(&self) -> Option<i64> {
        self.0.token_prompt
    }

    async fn token_completion(&self) -> Option<i64> {
        self.0.token_completion
    }

    async fn token_total(&self) -> Option<i64> {
        self.0.token_total
    }

    /// `llm.cost.total`, when a pricing plugin or the instrumentation set it.
    async fn cost(&self) -> Option<f64> {
        json_column(&self.0.attributes).pointer("/llm/cost/total").and_then(Value::as_f64)
    }

    async fn input(&self) -> Option<IoValue> {
        let value = self.0.input_value.clone()?;
        Some(IoValue { value, mime_type: self.0.input_mime_type.clone() })
    }

    async fn output(&self) -> Option<IoValue> {
        let value = self.0.output_value.clone()?;
        Some(IoValue { value, mime_type: self.0.output_mime_type.clone() })
    }

    async fn session_id(&self) -> Option<&str> {
        self.0.session_id.as_deref()
    }

    /// Attributes as a nested object (`{"llm": {"input_messages": […]}}`).
    async fn attributes(&self) -> Json<Value> {
        Json(json_column(&self.0.attributes))
    }

    /// Events (`[{name, timestamp, attributes}]`, ISO 8601 times); exceptions are named `exception`.
    async fn events(&self) -> Json<Value> {
        let events = match json_column(&self.0.events) {
            Value::Array(events) => events,
            _ => Vec::new(),
        };
        Json(Value::Array(
            events
                .into_iter()
                .map(|event| {
                    let timestamp = event.get("timestamp_ns").and_then(Value::as_i64).unwrap_or(0);
                    serde_json::json!({
                        "name": event.get("name").cloned().unwrap_or(Value::Null),
                        "timestamp": iso_time(timestamp),
                        "attributes": event.get("attributes").cloned().unwrap_or_else(|| serde_json::json!({})),
                    })
                })
                .collect(),
        ))
    }

    /// Annotations of this span, newest first.
    async fn annotations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Annotation>> {
        let loader = ctx.data_unchecked::<DataLoader<SpanAnnotations>>();
        let key = SpanKey { project_id: self.0.project_id, span_id: self.0.span_id.clone() };
        let rows = loader.load_one(key).await.map_err(internal)?.unwrap_or_default();
        Ok(rows.into_iter().map(Annotation).collect())
    }
}

/// An annotation of a span, trace or session.
pub struct Annotation(pub AnnotationRow);

#[Object]
impl Annotation {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// `HUMAN`, `LLM` or `CODE`.
    async fn annotator_kind(&self) -> &str {
        &self.0.annotator_kind
    }

    async fn label(&self) -> Option<&str> {
        self.0.label.as_deref()
    }

    async fn score(&self) -> Option<f64> {
        self.0.score
    }

    async fn explanation(&self) -> Option<&str> {
        self.0.explanation.as_deref()
    }

    async fn created_at(&self) -> String {
        iso_time(self.0.created_ns)
    }
}

/// What `addSpanAnnotation` writes.
pub struct NewSpanAnnotation {
    pub span_id: String,
    pub name: String,
    pub label: Option<String>,
    pub score: Option<f64>,
    pub explanation: Option<String>,
    pub annotator_kind: String,
}

const ANNOTATOR_KINDS: [&str; 3] = ["HUMAN", "LLM", "CODE"];

/// Validates and stores a span annotation made in the UI.
pub async fn add_annotation(state: &AppState, input: NewSpanAnnotation) -> async_graphql::Result<Annotation> {
    let name = input.name.trim().to_owned();
    if name.is_empty() {
        return Err(async_graphql::Error::new("an annotation needs a name"));
    }
    if !ANNOTATOR_KINDS.contains(&input.annotator_kind.as_str()) {
        return Err(async_graphql::Error::new(format!(
            "annotatorKind {:?} is not one of HUMAN, LLM, CODE",
            input.annotator_kind
        )));
    }
    if input.score.is_some_and(|score| !score.is_finite()) {
        return Err(async_graphql::Error::new("score must be a finite number"));
    }
    let blank = |text: Option<String>| text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    let (label, explanation) = (blank(input.label), blank(input.explanation));
    if label.is_none() && input.score.is_none() && explanation.is_none() {
        return Err(async_graphql::Error::new("an annotation needs a label, a score or an explanation"));
    }
    let span = state
        .store
        .find_span(None, &input.span_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| async_graphql::Error::new(format!("no span {:?}", input.span_id)))?;
    let new = NewAnnotation {
        target_rowid: span.id,
        name: name.clone(),
        annotator_kind: input.annotator_kind.clone(),
        label: label.clone(),
        score: input.score,
        explanation: explanation.clone(),
        metadata: "{}".to_owned(),
        identifier: String::new(),
        source: "APP".to_owned(),
        user_id: None,
    };
    let ids = state.store.upsert_annotations(AnnotationTarget::Span, &[new]).await.map_err(internal)?;
    let id = ids.first().copied().ok_or_else(|| internal("annotation insert returned no id"))?;
    tracing::info!(span_id = %span.span_id, annotation = %name, "span annotated from the UI");
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    Ok(Annotation(AnnotationRow {
        id,
        target_id: span.span_id,
        name,
        annotator_kind: input.annotator_kind,
        label,
        score: input.score,
        explanation,
        metadata: "{}".to_owned(),
        identifier: String::new(),
        source: "APP".to_owned(),
        user_id: None,
        created_ns: now,
        updated_ns: now,
    }))
}
