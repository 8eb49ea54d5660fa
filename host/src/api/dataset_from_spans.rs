//! Ember's datasets from stored spans: one example per span (input, output, kind and model as
//! metadata), either appended to a dataset as a new version or as a new dataset.

use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::datasets::{outcome_view, resolve};
use super::error::{ApiError, ApiResult};
use super::json_body::JsonBody;
use super::AppState;
use crate::auth::{Permission, Principal};
use crate::store::{NewExample, SpanRow, UploadAction};

/// Most spans one request turns into examples.
const MAX_SPANS: usize = 10_000;

/// Body of `POST /v1/datasets/{id}/examples/from_spans`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppendBody {
    span_ids: Vec<String>,
    project: Option<String>,
}

/// Body of `POST /v1/datasets/from_spans`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    name: String,
    description: Option<String>,
    span_ids: Vec<String>,
    project: Option<String>,
}

/// `{"input": text}`-style object for a span's input or output value.
fn span_value(key: &str, value: Option<&str>, mime_type: Option<&str>) -> String {
    let Some(text) = value else { return "{}".to_owned() };
    let is_json = mime_type.is_some_and(|m| m.to_ascii_lowercase().contains("json"));
    match is_json.then(|| serde_json::from_str::<Value>(text).ok()).flatten() {
        Some(object @ Value::Object(_)) => object.to_string(),
        Some(other) => json!({ key: other }).to_string(),
        None => json!({ key: text }).to_string(),
    }
}

fn example_from_span(span: &SpanRow) -> NewExample {
    let mut metadata = json!({ "span_kind": span.span_kind, "trace_id": span.trace_id });
    if let Some(model) = &span.model_name {
        metadata["model_name"] = json!(model);
    }
    NewExample {
        input: span_value("input", span.input_value.as_deref(), span.input_mime_type.as_deref()),
        output: span_value("output", span.output_value.as_deref(), span.output_mime_type.as_deref()),
        metadata: metadata.to_string(),
        span_id: Some(span.span_id.clone()),
    }
}

/// The examples of some spans, and the one project they all belong to.
struct FromSpans {
    examples: Vec<NewExample>,
    project_id: i64,
}

/// One example per span of `span_ids`; unknown spans (spans outside `project`, or of a project
/// the caller does not see) are a 404 listing them. Spans of two projects are refused: a
/// dataset records the one project its spans came from, and is hidden with it.
async fn examples_of(
    state: &AppState,
    principal: &Principal,
    span_ids: &[String],
    project: Option<&str>,
) -> ApiResult<FromSpans> {
    if span_ids.is_empty() {
        return Err(ApiError::invalid("span_ids must not be empty"));
    }
    if span_ids.len() > MAX_SPANS {
        return Err(ApiError::invalid(format!("at most {MAX_SPANS} span_ids per request")));
    }
    let project = match project {
        Some(project) => Some(super::projects::resolve(&state.store, project).await?),
        None => None,
    };
    let mut examples = Vec::with_capacity(span_ids.len());
    let mut unknown = Vec::new();
    let mut projects = Vec::new();
    for span_id in span_ids {
        let span = state.store.find_span(None, &span_id.to_ascii_lowercase()).await?;
        let span =
            span.filter(|s| project.as_ref().is_none_or(|p| p.id == s.project_id) && principal.sees(s.project_id));
        match span {
            Some(span) => {
                if !projects.contains(&span.project_id) {
                    projects.push(span.project_id);
                }
                examples.push(example_from_span(&span));
            }
            None => unknown.push(span_id.as_str()),
        }
    }
    if !unknown.is_empty() {
        return Err(ApiError::not_found(format!("Spans not found: {}", unknown.join(", "))));
    }
    match projects.as_slice() {
        [project_id] => Ok(FromSpans { examples, project_id: *project_id }),
        _ => Err(ApiError::invalid("these spans belong to several projects; a dataset takes spans of one project")),
    }
}

/// Refuses to add spans of one project to a dataset holding another's.
fn same_project(dataset_project: Option<i64>, spans_project: i64) -> ApiResult<()> {
    match dataset_project {
        Some(project_id) if project_id != spans_project => Err(ApiError::invalid(
            "this dataset holds spans of another project; spans of this one go to another dataset",
        )),
        _ => Ok(()),
    }
}

/// `POST /v1/datasets/{id}/examples/from_spans`: the spans' examples as a new version.
/// Nothing is written when a span is unknown.
pub async fn append(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AppendBody>,
) -> ApiResult<Json<Value>> {
    let spans = examples_of(&state, &principal, &body.span_ids, body.project.as_deref()).await?;
    super::project_scope::deny(&principal, spans.project_id, Permission::Write, "project")?;
    let dataset = resolve(&state.store, &id).await?;
    same_project(dataset.project_id, spans.project_id)?;
    let outcome = state.store.append_examples(dataset.id, &spans.examples, Some(spans.project_id)).await?;
    Ok(Json(outcome_view(&outcome)))
}

/// `POST /v1/datasets/from_spans`: a new dataset holding the spans' examples; a taken name is
/// a 409, an unknown span a 404, and neither writes anything.
pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    JsonBody(body): JsonBody<CreateBody>,
) -> ApiResult<Json<Value>> {
    let name = body.name.trim();
    if name.is_empty() {
        return Err(ApiError::invalid("a dataset needs a name"));
    }
    let FromSpans { examples, project_id } =
        examples_of(&state, &principal, &body.span_ids, body.project.as_deref()).await?;
    super::project_scope::deny(&principal, project_id, Permission::Write, "project")?;
    let description = body.description.as_deref().filter(|d| !d.trim().is_empty());
    let outcome =
        state.store.upload_examples(UploadAction::Create, name, description, &examples, Some(project_id)).await?;
    tracing::info!(dataset = %name, examples = examples.len(), "dataset created from spans");
    Ok(Json(outcome_view(&outcome)))
}
