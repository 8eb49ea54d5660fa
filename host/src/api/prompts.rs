//! `/v1/prompts` and `/v1/prompt_versions`: prompts, their immutable versions and version tags,
//! in Phoenix's shapes. A prompt is named in paths by its name or its Prompt GlobalID.
//!
//! One deliberate difference: Phoenix's `POST /v1/prompts` refuses `STR` templates; Ember stores
//! them (they render to one user message), still requiring the template to match its type.

use crate::api::routes::Routes;
use crate::auth::Permission::{Read, Write};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Map, Value};

use super::error::{ApiError, ApiResult};
use super::json_body::JsonBody;
use super::page::Page;
use super::params::Params;
use super::AppState;
use crate::ids::{global_id, parse_global_id};
use crate::prompts::validate::version_data;
use crate::prompts::VersionData;
use crate::prompts::{is_identifier, PromptIdentifier};
use crate::store::{NewTag, PromptRow, PromptTagRow, PromptVersionRecord, Store};

/// The prompts routes.
pub fn routes() -> Routes {
    Routes::new()
        .get("/v1/prompts", Read, list)
        .post("/v1/prompts", Write, create)
        .patch("/v1/prompts/{prompt}", Write, update)
        .delete("/v1/prompts/{prompt}", Write, remove)
        .get("/v1/prompts/{prompt}/versions", Read, versions)
        .post("/v1/prompts/{prompt}/versions", Write, create_version)
        .get("/v1/prompts/{prompt}/latest", Read, latest)
        .get("/v1/prompts/{prompt}/tags/{tag}", Read, by_tag)
        .get("/v1/prompt_versions/{version}", Read, version)
        .get("/v1/prompt_versions/{version}/tags", Read, tags)
        .post("/v1/prompt_versions/{version}/tags", Write, add_tag)
        .delete("/v1/prompt_versions/{version}/tags/{tag}", Write, remove_tag)
}

const IDENTIFIER_RULE: &str = "lowercase letters, digits, '_' and '-', starting and ending with a letter or digit";

fn prompt_view(row: &PromptRow) -> Value {
    json!({
        "id": global_id("Prompt", row.id),
        "name": row.name,
        "description": row.description,
        "source_prompt_id": row.source_prompt_id.map(|id| global_id("Prompt", id)),
        "metadata": super::datasets::parse_json(&row.metadata),
    })
}

/// A version as Phoenix's `PromptVersion`: absent tools and response format are left out.
fn version_view(record: &PromptVersionRecord) -> Value {
    let v = &record.version;
    let mut view = json!({
        "id": global_id("PromptVersion", v.id),
        "description": v.description.clone().unwrap_or_default(),
        "model_provider": v.model_provider,
        "model_name": v.model_name,
        "template": v.template,
        "template_type": v.template_type,
        "template_format": v.template_format,
        "invocation_parameters": v.invocation_parameters,
        "metadata": record.metadata,
    });
    if let Some(tools) = &v.tools {
        view["tools"] = tools.clone();
    }
    if let Some(format) = &v.response_format {
        view["response_format"] = format.clone();
    }
    view
}

fn tag_view(row: &PromptTagRow) -> Value {
    json!({ "id": global_id("PromptVersionTag", row.id), "name": row.name, "description": row.description })
}

fn body_object(JsonBody(body): JsonBody<Value>) -> ApiResult<Map<String, Value>> {
    match body {
        Value::Object(map) => Ok(map),
        other => Err(ApiError::invalid(format!("expected a JSON object body, got {other}"))),
    }
}

fn optional_text(object: &Map<String, Value>, key: &str, what: &str) -> ApiResult<Option<String>> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(ApiError::invalid(format!("{what}.{key} must be a string, got {other}"))),
    }
}

fn version_body(value: Option<&Value>) -> ApiResult<VersionData> {
    let value = value.ok_or_else(|| ApiError::invalid("version is required"))?;
    version_data(value).map_err(|e| ApiError::invalid(format!("invalid prompt version: version.{e}")))
}

/// Resolves a prompt by name or Prompt GlobalID.
async fn resolve(store: &Store, identifier: &str) -> ApiResult<PromptRow> {
    let parsed = PromptIdentifier::parse(identifier).ok_or_else(|| {
        ApiError::invalid(format!(
            "Invalid prompt identifier {identifier:?}: expected a Prompt ID or a name of {IDENTIFIER_RULE}"
        ))
    })?;
    store.prompt(&parsed).await?.ok_or_else(|| ApiError::not_found(format!("Prompt {identifier} not found")))
}

