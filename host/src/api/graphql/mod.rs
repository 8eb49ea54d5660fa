//! The GraphQL API at `/graphql` (GraphiQL on `GET`), which backs the web UI. Reads are batched
//! with DataLoaders so that a page costs a bounded number of queries whatever its row count;
//! REST stays the clients' API.

mod experiments;
mod loaders;
mod plugins;
mod projects;
mod spans;
mod traces;

use std::fmt::Display;
use std::sync::Arc;

use async_graphql::dataloader::DataLoader;
use async_graphql::http::GraphiQLSource;
use async_graphql::{Context, Object, Schema, SimpleObject, Subscription, ID};
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::Method;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::Extension;
use futures::Stream;

use crate::api::routes::Routes;
use crate::auth::{Permission, Principal};
use crate::ids::parse_global_id;
use crate::store::StoreError;

use crate::api::AppState;

use loaders::{ProjectStatsLoader, SessionTurns, SpanAnnotations};

/// The weight of one element of a list of parents, in complexity.
pub(crate) const NOMINAL_LIST: usize = 100;

/// Ember's schema: queries for every UI page, one mutation (annotations), and notices of new
/// spans for live views.
pub type EmberSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Deepest query accepted: the UI's deepest is 5 levels.
const MAX_DEPTH: usize = 12;
/// Most fields one query may select, weighted by list sizes: a span page counts `first` times
/// its fields, and lists of parents (projects, datasets, a dataset's experiments) count
/// `NOMINAL_LIST` times theirs, so nesting listings under them is refused before it runs. The
/// UI's heaviest page (50 spans with annotations) weighs about 1,500.
const MAX_COMPLEXITY: usize = 20_000;

/// Builds the schema over the server's state.
pub fn schema(state: AppState) -> EmberSchema {
    let annotations = DataLoader::new(SpanAnnotations(state.store.clone()), tokio::spawn).max_batch_size(500);
    let turns = DataLoader::new(SessionTurns(state.store.clone()), tokio::spawn).max_batch_size(200);
    let stats = DataLoader::new(ProjectStatsLoader(state.store.clone()), tokio::spawn).max_batch_size(500);
    Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
        .data(state)
        .data(annotations)
        .data(turns)
        .data(stats)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
}

/// `GET /graphql` (GraphiQL), `POST /graphql` (queries and mutations) and `/graphql/ws`
/// (subscriptions over WebSocket, `graphql-transport-ws` or `graphql-ws`).
///
/// The routes need `read`; mutations check `write` themselves (see [`require`]).
pub fn routes(state: &AppState) -> Routes {
    let schema = schema(state.clone());
    let shared = (schema.clone(), state.ui.root_path().to_owned());
    Routes::new()
        .on(Method::GET, "/graphql", Permission::Read, get(graphiql).with_state(shared.clone()))
        .on(Method::POST, "/graphql", Permission::Read, post(execute).with_state(shared))
        .on(Method::GET, "/graphql/ws", Permission::Read, get(subscribe).with_state(schema))
}

/// Upgrades `/graphql/ws` to a subscription connection that acts as the caller, so that live
/// notices follow the same per-project rules as queries.
async fn subscribe(
    State(schema): State<EmberSchema>,
    Extension(principal): Extension<Principal>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> impl IntoResponse {
    upgrade.protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |stream| {
        let mut data = async_graphql::Data::default();
        data.insert(principal);
        GraphQLWebSocket::new(stream, schema, protocol).with_data(data).serve()
    })
}

async fn execute(
    State((schema, _)): State<(EmberSchema, String)>,
    Extension(principal): Extension<Principal>,
    request: GraphQLRequest,
) -> GraphQLResponse {
    let request = request.into_inner().data(principal);
    let operation = request.operation_name.clone().unwrap_or_default();
    let span = tracing::info_span!("graphql", operation = %operation);
    let _entered = span.enter();
    schema.execute(request).await.into()
}

async fn graphiql(State((_, root)): State<(EmberSchema, String)>) -> impl IntoResponse {
    let (endpoint, subscriptions) = (format!("{root}/graphql"), format!("{root}/graphql/ws"));
    Html(
        GraphiQLSource::build()
            .endpoint(&endpoint)
            .subscription_endpoint(&subscriptions)
            .title("Ember GraphQL")
            .finish(),
    )
}

