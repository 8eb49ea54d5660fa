//! Per-project roles: which users may see a project, and with which role.
//!
//! A project with no member rows is open to every user at their global role; once it has one,
//! only its members (and admins) see it.

use super::sql::Param;
use super::{Result, Store};

/// One user's role on one project.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MemberRow {
    pub project_id: i64,
    pub user_id: i64,
    pub username: String,
    pub role: String,
}

const MEMBER_COLUMNS: &str = "SELECT m.project_id, m.user_id, u.username, m.role \
     FROM project_members m JOIN users u ON u.id = m.user_id";

impl Store {
    /// Every membership of every project: the table is small (users × restricted projects) and
    /// read once per credential per cache period.
    pub async fn all_project_members(&self) -> Result<Vec<MemberRow>> {
        let mut sql = self.sql();
        sql.push(MEMBER_COLUMNS).push(" ORDER BY m.project_id, m.user_id");
        self.fetch_all(&sql).await
    }

    /// The members of one project, by user id.
    pub async fn project_members(&self, project_id: i64) -> Result<Vec<MemberRow>> {
        let mut sql = self.sql();
        sql.push(MEMBER_COLUMNS).push(" WHERE m.project_id = ").bind(Param::I64(project_id));
        sql.push(" ORDER BY m.user_id");
        self.fetch_all(&sql).await
    }

    /// Gives `user_id` `role` on `project_id`, replacing any role they had there.
    pub async fn set_project_member(&self, project_id: i64, user_id: i64, role: &str) -> Result<()> {
        let mut sql = self.sql();
        sql.push("INSERT INTO project_members (project_id, user_id, role) VALUES ")
            .bind_list([Param::I64(project_id), Param::I64(user_id), Param::Str(role)])
            .push(" ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role");
        self.execute(&sql).await?;
        Ok(())
    }

    /// Removes `user_id` from `project_id`; false when they were not a member.
    pub async fn remove_project_member(&self, project_id: i64, user_id: i64) -> Result<bool> {
        let mut sql = self.sql();
        sql.push("DELETE FROM project_members WHERE project_id = ").bind(Param::I64(project_id));
        sql.push(" AND user_id = ").bind(Param::I64(user_id));
        Ok(self.execute(&sql).await? > 0)
    }

    /// Gives `to` the members of `from`: an experiment's project is restricted like the project
    /// its dataset's spans came from, since its traces carry that data.
    pub async fn copy_project_members(&self, from: i64, to: i64) -> Result<()> {
        let mut sql = self.sql();
        sql.push("INSERT INTO project_members (project_id, user_id, role) SELECT ").bind(Param::I64(to));
        sql.push(", user_id, role FROM project_members WHERE project_id = ").bind(Param::I64(from));
        sql.push(" ON CONFLICT (project_id, user_id) DO NOTHING");
        self.execute(&sql).await?;
        Ok(())
    }
}
