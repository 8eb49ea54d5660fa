//! Reading rollups: a project's totals summed over its hours.

use std::collections::HashMap;

use super::write::{decode, RollupRow, ROLLUP_COLUMNS};
use super::Rollup;
use crate::store::sql::Param;
use crate::store::{Result, Store};

impl Store {
    /// The totals of each of `project_ids` (absent when it has no spans), from its rollup rows:
    /// one per hour of spans, plus the rows of recent batches not merged yet.
    pub async fn project_rollups(&self, project_ids: &[i64]) -> Result<HashMap<i64, Rollup>> {
        let mut totals: HashMap<i64, Rollup> = HashMap::new();
        if project_ids.is_empty() {
            return Ok(totals);
        }
        let mut sql = self.sql();
        sql.push(&format!("SELECT {ROLLUP_COLUMNS} FROM span_rollups WHERE project_id IN "))
            .bind_list(project_ids.iter().map(|id| Param::I64(*id)));
        let rows: Vec<RollupRow> = self.fetch_all(&sql).await?;
        for row in rows {
            let ((project_id, _), rollup) = decode(row)?;
            totals.entry(project_id).or_default().merge(&rollup);
        }
        totals.retain(|_, rollup| rollup.span_count > 0);
        Ok(totals)
    }
}
