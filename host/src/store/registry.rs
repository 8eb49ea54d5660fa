//! The plugin registry: content-addressed component blobs and the `name@version` rows that
//! point at them, with each plugin's manifest, grants and limits.

use super::sql::Param;
use super::{Dialect, Result, Store, StoreError};
use crate::time::now_ns;

/// One registered plugin version. JSON columns are returned as text.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PluginRecord {
    pub id: i64,
    pub name: String,
    pub version: String,
    pub world: String,
    pub wit_version: String,
    pub sha256: String,
    pub size_bytes: i64,
    pub manifest: String,
    pub grants: String,
    pub limits: String,
    /// What `host.config` answers when no caller gives a configuration (JSON object text).
    pub config: String,
    pub enabled: bool,
    pub source: String,
    pub created_ns: i64,
}

/// A plugin version to register.
#[derive(Debug, Clone)]
pub struct NewPlugin<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub world: &'a str,
    pub wit_version: &'a str,
    pub sha256: &'a str,
    pub manifest: &'a str,
    pub grants: &'a str,
    pub limits: &'a str,
    pub source: &'a str,
}

/// What registering did.
#[derive(Debug, Clone)]
pub enum Registered {
    /// A new row.
    Created(PluginRecord),
    /// The same name, version and bytes were already registered: nothing changed.
    Unchanged(PluginRecord),
    /// A bundled plugin's bytes changed under the same version (a rebuild): the row now points
    /// at the new blob.
    Replaced(PluginRecord),
}

impl Registered {
    /// The row as it is now.
    pub fn record(&self) -> &PluginRecord {
        match self {
            Self::Created(record) | Self::Unchanged(record) | Self::Replaced(record) => record,
        }
    }
}

fn columns(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => {
            "SELECT p.id, p.name, p.version, p.world, p.wit_version, p.sha256, b.size_bytes, p.manifest, \
             p.grants, p.limits, p.config, p.enabled, p.source, p.created_ns FROM plugins p JOIN plugin_blobs b ON b.sha256 = p.sha256"
        }
        Dialect::Postgres => {
            "SELECT p.id, p.name, p.version, p.world, p.wit_version, p.sha256, b.size_bytes, p.manifest::text AS manifest, \
             p.grants::text AS grants, p.limits::text AS limits, p.config, p.enabled, p.source, p.created_ns \
             FROM plugins p JOIN plugin_blobs b ON b.sha256 = p.sha256"
        }
    }
}

impl Store {
    /// Registers a plugin version with its component bytes (stored once per sha256).
    ///
    /// The same `name@version` with other bytes is refused with `StoreError::PluginVersionTaken`,
    /// unless both the existing row and the new one are bundled plugins (a rebuilt first-party
    /// plugin), which replaces the blob the row points at.
    pub async fn register_plugin(&self, plugin: &NewPlugin<'_>, content: &[u8]) -> Result<Registered> {
        if plugin.source == "upload" {
            // Names of bundled plugins are reserved: an upload must not become what `pii` or
            // `exact_match` resolves to.
            let mut bundled = self.sql();
            bundled
                .push("SELECT COUNT(*) FROM plugins WHERE source = 'bundled' AND name = ")
                .bind(Param::Str(plugin.name));
            let (count,): (i64,) = self.fetch_optional(&bundled).await?.unwrap_or((0,));
            if count > 0 {
                return Err(StoreError::PluginNameReserved(plugin.name.to_owned()));
            }
        }
        if let Some(existing) = self.plugin_by_name_version(plugin.name, plugin.version).await? {
            if existing.sha256 == plugin.sha256 {
                return Ok(Registered::Unchanged(existing));
            }
            let mut used = self.sql();
            used.push("SELECT COUNT(*) FROM experiment_evaluators WHERE plugin_id = ").bind(Param::I64(existing.id));
            let (in_use,): (i64,) = self.fetch_optional(&used).await?.unwrap_or((0,));
            // A rebuilt bundled plugin replaces its bytes in place, unless experiments are pinned
            // to the version: their scores must all come from one sha256.
            if !(existing.source == "bundled" && plugin.source == "bundled") || in_use > 0 {
                return Err(StoreError::PluginVersionTaken {
                    name: plugin.name.to_owned(),
                    version: plugin.version.to_owned(),
                    sha256: existing.sha256,
                });
            }
        }
        let now = now_ns();
        let size = i64::try_from(content.len()).unwrap_or(i64::MAX);
        let mut blob = self.sql();
        blob.push("INSERT INTO plugin_blobs (sha256, size_bytes, content, created_ns) VALUES ")
            .bind_list([Param::Str(plugin.sha256), Param::I64(size), Param::Bytes(content), Param::I64(now)])
            .push(" ON CONFLICT (sha256) DO NOTHING");
        let mut row = self.sql();
        row.push(
            "INSERT INTO plugins (name, version, world, wit_version, sha256, manifest, grants, limits, enabled, source, created_ns) VALUES (",
        )
        .bind(Param::Str(plugin.name))
        .push(", ")
        .bind(Param::Str(plugin.version))
        .push(", ")
        .bind(Param::Str(plugin.world))
        .push(", ")
        .bind(Param::Str(plugin.wit_version))
        .push(", ")
        .bind(Param::Str(plugin.sha256))
        .push(", ")
        .bind_json(plugin.manifest)
        .push(", ")
        .bind_json(plugin.grants)
        .push(", ")
        .bind_json(plugin.limits)
        .push(", TRUE, ")
        .bind(Param::Str(plugin.source))
        .push(", ")
        .bind(Param::I64(now))
        .push(") ON CONFLICT (name, version) DO UPDATE SET sha256 = excluded.sha256, world = excluded.world, \
               wit_version = excluded.wit_version, manifest = excluded.manifest, limits = excluded.limits \
               WHERE plugins.source = 'bundled' AND excluded.source = 'bundled'");
        let affected = self.execute_in_transaction(&[blob, row]).await?;
        let record = self
            .plugin_by_name_version(plugin.name, plugin.version)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
        if record.sha256 != plugin.sha256 {
            // Another writer registered other bytes under this version between our read and write.
            return Err(StoreError::PluginVersionTaken {
                name: plugin.name.to_owned(),
                version: plugin.version.to_owned(),
                sha256: record.sha256,
            });
        }
        self.delete_orphan_blobs().await;
        let replaced = affected.get(1).copied().unwrap_or(0) > 0 && record.created_ns != now;
        Ok(if replaced { Registered::Replaced(record) } else { Registered::Created(record) })
    }

