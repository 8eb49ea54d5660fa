//! Projects with their totals, and their span and session listings.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, InputObject, Json, Object, SimpleObject, ID};

use super::loaders::ProjectStatsLoader;
use super::spans::Span;
use super::traces::Session;
use super::{internal, state};
use crate::api::AppState;
use crate::ids::{global_id, keyed_cursor, parse_global_id, parse_keyed_cursor};
use crate::ingest::openinference::SPAN_KINDS;
use crate::store::{ProjectRow, ProjectStats, SessionQuery, SpanCursor, SpanQuery, SpanSort, SpanValueColumn, Store};
use crate::time::{iso_time, parse_time};

/// Largest page of spans or sessions.
const MAX_PAGE: i32 = 500;
const STATUS_CODES: [&str; 3] = ["OK", "ERROR", "UNSET"];

/// Every project but the `hidden` ones, by name.
pub async fn all(state: &AppState, hidden: &[i64]) -> async_graphql::Result<Vec<Project>> {
    let mut rows = state.store.list_projects(None, 10_000, None, hidden).await.map_err(internal)?;
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rows.into_iter().map(Project).collect())
}

/// A project by global id or name.
pub async fn one(state: &AppState, id: &ID) -> async_graphql::Result<Option<Project>> {
    let row = match parse_global_id("Project", id) {
        Some(row_id) => state.store.project_by_id(row_id).await,
        None => state.store.project_by_name(id).await,
    };
    Ok(row.map_err(internal)?.map(Project))
}

/// A project.
pub struct Project(pub ProjectRow);

impl Project {
    async fn stats(&self, ctx: &Context<'_>) -> async_graphql::Result<ProjectStats> {
        let loader = ctx.data_unchecked::<DataLoader<ProjectStatsLoader>>();
        Ok(loader.load_one(self.0.id).await.map_err(internal)?.unwrap_or_default())
    }

    fn store<'a>(ctx: &Context<'a>) -> &'a Store {
        &state(ctx).store
    }
}

/// Order of a span listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Default)]
#[graphql(name = "SpanSort")]
pub enum SpanOrder {
    #[default]
    StartTimeDesc,
    StartTimeAsc,
}

/// An attribute that must equal a JSON value.
#[derive(Debug, InputObject)]
pub struct AttributeFilter {
    /// Dot path into the attributes: `llm.model_name`.
    pub key: String,
    pub value: Json<serde_json::Value>,
}

/// Which spans of a project a listing shows; every field narrows.
#[derive(Debug, Default, InputObject)]
pub struct SpanFilter {
    /// ISO 8601; spans starting at or after it.
    pub start_time: Option<String>,
    /// ISO 8601; spans starting before it.
    pub end_time: Option<String>,
    pub kinds: Option<Vec<String>>,
    pub status_codes: Option<Vec<String>>,
    pub names: Option<Vec<String>>,
    pub models: Option<Vec<String>>,
    pub attributes: Option<Vec<AttributeFilter>>,
    pub root_only: Option<bool>,
}

/// Where a page ends.
#[derive(Debug, SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

/// One page of spans.
#[derive(SimpleObject)]
pub struct SpanConnection {
    pub nodes: Vec<Span>,
    pub page_info: PageInfo,
}

/// One page of sessions.
#[derive(SimpleObject)]
pub struct SessionConnection {
    pub nodes: Vec<Session>,
    pub page_info: PageInfo,
}

#[Object]
impl Project {
    async fn id(&self) -> ID {
        ID(global_id("Project", self.0.id))
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    async fn span_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(self.stats(ctx).await?.span_count)
    }

