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

const PROJECT_COLUMNS: &str = "SELECT id, name, description, created_ns, updated_ns FROM projects";

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
        sql.push(PROJECT_COLUMNS).push(" WHERE id <= ").bind(Param::I64(from_id.unwrap_or(i64::MAX)));
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
        sql.push(PROJECT_COLUMNS).push(" WHERE id = ").bind(Param::I64(id));
        self.fetch_optional(&sql).await
    }

    /// A project by its unique name.
    pub async fn project_by_name(&self, name: &str) -> Result<Option<ProjectRow>> {
        let mut sql = self.sql();
        sql.push(PROJECT_COLUMNS).push(" WHERE name = ").bind(Param::Str(name));
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

    /// Deletes a project with its traces, spans and sessions; false when it did not exist.
    pub async fn delete_project(&self, id: i64) -> Result<bool> {
        let mut sql = self.sql();
        sql.push("DELETE FROM projects WHERE id = ").bind(Param::I64(id));
        let deleted = self.execute(&sql).await? > 0;
        self.forget_project_ids();
        Ok(deleted)
    }
}
