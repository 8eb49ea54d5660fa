//! Annotations on spans, traces and sessions: upsert on (target, name, identifier), filtered
//! listing with an id cursor, and filtered deletes.

use std::collections::HashMap;

use super::sql::{Dialect, Param, Sql};
use super::write::span_key;
use super::{Result, Store};
use crate::time::now_ns;

/// Ids bound per statement when resolving or filtering by many targets.
const CHUNK: usize = 500;

/// What an annotation is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnotationTarget {
    /// A span, named by its OpenTelemetry span id (hex).
    Span,
    /// A trace, named by its OpenTelemetry trace id (hex).
    Trace,
    /// A session, named by its user-provided session id.
    Session,
}

impl AnnotationTarget {
    fn table(self) -> &'static str {
        match self {
            Self::Span => "span_annotations",
            Self::Trace => "trace_annotations",
            Self::Session => "session_annotations",
        }
    }

    fn foreign_key(self) -> &'static str {
        match self {
            Self::Span => "span_rowid",
            Self::Trace => "trace_rowid",
            Self::Session => "session_rowid",
        }
    }

    fn parent_table(self) -> &'static str {
        match self {
            Self::Span => "spans",
            Self::Trace => "traces",
            Self::Session => "sessions",
        }
    }

    fn parent_key(self) -> &'static str {
        match self {
            Self::Span => "span_id",
            Self::Trace => "trace_id",
            Self::Session => "session_id",
        }
    }

    /// Binds `ids` as a filter on the parent table (`p`); spans match on their integer key.
    /// Returns false when no id can match (so the caller can skip the query).
    fn push_id_filter<'a>(self, sql: &mut Sql<'a>, ids: &'a [String]) -> bool {
        match self {
            Self::Span => {
                let keys: Vec<Param> = ids.iter().filter_map(|id| span_key(id)).map(Param::I64).collect();
                if keys.is_empty() {
                    return false;
                }
                sql.push("p.span_key IN ").bind_list(keys);
            }
            Self::Trace | Self::Session => {
                sql.push("p.").push(self.parent_key()).push(" IN ").bind_list(ids.iter().map(|id| Param::Str(id)));
            }
        }
        true
    }
}

/// One annotation to write.
#[derive(Debug, Clone)]
pub struct NewAnnotation {
    /// Row id of the span, trace or session.
    pub target_rowid: i64,
    pub name: String,
    /// `LLM`, `CODE` or `HUMAN`.
    pub annotator_kind: String,
    pub label: Option<String>,
    pub score: Option<f64>,
    pub explanation: Option<String>,
    /// A JSON object, as text.
    pub metadata: String,
    /// Empty for the one unnamed annotation of a name.
    pub identifier: String,
    /// `API` or `APP`.
    pub source: String,
    pub user_id: Option<String>,
}

/// One stored annotation, with its target's external id.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AnnotationRow {
    pub id: i64,
    /// The span, trace or session id the annotation is attached to.
    pub target_id: String,
    pub name: String,
    pub annotator_kind: String,
    pub label: Option<String>,
    pub score: Option<f64>,
    pub explanation: Option<String>,
    /// JSON object as text.
    pub metadata: String,
    pub identifier: String,
    pub source: String,
    pub user_id: Option<String>,
    pub created_ns: i64,
    pub updated_ns: i64,
}

/// Filters and page of an annotation listing within one project, newest id first.
#[derive(Debug, Clone)]
pub struct AnnotationQuery {
    pub target: AnnotationTarget,
    pub project_id: i64,
    /// External ids of the targets; empty means any.
    pub target_ids: Vec<String>,
    /// Annotation identifiers; empty means any.
    pub identifiers: Vec<String>,
    /// Names to keep; empty means any.
    pub include_names: Vec<String>,
    /// Names to drop.
    pub exclude_names: Vec<String>,
    /// Inclusive: the first annotation id of the page.
    pub cursor: Option<i64>,
    pub limit: i64,
}

