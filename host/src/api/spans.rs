//! `/v1/projects/{p}/spans` (filtered, cursor-paginated) and `DELETE /v1/spans/{id}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;

use super::error::{ApiError, ApiResult};
use super::page::Page;
use super::params::Params;
use super::projects::ProjectRequest;
use super::{views, AppState};
use crate::ids::{global_id, keyed_cursor, parse_global_id, parse_keyed_cursor};
use crate::ingest::openinference::SPAN_KINDS;
use crate::store::{SpanCursor, SpanQuery, SpanRow, SpanSort};

const MAX_LIMIT: i64 = 1000;
const STATUS_CODES: [&str; 3] = ["OK", "ERROR", "UNSET"];

/// `GET /v1/projects/{p}/spans`: one filtered page of spans.
pub async fn list(
    State(state): State<AppState>,
    ProjectRequest { project, params }: ProjectRequest,
) -> ApiResult<Json<Value>> {
    let query = span_query(&params, project.id)?;
    let rows = state.store.list_spans(&query).await?;
    Ok(Page::split(rows, query.limit).json(views::span, |row| cursor_of(query.sort, row)))
}

fn cursor_of(sort: SpanSort, row: &SpanRow) -> String {
    match sort {
        SpanSort::Id => global_id("Span", row.id),
        SpanSort::StartTime => keyed_cursor("SpanStart", row.start_ns, row.id),
    }
}

fn span_query(params: &Params, project_id: i64) -> ApiResult<SpanQuery> {
    let sort = params.one_of("sort", &[("id", SpanSort::Id), ("start_time", SpanSort::StartTime)])?;
    let cursor = params.cursor(|raw| parse_cursor(sort, raw))?;
    let span_kinds = upper_all(params.all("span_kind"));
    if let Some(bad) = span_kinds.iter().find(|k| !SPAN_KINDS.contains(&k.as_str())) {
        return Err(ApiError::invalid(format!("unknown span_kind {bad:?}; expected one of {}", SPAN_KINDS.join(", "))));
    }
    let status_codes = upper_all(params.all("status_code"));
    if let Some(bad) = status_codes.iter().find(|k| !STATUS_CODES.contains(&k.as_str())) {
        return Err(ApiError::invalid(format!("unknown status_code {bad:?}; expected OK, ERROR or UNSET")));
    }
    let attributes =
        params.all("attribute").iter().map(|raw| parse_attribute_filter(raw)).collect::<ApiResult<Vec<_>>>()?;
    Ok(SpanQuery {
        project_id,
        sort,
        descending: params.descending(true)?,
        limit: params.limit(MAX_LIMIT)?,
        cursor,
        start_ns: params.time("start_time")?,
        end_ns: params.time("end_time")?,
        trace_ids: params.all("trace_id"),
        span_ids: params.all("span_id"),
        parent_id: params.get("parent_id").map(|p| (p != "null").then(|| p.to_owned())),
        names: params.all("name"),
        span_kinds,
        status_codes,
        model_names: Vec::new(),
        attributes,
    })
}

fn upper_all(values: Vec<String>) -> Vec<String> {
    values.into_iter().map(|v| v.to_ascii_uppercase()).collect()
}

fn parse_cursor(sort: SpanSort, raw: &str) -> Option<SpanCursor> {
    match sort {
        SpanSort::Id => parse_global_id("Span", raw).map(|id| SpanCursor { start_ns: 0, id }),
        SpanSort::StartTime => parse_keyed_cursor("SpanStart", raw).map(|(start_ns, id)| SpanCursor { start_ns, id }),
    }
}

/// `key:value`, the key a dot-path and the value JSON-parsed (`12` is a number, `true` a bool,
/// anything that is not JSON a string).
fn parse_attribute_filter(raw: &str) -> ApiResult<(Vec<String>, Value)> {
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

/// Resolves a span identifier: a Span GlobalID, else an OpenTelemetry span id.
pub async fn find(state: &AppState, identifier: &str) -> ApiResult<SpanRow> {
    let row_id = parse_global_id("Span", identifier);
    state
        .store
        .find_span(row_id, identifier)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("Span with ID {identifier} not found")))
}

/// `DELETE /v1/spans/{id}`: by Span GlobalID or OpenTelemetry span id.
pub async fn remove(State(state): State<AppState>, Path(span): Path<String>) -> ApiResult<StatusCode> {
    let row = find(&state, &span).await?;
    if !state.store.delete_span(row.id).await? {
        return Err(ApiError::not_found(format!("Span with ID {span} not found")));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn attribute_filters_parse_json_values() {
        assert_eq!(parse_attribute_filter("user.id:12").expect("ok"), (vec!["user".into(), "id".into()], json!(12)));
        assert_eq!(parse_attribute_filter("a:true").expect("ok").1, json!(true));
        assert_eq!(parse_attribute_filter("metadata.tier:gold").expect("ok").1, json!("gold"));
        assert!(parse_attribute_filter("nocolon").is_err());
        assert!(parse_attribute_filter("a..b:1").is_err());
    }

    #[test]
    fn bad_parameters_are_refused() {
        let params = Params::parse(Some("span_kind=bogus"));
        assert!(span_query(&params, 1).is_err());
        let params = Params::parse(Some("limit=5000"));
        assert!(span_query(&params, 1).is_err());
        let params = Params::parse(Some("sort=start_time&cursor=garbage"));
        assert!(span_query(&params, 1).is_err());
        let params = Params::parse(Some("span_kind=llm&trace_id=a&trace_id=b&parent_id=null"));
        let query = span_query(&params, 1).expect("valid");
        assert_eq!(query.span_kinds, vec!["LLM"]);
        assert_eq!(query.trace_ids, vec!["a", "b"]);
        assert_eq!(query.parent_id, Some(None));
    }
}