/// A database or internal failure, logged in full and reported without details.
fn internal<E: Display + 'static>(err: E) -> async_graphql::Error {
    let any = &err as &dyn std::any::Any;
    let store = any.downcast_ref::<StoreError>().or_else(|| any.downcast_ref::<Arc<StoreError>>().map(Arc::as_ref));
    if let Some(timeout @ StoreError::QueryTimeout { .. }) = store {
        // The caller's to act on (narrow the query), not a server fault: say what happened.
        return async_graphql::ErrorExtensions::extend_with(
            async_graphql::Error::new(timeout.to_string()),
            |_, extensions| extensions.set("code", "query_timeout"),
        );
    }
    tracing::error!(error = %err, "graphql resolver failed");
    async_graphql::Error::new("internal error; see the server log")
}

/// A JSON column (stored as text) as a value; `null` if it somehow does not parse.
fn json_column(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}

/// Refuses a resolver to a caller without `permission` (the route only asked for `read`).
fn require(ctx: &Context<'_>, permission: Permission) -> async_graphql::Result<()> {
    match ctx.data_opt::<Principal>() {
        Some(principal) if principal.allows(permission) => Ok(()),
        _ => Err(async_graphql::Error::new(format!("forbidden: this needs the {permission} permission"))),
    }
}

/// The caller; every request and subscription is executed with one (see `execute`, `subscribe`).
fn caller<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Principal> {
    ctx.data_opt::<Principal>().ok_or_else(|| async_graphql::Error::new("forbidden: no caller"))
}

/// Whether the caller sees `project_id`: resolvers answer `null` for what it does not.
fn sees(ctx: &Context<'_>, project_id: i64) -> async_graphql::Result<bool> {
    Ok(caller(ctx)?.sees(project_id))
}

fn state<'a>(ctx: &Context<'a>) -> &'a AppState {
    // The schema is always built with the state (see `schema`).
    ctx.data_unchecked::<AppState>()
}

/// A row id from a Phoenix global id of `type_name`, or from a plain number.
fn row_id(type_name: &str, id: &ID) -> async_graphql::Result<i64> {
    parse_global_id(type_name, id)
        .or_else(|| id.parse().ok())
        .ok_or_else(|| async_graphql::Error::new(format!("{:?} is not a {type_name} id", id.as_str())))
}

/// Root of every read.
pub struct QueryRoot;