/// Which annotations of one project a delete removes; every filter narrows (AND).
#[derive(Debug, Clone)]
pub struct AnnotationDelete {
    pub target: AnnotationTarget,
    pub project_id: i64,
    pub name: Option<String>,
    pub identifier: Option<String>,
    pub annotator_kind: Option<String>,
    /// Inclusive lower bound on the creation time.
    pub start_ns: Option<i64>,
    /// Exclusive upper bound on the creation time.
    pub end_ns: Option<i64>,
}

fn metadata_column(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "a.metadata",
        Dialect::Postgres => "a.metadata::text AS metadata",
    }
}

impl Store {
    /// Row ids of the targets named by `ids` (external ids), with the project each belongs to,
    /// keyed by external id; ids that name nothing are absent from the map.
    pub async fn annotation_target_rowids(
        &self,
        target: AnnotationTarget,
        ids: &[String],
    ) -> Result<HashMap<String, (i64, i64)>> {
        let mut found = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let mut sql = self.sql();
            sql.push("SELECT p.").push(target.parent_key()).push(" AS target_id, p.id, p.project_id FROM ");
            sql.push(target.parent_table()).push(" p WHERE ");
            if !target.push_id_filter(&mut sql, chunk) {
                continue;
            }
            let rows: Vec<(String, i64, i64)> = self.fetch_all(&sql).await?;
            found.extend(rows.into_iter().map(|(id, rowid, project_id)| (id, (rowid, project_id))));
        }
        Ok(found)
    }

    /// Inserts or replaces (on target, name and identifier) every annotation in one
    /// transaction; returns each one's row id, in order.
    pub async fn upsert_annotations(
        &self,
        target: AnnotationTarget,
        annotations: &[NewAnnotation],
    ) -> Result<Vec<i64>> {
        if annotations.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_ns();
        let fk = target.foreign_key();
        let statements: Vec<Sql> = annotations
            .iter()
            .map(|a| {
                let mut sql = self.sql();
                sql.push("INSERT INTO ").push(target.table()).push(" (").push(fk);
                sql.push(
                    ", name, annotator_kind, label, score, explanation, metadata, identifier, source, user_id, \
                     created_ns, updated_ns) VALUES (",
                );
                sql.bind(Param::I64(a.target_rowid)).push(", ");
                sql.bind(Param::Str(&a.name)).push(", ");
                sql.bind(Param::Str(&a.annotator_kind)).push(", ");
                sql.bind(Param::OptStr(a.label.as_deref())).push(", ");
                match a.score {
                    Some(score) if score.is_finite() => sql.bind(Param::F64(score)),
                    _ => sql.push("NULL"),
                };
                sql.push(", ").bind(Param::OptStr(a.explanation.as_deref())).push(", ");
                sql.bind_json(&a.metadata).push(", ");
                sql.bind(Param::Str(&a.identifier)).push(", ");
                sql.bind(Param::Str(&a.source)).push(", ");
                sql.bind(Param::OptStr(a.user_id.as_deref())).push(", ");
                sql.bind(Param::I64(now)).push(", ").bind(Param::I64(now)).push(")");
                sql.push(" ON CONFLICT (").push(fk).push(", name, identifier) DO UPDATE SET ");
                sql.push(
                    "annotator_kind = excluded.annotator_kind, label = excluded.label, score = excluded.score, \
                     explanation = excluded.explanation, metadata = excluded.metadata, source = excluded.source, \
                     user_id = excluded.user_id, updated_ns = excluded.updated_ns",
                );
                sql
            })
            .collect();
        self.execute_in_transaction(&statements).await?;
        self.annotation_ids(target, annotations).await
    }

    /// Row ids of the annotations keyed like `annotations`, in order.
    async fn annotation_ids(&self, target: AnnotationTarget, annotations: &[NewAnnotation]) -> Result<Vec<i64>> {
        let mut rowids: Vec<i64> = annotations.iter().map(|a| a.target_rowid).collect();
        rowids.sort_unstable();
        rowids.dedup();
        let mut names: Vec<&str> = annotations.iter().map(|a| a.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let mut ids: HashMap<(i64, String, String), i64> = HashMap::new();
        for chunk in rowids.chunks(CHUNK) {
            for names in names.chunks(CHUNK) {
                let mut sql = self.sql();
                sql.push("SELECT id, ").push(target.foreign_key()).push(", name, identifier FROM ");
                sql.push(target.table()).push(" WHERE ").push(target.foreign_key()).push(" IN ");
                sql.bind_list(chunk.iter().map(|id| Param::I64(*id)));
                sql.push(" AND name IN ").bind_list(names.iter().map(|n| Param::Str(n)));
                let rows: Vec<(i64, i64, String, String)> = self.fetch_all(&sql).await?;
                ids.extend(rows.into_iter().map(|(id, rowid, name, identifier)| ((rowid, name, identifier), id)));
            }
        }
        annotations
            .iter()
            .map(|a| {
                ids.get(&(a.target_rowid, a.name.clone(), a.identifier.clone()))
                    .copied()
                    .ok_or(super::StoreError::Database(sqlx::Error::RowNotFound))
            })
            .collect()
    }

    /// One page of a project's annotations: `limit + 1` rows, newest first, the extra row
    /// starting the next page.
    pub async fn list_annotations(&self, q: &AnnotationQuery) -> Result<Vec<AnnotationRow>> {
        let target = q.target;
        let mut sql = self.sql();
        sql.push("SELECT a.id, p.").push(target.parent_key()).push(" AS target_id, a.name, a.annotator_kind, ");
        sql.push("a.label, a.score, a.explanation, ").push(metadata_column(self.dialect()));
        sql.push(", a.identifier, a.source, a.user_id, a.created_ns, a.updated_ns FROM ").push(target.table());
        sql.push(" a JOIN ").push(target.parent_table()).push(" p ON a.").push(target.foreign_key());
        sql.push(" = p.id WHERE p.project_id = ").bind(Param::I64(q.project_id));
        if !q.target_ids.is_empty() {
            sql.push(" AND ");
            if !target.push_id_filter(&mut sql, &q.target_ids) {
                return Ok(Vec::new());
            }
        }
        for (column, values, negate) in [
            ("a.identifier", &q.identifiers, false),
            ("a.name", &q.include_names, false),
            ("a.name", &q.exclude_names, true),
        ] {
            if !values.is_empty() {
                sql.push(" AND ").push(column).push(if negate { " NOT IN " } else { " IN " });
                sql.bind_list(values.iter().map(|v| Param::Str(v)));
            }
        }
        if let Some(cursor) = q.cursor {
            sql.push(" AND a.id <= ").bind(Param::I64(cursor));
        }
        sql.push(" ORDER BY a.id DESC LIMIT ").bind(Param::I64(q.limit + 1));
        self.fetch_all(&sql).await
    }

    /// True when at least one of `ids` names a target of the project.
    pub async fn annotation_targets_exist(
        &self,
        target: AnnotationTarget,
        project_id: i64,
        ids: &[String],
    ) -> Result<bool> {
        for chunk in ids.chunks(CHUNK) {
            let mut sql = self.sql();
            sql.push("SELECT p.id FROM ").push(target.parent_table()).push(" p WHERE p.project_id = ");
            sql.bind(Param::I64(project_id)).push(" AND ");
            if !target.push_id_filter(&mut sql, chunk) {
                continue;
            }
            sql.push(" LIMIT 1");
            let row: Option<(i64,)> = self.fetch_optional(&sql).await?;
            if row.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Deletes the project's annotations matching every filter; returns how many.
    pub async fn delete_annotations(&self, d: &AnnotationDelete) -> Result<u64> {
        let target = d.target;
        let mut sql = self.sql();
        sql.push("DELETE FROM ").push(target.table()).push(" WHERE ").push(target.foreign_key());
        sql.push(" IN (SELECT id FROM ").push(target.parent_table()).push(" WHERE project_id = ");
        sql.bind(Param::I64(d.project_id)).push(")");
        for (column, value) in [("name", &d.name), ("identifier", &d.identifier), ("annotator_kind", &d.annotator_kind)]
        {
            if let Some(value) = value {
                sql.push(" AND ").push(column).push(" = ").bind(Param::Str(value));
            }
        }
        if let Some(start) = d.start_ns {
            sql.push(" AND created_ns >= ").bind(Param::I64(start));
        }
        if let Some(end) = d.end_ns {
            sql.push(" AND created_ns < ").bind(Param::I64(end));
        }
        self.execute(&sql).await
    }
}
