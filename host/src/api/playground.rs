//! The playground: run a chat completion (loose messages, or a prompt version with variables)
//! through a provider plugin and record it as an LLM span; list a provider's models.

use crate::api::routes::Routes;
use crate::auth::Permission::{Read, Write};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{ApiError, ApiResult, AppState};
use crate::providers::prompt::{self, PromptError, PromptSelector};
use crate::providers::{record_call, wire, CallRecord, ChatRequest, ProviderError, RetryPolicy};

pub fn routes() -> Routes {
    Routes::new().post("/v1/playground/chat", Write, chat).get("/v1/plugins/{reference}/models", Read, models)
}

/// The project playground calls are recorded in unless the request names another.
pub const PLAYGROUND_PROJECT: &str = "playground";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChatBody {
    /// Provider plugin name; for a prompt, defaults to the plugin named after its model provider.
    provider: Option<String>,
    model: Option<String>,
    messages: Option<Value>,
    #[serde(default)]
    invocation_parameters: Map<String, Value>,
    tools: Option<Value>,
    response_format: Option<Value>,
    project_name: Option<String>,
    /// A prompt's name or id, instead of `messages`.
    prompt: Option<String>,
    prompt_version_id: Option<String>,
    tag: Option<String>,
    #[serde(default)]
    variables: Map<String, Value>,
    /// Attempts in all (retries on rate limits and unavailability), 1–10.
    max_attempts: Option<u32>,
}

/// Maps a provider failure to a status: the provider's refusal is the client's problem (422),
/// exhausted rate limits stay 429, a missing plugin 404, and the rest are gateway errors.
pub fn provider_error(err: &ProviderError) -> ApiError {
    let status = match err {
        ProviderError::NotFound(_) | ProviderError::NotProvider { .. } => StatusCode::NOT_FOUND,
        ProviderError::InvalidRequest(_) => StatusCode::UNPROCESSABLE_ENTITY,
        ProviderError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        ProviderError::Deadline => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::BAD_GATEWAY,
    };
    ApiError::with_status(status, err.kind(), err.to_string())
}

pub fn prompt_error(err: PromptError) -> ApiError {
    match err {
        PromptError::NotFound(_) => ApiError::not_found(err.to_string()),
        PromptError::Store(err) => err.into(),
        other => ApiError::invalid(other.to_string()),
    }
}

/// The provider and request a body asks for.
async fn build_request(state: &AppState, body: ChatBody) -> ApiResult<(String, ChatRequest, String)> {
    let project = body.project_name.clone().unwrap_or_else(|| PLAYGROUND_PROJECT.to_owned());
    if body.messages.is_none() && (body.prompt.is_some() || body.prompt_version_id.is_some()) {
        let selector = PromptSelector { prompt: body.prompt, prompt_version_id: body.prompt_version_id, tag: body.tag };
        let version = selector.resolve(&state.store).await.map_err(prompt_error)?;
        let provider =
            prompt::provider_for(&version, body.provider.as_deref(), |name| state.plugins.resolve(name).is_some())
                .map_err(prompt_error)?;
        let request = prompt::request(&version, &body.variables, body.model).map_err(prompt_error)?;
        return Ok((provider, request, project));
    }
    let messages = body.messages.ok_or_else(|| ApiError::invalid("give `messages` (with `model`) or a `prompt`"))?;
    let model = body.model.ok_or_else(|| ApiError::invalid("`model` is required with `messages`"))?;
    let provider = body.provider.ok_or_else(|| ApiError::invalid("`provider` is required with `messages`"))?;
    let invalid = |err: wire::WireError| ApiError::invalid(err.to_string());
    let messages = wire::messages(&messages).map_err(invalid)?;
    let tools = body.tools.as_ref().map(wire::tools).transpose().map_err(invalid)?.unwrap_or_default();
    let request =
        wire::request(model, messages, tools, body.response_format, &body.invocation_parameters).map_err(invalid)?;
    Ok((provider, request, project))
}

/// `POST /v1/playground/chat`.
async fn chat(State(state): State<AppState>, body: Bytes) -> ApiResult<Json<Value>> {
    let body: ChatBody =
        serde_json::from_slice(&body).map_err(|err| ApiError::invalid(format!("invalid body: {err}")))?;
    let max_attempts = body.max_attempts.unwrap_or(state.providers.policy().max_attempts);
    if !(1..=10).contains(&max_attempts) {
        return Err(ApiError::invalid("max_attempts must be between 1 and 10"));
    }
    let (provider, request, project) = build_request(&state, body).await?;
    state.providers.resolve(&provider).map_err(|err| provider_error(&err))?;
    let policy = RetryPolicy { max_attempts, ..state.providers.policy() };
    let outcome = state.providers.chat(provider, request.clone(), policy).await;
    let record = CallRecord { project: project.clone(), name: "ChatCompletion".into(), attributes: Vec::new() };
    let recorded = match record_call(&state.ingestor, &state.plugins, &request, &outcome, &record).await {
        Ok(recorded) => Some(recorded),
        Err(err) => {
            tracing::warn!(error = %err, "playground span not recorded");
            None
        }
    };
    let response = outcome.result.as_ref().map_err(provider_error)?;
    Ok(Json(json!({ "data": {
        "model": response.model,
        "message": wire::message_json(&response.message),
        "finish_reason": response.finish_reason,
        "usage": response.usage.as_ref().map(|usage| json!({
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
        })),
        "cost": recorded.as_ref().and_then(|recorded| recorded.cost),
        "trace_id": recorded.as_ref().map(|recorded| recorded.trace_id.clone()),
        "span_id": recorded.as_ref().map(|recorded| recorded.span_id.clone()),
        "project_name": project,
        "attempts": outcome.attempts,
        "latency_ms": outcome.elapsed.as_secs_f64() * 1000.0,
    }})))
}

/// `GET /v1/plugins/{name}/models`: the provider's models.
async fn models(State(state): State<AppState>, Path(reference): Path<String>) -> ApiResult<Json<Value>> {
    let models = state.providers.models(&reference).await.map_err(|err| provider_error(&err))?;
    Ok(Json(json!({ "data": models })))
}
