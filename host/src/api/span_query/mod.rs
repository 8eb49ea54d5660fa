//! `POST /v1/spans`: Phoenix's span query DSL, which `phoenix.client`'s
//! `spans.get_spans_dataframe` calls (the route is private in Phoenix's OpenAPI). The body holds
//! `queries` (each `{select?, filter?, explode?, concat?, rename?, index?}`), `start_time`,
//! `end_time`, `limit` and `root_spans_only`; `?project_name=` picks the project ("default").
//! The reply is `multipart/mixed`, one `application/json` part per query holding a pandas table.
//!
//! Bodies are bounded: at most [`MAX_QUERIES`] queries, `limit` from 1 to [`MAX_LIMIT`], filter
//! conditions within `filter`'s size and nesting limits, and [`scan::MAX_SCANNED_ROWS`] rows read
//! (past that the answer is a 422 `scan_budget_exceeded`). Conditions run in the database as far
//! as they compile (`pushdown`).

mod filter;
mod frame;
mod pushdown;
mod scan;

use crate::api::routes::Routes;
use crate::auth::Permission::Read;
use crate::auth::Principal;
use std::collections::BTreeSet;

use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::error::{ApiError, ApiResult};
use super::json_body::JsonBody;
use super::params::Params;
use super::{views, AppState};
use crate::ingest::DEFAULT_PROJECT;
use crate::store::{NumberColumn, SpanRow, TextColumn};
use crate::time::parse_time;
use frame::{Column, Frame};
use pushdown::Source;
use scan::{ScanBudget, Scope, MAX_SCANNED_ROWS, PAGE};

/// Phoenix's default number of spans per query.
const DEFAULT_LIMIT: i64 = 1000;
/// Most spans one query returns; larger (and non-positive) limits are refused.
pub const MAX_LIMIT: i64 = 100_000;
/// Most queries one request may hold; Phoenix's client sends one per dataframe.
pub const MAX_QUERIES: usize = 10;
/// Longest excerpt of a refused condition quoted back in the error message, in characters.
const QUOTE_CHARS: usize = 120;

/// The span query route.
pub fn routes() -> Routes {
    Routes::new().post("/v1/spans", Read, query)
}

#[derive(Debug, Deserialize)]
pub(super) struct Body {
    #[serde(default)]
    queries: Vec<Value>,
    start_time: Option<String>,
    end_time: Option<String>,
    /// Deprecated spelling of `end_time`.
    stop_time: Option<String>,
    limit: Option<i64>,
    root_spans_only: Option<bool>,
    orphan_span_as_root_span: Option<bool>,
}

/// Output column names and the paths they read inside each list element.
type Fields = Vec<(String, String)>;

/// One parsed query of the DSL.
#[derive(Debug)]
struct Dsl {
    select: Option<Vec<(String, String)>>,
    filter: Option<filter::Expr>,
    /// The list key and the fields taken from each element.
    explode: Option<(String, Fields)>,
    /// The list key, the fields joined over its elements, and the separator.
    concat: Option<(String, Fields, String)>,
    rename: Vec<(String, String)>,
    index: String,
}

fn key_of(value: &Value) -> Option<String> {
    value.get("key").and_then(Value::as_str).filter(|k| !k.is_empty()).map(str::to_owned)
}

fn kwargs(value: &Value) -> Vec<(String, String)> {
    value
        .get("kwargs")
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
        .unwrap_or_default()
}

fn parse_dsl(raw: &Value) -> ApiResult<Dsl> {
    let select = match raw.get("select").and_then(Value::as_object) {
        Some(map) if !map.is_empty() => {
            let pairs = map.iter().map(|(name, p)| (name.clone(), key_of(p).unwrap_or_else(|| name.clone())));
            Some(pairs.collect())
        }
        _ => None,
    };
    let filter = match raw.get("filter").and_then(|f| f.get("condition")).and_then(Value::as_str) {
        Some(cond) if !cond.trim().is_empty() => Some(
            filter::parse(cond)
                .map_err(|e| ApiError::invalid(format!("invalid filter condition {}: {e}", quote(cond))))?,
        ),
        _ => None,
    };
    let explode = raw.get("explode").and_then(|e| Some((key_of(e)?, kwargs(e))));
    let concat = raw.get("concat").and_then(|c| {
        let sep = c.get("separator").and_then(Value::as_str).unwrap_or("\n\n").to_owned();
        Some((key_of(c)?, kwargs(c), sep))
    });
    let rename = raw
        .get("rename")
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
        .unwrap_or_default();
    let index = raw.get("index").and_then(key_of).unwrap_or_else(|| "context.span_id".to_owned());
    Ok(Dsl { select, filter, explode, concat, rename, index })
}

