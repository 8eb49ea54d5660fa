//! Retention policies and the deletes that enforce them: which traces a project keeps, and
//! removing the others in bounded transactions with their spans, annotations and sessions; the
//! same deletes for sessions, and moving traces between projects.

use super::rollups;
use super::sql::Param;
use super::{Dialect, Result, Store, StoreError};

/// A stored retention policy: traces older than `max_days`, or beyond a project's newest
/// `max_count` traces or `max_spans` spans, are deleted. Unset limits do not apply.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PolicyRow {
    pub id: i64,
    pub name: String,
    pub max_days: Option<f64>,
    pub max_count: Option<i64>,
    pub max_spans: Option<i64>,
    pub created_ns: i64,
}

/// The limits of a policy, as given when creating or changing one.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RetentionRule {
    pub max_days: Option<f64>,
    pub max_count: Option<i64>,
    pub max_spans: Option<i64>,
}

impl RetentionRule {
    /// Whether the rule deletes anything at all.
    pub fn is_unlimited(&self) -> bool {
        self.max_days.is_none() && self.max_count.is_none() && self.max_spans.is_none()
    }
}

impl PolicyRow {
    /// The policy's limits.
    pub fn rule(&self) -> RetentionRule {
        RetentionRule { max_days: self.max_days, max_count: self.max_count, max_spans: self.max_spans }
    }
}

/// A project with the policy it has chosen (`None`: the server default).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ProjectPolicy {
    pub project_id: i64,
    pub policy_id: Option<i64>,
}

/// What one bounded delete removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deleted {
    pub traces: u64,
    pub spans: u64,
    pub sessions: u64,
}

const POLICY_COLUMNS: &str = "SELECT id, name, max_days, max_count, max_spans, created_ns FROM retention_policies";

impl Store {
    /// Every policy, oldest first.
    pub async fn retention_policies(&self) -> Result<Vec<PolicyRow>> {
        let mut sql = self.sql();
        sql.push(POLICY_COLUMNS).push(" ORDER BY id");
        self.fetch_all(&sql).await
    }

    /// One policy by id.
    pub async fn retention_policy(&self, id: i64) -> Result<Option<PolicyRow>> {
        let mut sql = self.sql();
        sql.push(POLICY_COLUMNS).push(" WHERE id = ").bind(Param::I64(id));
        self.fetch_optional(&sql).await
    }

