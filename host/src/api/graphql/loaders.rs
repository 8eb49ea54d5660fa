//! DataLoaders: per-row fields of a page (stats, annotations, session turns) are gathered
//! across the page and read with one query per batch.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;

use crate::store::{AnnotationQuery, AnnotationRow, AnnotationTarget, ProjectStats, Store, StoreError};

/// Shared, clonable store error (DataLoader errors are handed to every waiting field).
pub type LoadError = Arc<StoreError>;

/// Totals of projects, by project row id.
pub struct ProjectStatsLoader(pub Store);

impl Loader<i64> for ProjectStatsLoader {
    type Value = ProjectStats;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, ProjectStats>, LoadError> {
        self.0.project_stats(keys).await.map_err(Arc::new)
    }
}

/// A span named by its project (annotation listings are per project) and OpenTelemetry id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SpanKey {
    pub project_id: i64,
    pub span_id: String,
}

/// Annotations of spans, newest first.
pub struct SpanAnnotations(pub Store);

/// Most annotations shown per batch of spans.
const MAX_ANNOTATIONS: i64 = 10_000;

impl Loader<SpanKey> for SpanAnnotations {
    type Value = Vec<AnnotationRow>;
    type Error = LoadError;

    async fn load(&self, keys: &[SpanKey]) -> Result<HashMap<SpanKey, Vec<AnnotationRow>>, LoadError> {
        let mut by_project: HashMap<i64, Vec<String>> = HashMap::new();
        for key in keys {
            by_project.entry(key.project_id).or_default().push(key.span_id.clone());
        }
        let mut found: HashMap<SpanKey, Vec<AnnotationRow>> = HashMap::new();
        for (project_id, span_ids) in by_project {
            let query = AnnotationQuery {
                target: AnnotationTarget::Span,
                project_id,
                target_ids: span_ids,
                identifiers: Vec::new(),
                include_names: Vec::new(),
                exclude_names: Vec::new(),
                cursor: None,
                limit: MAX_ANNOTATIONS,
            };
            for row in self.0.list_annotations(&query).await.map_err(Arc::new)? {
                let key = SpanKey { project_id, span_id: row.target_id.clone() };
                found.entry(key).or_default().push(row);
            }
        }
        Ok(found)
    }
}

/// One turn of a session: a trace with its root span's input and output.
#[derive(Debug, Clone)]
pub struct Turn {
    pub trace_id: String,
    pub start_ns: i64,
    pub end_ns: i64,
    pub root_span_name: Option<String>,
    pub input: Option<String>,
    pub output: Option<String>,
}

/// The turns of sessions (by session id), in start order.
pub struct SessionTurns(pub Store);

/// Most turns shown per session.
const MAX_TURNS: usize = 1_000;

impl Loader<String> for SessionTurns {
    type Value = Vec<Turn>;
    type Error = LoadError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Vec<Turn>>, LoadError> {
        let traces = self.0.traces_of_sessions(keys).await.map_err(Arc::new)?;
        let rowids: Vec<i64> = traces.iter().map(|trace| trace.id).collect();
        let mut roots = HashMap::new();
        for span in self.0.root_spans_of_traces(&rowids).await.map_err(Arc::new)? {
            roots.entry(span.trace_id.clone()).or_insert(span);
        }
        let mut turns: HashMap<String, Vec<Turn>> = HashMap::new();
        for trace in traces {
            let Some(session_id) = trace.session_id.clone() else { continue };
            let entry = turns.entry(session_id).or_default();
            if entry.len() >= MAX_TURNS {
                continue;
            }
            let root = roots.get(&trace.trace_id);
            entry.push(Turn {
                trace_id: trace.trace_id,
                start_ns: trace.start_ns,
                end_ns: trace.end_ns,
                root_span_name: root.map(|span| span.name.clone()),
                input: root.and_then(|span| span.input_value.clone()),
                output: root.and_then(|span| span.output_value.clone()),
            });
        }
        for list in turns.values_mut() {
            list.sort_by_key(|turn| turn.start_ns);
        }
        Ok(turns)
    }
}
