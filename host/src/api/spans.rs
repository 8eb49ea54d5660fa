//! `/v1/projects/{p}/spans` (filtered, cursor-paginated) and `DELETE /v1/spans/{id}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::error::{ApiError, ApiResult};
use super::page::Page;
use super::params::Params;
use super::projects::ProjectRequest;
use super::span_filter::RawSpanFilter;
use super::span_json::SpanJson;
use super::AppState;
use crate::ids::{global_id, keyed_cursor, parse_global_id, parse_keyed_cursor};
use crate::store::{SpanCursor, SpanQuery, SpanRow, SpanSort};

const MAX_LIMIT: i64 = 1000;

/// `GET /v1/projects/{p}/spans`: one filtered page of spans.
pub async fn list(
    State(state): State<AppState>,
    ProjectRequest { project, params }: ProjectRequest,
) -> ApiResult<Response> {
    let query = span_query(&params, project.id)?;
    let rows = state.store.list_spans(&query).await?;
    Ok(Page::split(rows, query.limit).response_with(SpanJson, |row| cursor_of(query.sort, row)))
}

fn cursor_of(sort: SpanSort, row: &SpanRow) -> String {
    match sort {
        SpanSort::Id => global_id("Span", row.id),
        SpanSort::StartTime => keyed_cursor("SpanStart", row.start_ns, row.id),
    }
}

fn span_query(params: &Params, project_id: i64) -> ApiResult<SpanQuery> {
    let sort = params.one_of("sort", &[("id", SpanSort::Id), ("start_time", SpanSort::StartTime)])?;
    let filter = RawSpanFilter {
        span_kind: params.all("span_kind"),
        status_code: params.all("status_code"),
        attribute: params.all("attribute"),
        name: params.all("name"),
        trace_id: params.all("trace_id"),
        span_id: params.all("span_id"),
        start_ns: params.time("start_time")?,
        end_ns: params.time("end_time")?,
    };
    Ok(SpanQuery {
        sort,
        descending: params.descending(true)?,
        cursor: params.cursor(|raw| parse_cursor(sort, raw))?,
        parent_id: params.get("parent_id").map(|p| (p != "null").then(|| p.to_owned())),
        ..filter.into_query(project_id, params.limit(MAX_LIMIT)?)?
    })
}

fn parse_cursor(sort: SpanSort, raw: &str) -> Option<SpanCursor> {
    match sort {
        SpanSort::Id => parse_global_id("Span", raw).map(|id| SpanCursor { start_ns: 0, id }),
        SpanSort::StartTime => parse_keyed_cursor("SpanStart", raw).map(|(start_ns, id)| SpanCursor { start_ns, id }),
    }
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
