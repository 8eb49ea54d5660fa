//! Traces (every span in light form, for the tree and the waterfall) and sessions.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Object, SimpleObject, ID};

use super::loaders::{SessionTurns, Turn};
use super::spans::Annotation;
use super::{internal, state};
use crate::api::AppState;
use crate::ids::global_id;
use crate::store::{AnnotationQuery, AnnotationTarget, SessionRow, TraceRow, TreeSpanRow};
use crate::time::iso_time;

/// A trace by its OpenTelemetry id.
pub async fn one(state: &AppState, trace_id: &str) -> async_graphql::Result<Option<Trace>> {
    let Some(row) = state.store.find_trace(None, trace_id).await.map_err(internal)? else {
        return Ok(None);
    };
    let project = state.store.project_by_id(row.project_id).await.map_err(internal)?;
    Ok(Some(Trace { project_name: project.map(|p| p.name).unwrap_or_default(), row }))
}

/// A trace.
pub struct Trace {
    row: TraceRow,
    project_name: String,
}

impl Trace {
    /// The project it belongs to.
    pub fn owner_project(&self) -> i64 {
        self.row.project_id
    }
}

/// One span of a trace, with only what the tree and the waterfall draw.
#[derive(SimpleObject)]
pub struct TraceSpan {
    pub span_id: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub span_kind: String,
    pub status_code: String,
    /// Milliseconds from the trace's start to the span's.
    pub start_offset_ms: f64,
    pub latency_ms: f64,
    pub model: Option<String>,
    pub token_total: Option<i64>,
}

impl TraceSpan {
    fn new(row: TreeSpanRow, trace_start_ns: i64) -> Self {
        Self {
            start_offset_ms: (row.start_ns - trace_start_ns) as f64 / 1e6,
            span_id: row.span_id,
            parent_id: row.parent_id,
            name: row.name,
            span_kind: row.span_kind,
            status_code: row.status_code,
            latency_ms: row.latency_ms,
            model: row.model_name,
            token_total: row.token_total,
        }
    }
}

#[Object]
impl Trace {
    async fn trace_id(&self) -> &str {
        &self.row.trace_id
    }

    async fn project_id(&self) -> ID {
        ID(global_id("Project", self.row.project_id))
    }

    async fn project_name(&self) -> &str {
        &self.project_name
    }

    async fn session_id(&self) -> Option<&str> {
        self.row.session_id.as_deref()
    }

    async fn start_time(&self) -> String {
        iso_time(self.row.start_ns)
    }

    async fn end_time(&self) -> String {
        iso_time(self.row.end_ns)
    }

    async fn latency_ms(&self) -> f64 {
        (self.row.end_ns - self.row.start_ns) as f64 / 1e6
    }

    /// Tokens of the trace's LLM spans.
    async fn token_total(&self) -> i64 {
        self.row.token_total.unwrap_or(0)
    }

    async fn span_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        state(ctx).store.trace_span_count(self.row.id).await.map_err(internal)
    }

    /// Every span of the trace in start order, light fields only; details come from
    /// `Query.span` when one is opened.
    async fn spans(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TraceSpan>> {
        let rows = state(ctx).store.trace_tree(self.row.id).await.map_err(internal)?;
        Ok(rows.into_iter().map(|row| TraceSpan::new(row, self.row.start_ns)).collect())
    }

    /// Annotations of the trace, newest first.
    async fn annotations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Annotation>> {
        let state = ctx.data_unchecked::<AppState>();
        let query = AnnotationQuery {
            target: AnnotationTarget::Trace,
            project_id: self.row.project_id,
            target_ids: vec![self.row.trace_id.clone()],
            identifiers: Vec::new(),
            include_names: Vec::new(),
            exclude_names: Vec::new(),
            cursor: None,
            limit: 1000,
        };
        let rows = state.store.list_annotations(&query).await.map_err(internal)?;
        Ok(rows.into_iter().map(Annotation).collect())
    }
}

/// A session: the traces sharing a `session.id`.
pub struct Session(pub SessionRow);

/// One turn of a conversation: a trace's root input and output.
#[derive(SimpleObject)]
pub struct SessionTurn {
    pub trace_id: String,
    pub start_time: String,
    pub latency_ms: f64,
    pub root_span_name: Option<String>,
    pub input: Option<String>,
    pub output: Option<String>,
}

impl From<Turn> for SessionTurn {
    fn from(turn: Turn) -> Self {
        Self {
            trace_id: turn.trace_id,
            start_time: iso_time(turn.start_ns),
            latency_ms: (turn.end_ns - turn.start_ns) as f64 / 1e6,
            root_span_name: turn.root_span_name,
            input: turn.input,
            output: turn.output,
        }
    }
}

#[Object]
impl Session {
    async fn id(&self) -> ID {
        ID(global_id("ProjectSession", self.0.id))
    }

    async fn session_id(&self) -> &str {
        &self.0.session_id
    }

    async fn start_time(&self) -> String {
        iso_time(self.0.start_ns)
    }

    async fn end_time(&self) -> String {
        iso_time(self.0.end_ns)
    }

    async fn token_total(&self) -> i64 {
        self.0.token_total.unwrap_or(0)
    }

    async fn trace_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(self.turns_of(ctx).await?.len() as i64)
    }

    /// The session's traces in start order, as conversation turns.
    async fn turns(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SessionTurn>> {
        Ok(self.turns_of(ctx).await?.into_iter().map(SessionTurn::from).collect())
    }
}

impl Session {
    async fn turns_of(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Turn>> {
        let loader = ctx.data_unchecked::<DataLoader<SessionTurns>>();
        Ok(loader.load_one(self.0.session_id.clone()).await.map_err(internal)?.unwrap_or_default())
    }
}
