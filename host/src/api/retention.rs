//! Retention policies: Phoenix's `PATCH /v1/projects/{p}/retention` (which policy a project
//! follows), and Ember's `/v1/retention_policies` to define them (Phoenix does that through
//! GraphQL). Policy ids are Phoenix's GlobalIDs (`ProjectTraceRetentionPolicy:N`); id 0 is the
//! server default (`EMBER_DEFAULT_RETENTION_DAYS`), which every project without a policy follows.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::json_body::JsonBody;
use super::projects::resolve;
use super::routes::Routes;
use super::{ApiError, ApiResult, AppState};
use crate::auth::Permission::{Admin, Read};
use crate::auth::Principal;
use crate::ids::{global_id, parse_global_id};
use crate::store::{PolicyRow, RetentionRule};

const TYPE: &str = "ProjectTraceRetentionPolicy";
/// The id under which the server default appears.
const DEFAULT_POLICY_ID: i64 = 0;

/// The retention routes.
pub fn routes() -> Routes {
    Routes::new()
        .get("/v1/projects/{project}/retention", Read, project_policy)
        .patch("/v1/projects/{project}/retention", Admin, set_project_policy)
        .get("/v1/retention_policies", Read, list)
        .post("/v1/retention_policies", Admin, create)
        .get("/v1/retention_policies/{policy}", Read, get_one)
        .patch("/v1/retention_policies/{policy}", Admin, update)
        .delete("/v1/retention_policies/{policy}", Admin, remove)
}

fn rule_json(rule: RetentionRule) -> Value {
    json!({ "max_days": rule.max_days, "max_count": rule.max_count, "max_spans": rule.max_spans })
}

fn policy_json(policy: &PolicyRow) -> Value {
    json!({ "id": global_id(TYPE, policy.id), "name": policy.name, "rule": rule_json(policy.rule()) })
}

fn default_json(state: &AppState) -> Value {
    json!({
        "id": global_id(TYPE, DEFAULT_POLICY_ID),
        "name": "Default",
        "rule": rule_json(state.default_retention),
    })
}

/// A policy id: a GlobalID or a bare number.
fn policy_id(raw: &str) -> ApiResult<i64> {
    parse_global_id(TYPE, raw)
        .or_else(|| raw.parse().ok())
        .ok_or_else(|| ApiError::invalid(format!("{raw:?} is not a retention policy id")))
}

async fn find(state: &AppState, raw: &str) -> ApiResult<PolicyRow> {
    let id = policy_id(raw)?;
    state.store.retention_policy(id).await?.ok_or_else(|| ApiError::not_found(format!("no retention policy {raw}")))
}

/// `GET /v1/retention_policies`: the server default first, then every stored policy.
async fn list(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let mut data = vec![default_json(&state)];
    data.extend(state.store.retention_policies().await?.iter().map(policy_json));
    Ok(Json(json!({ "data": data })))
}

async fn get_one(State(state): State<AppState>, Path(policy): Path<String>) -> ApiResult<Json<Value>> {
    if policy_id(&policy)? == DEFAULT_POLICY_ID {
        return Ok(Json(json!({ "data": default_json(&state) })));
    }
    Ok(Json(json!({ "data": policy_json(&find(&state, &policy).await?) })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleBody {
    max_days: Option<f64>,
    max_count: Option<i64>,
    max_spans: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyBody {
    name: String,
    rule: RuleBody,
}

impl PolicyBody {
    /// The validated name and rule.
    fn parts(&self) -> ApiResult<(&str, RetentionRule)> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(ApiError::invalid("a retention policy needs a name"));
        }
        let RuleBody { max_days, max_count, max_spans } = self.rule;
        if max_days.is_some_and(|days| !days.is_finite() || days <= 0.0) {
            return Err(ApiError::invalid("max_days must be a positive number of days"));
        }
        if max_count.is_some_and(|count| count < 0) || max_spans.is_some_and(|spans| spans < 0) {
            return Err(ApiError::invalid("max_count and max_spans cannot be negative"));
        }
        let rule = RetentionRule { max_days, max_count, max_spans };
        if rule.is_unlimited() {
            return Err(ApiError::invalid("a retention rule needs max_days, max_count or max_spans"));
        }
        Ok((name, rule))
    }
}

/// `POST /v1/retention_policies` with `{"name", "rule": {"max_days", "max_count", "max_spans"}}`:
/// traces beyond any of the given limits are deleted.
async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    JsonBody(body): JsonBody<PolicyBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (name, rule) = body.parts()?;
    let id = state.store.create_retention_policy(name, rule).await?;
    let policy = find(&state, &id.to_string()).await?;
    super::audit::record(&state, &principal, "retention.policy.create", &format!("policy:{name}"), rule_json(rule))
        .await;
    Ok((StatusCode::CREATED, Json(json!({ "data": policy_json(&policy) }))))
}

async fn update(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(policy): Path<String>,
    JsonBody(body): JsonBody<PolicyBody>,
) -> ApiResult<Json<Value>> {
    let existing = find(&state, &policy).await?;
    let (name, rule) = body.parts()?;
    state.store.update_retention_policy(existing.id, name, rule).await?;
    super::audit::record(&state, &principal, "retention.policy.update", &format!("policy:{name}"), rule_json(rule))
        .await;
    Ok(Json(json!({ "data": policy_json(&find(&state, &existing.id.to_string()).await?) })))
}

/// `DELETE /v1/retention_policies/{id}`: its projects fall back to the server default.
async fn remove(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(policy): Path<String>,
) -> ApiResult<StatusCode> {
    let existing = find(&state, &policy).await?;
    state.store.delete_retention_policy(existing.id).await?;
    super::audit::record(
        &state,
        &principal,
        "retention.policy.delete",
        &format!("policy:{}", existing.name),
        json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/projects/{p}/retention`: the policy the project follows.
async fn project_policy(State(state): State<AppState>, Path(project): Path<String>) -> ApiResult<Json<Value>> {
    let project = resolve(&state.store, &project).await?;
    let policy = match state.store.project_policy_id(project.id).await? {
        Some(id) => state.store.retention_policy(id).await?.map(|policy| policy_json(&policy)),
        None => None,
    };
    let policy = policy.unwrap_or_else(|| default_json(&state));
    Ok(Json(json!({ "data": { "project_id": global_id("Project", project.id), "policy": policy } })))
}

#[derive(Deserialize)]
struct ProjectPolicyBody {
    policy_id: Option<String>,
}

/// `PATCH /v1/projects/{p}/retention` with `{"policy_id": "ProjectTraceRetentionPolicy:N"}`
/// (Phoenix's shape); `null` or the default's id puts the project back on the server default.
async fn set_project_policy(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(project): Path<String>,
    JsonBody(body): JsonBody<ProjectPolicyBody>,
) -> ApiResult<Json<Value>> {
    let project = resolve(&state.store, &project).await?;
    let policy = match body.policy_id.as_deref().map(policy_id).transpose()? {
        None | Some(DEFAULT_POLICY_ID) => None,
        Some(id) => Some(find(&state, &id.to_string()).await?.id),
    };
    state.store.set_project_retention(project.id, policy).await?;
    let shown = global_id(TYPE, policy.unwrap_or(DEFAULT_POLICY_ID));
    let target = format!("project:{}", project.name);
    super::audit::record(&state, &principal, "project.retention.set", &target, json!({ "policy_id": shown })).await;
    Ok(Json(json!({ "data": { "project_id": global_id("Project", project.id), "policy_id": shown } })))
}
