//! Datasets and their versions: listing, reading, deleting. Examples are in `dataset_examples`.

use super::sql::{Dialect, Param};
use super::{Result, Store};

/// One dataset with the number of examples in its latest version.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DatasetRow {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    /// JSON object text.
    pub metadata: String,
    pub created_ns: i64,
    pub updated_ns: i64,
    pub example_count: i64,
    /// The project whose spans it was built from; `None` for uploaded datasets.
    pub project_id: Option<i64>,
}

/// One version of a dataset.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DatasetVersionRow {
    pub id: i64,
    pub dataset_id: i64,
    pub description: Option<String>,
    /// JSON object text.
    pub metadata: String,
    pub created_ns: i64,
}

/// `expr` as JSON text: JSONB is cast on PostgreSQL, SQLite already stores text.
pub(crate) fn json_text(dialect: Dialect, expr: &str, alias: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("{expr} AS {alias}"),
        Dialect::Postgres => format!("{expr}::text AS {alias}"),
    }
}

fn dataset_select(dialect: Dialect) -> String {
    format!(
        "SELECT d.id, d.name, d.description, {}, d.created_ns, d.updated_ns, \
         (SELECT COUNT(*) FROM dataset_examples e WHERE e.dataset_id = d.id AND \
           (SELECT r.kind FROM dataset_example_revisions r WHERE r.example_id = e.id \
            ORDER BY r.version_id DESC LIMIT 1) <> 'DELETE') AS example_count, d.project_id \
         FROM datasets d",
        json_text(dialect, "d.metadata", "metadata")
    )
}

fn version_select(dialect: Dialect) -> String {
    format!(
        "SELECT id, dataset_id, description, {}, created_ns FROM dataset_versions",
        json_text(dialect, "metadata", "metadata")
    )
}

impl Store {
    /// Datasets newest first, from `from_id` (inclusive), optionally only the one named `name`,
    /// leaving out those built from the `hidden` projects' spans.
    pub async fn list_datasets(
        &self,
        from_id: Option<i64>,
        limit: i64,
        name: Option<&str>,
        hidden: &[i64],
    ) -> Result<Vec<DatasetRow>> {
        let select = dataset_select(self.dialect());
        let mut sql = self.sql();
        sql.push(&select).push(" WHERE d.id <= ").bind(Param::I64(from_id.unwrap_or(i64::MAX)));
        if let Some(name) = name {
            sql.push(" AND d.name = ").bind(Param::Str(name));
        }
        sql.exclude_ids("d.project_id", hidden);
        sql.push(" ORDER BY d.id DESC LIMIT ").bind(Param::I64(limit));
        self.fetch_all(&sql).await
    }

    /// A dataset by row id.
    pub async fn dataset_by_id(&self, id: i64) -> Result<Option<DatasetRow>> {
        let select = dataset_select(self.dialect());
        let mut sql = self.sql();
        sql.push(&select).push(" WHERE d.id = ").bind(Param::I64(id));
        self.fetch_optional(&sql).await
    }

    /// A dataset by its unique name.
    pub async fn dataset_by_name(&self, name: &str) -> Result<Option<DatasetRow>> {
        let select = dataset_select(self.dialect());
        let mut sql = self.sql();
        sql.push(&select).push(" WHERE d.name = ").bind(Param::Str(name));
        self.fetch_optional(&sql).await
    }

    /// The project dataset `id` was built from, through an experiment's id.
    pub async fn experiment_project(&self, experiment_id: i64) -> Result<Option<i64>> {
        let mut sql = self.sql();
        sql.push("SELECT d.project_id FROM experiments e JOIN datasets d ON d.id = e.dataset_id WHERE e.id = ");
        sql.bind(Param::I64(experiment_id));
        let row: Option<(Option<i64>,)> = self.fetch_optional(&sql).await?;
        Ok(row.and_then(|(project_id,)| project_id))
    }

    /// Deletes a dataset with its versions, examples and experiments; false when it did not exist.
    pub async fn delete_dataset(&self, id: i64) -> Result<bool> {
        let mut sql = self.sql();
        sql.push("DELETE FROM datasets WHERE id = ").bind(Param::I64(id));
        Ok(self.execute(&sql).await? > 0)
    }

    /// A dataset's versions newest first, from `from_id` (inclusive).
    pub async fn list_dataset_versions(
        &self,
        dataset_id: i64,
        from_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<DatasetVersionRow>> {
        let select = version_select(self.dialect());
        let mut sql = self.sql();
        sql.push(&select)
            .push(" WHERE dataset_id = ")
            .bind(Param::I64(dataset_id))
            .push(" AND id <= ")
            .bind(Param::I64(from_id.unwrap_or(i64::MAX)))
            .push(" ORDER BY id DESC LIMIT ")
            .bind(Param::I64(limit));
        self.fetch_all(&sql).await
    }

    /// One version of a dataset; `None` when it does not exist or belongs to another dataset.
    pub async fn dataset_version(&self, dataset_id: i64, version_id: i64) -> Result<Option<DatasetVersionRow>> {
        let select = version_select(self.dialect());
        let mut sql = self.sql();
        sql.push(&select)
            .push(" WHERE dataset_id = ")
            .bind(Param::I64(dataset_id))
            .push(" AND id = ")
            .bind(Param::I64(version_id));
        self.fetch_optional(&sql).await
    }

    /// A dataset's newest version; `None` when it has none.
    pub async fn latest_dataset_version(&self, dataset_id: i64) -> Result<Option<DatasetVersionRow>> {
        Ok(self.list_dataset_versions(dataset_id, None, 1).await?.into_iter().next())
    }
}