fn version_id(raw: &str) -> ApiResult<i64> {
    parse_global_id("PromptVersion", raw).ok_or_else(|| ApiError::invalid(format!("Invalid prompt version ID: {raw}")))
}

async fn resolve_version(store: &Store, raw: &str) -> ApiResult<PromptVersionRecord> {
    let id = version_id(raw)?;
    store.prompt_version_by_id(id).await?.ok_or_else(|| ApiError::not_found(format!("Prompt version {raw} not found")))
}

fn tag_name(raw: &str) -> ApiResult<&str> {
    if is_identifier(raw) {
        return Ok(raw);
    }
    Err(ApiError::invalid(format!("Invalid tag name {raw:?}: use {IDENTIFIER_RULE}")))
}

/// A `PromptVersionTagData` object: `{"name", "description"?}`.
fn tag_data(value: &Value) -> ApiResult<NewTag> {
    let object = value.as_object().ok_or_else(|| ApiError::invalid("a tag must be an object with a name"))?;
    let name = object.get("name").and_then(Value::as_str).ok_or_else(|| ApiError::invalid("tag name is required"))?;
    Ok((tag_name(name)?.to_owned(), optional_text(object, "description", "tag")?))
}

/// `GET /v1/prompts`: newest first, cursor-paginated.
pub async fn list(State(state): State<AppState>, RawQuery(query): RawQuery) -> ApiResult<Json<Value>> {
    let params = Params::parse(query.as_deref());
    let limit = params.limit(1000)?;
    let cursor = params.cursor(|raw| parse_global_id("Prompt", raw))?;
    let rows = state.store.list_prompts(cursor, limit + 1).await?;
    Ok(Page::split(rows, limit).json(prompt_view, |r| global_id("Prompt", r.id)))
}

/// `POST /v1/prompts`: a new version of the prompt `prompt.name`, created when new.
pub async fn create(State(state): State<AppState>, body: JsonBody<Value>) -> ApiResult<Json<Value>> {
    let body = body_object(body)?;
    let prompt =
        body.get("prompt").and_then(Value::as_object).ok_or_else(|| ApiError::invalid("prompt is required"))?;
    let name =
        prompt.get("name").and_then(Value::as_str).ok_or_else(|| ApiError::invalid("prompt.name is required"))?;
    if !is_identifier(name) {
        return Err(ApiError::invalid(format!("Invalid name identifier for prompt {name:?}: use {IDENTIFIER_RULE}")));
    }
    let description = optional_text(prompt, "description", "prompt")?;
    let metadata = match prompt.get("metadata") {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(object @ Value::Object(_)) => object.to_string(),
        Some(other) => return Err(ApiError::invalid(format!("prompt.metadata must be an object, got {other}"))),
    };
    let data = version_body(body.get("version"))?;
    let record = state.store.create_prompt_version(name, description.as_deref(), &metadata, &data).await?;
    Ok(Json(json!({ "data": version_view(&record) })))
}

/// `PATCH /v1/prompts/{prompt}`: `description` (null clears it) and/or `metadata` (replaced).
pub async fn update(
    State(state): State<AppState>,
    Path(identifier): Path<String>,
    body: JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let body = body_object(body)?;
    let description = match body.get("description") {
        None => None,
        Some(_) => Some(optional_text(&body, "description", "body")?),
    };
    let metadata = match body.get("metadata") {
        None => None,
        Some(object @ Value::Object(_)) => Some(object.to_string()),
        Some(other) => return Err(ApiError::invalid(format!("metadata must be an object, got {other}"))),
    };
    if description.is_none() && metadata.is_none() {
        return Err(ApiError::invalid("give description and/or metadata to change"));
    }
    let row = resolve(&state.store, &identifier).await?;
    let updated =
        state.store.update_prompt(row.id, description.as_ref().map(Option::as_deref), metadata.as_deref()).await?;
    let updated = updated.ok_or_else(|| ApiError::not_found(format!("Prompt {identifier} not found")))?;
    Ok(Json(json!({ "data": prompt_view(&updated) })))
}