#[Object]
impl QueryRoot {
    /// Every project, by name.
    #[graphql(complexity = "NOMINAL_LIST * child_complexity")]
    async fn projects(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<projects::Project>> {
        projects::all(state(ctx), caller(ctx)?.projects.hidden()).await
    }

    /// A project by global id or name.
    async fn project(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<projects::Project>> {
        let project = projects::one(state(ctx), &id).await?;
        Ok(project.filter(|project| caller(ctx).is_ok_and(|c| c.sees(project.0.id))))
    }

    /// A trace by its OpenTelemetry id, with every span in light form.
    async fn trace(&self, ctx: &Context<'_>, trace_id: String) -> async_graphql::Result<Option<traces::Trace>> {
        let trace = traces::one(state(ctx), &trace_id).await?;
        Ok(trace.filter(|trace| caller(ctx).is_ok_and(|c| c.sees(trace.owner_project()))))
    }

    /// A span by its OpenTelemetry id, with attributes and events.
    async fn span(&self, ctx: &Context<'_>, span_id: String) -> async_graphql::Result<Option<spans::Span>> {
        let row = state(ctx).store.find_span(None, &span_id).await.map_err(internal)?;
        Ok(row.filter(|row| caller(ctx).is_ok_and(|c| c.sees(row.project_id))).map(spans::Span))
    }

    /// A session by its id.
    async fn session(&self, ctx: &Context<'_>, session_id: String) -> async_graphql::Result<Option<traces::Session>> {
        let row = state(ctx).store.find_session(None, &session_id).await.map_err(internal)?;
        Ok(row.filter(|row| caller(ctx).is_ok_and(|c| c.sees(row.project_id))).map(traces::Session))
    }

    /// Every registered plugin version, with its recent call statistics.
    async fn plugins(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<plugins::Plugin>> {
        let rows = state(ctx).store.list_plugins().await.map_err(internal)?;
        Ok(rows.into_iter().map(plugins::Plugin).collect())
    }

    /// Every dataset, newest first (at most 1,000).
    #[graphql(complexity = "NOMINAL_LIST * child_complexity")]
    async fn datasets(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<experiments::Dataset>> {
        let hidden = caller(ctx)?.projects.hidden();
        let rows = state(ctx).store.list_datasets(None, 1000, None, hidden).await.map_err(internal)?;
        Ok(rows.into_iter().map(experiments::Dataset).collect())
    }

    /// A dataset by global id.
    async fn dataset(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<experiments::Dataset>> {
        let row = state(ctx).store.dataset_by_id(row_id("Dataset", &id)?).await.map_err(internal)?;
        let visible =
            |row: &crate::store::DatasetRow| row.project_id.is_none_or(|p| caller(ctx).is_ok_and(|c| c.sees(p)));
        Ok(row.filter(visible).map(experiments::Dataset))
    }

    /// An experiment by global id.
    async fn experiment(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<experiments::Experiment>> {
        let id = row_id("Experiment", &id)?;
        if let Some(project_id) = state(ctx).store.experiment_project(id).await.map_err(internal)? {
            if !sees(ctx, project_id)? {
                return Ok(None);
            }
        }
        let row = state(ctx).store.experiment_with_counts(id).await.map_err(internal)?;
        Ok(row.map(experiments::Experiment))
    }
}

/// Root of every write the UI makes through GraphQL.
pub struct MutationRoot;

#[Object]
impl MutationRoot {
    /// Adds (or replaces, by name) an annotation of a span.
    #[allow(clippy::too_many_arguments)]
    async fn add_span_annotation(
        &self,
        ctx: &Context<'_>,
        span_id: String,
        name: String,
        label: Option<String>,
        score: Option<f64>,
        explanation: Option<String>,
        #[graphql(desc = "HUMAN (the default), LLM or CODE")] annotator_kind: Option<String>,
    ) -> async_graphql::Result<spans::Annotation> {
        require(ctx, Permission::Write)?;
        if let Some(span) = state(ctx).store.find_span(None, &span_id).await.map_err(internal)? {
            let denied = crate::api::project_scope::deny(caller(ctx)?, span.project_id, Permission::Write, "span");
            denied.map_err(|err| async_graphql::Error::new(err.to_string()))?;
        }
        // A variable left out arrives as null, so the default is applied here, not in the schema.
        let annotator_kind = annotator_kind.unwrap_or_else(|| "HUMAN".to_owned());
        let input = spans::NewSpanAnnotation { span_id, name, label, score, explanation, annotator_kind };
        spans::add_annotation(state(ctx), input).await
    }
}

/// Spans committed to a project since the last notice.
#[derive(SimpleObject)]
pub struct SpansStoredNotice {
    pub project: String,
    /// Spans committed; when `lagged`, how many notices were missed instead.
    pub count: i64,
    /// The subscriber fell behind and missed notices: refetch rather than count.
    pub lagged: bool,
}

/// Root of the live notices.
pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// A notice each time spans of `project` (by name) are committed. A project the caller does
    /// not see is refused as unknown.
    async fn spans_stored(
        &self,
        ctx: &Context<'_>,
        project: String,
    ) -> async_graphql::Result<impl Stream<Item = SpansStoredNotice>> {
        let caller = caller(ctx)?;
        if caller.projects.is_limited() {
            let row = state(ctx).store.project_by_name(&project).await.map_err(internal)?;
            if row.is_some_and(|row| !caller.sees(row.id)) {
                return Err(async_graphql::Error::new(format!("project {project} not found")));
            }
        }
        let receiver = state(ctx).events.subscribe();
        Ok(futures::stream::unfold((receiver, project), |(mut receiver, project)| async move {
            loop {
                let notice = match receiver.recv().await {
                    Ok(event) if *event.project == *project => SpansStoredNotice {
                        project: project.clone(),
                        count: i64::try_from(event.count).unwrap_or(i64::MAX),
                        lagged: false,
                    },
                    Ok(_) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => SpansStoredNotice {
                        project: project.clone(),
                        count: i64::try_from(missed).unwrap_or(i64::MAX),
                        lagged: true,
                    },
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                };
                return Some((notice, (receiver, project)));
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_timeout_reaches_the_client_and_other_store_errors_do_not() {
        let timeout = internal(StoreError::QueryTimeout { limit_ms: 5 });
        assert!(timeout.message.contains("5 ms") && timeout.message.contains("EMBER_QUERY_TIMEOUT_MS"));
        let loaded = internal(Arc::new(StoreError::QueryTimeout { limit_ms: 5 }));
        assert_eq!(loaded.message, timeout.message, "as a data loader hands it over too");
        assert_eq!(internal(StoreError::RunExists).message, "internal error; see the server log");
    }
}