    /// Creates a policy; its id.
    pub async fn create_retention_policy(&self, name: &str, rule: RetentionRule) -> Result<i64> {
        let mut sql = self.sql();
        sql.push("INSERT INTO retention_policies (name, max_days, max_count, max_spans, created_ns) VALUES (")
            .bind(Param::Str(name))
            .push(", ")
            .bind(Param::OptF64(rule.max_days))
            .push(", ")
            .bind(Param::OptI64(rule.max_count))
            .push(", ")
            .bind(Param::OptI64(rule.max_spans))
            .push(", ")
            .bind(Param::I64(crate::time::now_ns()))
            .push(") RETURNING id");
        let ids: Vec<(i64,)> = self.fetch_all_writing(&sql).await.map_err(|err| name_taken(err, name))?;
        ids.first().map(|(id,)| *id).ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Renames a policy and replaces its limits; false when it does not exist.
    pub async fn update_retention_policy(&self, id: i64, name: &str, rule: RetentionRule) -> Result<bool> {
        let mut sql = self.sql();
        sql.push("UPDATE retention_policies SET name = ")
            .bind(Param::Str(name))
            .push(", max_days = ")
            .bind(Param::OptF64(rule.max_days))
            .push(", max_count = ")
            .bind(Param::OptI64(rule.max_count))
            .push(", max_spans = ")
            .bind(Param::OptI64(rule.max_spans))
            .push(" WHERE id = ")
            .bind(Param::I64(id));
        Ok(self.execute(&sql).await.map_err(|err| name_taken(err, name))? > 0)
    }

    /// Deletes a policy; its projects fall back to the server default. False when absent.
    pub async fn delete_retention_policy(&self, id: i64) -> Result<bool> {
        let mut sql = self.sql();
        sql.push("DELETE FROM retention_policies WHERE id = ").bind(Param::I64(id));
        Ok(self.execute(&sql).await? > 0)
    }

    /// Sets the policy a project follows (`None`: the server default); false when the project
    /// does not exist.
    pub async fn set_project_retention(&self, project_id: i64, policy_id: Option<i64>) -> Result<bool> {
        let mut sql = self.sql();
        sql.push("UPDATE projects SET retention_policy_id = ")
            .bind(Param::OptI64(policy_id))
            .push(" WHERE id = ")
            .bind(Param::I64(project_id));
        Ok(self.execute(&sql).await? > 0)
    }

    /// Every live project with the policy it follows.
    pub async fn project_policies(&self) -> Result<Vec<ProjectPolicy>> {
        let mut sql = self.sql();
        sql.push(
            "SELECT id AS project_id, retention_policy_id AS policy_id FROM projects WHERE deleted_ns IS NULL ORDER BY id",
        );
        self.fetch_all(&sql).await
    }

    /// The policy one project follows (`None`: the server default, or no such project).
    pub async fn project_policy_id(&self, project_id: i64) -> Result<Option<i64>> {
        let mut sql = self.sql();
        sql.push("SELECT retention_policy_id FROM projects WHERE id = ").bind(Param::I64(project_id));
        let row: Option<(Option<i64>,)> = self.fetch_optional(&sql).await?;
        Ok(row.and_then(|(policy,)| policy))
    }

    /// The start time (ns) of the project's `n`th newest trace, counting from 0: traces that
    /// started before it are beyond a `max_count` of `n`. `None` when the project has fewer.
    pub async fn nth_newest_trace_start(&self, project_id: i64, n: i64) -> Result<Option<i64>> {
        self.nth_newest_start("traces", project_id, n).await
    }

    /// Like [`Store::nth_newest_trace_start`], counting spans.
    pub async fn nth_newest_span_start(&self, project_id: i64, n: i64) -> Result<Option<i64>> {
        self.nth_newest_start("spans", project_id, n).await
    }

    async fn nth_newest_start(&self, table: &str, project_id: i64, n: i64) -> Result<Option<i64>> {
        let mut sql = self.sql();
        sql.push(&format!("SELECT start_ns FROM {table} WHERE project_id = "))
            .bind(Param::I64(project_id))
            .push(" ORDER BY start_ns DESC LIMIT 1 OFFSET ")
            .bind(Param::I64(n));
        let row: Option<(i64,)> = self.fetch_optional(&sql).await?;
        Ok(row.map(|(start,)| start))
    }

    /// Deletes up to `limit` of the project's oldest traces that started before `before_ns`,
    /// with their spans, their annotations (by cascade) and the sessions they leave empty, in one
    /// transaction. On PostgreSQL the traces are claimed with `SKIP LOCKED`, so replicas
    /// sweeping at once split the work instead of deleting the same rows.
    pub async fn delete_traces_before(&self, project_id: i64, before_ns: i64, limit: i64) -> Result<Deleted> {
        self.delete_traces_between(project_id, i64::MIN, before_ns, limit).await
    }

    /// Like [`Store::delete_traces_before`], for traces that started in `[from_ns, before_ns)`.
    pub async fn delete_traces_between(
        &self,
        project_id: i64,
        from_ns: i64,
        before_ns: i64,
        limit: i64,
    ) -> Result<Deleted> {
        let mut tx = self.begin().await?;
        let mut pick = tx.sql();
        pick.push("SELECT id, session_id FROM traces WHERE project_id = ")
            .bind(Param::I64(project_id))
            .push(" AND start_ns >= ")
            .bind(Param::I64(from_ns))
            .push(" AND start_ns < ")
            .bind(Param::I64(before_ns))
            .push(" ORDER BY start_ns LIMIT ")
            .bind(Param::I64(limit));
        if tx.dialect() == Dialect::Postgres {
            pick.push(" FOR UPDATE SKIP LOCKED");
        }
        let traces: Vec<(i64, Option<String>)> = tx.fetch_all(&pick).await?;
        let deleted = delete_traces(&mut tx, &traces).await?;
        tx.commit().await?;
        Ok(deleted)
    }

    /// Deletes sessions (by row id) with their traces, spans and annotations, in one
    /// transaction; returns what went.
    pub async fn delete_sessions(&self, session_rows: &[i64]) -> Result<Deleted> {
        if session_rows.is_empty() {
            return Ok(Deleted::default());
        }
        let mut tx = self.begin().await?;
        let mut pick = tx.sql();
        pick.push(
            "SELECT t.id, t.session_id FROM traces t JOIN sessions s ON s.session_id = t.session_id WHERE s.id IN ",
        )
        .bind_list(session_rows.iter().map(|id| Param::I64(*id)));
        let traces: Vec<(i64, Option<String>)> = tx.fetch_all(&pick).await?;
        let mut deleted = delete_traces(&mut tx, &traces).await?;
        let mut sessions = tx.sql();
        sessions.push("DELETE FROM sessions WHERE id IN ").bind_list(session_rows.iter().map(|id| Param::I64(*id)));
        deleted.sessions += tx.execute(&sessions).await?;
        tx.commit().await?;
        Ok(deleted)
    }

    /// Moves traces (by row id) with their spans to `project_id`, and the sessions all of whose
    /// traces now live there; returns how many traces moved.
    pub async fn transfer_traces(&self, trace_rows: &[i64], project_id: i64) -> Result<u64> {
        if trace_rows.is_empty() {
            return Ok(0);
        }
        let ids = || trace_rows.iter().map(|id| Param::I64(*id));
        let mut tx = self.begin().await?;
        // The hours the spans leave and the hours they arrive in both change.
        tx.execute(&rollups::mark_traces(tx.dialect(), trace_rows)).await?;
        let mut spans = tx.sql();
        spans.push("UPDATE spans SET project_id = ").bind(Param::I64(project_id));
        spans.push(" WHERE trace_rowid IN ").bind_list(ids());
        tx.execute(&spans).await?;
        tx.execute(&rollups::mark_traces(tx.dialect(), trace_rows)).await?;
        let mut traces = tx.sql();
        traces.push("UPDATE traces SET project_id = ").bind(Param::I64(project_id));
        traces.push(" WHERE id IN ").bind_list(ids());
        let moved = tx.execute(&traces).await?;
        let mut sessions = tx.sql();
        sessions
            .push("UPDATE sessions SET project_id = ")
            .bind(Param::I64(project_id))
            .push(" WHERE session_id IN (SELECT session_id FROM traces WHERE id IN ")
            .bind_list(ids())
            .push(") AND NOT EXISTS (SELECT 1 FROM traces t WHERE t.session_id = sessions.session_id AND t.project_id <> ")
            .bind(Param::I64(project_id))
            .push(")");
        tx.execute(&sessions).await?;
        tx.commit().await?;
        Ok(moved)
    }
}

/// Deletes `traces` (row id and session id) with their spans, their annotations (by cascade) and
/// the sessions they leave empty, inside `tx`.
async fn delete_traces(tx: &mut super::tx::Tx, traces: &[(i64, Option<String>)]) -> Result<Deleted> {
    if traces.is_empty() {
        return Ok(Deleted::default());
    }
    let ids = || traces.iter().map(|(id, _)| Param::I64(*id));
    let rows: Vec<i64> = traces.iter().map(|(id, _)| *id).collect();
    tx.execute(&rollups::mark_traces(tx.dialect(), &rows)).await?;
    let mut spans = tx.sql();
    spans.push("DELETE FROM spans WHERE trace_rowid IN ").bind_list(ids());
    let spans = tx.execute(&spans).await?;
    let mut rows = tx.sql();
    rows.push("DELETE FROM traces WHERE id IN ").bind_list(ids());
    let deleted_traces = tx.execute(&rows).await?;
    let mut session_ids: Vec<&str> = traces.iter().filter_map(|(_, session)| session.as_deref()).collect();
    session_ids.sort_unstable();
    session_ids.dedup();
    let mut sessions = 0;
    if !session_ids.is_empty() {
        let mut orphans = tx.sql();
        orphans
            .push("DELETE FROM sessions WHERE session_id IN ")
            .bind_list(session_ids.iter().map(|id| Param::Str(id)))
            .push(" AND NOT EXISTS (SELECT 1 FROM traces t WHERE t.session_id = sessions.session_id)");
        sessions = tx.execute(&orphans).await?;
    }
    Ok(Deleted { traces: deleted_traces, spans, sessions })
}

/// A unique violation on the policy's name, told as such.
fn name_taken(err: StoreError, name: &str) -> StoreError {
    match err {
        StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            StoreError::PolicyExists(name.to_owned())
        }
        other => other,
    }
}
