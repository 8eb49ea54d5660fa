//! Prompts, their immutable versions and version tags (one tag name per prompt).

use serde_json::Value;

use super::datasets::json_text;
use super::sql::{Dialect, Param, Sql};
use super::{Result, Store};
use crate::model::prompt::{PromptIdentifier, PromptRef, PromptVersion, VersionData};
use crate::time::now_ns;

/// One prompt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PromptRow {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub source_prompt_id: Option<i64>,
    /// JSON object text.
    pub metadata: String,
    pub created_ns: i64,
    pub updated_ns: i64,
}

/// A stored version with what the API shows beyond [`PromptVersion`].
#[derive(Debug, Clone)]
pub struct PromptVersionRecord {
    pub version: PromptVersion,
    pub metadata: Value,
    pub created_ns: i64,
}

/// One tag of a prompt version.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PromptTagRow {
    pub id: i64,
    pub prompt_version_id: i64,
    pub name: String,
    pub description: Option<String>,
}

/// A prompt version row as read, JSON columns as text.
#[derive(sqlx::FromRow)]
struct VersionRow {
    id: i64,
    prompt_id: i64,
    prompt_name: String,
    description: Option<String>,
    model_provider: String,
    model_name: String,
    template_type: String,
    template_format: String,
    template: String,
    invocation_parameters: String,
    tools: Option<String>,
    response_format: Option<String>,
    metadata: String,
    created_ns: i64,
}

/// Stored JSON text as a value (always valid: it was written from a `Value`).
fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

impl From<VersionRow> for PromptVersionRecord {
    fn from(row: VersionRow) -> Self {
        let version = PromptVersion {
            id: row.id,
            prompt_id: row.prompt_id,
            prompt_name: row.prompt_name,
            description: row.description,
            model_provider: row.model_provider,
            model_name: row.model_name,
            template_type: row.template_type,
            template_format: row.template_format,
            template: json(&row.template),
            invocation_parameters: json(&row.invocation_parameters),
            tools: row.tools.as_deref().map(json),
            response_format: row.response_format.as_deref().map(json),
        };
        Self { version, metadata: json(&row.metadata), created_ns: row.created_ns }
    }
}

fn prompt_select(dialect: Dialect) -> String {
    format!(
        "SELECT id, name, description, source_prompt_id, {}, created_ns, updated_ns FROM prompts",
        json_text(dialect, "metadata", "metadata")
    )
}

fn version_select(dialect: Dialect) -> String {
    let columns: Vec<String> = ["template", "invocation_parameters", "tools", "response_format", "metadata"]
        .iter()
        .map(|c| json_text(dialect, &format!("v.{c}"), c))
        .collect();
    format!(
        "SELECT v.id, v.prompt_id, p.name AS prompt_name, v.description, v.model_provider, v.model_name, \
         v.template_type, v.template_format, {}, v.created_ns \
         FROM prompt_versions v JOIN prompts p ON p.id = v.prompt_id",
        columns.join(", ")
    )
}

/// Binds JSON text, or writes SQL `NULL`.
fn bind_optional_json<'a>(sql: &mut Sql<'a>, json: Option<&'a str>) {
    match json {
        Some(text) => sql.bind_json(text),
        None => sql.push("NULL"),
    };
}

/// A version's JSON columns as text, kept alive while the insert borrows them.
struct VersionJson {
    template: String,
    invocation_parameters: String,
    tools: Option<String>,
    response_format: Option<String>,
    metadata: String,
}

impl VersionJson {
    fn of(data: &VersionData) -> Self {
        Self {
            template: data.template.to_string(),
            invocation_parameters: data.invocation_parameters.to_string(),
            tools: data.tools.as_ref().map(Value::to_string),
            response_format: data.response_format.as_ref().map(Value::to_string),
            metadata: Value::Object(data.metadata.clone()).to_string(),
        }
    }
}

/// Tags to set on a newly created version: (name, description).
pub type NewTag = (String, Option<String>);

impl Store {
    /// Prompts newest first, from `from_id` (inclusive).
    pub async fn list_prompts(&self, from_id: Option<i64>, limit: i64) -> Result<Vec<PromptRow>> {
        let select = prompt_select(self.dialect());
        let mut sql = self.sql();
        sql.push(&select)
            .push(" WHERE id <= ")
            .bind(Param::I64(from_id.unwrap_or(i64::MAX)))
            .push(" ORDER BY id DESC LIMIT ")
            .bind(Param::I64(limit));
        self.fetch_all(&sql).await
    }

    /// A prompt by row id or name.
    pub async fn prompt(&self, identifier: &PromptIdentifier) -> Result<Option<PromptRow>> {
        let select = prompt_select(self.dialect());
        let mut sql = self.sql();
        sql.push(&select);
        match identifier {
            PromptIdentifier::Id(id) => sql.push(" WHERE id = ").bind(Param::I64(*id)),
            PromptIdentifier::Name(name) => sql.push(" WHERE name = ").bind(Param::Str(name)),
        };
        self.fetch_optional(&sql).await
    }