    /// Every registered plugin version, by name then registration order.
    pub async fn list_plugins(&self) -> Result<Vec<PluginRecord>> {
        let mut sql = self.sql();
        sql.push(columns(self.dialect())).push(" ORDER BY p.name, p.id");
        self.fetch_all(&sql).await
    }

    /// A plugin version by row id.
    pub async fn plugin_by_id(&self, id: i64) -> Result<Option<PluginRecord>> {
        let mut sql = self.sql();
        sql.push(columns(self.dialect())).push(" WHERE p.id = ").bind(Param::I64(id));
        self.fetch_optional(&sql).await
    }

    /// A plugin version by name and version.
    pub async fn plugin_by_name_version(&self, name: &str, version: &str) -> Result<Option<PluginRecord>> {
        let mut sql = self.sql();
        sql.push(columns(self.dialect()))
            .push(" WHERE p.name = ")
            .bind(Param::Str(name))
            .push(" AND p.version = ")
            .bind(Param::Str(version));
        self.fetch_optional(&sql).await
    }

    /// The component bytes stored under `sha256`.
    pub async fn plugin_blob(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let mut sql = self.sql();
        sql.push("SELECT content FROM plugin_blobs WHERE sha256 = ").bind(Param::Str(sha256));
        let row: Option<(Vec<u8>,)> = self.fetch_optional(&sql).await?;
        Ok(row.map(|(content,)| content))
    }

    /// Enables or disables a plugin version; false when it does not exist.
    pub async fn set_plugin_enabled(&self, id: i64, enabled: bool) -> Result<bool> {
        let mut sql = self.sql();
        sql.push(if enabled { "UPDATE plugins SET enabled = TRUE" } else { "UPDATE plugins SET enabled = FALSE" })
            .push(" WHERE id = ")
            .bind(Param::I64(id));
        Ok(self.execute(&sql).await? > 0)
    }

    /// Replaces a plugin version's grants and limits (JSON text); false when it does not exist.
    pub async fn set_plugin_policy(&self, id: i64, grants: &str, limits: &str) -> Result<bool> {
        let mut sql = self.sql();
        sql.push("UPDATE plugins SET grants = ")
            .bind_json(grants)
            .push(", limits = ")
            .bind_json(limits)
            .push(" WHERE id = ")
            .bind(Param::I64(id));
        Ok(self.execute(&sql).await? > 0)
    }

    /// Replaces a plugin version's configuration (JSON object text); false when it does not exist.
    pub async fn set_plugin_config(&self, id: i64, config: &str) -> Result<bool> {
        let mut sql = self.sql();
        sql.push("UPDATE plugins SET config = ").bind(Param::Str(config)).push(" WHERE id = ").bind(Param::I64(id));
        Ok(self.execute(&sql).await? > 0)
    }

    /// Deletes a plugin version and, when no other version shares it, its blob. A version that
    /// experiments' evaluators still use is refused with `StoreError::PluginInUse`.
    pub async fn delete_plugin(&self, id: i64) -> Result<bool> {
        let mut used = self.sql();
        used.push("SELECT COUNT(*) FROM experiment_evaluators WHERE plugin_id = ").bind(Param::I64(id));
        let (count,): (i64,) = self.fetch_optional(&used).await?.unwrap_or((0,));
        if count > 0 {
            return Err(StoreError::PluginInUse { evaluators: count });
        }
        let mut sql = self.sql();
        sql.push("DELETE FROM plugins WHERE id = ").bind(Param::I64(id));
        let deleted = match self.execute(&sql).await {
            Ok(affected) => affected > 0,
            // An evaluator attached between the check and the delete.
            Err(StoreError::Database(sqlx::Error::Database(db))) if db.is_foreign_key_violation() => {
                return Err(StoreError::PluginInUse { evaluators: 1 })
            }
            Err(err) => return Err(err),
        };
        self.delete_orphan_blobs().await;
        Ok(deleted)
    }

    /// Removes blobs no version points at. Best effort: a concurrent registration of the same
    /// bytes may make it fail, and the next registration or deletion tries again.
    async fn delete_orphan_blobs(&self) {
        let mut sql = self.sql();
        sql.push(
            "DELETE FROM plugin_blobs WHERE NOT EXISTS (SELECT 1 FROM plugins p WHERE p.sha256 = plugin_blobs.sha256)",
        );
        if let Err(err) = self.execute(&sql).await {
            tracing::warn!(error = %err, "unused plugin blobs not removed");
        }
    }
}