/// `text` quoted for an error message, cut to [`QUOTE_CHARS`] characters.
fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE_CHARS) {
        Some((cut, _)) => format!("{:?}… ({} bytes)", &text[..cut], text.len()),
        None => format!("{text:?}"),
    }
}

/// A span with its attributes as Phoenix's query sees them (input/output values included).
struct Span {
    row: SpanRow,
    attributes: Value,
}

impl Span {
    fn new(row: SpanRow) -> Self {
        let mut attributes: Map<String, Value> = serde_json::from_str(&row.attributes).unwrap_or_default();
        for (group, key, column) in [
            ("input", "value", &row.input_value),
            ("input", "mime_type", &row.input_mime_type),
            ("output", "value", &row.output_value),
            ("output", "mime_type", &row.output_mime_type),
        ] {
            if let Some(text) = column {
                let entry = attributes.entry(group).or_insert_with(|| json!({}));
                if let Some(map) = entry.as_object_mut() {
                    map.insert(key.to_owned(), Value::String(text.clone()));
                }
            }
        }
        Self { row, attributes: Value::Object(attributes) }
    }

    /// A span field or a dotted attribute path; null when absent. Times are Unix nanoseconds.
    fn field(&self, key: &str) -> Value {
        let r = &self.row;
        match pushdown::source(key) {
            Source::Text(column) => match column {
                TextColumn::Name => json!(r.name),
                TextColumn::SpanKind => json!(r.span_kind),
                TextColumn::ParentId => json!(r.parent_id),
                TextColumn::StatusCode => json!(r.status_code),
                TextColumn::StatusMessage => json!(r.status_message),
                TextColumn::SpanId => json!(r.span_id),
                TextColumn::TraceId => json!(r.trace_id),
                TextColumn::InputValue => json!(r.input_value),
                TextColumn::InputMimeType => json!(r.input_mime_type),
                TextColumn::OutputValue => json!(r.output_value),
                TextColumn::OutputMimeType => json!(r.output_mime_type),
            },
            Source::Number(column) => match column {
                NumberColumn::StartNs => json!(r.start_ns),
                NumberColumn::EndNs => json!(r.end_ns),
                NumberColumn::LatencyMs => json!(r.latency_ms),
            },
            Source::Events => views::span(r).get("events").cloned().unwrap_or(Value::Null),
            Source::Attribute(path) => lookup(&self.attributes, path),
        }
    }
}

/// Walks a dotted path through nested objects (and arrays by position).
fn lookup(root: &Value, path: &str) -> Value {
    let mut node = root;
    for segment in path.split('.') {
        node = match node {
            Value::Object(map) => match map.get(segment) {
                Some(child) => child,
                None => return Value::Null,
            },
            Value::Array(items) => match segment.parse::<usize>().ok().and_then(|i| items.get(i)) {
                Some(child) => child,
                None => return Value::Null,
            },
            _ => return Value::Null,
        };
    }
    node.clone()
}

fn is_time(key: &str) -> bool {
    key == "start_time" || key == "end_time"
}

fn column(spans: &[&Span], name: &str, key: &str) -> Column {
    let mut column = Column::new(name, spans.iter().map(|s| s.field(key)).collect());
    column.datetime = is_time(key);
    column
}