    /// Adds a version to the prompt named `name`, creating the prompt (with `description` and
    /// `metadata`, JSON object text) when it does not exist; an existing prompt is left as it is.
    pub async fn create_prompt_version(
        &self,
        name: &str,
        description: Option<&str>,
        metadata: &str,
        data: &VersionData,
    ) -> Result<PromptVersionRecord> {
        let now = now_ns();
        let mut tx = self.begin().await?;
        let mut insert = tx.sql();
        insert
            .push("INSERT INTO prompts (name, description, metadata, created_ns, updated_ns) VALUES (")
            .bind(Param::Str(name))
            .push(", ")
            .bind(Param::OptStr(description))
            .push(", ")
            .bind_json(metadata)
            .push(", ")
            .bind(Param::I64(now))
            .push(", ")
            .bind(Param::I64(now))
            .push(") ON CONFLICT (name) DO NOTHING");
        tx.execute(&insert).await?;
        let mut find = tx.sql();
        find.push("SELECT id FROM prompts WHERE name = ").bind(Param::Str(name));
        let prompt_id = tx.returning_id(&find).await?;
        let version_id = insert_version(&mut tx, prompt_id, data, &[], now).await?;
        tx.commit().await?;
        self.prompt_version_by_id(version_id).await?.ok_or(super::StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Adds a version to an existing prompt and points `tags` at it.
    pub async fn add_prompt_version(
        &self,
        prompt_id: i64,
        data: &VersionData,
        tags: &[NewTag],
    ) -> Result<PromptVersionRecord> {
        let now = now_ns();
        let mut tx = self.begin().await?;
        let version_id = insert_version(&mut tx, prompt_id, data, tags, now).await?;
        tx.commit().await?;
        self.prompt_version_by_id(version_id).await?.ok_or(super::StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// A prompt's versions newest first, from `from_id` (inclusive).
    pub async fn list_prompt_versions(
        &self,
        prompt_id: i64,
        from_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<PromptVersionRecord>> {
        let select = version_select(self.dialect());
        let mut sql = self.sql();
        sql.push(&select)
            .push(" WHERE v.prompt_id = ")
            .bind(Param::I64(prompt_id))
            .push(" AND v.id <= ")
            .bind(Param::I64(from_id.unwrap_or(i64::MAX)))
            .push(" ORDER BY v.id DESC LIMIT ")
            .bind(Param::I64(limit));
        let rows: Vec<VersionRow> = self.fetch_all(&sql).await?;
        Ok(rows.into_iter().map(PromptVersionRecord::from).collect())
    }

    /// One version by row id.
    pub async fn prompt_version_by_id(&self, version_id: i64) -> Result<Option<PromptVersionRecord>> {
        let select = version_select(self.dialect());
        let mut sql = self.sql();
        sql.push(&select).push(" WHERE v.id = ").bind(Param::I64(version_id));
        let row: Option<VersionRow> = self.fetch_optional(&sql).await?;
        Ok(row.map(PromptVersionRecord::from))
    }

    /// The version `tag` points at in a prompt.
    pub async fn tagged_prompt_version(&self, prompt_id: i64, tag: &str) -> Result<Option<PromptVersionRecord>> {
        let select = version_select(self.dialect());
        let mut sql = self.sql();
        sql.push(&select)
            .push(" JOIN prompt_version_tags t ON t.prompt_version_id = v.id WHERE t.prompt_id = ")
            .bind(Param::I64(prompt_id))
            .push(" AND t.name = ")
            .bind(Param::Str(tag));
        let row: Option<VersionRow> = self.fetch_optional(&sql).await?;
        Ok(row.map(PromptVersionRecord::from))
    }

    /// The version `reference` names; `None` when the prompt, version or tag does not exist.
    pub async fn resolve_prompt_version(&self, reference: &PromptRef) -> Result<Option<PromptVersion>> {
        let record = match reference {
            PromptRef::Version(id) => self.prompt_version_by_id(*id).await?,
            PromptRef::Latest(prompt) | PromptRef::Tag(prompt, _) => {
                let Some(identifier) = PromptIdentifier::parse(prompt) else { return Ok(None) };
                let Some(row) = self.prompt(&identifier).await? else { return Ok(None) };
                match reference {
                    PromptRef::Tag(_, tag) => self.tagged_prompt_version(row.id, tag).await?,
                    _ => self.list_prompt_versions(row.id, None, 1).await?.into_iter().next(),
                }
            }
        };
        Ok(record.map(|r| r.version))
    }

    /// A version's tags newest first, from `from_id` (inclusive).
    pub async fn list_prompt_version_tags(
        &self,
        version_id: i64,
        from_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<PromptTagRow>> {
        let mut sql = self.sql();
        sql.push("SELECT id, prompt_version_id, name, description FROM prompt_version_tags WHERE prompt_version_id = ")
            .bind(Param::I64(version_id))
            .push(" AND id <= ")
            .bind(Param::I64(from_id.unwrap_or(i64::MAX)))
            .push(" ORDER BY id DESC LIMIT ")
            .bind(Param::I64(limit));
        self.fetch_all(&sql).await
    }

    /// Points the prompt's tag `name` at `version_id`, moving it when it pointed elsewhere.
    pub async fn set_prompt_version_tag(
        &self,
        prompt_id: i64,
        version_id: i64,
        name: &str,
        description: Option<&str>,
    ) -> Result<()> {
        let mut sql = self.sql();
        push_tag_upsert(&mut sql, prompt_id, version_id, name, description, now_ns());
        self.execute(&sql).await?;
        Ok(())
    }

    /// Removes the prompt's tag `name`; false when it had none.
    pub async fn delete_prompt_version_tag(&self, prompt_id: i64, name: &str) -> Result<bool> {
        let mut sql = self.sql();
        sql.push("DELETE FROM prompt_version_tags WHERE prompt_id = ")
            .bind(Param::I64(prompt_id))
            .push(" AND name = ")
            .bind(Param::Str(name));
        Ok(self.execute(&sql).await? > 0)
    }

    /// Changes a prompt's description (`Some(None)` clears it) and/or metadata (JSON object
    /// text); `None` when the prompt does not exist.
    pub async fn update_prompt(
        &self,
        prompt_id: i64,
        description: Option<Option<&str>>,
        metadata: Option<&str>,
    ) -> Result<Option<PromptRow>> {
        let mut sql = self.sql();
        sql.push("UPDATE prompts SET updated_ns = ").bind(Param::I64(now_ns()));
        if let Some(description) = description {
            sql.push(", description = ").bind(Param::OptStr(description));
        }
        if let Some(metadata) = metadata {
            sql.push(", metadata = ").bind_json(metadata);
        }
        sql.push(" WHERE id = ").bind(Param::I64(prompt_id));
        if self.execute(&sql).await? == 0 {
            return Ok(None);
        }
        self.prompt(&PromptIdentifier::Id(prompt_id)).await
    }

    /// Deletes a prompt with its versions and tags; false when it did not exist.
    pub async fn delete_prompt(&self, prompt_id: i64) -> Result<bool> {
        let mut sql = self.sql();
        sql.push("DELETE FROM prompts WHERE id = ").bind(Param::I64(prompt_id));
        Ok(self.execute(&sql).await? > 0)
    }
}

fn push_tag_upsert<'a>(
    sql: &mut Sql<'a>,
    prompt_id: i64,
    version_id: i64,
    name: &'a str,
    description: Option<&'a str>,
    now: i64,
) {
    sql.push("INSERT INTO prompt_version_tags (prompt_id, prompt_version_id, name, description, created_ns) VALUES ")
        .bind_list([
            Param::I64(prompt_id),
            Param::I64(version_id),
            Param::Str(name),
            Param::OptStr(description),
            Param::I64(now),
        ])
        .push(
            " ON CONFLICT (prompt_id, name) DO UPDATE SET prompt_version_id = excluded.prompt_version_id, \
             description = excluded.description",
        );
}

/// Inserts a version of `prompt_id` and its tags in `tx`; returns the version id.
async fn insert_version(
    tx: &mut super::tx::Tx,
    prompt_id: i64,
    data: &VersionData,
    tags: &[NewTag],
    now: i64,
) -> Result<i64> {
    let json = VersionJson::of(data);
    let mut sql = tx.sql();
    sql.push(
        "INSERT INTO prompt_versions (prompt_id, description, model_provider, model_name, template_type, \
         template_format, template, invocation_parameters, tools, response_format, metadata, created_ns) VALUES (",
    )
    .bind(Param::I64(prompt_id))
    .push(", ")
    .bind(Param::OptStr(data.description.as_deref()))
    .push(", ")
    .bind(Param::Str(&data.model_provider))
    .push(", ")
    .bind(Param::Str(&data.model_name))
    .push(", ")
    .bind(Param::Str(&data.template_type))
    .push(", ")
    .bind(Param::Str(&data.template_format))
    .push(", ")
    .bind_json(&json.template)
    .push(", ")
    .bind_json(&json.invocation_parameters)
    .push(", ");
    bind_optional_json(&mut sql, json.tools.as_deref());
    sql.push(", ");
    bind_optional_json(&mut sql, json.response_format.as_deref());
    sql.push(", ").bind_json(&json.metadata).push(", ").bind(Param::I64(now)).push(") RETURNING id");
    let version_id = tx.returning_id(&sql).await?;
    for (name, description) in tags {
        let mut upsert = tx.sql();
        push_tag_upsert(&mut upsert, prompt_id, version_id, name, description.as_deref(), now);
        tx.execute(&upsert).await?;
    }
    let mut touch = tx.sql();
    touch
        .push("UPDATE prompts SET updated_ns = ")
        .bind(Param::I64(now))
        .push(" WHERE id = ")
        .bind(Param::I64(prompt_id));
    tx.execute(&touch).await?;
    Ok(version_id)
}
