//! Which projects a caller sees, and with which role there.
//!
//! A project with no members is open: every user sees it at their global role, as in Phoenix. A
//! project with members is restricted: only they (and admins) see it, each at the smaller of their
//! global role and their role on the project, so a project role can narrow what a user may do
//! but never widen it. Everything else of the project (its spans, traces, sessions, annotations,
//! and datasets built from its spans) is invisible to the rest: not found, not just read-only.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::principal::Role;
use crate::store::MemberRow;

/// The projects a caller may see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProjectAccess {
    /// Every project, at the caller's global role: admins, system keys, authentication off, and
    /// users when no restricted project excludes them.
    #[default]
    All,
    /// Some projects hidden, or some seen at a lower role.
    Limited(Arc<Limits>),
}

/// What a limited caller may not see, and where their role is lower than their global one.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Limits {
    hidden: Vec<i64>,
    roles: BTreeMap<i64, Role>,
}

impl ProjectAccess {
    /// A user's access, from every project membership there is.
    pub fn for_user(user_id: i64, global: Role, members: &[MemberRow]) -> Self {
        if global == Role::Admin {
            return ProjectAccess::All;
        }
        let restricted: BTreeSet<i64> = members.iter().map(|m| m.project_id).collect();
        let mut roles = BTreeMap::new();
        for member in members.iter().filter(|m| m.user_id == user_id) {
            // An unreadable role reads as the lowest: a mistake narrows access, never widens it.
            let role = Role::parse(&member.role).unwrap_or(Role::Viewer).min(global);
            roles.insert(member.project_id, role);
        }
        let hidden: Vec<i64> = restricted.into_iter().filter(|id| !roles.contains_key(id)).collect();
        roles.retain(|_, role| *role < global);
        if hidden.is_empty() && roles.is_empty() {
            return ProjectAccess::All;
        }
        ProjectAccess::Limited(Arc::new(Limits { hidden, roles }))
    }

    /// Projects this caller must not see, sorted; empty for [`ProjectAccess::All`].
    pub fn hidden(&self) -> &[i64] {
        match self {
            ProjectAccess::All => &[],
            ProjectAccess::Limited(limits) => &limits.hidden,
        }
    }

    /// Whether anything is hidden or narrowed, so that resources must be checked one by one.
    pub fn is_limited(&self) -> bool {
        matches!(self, ProjectAccess::Limited(_))
    }

    /// Whether the caller sees `project_id`.
    pub fn sees(&self, project_id: i64) -> bool {
        self.hidden().binary_search(&project_id).is_err()
    }

    /// The caller's role on `project_id`, given their global role; `None` when it is hidden.
    pub fn role_in(&self, project_id: i64, global: Role) -> Option<Role> {
        match self {
            ProjectAccess::All => Some(global),
            ProjectAccess::Limited(limits) if limits.hidden.binary_search(&project_id).is_ok() => None,
            ProjectAccess::Limited(limits) => Some(limits.roles.get(&project_id).copied().unwrap_or(global)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(project_id: i64, user_id: i64, role: &str) -> MemberRow {
        MemberRow { project_id, user_id, username: format!("u{user_id}"), role: role.to_owned() }
    }

    #[test]
    fn a_restricted_project_is_hidden_from_non_members_only() {
        let members = [member(1, 7, "MEMBER"), member(2, 8, "VIEWER"), member(2, 7, "VIEWER")];
        let alice = ProjectAccess::for_user(7, Role::Member, &members);
        assert_eq!(alice.role_in(1, Role::Member), Some(Role::Member));
        assert_eq!(alice.role_in(2, Role::Member), Some(Role::Viewer), "a project role narrows");
        assert_eq!(alice.role_in(3, Role::Member), Some(Role::Member), "an open project keeps the global role");
        let bob = ProjectAccess::for_user(9, Role::Member, &members);
        assert_eq!(bob.hidden(), &[1, 2]);
        assert!(!bob.sees(1) && !bob.sees(2) && bob.sees(3));
        assert_eq!(bob.role_in(2, Role::Member), None);
    }

    #[test]
    fn a_project_role_never_widens_and_admins_see_everything() {
        let members = [member(1, 7, "ADMIN")];
        let viewer = ProjectAccess::for_user(7, Role::Viewer, &members);
        assert_eq!(viewer.role_in(1, Role::Viewer), Some(Role::Viewer));
        assert_eq!(viewer, ProjectAccess::All, "nothing hidden or narrowed");
        assert_eq!(ProjectAccess::for_user(8, Role::Admin, &members), ProjectAccess::All);
        let unknown = [member(1, 7, "OWNER")];
        assert_eq!(ProjectAccess::for_user(7, Role::Member, &unknown).role_in(1, Role::Member), Some(Role::Viewer));
    }
}