/// Phoenix's default frame: span columns, then every flattened attribute as `attributes.<key>`.
fn default_frame(spans: &[&Span]) -> Frame {
    let mut columns: Vec<Column> = [
        "name",
        "span_kind",
        "parent_id",
        "start_time",
        "end_time",
        "status_code",
        "status_message",
        "events",
        "context.span_id",
        "context.trace_id",
    ]
    .iter()
    .map(|key| column(spans, key, key))
    .collect();
    let flat: Vec<Map<String, Value>> =
        spans.iter().map(|s| crate::attributes::flatten(s.attributes.as_object().unwrap_or(&Map::new()))).collect();
    let keys: BTreeSet<&String> = flat.iter().flat_map(|m| m.keys()).collect();
    for key in keys {
        let values = flat.iter().map(|m| m.get(key).cloned().unwrap_or(Value::Null)).collect();
        columns.push(Column::new(format!("attributes.{key}"), values));
    }
    Frame { index: vec![column(spans, "context.span_id", "context.span_id")], columns }
}

/// The list at `key` of each span, one row per element, indexed by span and position.
fn explode_frame(spans: &[&Span], dsl: &Dsl, key: &str, fields: &[(String, String)]) -> Frame {
    let position = if key == "retrieval.documents" { "document_position" } else { "position" };
    let (mut ids, mut positions, mut rows) = (Vec::new(), Vec::new(), Vec::new());
    for span in spans {
        if let Value::Array(items) = span.field(key) {
            for (i, item) in items.iter().enumerate() {
                ids.push(span.field(&dsl.index));
                positions.push(json!(i));
                rows.push((*span, item.clone()));
            }
        }
    }
    let mut columns: Vec<Column> = Vec::new();
    for (name, select_key) in dsl.select.iter().flatten() {
        columns.push(Column {
            datetime: is_time(select_key),
            ..Column::new(name, rows.iter().map(|(s, _)| s.field(select_key)).collect())
        });
    }
    let names: Vec<(String, String)> = if fields.is_empty() {
        let flat: BTreeSet<String> = rows
            .iter()
            .filter_map(|(_, item)| item.as_object())
            .flat_map(|m| crate::attributes::flatten(m).keys().cloned().collect::<Vec<_>>())
            .collect();
        flat.into_iter().map(|k| (k.clone(), k)).collect()
    } else {
        fields.to_vec()
    };
    for (name, sub) in names {
        columns.push(Column::new(name, rows.iter().map(|(_, item)| lookup(item, &sub)).collect()));
    }
    Frame { index: vec![Column::new(dsl.index.clone(), ids), Column::new(position, positions)], columns }
}

fn frame_for(spans: &[&Span], dsl: &Dsl) -> Frame {
    let mut frame = if let Some((key, fields)) = &dsl.explode {
        explode_frame(spans, dsl, key, fields)
    } else if let Some((key, fields, sep)) = &dsl.concat {
        let with_list: Vec<&Span> = spans.iter().copied().filter(|s| s.field(key).is_array()).collect();
        let mut columns: Vec<Column> =
            dsl.select.iter().flatten().map(|(name, k)| column(&with_list, name, k)).collect();
        for (name, sub) in fields {
            let values = with_list
                .iter()
                .map(|s| {
                    let items = s.field(key);
                    let parts: Vec<String> = items
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|item| match lookup(item, sub) {
                            Value::String(text) => Some(text),
                            Value::Null => None,
                            other => Some(other.to_string()),
                        })
                        .collect();
                    json!(parts.join(sep))
                })
                .collect();
            columns.push(Column::new(name, values));
        }
        Frame { index: vec![column(&with_list, &dsl.index, &dsl.index)], columns }
    } else if let Some(select) = &dsl.select {
        let columns = select.iter().map(|(name, key)| column(spans, name, key)).collect();
        Frame { index: vec![column(spans, &dsl.index, &dsl.index)], columns }
    } else {
        default_frame(spans)
    };
    frame.rename(&dsl.rename);
    frame
}

/// The answer to a request that reached [`MAX_SCANNED_ROWS`] before finishing.
fn budget_exceeded() -> ApiError {
    ApiError::with_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "scan_budget_exceeded",
        format!(
            "the query read {MAX_SCANNED_ROWS} spans, the scan budget of one request, before finishing; \
             narrow it with start_time/end_time or a lower limit, or use conditions that compare span \
             fields or attributes with literals, which the database evaluates"
        ),
    )
}

