//! Prompt tasks: an experiment's task run server-side (a prompt version through a provider
//! plugin). The row holds the task's specification and a lease, so that a task whose server died
//! is taken up again by the next server to look.

use super::sql::Param;
use super::{Result, Store};
use crate::time::now_ns;

/// A stored prompt task.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PromptTaskRow {
    pub experiment_id: i64,
    /// The task's specification (JSON text).
    pub spec: String,
    /// `running` or `done`.
    pub state: String,
    pub lease_until_ns: i64,
}

impl Store {
    /// Stores (or restarts) an experiment's prompt task as running, leased until `lease_until_ns`.
    pub async fn start_prompt_task(&self, experiment_id: i64, spec: &str, lease_until_ns: i64) -> Result<()> {
        let now = now_ns();
        let mut sql = self.sql();
        sql.push(
            "INSERT INTO prompt_tasks (experiment_id, spec, state, lease_until_ns, created_ns, updated_ns) VALUES ",
        )
        .bind_list([
            Param::I64(experiment_id),
            Param::Str(spec),
            Param::Str("running"),
            Param::I64(lease_until_ns),
            Param::I64(now),
            Param::I64(now),
        ])
        .push(
            " ON CONFLICT (experiment_id) DO UPDATE SET spec = excluded.spec, state = excluded.state, \
                 lease_until_ns = excluded.lease_until_ns, updated_ns = excluded.updated_ns",
        );
        self.execute(&sql).await?;
        Ok(())
    }

    /// An experiment's prompt task.
    pub async fn prompt_task(&self, experiment_id: i64) -> Result<Option<PromptTaskRow>> {
        let mut sql = self.sql();
        sql.push("SELECT experiment_id, spec, state, lease_until_ns FROM prompt_tasks WHERE experiment_id = ")
            .bind(Param::I64(experiment_id));
        self.fetch_optional(&sql).await
    }

    /// Takes over running tasks whose lease has expired, leasing them until `lease_until_ns`.
    pub async fn claim_stale_prompt_tasks(&self, lease_until_ns: i64) -> Result<Vec<PromptTaskRow>> {
        let now = now_ns();
        let mut sql = self.sql();
        sql.push("UPDATE prompt_tasks SET lease_until_ns = ")
            .bind(Param::I64(lease_until_ns))
            .push(", updated_ns = ")
            .bind(Param::I64(now))
            .push(" WHERE state = 'running' AND lease_until_ns < ")
            .bind(Param::I64(now))
            .push(" RETURNING experiment_id, spec, state, lease_until_ns");
        self.fetch_all(&sql).await
    }

    /// Extends a running task's lease.
    pub async fn renew_prompt_task(&self, experiment_id: i64, lease_until_ns: i64) -> Result<()> {
        let mut sql = self.sql();
        sql.push("UPDATE prompt_tasks SET lease_until_ns = ")
            .bind(Param::I64(lease_until_ns))
            .push(" WHERE state = 'running' AND experiment_id = ")
            .bind(Param::I64(experiment_id));
        self.execute(&sql).await?;
        Ok(())
    }

    /// Marks a task done.
    pub async fn finish_prompt_task(&self, experiment_id: i64) -> Result<()> {
        let mut sql = self.sql();
        sql.push("UPDATE prompt_tasks SET state = 'done', lease_until_ns = 0, updated_ns = ")
            .bind(Param::I64(now_ns()))
            .push(" WHERE experiment_id = ")
            .bind(Param::I64(experiment_id));
        self.execute(&sql).await?;
        Ok(())
    }
}