    async fn trace_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(self.stats(ctx).await?.trace_count)
    }

    /// Median trace latency.
    async fn latency_p50_ms(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<f64>> {
        Ok(self.stats(ctx).await?.latency_p50_ms)
    }

    /// 99th percentile trace latency.
    async fn latency_p99_ms(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<f64>> {
        Ok(self.stats(ctx).await?.latency_p99_ms)
    }

    /// Prompt tokens of LLM spans.
    async fn token_prompt(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(self.stats(ctx).await?.token_prompt)
    }

    async fn token_completion(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(self.stats(ctx).await?.token_completion)
    }

    async fn token_total(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let stats = self.stats(ctx).await?;
        Ok(stats.token_prompt + stats.token_completion)
    }

    /// Sum of `llm.cost.total` of LLM spans.
    async fn cost_total(&self, ctx: &Context<'_>) -> async_graphql::Result<f64> {
        Ok(self.stats(ctx).await?.cost_total)
    }

    /// Start of the newest span.
    async fn last_span_time(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self.stats(ctx).await?.last_start_ns.map(iso_time))
    }

    /// One page of spans, newest first by default. `first` and `sort` are optional so that a
    /// variable left out (which async-graphql passes as null) gets the default too.
    #[graphql(complexity = "page_weight(first) * child_complexity")]
    async fn spans(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(50)")] first: Option<i32>,
        after: Option<String>,
        filter: Option<SpanFilter>,
        #[graphql(default_with = "Some(SpanOrder::StartTimeDesc)")] sort: Option<SpanOrder>,
    ) -> async_graphql::Result<SpanConnection> {
        let (first, sort) = (first.unwrap_or(50), sort.unwrap_or_default());
        let query = span_query(self.0.id, first, after.as_deref(), filter.unwrap_or_default(), sort)?;
        let mut rows = Self::store(ctx).list_spans(&query).await.map_err(internal)?;
        // The store's cursor includes the row it names: the cursor is the next page's first row.
        rows.truncate(query.limit as usize + 1);
        let next = if rows.len() as i64 > query.limit { rows.pop() } else { None };
        Ok(SpanConnection {
            page_info: PageInfo {
                has_next_page: next.is_some(),
                end_cursor: next.map(|row| keyed_cursor("SpanStart", row.start_ns, row.id)),
            },
            nodes: rows.into_iter().map(Span).collect(),
        })
    }

    /// One page of sessions, newest first.
    #[graphql(complexity = "page_weight(first) * child_complexity")]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(50)")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<SessionConnection> {
        let limit = i64::from(first.unwrap_or(50).clamp(1, MAX_PAGE));
        let from_id = match after {
            Some(cursor) => Some(
                parse_global_id("SessionCursor", &cursor)
                    .ok_or_else(|| async_graphql::Error::new("`after` is not a session cursor"))?,
            ),
            None => None,
        };
        let query = SessionQuery { project_id: self.0.id, descending: true, limit, from_id };
        let mut rows = Self::store(ctx).list_sessions(&query).await.map_err(internal)?;
        let next = if rows.len() as i64 > limit { rows.pop() } else { None };
        rows.truncate(limit as usize);
        Ok(SessionConnection {
            page_info: PageInfo {
                has_next_page: next.is_some(),
                end_cursor: next.map(|row| global_id("SessionCursor", row.id)),
            },
            nodes: rows.into_iter().map(Session).collect(),
        })
    }

    /// Distinct span names, for the name filter (at most 200).
    async fn span_names(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        Self::store(ctx).distinct_span_values(self.0.id, SpanValueColumn::Name).await.map_err(internal)
    }

    /// Distinct model names, for the model filter (at most 200).
    async fn models(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        Self::store(ctx).distinct_span_values(self.0.id, SpanValueColumn::Model).await.map_err(internal)
    }
}

fn span_query(
    project_id: i64,
    first: i32,
    after: Option<&str>,
    filter: SpanFilter,
    sort: SpanOrder,
) -> async_graphql::Result<SpanQuery> {
    let cursor = match after {
        Some(raw) => {
            let (start_ns, id) = parse_keyed_cursor("SpanStart", raw)
                .ok_or_else(|| async_graphql::Error::new("`after` is not a span cursor"))?;
            Some(SpanCursor { start_ns, id })
        }
        None => None,
    };
    let time = |value: Option<String>, field: &str| -> async_graphql::Result<Option<i64>> {
        value
            .map(|raw| {
                parse_time(&raw).ok_or_else(|| async_graphql::Error::new(format!("`{field}` is not a time: {raw:?}")))
            })
            .transpose()
    };
    let span_kinds = upper(filter.kinds);
    if let Some(bad) = span_kinds.iter().find(|kind| !SPAN_KINDS.contains(&kind.as_str())) {
        return Err(async_graphql::Error::new(format!(
            "unknown span kind {bad:?}; expected one of {}",
            SPAN_KINDS.join(", ")
        )));
    }
    let status_codes = upper(filter.status_codes);
    if let Some(bad) = status_codes.iter().find(|code| !STATUS_CODES.contains(&code.as_str())) {
        return Err(async_graphql::Error::new(format!("unknown status code {bad:?}; expected OK, ERROR or UNSET")));
    }
    let mut attributes = Vec::new();
    for AttributeFilter { key, value } in filter.attributes.unwrap_or_default() {
        let path: Vec<String> = key.split('.').map(str::to_owned).collect();
        if path.iter().any(String::is_empty) {
            return Err(async_graphql::Error::new(format!("attribute key {key:?} has an empty segment")));
        }
        attributes.push((path, value.0));
    }
    Ok(SpanQuery {
        project_id,
        sort: SpanSort::StartTime,
        descending: sort == SpanOrder::StartTimeDesc,
        limit: i64::from(first.clamp(1, MAX_PAGE)),
        cursor,
        start_ns: time(filter.start_time, "startTime")?,
        end_ns: time(filter.end_time, "endTime")?,
        trace_ids: Vec::new(),
        span_ids: Vec::new(),
        parent_id: filter.root_only.unwrap_or(false).then_some(None),
        names: filter.names.unwrap_or_default(),
        span_kinds,
        status_codes,
        model_names: filter.models.unwrap_or_default(),
        attributes,
        condition: None,
    })
}

/// A page's weight in the query's complexity: its row count.
fn page_weight(first: Option<i32>) -> usize {
    usize::try_from(first.unwrap_or(50).clamp(1, MAX_PAGE)).unwrap_or(1)
}

fn upper(values: Option<Vec<String>>) -> Vec<String> {
    values.unwrap_or_default().into_iter().map(|value| value.to_ascii_uppercase()).collect()
}