fn time_param(name: &str, raw: &Option<String>) -> ApiResult<Option<i64>> {
    match raw {
        None => Ok(None),
        Some(text) => parse_time(text)
            .map(Some)
            .ok_or_else(|| ApiError::invalid(format!("{name} is not an ISO 8601 time: {text:?}"))),
    }
}

/// A validated request body.
#[derive(Debug)]
struct Plan {
    limit: usize,
    start_ns: Option<i64>,
    end_ns: Option<i64>,
    roots_only: bool,
    orphans_are_roots: bool,
    dsls: Vec<Dsl>,
}

/// Checks the body against the route's limits; every refusal is a 422.
fn plan(body: Body) -> ApiResult<Plan> {
    let limit = body.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(format!("limit must be from 1 to {MAX_LIMIT}, got {limit}")));
    }
    if body.queries.len() > MAX_QUERIES {
        return Err(ApiError::invalid(format!(
            "at most {MAX_QUERIES} queries per request, got {}",
            body.queries.len()
        )));
    }
    let start_ns = time_param("start_time", &body.start_time)?;
    let end_ns = time_param("end_time", &body.end_time.or(body.stop_time))?;
    let dsls = if body.queries.is_empty() {
        vec![parse_dsl(&json!({}))?]
    } else {
        body.queries.iter().map(parse_dsl).collect::<ApiResult<Vec<_>>>()?
    };
    Ok(Plan {
        limit: usize::try_from(limit).unwrap_or(1),
        start_ns,
        end_ns,
        roots_only: body.root_spans_only.unwrap_or(false),
        orphans_are_roots: body.orphan_span_as_root_span.unwrap_or(true),
        dsls,
    })
}

/// `POST /v1/spans`: runs each query of the body over one project's spans. A request that would
/// read more than [`MAX_SCANNED_ROWS`] rows is answered with an error naming that budget.
pub async fn query(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    RawQuery(raw): RawQuery,
    JsonBody(body): JsonBody<Body>,
) -> ApiResult<Response> {
    let params = Params::parse(raw.as_deref());
    let project_name = params.get("project_name").or(params.get("project-name")).unwrap_or(DEFAULT_PROJECT).to_owned();
    let plan = plan(body)?;
    // A project the caller does not see answers as an unknown one: no spans.
    let project = state.store.project_by_name(&project_name).await?.filter(|p| principal.sees(p.id));
    let _scan = state.store.begin_scan()?;
    let mut budget = ScanBudget::new(MAX_SCANNED_ROWS);
    let mut frames = Vec::with_capacity(plan.dsls.len());
    for dsl in &plan.dsls {
        let spans = match &project {
            Some(p) => {
                let scope = Scope {
                    project_id: p.id,
                    start_ns: plan.start_ns,
                    end_ns: plan.end_ns,
                    roots_only: plan.roots_only,
                    orphans_are_roots: plan.orphans_are_roots,
                };
                scan::matching_spans(&state.store, &scope, dsl.filter.as_ref(), plan.limit, &mut budget, PAGE).await?
            }
            None => Vec::new(),
        };
        if budget.exhausted() {
            tracing::info!(project = %project_name, rows = MAX_SCANNED_ROWS, "POST /v1/spans refused at its scan budget");
            return Err(budget_exceeded());
        }
        let refs: Vec<&Span> = spans.iter().collect();
        frames.push(frame_for(&refs, dsl));
    }
    let boundary = format!("ember-{:032x}", rand::random::<u128>());
    let mut out = String::new();
    for frame in &frames {
        out.push_str(&format!("--{boundary}\r\nContent-Type: application/json\r\n\r\n"));
        out.push_str(&frame.to_table_json().to_string());
        out.push_str("\r\n");
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    Ok(([(header::CONTENT_TYPE, format!("multipart/mixed; boundary={boundary}"))], out).into_response())
}

#[cfg(test)]
mod tests;