/// `DELETE /v1/prompts/{prompt}` with its versions and tags.
pub async fn remove(State(state): State<AppState>, Path(identifier): Path<String>) -> ApiResult<StatusCode> {
    let row = resolve(&state.store, &identifier).await?;
    if !state.store.delete_prompt(row.id).await? {
        return Err(ApiError::not_found(format!("Prompt {identifier} not found")));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/prompts/{prompt}/versions`: newest first, cursor-paginated.
pub async fn versions(
    State(state): State<AppState>,
    Path(identifier): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let params = Params::parse(query.as_deref());
    let limit = params.limit(1000)?;
    let cursor = params.cursor(|raw| parse_global_id("PromptVersion", raw))?;
    let prompt = resolve(&state.store, &identifier).await?;
    let rows = state.store.list_prompt_versions(prompt.id, cursor, limit + 1).await?;
    Ok(Page::split(rows, limit).json(version_view, |r| global_id("PromptVersion", r.version.id)))
}

/// `POST /v1/prompts/{prompt}/versions`: `{"version": {...}, "tags"?: [{"name", "description"?}]}`.
pub async fn create_version(
    State(state): State<AppState>,
    Path(identifier): Path<String>,
    body: JsonBody<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let body = body_object(body)?;
    let data = version_body(body.get("version"))?;
    let tags = match body.get("tags") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(tag_data).collect::<ApiResult<Vec<_>>>()?,
        Some(other) => return Err(ApiError::invalid(format!("tags must be a list, got {other}"))),
    };
    let prompt = resolve(&state.store, &identifier).await?;
    let record = state.store.add_prompt_version(prompt.id, &data, &tags).await?;
    Ok((StatusCode::CREATED, Json(json!({ "data": version_view(&record) }))))
}

/// `GET /v1/prompts/{prompt}/latest`.
pub async fn latest(State(state): State<AppState>, Path(identifier): Path<String>) -> ApiResult<Json<Value>> {
    let prompt = resolve(&state.store, &identifier).await?;
    let newest = state.store.list_prompt_versions(prompt.id, None, 1).await?.into_iter().next();
    let record = newest.ok_or_else(|| ApiError::not_found(format!("Prompt {identifier} has no versions")))?;
    Ok(Json(json!({ "data": version_view(&record) })))
}

/// `GET /v1/prompts/{prompt}/tags/{tag}`: the version the tag points at.
pub async fn by_tag(
    State(state): State<AppState>,
    Path((identifier, tag)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let tag = tag_name(&tag)?;
    let prompt = resolve(&state.store, &identifier).await?;
    let record = state.store.tagged_prompt_version(prompt.id, tag).await?;
    let record = record.ok_or_else(|| ApiError::not_found(format!("Prompt {identifier} has no tag {tag:?}")))?;
    Ok(Json(json!({ "data": version_view(&record) })))
}

/// `GET /v1/prompt_versions/{version}`.
pub async fn version(State(state): State<AppState>, Path(raw): Path<String>) -> ApiResult<Json<Value>> {
    let record = resolve_version(&state.store, &raw).await?;
    Ok(Json(json!({ "data": version_view(&record) })))
}

/// `GET /v1/prompt_versions/{version}/tags`: newest first, cursor-paginated.
pub async fn tags(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let params = Params::parse(query.as_deref());
    let limit = params.limit(1000)?;
    let cursor = params.cursor(|raw| parse_global_id("PromptVersionTag", raw))?;
    let record = resolve_version(&state.store, &raw).await?;
    let rows = state.store.list_prompt_version_tags(record.version.id, cursor, limit + 1).await?;
    Ok(Page::split(rows, limit).json(tag_view, |r| global_id("PromptVersionTag", r.id)))
}

/// `POST /v1/prompt_versions/{version}/tags`: sets the tag, moving it from another version.
pub async fn add_tag(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    body: JsonBody<Value>,
) -> ApiResult<StatusCode> {
    let body = body_object(body)?;
    let (name, description) = tag_data(&Value::Object(body))?;
    let record = resolve_version(&state.store, &raw).await?;
    let version = &record.version;
    state.store.set_prompt_version_tag(version.prompt_id, version.id, &name, description.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v1/prompt_versions/{version}/tags/{tag}`: removes the tag from the version's prompt.
pub async fn remove_tag(
    State(state): State<AppState>,
    Path((raw, tag)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let id = version_id(&raw)?;
    let tag = tag_name(&tag)?;
    let record = state.store.prompt_version_by_id(id).await?;
    let record = record.ok_or_else(|| ApiError::not_found(format!("Prompt version {raw} not found")))?;
    if !state.store.delete_prompt_version_tag(record.version.prompt_id, tag).await? {
        return Err(ApiError::not_found(format!("Prompt {} has no tag {tag:?}", record.version.prompt_name)));
    }
    Ok(StatusCode::NO_CONTENT)
}
