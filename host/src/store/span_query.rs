//! Reads behind Phoenix's span query route (`POST /v1/spans`) that `reads.rs` does not cover.

use std::collections::HashSet;

use super::sql::Param;
use super::write::span_key;
use super::{Result, Store};

impl Store {
    /// Which of `span_ids` (OpenTelemetry span ids, any project) are stored: used to tell orphan
    /// spans, whose parent is absent, which Phoenix counts as root spans.
    pub async fn existing_span_ids(&self, span_ids: &[String]) -> Result<HashSet<String>> {
        let keys: Vec<i64> = span_ids.iter().filter_map(|id| span_key(id)).collect();
        let mut found = HashSet::new();
        for chunk in keys.chunks(500) {
            let mut sql = self.sql();
            sql.push("SELECT span_id FROM spans WHERE span_key IN ").bind_list(chunk.iter().copied().map(Param::I64));
            let rows: Vec<(String,)> = self.fetch_all(&sql).await?;
            found.extend(rows.into_iter().map(|(id,)| id));
        }
        Ok(found)
    }
}
