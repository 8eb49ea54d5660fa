//! Key-value server settings stored in the database (currently the ingest pipeline).

use super::sql::Param;
use super::{Result, Store};
use crate::time::now_ns;

impl Store {
    /// The stored value of a setting.
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        let mut sql = self.sql();
        sql.push("SELECT value FROM settings WHERE key = ").bind(Param::Str(key));
        let row: Option<(String,)> = self.fetch_optional(&sql).await?;
        Ok(row.map(|(value,)| value))
    }

    /// Stores (or replaces) a setting.
    pub async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        let mut sql = self.sql();
        sql.push("INSERT INTO settings (key, value, updated_ns) VALUES ")
            .bind_list([Param::Str(key), Param::Str(value), Param::I64(now_ns())])
            .push(" ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_ns = excluded.updated_ns");
        self.execute(&sql).await?;
        Ok(())
    }

    /// The stored value of a setting, storing `value` first when there is none; the first
    /// writer wins, so replicas starting together agree.
    pub async fn setting_or_insert(&self, key: &str, value: &str) -> Result<String> {
        let mut sql = self.sql();
        sql.push("INSERT INTO settings (key, value, updated_ns) VALUES ")
            .bind_list([Param::Str(key), Param::Str(value), Param::I64(now_ns())])
            .push(" ON CONFLICT (key) DO NOTHING");
        self.execute(&sql).await?;
        Ok(self.setting(key).await?.unwrap_or_else(|| value.to_owned()))
    }
}
