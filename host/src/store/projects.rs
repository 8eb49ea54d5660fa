//! Project rows: create, read, update, delete.

use super::sql::Param;
use super::{Result, Store, StoreError};
use crate::time::now_ns;

/// One project.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProjectRow {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub created_ns: i64,
    pub updated_ns: i64,
}

/// Live projects only: a deleted project is hidden at once while the sweeper empties it.
const PROJECT_COLUMNS: &str =
    "SELECT id, name, description, created_ns, updated_ns FROM projects WHERE deleted_ns IS NULL";

impl Store {
    /// Projects newest first, from `from_id` (inclusive), optionally filtered by a case-insensitive
    /// substring, leaving out the `hidden` ones.
    pub async fn list_projects(
        &self,
        from_id: Option<i64>,
        limit: i64,
        name_contains: Option<&str>,
        hidden: &[i64],
    ) -> Result<Vec<ProjectRow>> {
        let pattern = name_contains.map(|s| {
            let escaped = s.to_ascii_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            format!("%{escaped}%")
        });
        let mut sql = self.sql();
        sql.push(PROJECT_COLUMNS).push(" AND id <= ").bind(Param::I64(from_id.unwrap_or(i64::MAX)));
        if let Some(pattern) = pattern {
            sql.push(" AND LOWER(name) LIKE ").bind(Param::Owned(pattern)).push(" ESCAPE '\\'");
        }
        sql.exclude_ids("id", hidden);
        sql.push(" ORDER BY id DESC LIMIT ").bind(Param::I64(limit));
        self.fetch_all(&sql).await
    }

    /// A project by row id.
    pub async fn project_by_id(&self, id: i64) -> Result<Option<ProjectRow>> {
        let mut sql = self.sql();
        sql.push(PROJECT_COLUMNS).push(" AND id = ").bind(Param::I64(id));
        self.fetch_optional(&sql).await
    }

    /// A project by its unique name.
    pub async fn project_by_name(&self, name: &str) -> Result<Option<ProjectRow>> {
        let mut sql = self.sql();
        sql.push(PROJECT_COLUMNS).push(" AND name = ").bind(Param::Str(name));
        self.fetch_optional(&sql).await
    }

    /// Creates a project; a taken name is `StoreError::ProjectExists`.
    pub async fn create_project(&self, name: &str, description: Option<&str>) -> Result<ProjectRow> {
        let now = now_ns();
        let mut sql = self.sql();
        sql.push("INSERT INTO projects (name, description, created_ns, updated_ns) VALUES ")
            .bind_list([Param::Str(name), Param::OptStr(description), Param::I64(now), Param::I64(now)])
            .push(" ON CONFLICT (name) DO NOTHING");
        if self.execute(&sql).await? == 0 {
            return Err(StoreError::ProjectExists(name.to_owned()));
        }
        self.project_by_name(name).await?.ok_or_else(|| StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Sets a project's description; `None` when the project does not exist.
    pub async fn update_project(&self, id: i64, description: Option<&str>) -> Result<Option<ProjectRow>> {
        let mut sql = self.sql();
        sql.push("UPDATE projects SET description = ")
            .bind(Param::OptStr(description))
            .push(", updated_ns = ")
            .bind(Param::I64(now_ns()))
            .push(" WHERE id = ")
            .bind(Param::I64(id));
        if self.execute(&sql).await? == 0 {
            return Ok(None);
        }
        self.project_by_id(id).await
    }

    /// Deletes a project: at once it is hidden from every read and its name is free again; its
    /// traces, spans and sessions go in the background ([`Store::reap_deleted_project`], run by
    /// the retention sweeper). False when there was no such live project.
    pub async fn delete_project(&self, id: i64) -> Result<bool> {
        let mut sql = self.sql();
        let tombstone = format!("{DELETED_NAME_PREFIX}{id}:");
        sql.push("UPDATE projects SET deleted_ns = ")
            .bind(Param::I64(now_ns()))
            .push(", name = ")
            .bind(Param::Owned(tombstone))
            .push(" || name WHERE deleted_ns IS NULL AND id = ")
            .bind(Param::I64(id));
        let deleted = self.execute(&sql).await? > 0;
        self.forget_project_ids();
        Ok(deleted)
    }

    /// Projects deleted but not yet emptied, oldest deletion first.
    pub async fn deleted_projects(&self) -> Result<Vec<i64>> {
        let mut sql = self.sql();
        sql.push("SELECT id FROM projects WHERE deleted_ns IS NOT NULL ORDER BY deleted_ns");
        let rows: Vec<(i64,)> = self.fetch_all(&sql).await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Removes a deleted project's row (with whatever still refers to it, by cascade) once no
    /// trace is left in it; false while traces remain or when it is not a deleted project.
    pub async fn remove_emptied_project(&self, id: i64) -> Result<bool> {
        let mut sql = self.sql();
        sql.push("DELETE FROM projects WHERE deleted_ns IS NOT NULL AND id = ")
            .bind(Param::I64(id))
            .push(" AND NOT EXISTS (SELECT 1 FROM traces WHERE project_id = ")
            .bind(Param::I64(id))
            .push(")");
        Ok(self.execute(&sql).await? > 0)
    }
}

/// A deleted project is renamed `deleted:<id>:<name>` until its row goes, so that the name can
/// be taken again at once.
const DELETED_NAME_PREFIX: &str = "deleted:";
