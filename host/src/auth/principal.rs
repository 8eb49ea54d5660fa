//! Who is asking and what they may do: roles as Phoenix names them, API-key scopes, and the
//! permission every route declares.

use std::fmt;

use super::projects::ProjectAccess;

/// A user's role, as Phoenix names them. Ordered: each role can do what the ones below it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads everything it can see.
    Viewer,
    /// Also writes annotations, datasets, experiments, prompts, and ingests spans.
    Member,
    /// Also manages plugins, grants, the pipeline, secrets, users and system keys.
    Admin,
}

impl Role {
    /// Phoenix's spelling: `ADMIN`, `MEMBER`, `VIEWER`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "VIEWER",
            Role::Member => "MEMBER",
            Role::Admin => "ADMIN",
        }
    }

    /// Parses Phoenix's spelling in any case.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_uppercase().as_str() {
            "VIEWER" => Some(Role::Viewer),
            "MEMBER" => Some(Role::Member),
            "ADMIN" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// The most an API key may do, whatever its owner's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyScope {
    /// Only sends spans (OTLP over HTTP or gRPC): the key an instrumented app holds.
    Ingest,
    /// Reads.
    Read,
    /// Reads, writes and ingests.
    Write,
    /// Everything its owner may do.
    Admin,
}

impl KeyScope {
    /// `ingest`, `read`, `write` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyScope::Ingest => "ingest",
            KeyScope::Read => "read",
            KeyScope::Write => "write",
            KeyScope::Admin => "admin",
        }
    }

    /// Parses the lower-case name.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "ingest" => Some(KeyScope::Ingest),
            "read" => Some(KeyScope::Read),
            "write" => Some(KeyScope::Write),
            "admin" => Some(KeyScope::Admin),
            _ => None,
        }
    }

    fn permits(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            KeyScope::Ingest => matches!(permission, Open | Ingest),
            KeyScope::Read => matches!(permission, Open | Authenticated | Read),
            KeyScope::Write => matches!(permission, Open | Authenticated | Ingest | Read | Write),
            KeyScope::Admin => true,
        }
    }
}

/// What a route needs; declared once per route where the router registers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Anyone, without credentials: health, readiness, version, login.
    Open,
    /// Any signed-in user or key (except ingest-only keys): one's own profile and keys.
    Authenticated,
    /// Sends spans.
    Ingest,
    /// Reads traces, datasets, experiments, prompts, plugins.
    Read,
    /// Writes annotations, datasets, experiments, prompts; runs evaluations.
    Write,
    /// Plugins, grants, the ingest pipeline, secrets, users, system keys, the audit log.
    Admin,
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Permission::Open => "open",
            Permission::Authenticated => "authenticated",
            Permission::Ingest => "ingest",
            Permission::Read => "read",
            Permission::Write => "write",
            Permission::Admin => "admin",
        };
        f.write_str(name)
    }
}

impl Role {
    fn permits(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Member => matches!(permission, Open | Authenticated | Ingest | Read | Write),
            Role::Viewer => matches!(permission, Open | Authenticated | Read),
        }
    }
}

/// How a request proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// Authentication is off: the single-user server, where the caller is its administrator.
    Unauthenticated,
    /// A browser session's access token (from a cookie or a bearer header).
    Session { session_id: i64 },
    /// A system API key: no user, acts with the admin role up to its scope.
    SystemKey { key_id: i64 },
    /// A user's API key: acts as the user, up to its scope.
    UserKey { key_id: i64 },
}

/// The account behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub username: String,
}

/// The caller of one request, resolved from its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user, when the credential belongs to one.
    pub account: Option<Account>,
    pub role: Role,
    /// The key's scope when the request came with an API key.
    pub scope: Option<KeyScope>,
    pub credential: Credential,
    /// The projects it sees, and where its role is narrower than `role`.
    pub projects: ProjectAccess,
}

/// Why a caller may not act on one project's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectDenied {
    /// The project is invisible to the caller: answer as if it did not exist.
    Hidden,
    /// The caller sees the project but its role there lacks the permission.
    Lacks(Permission),
}

impl Principal {
    /// The caller when authentication is off.
    pub fn unauthenticated() -> Self {
        Self {
            account: None,
            role: Role::Admin,
            scope: None,
            credential: Credential::Unauthenticated,
            projects: ProjectAccess::All,
        }
    }

    /// Whether this caller may use a route that needs `permission`: its role and, for keys, the
    /// key's scope must both allow it.
    pub fn allows(&self, permission: Permission) -> bool {
        self.role.permits(permission) && self.scope.is_none_or(|scope| scope.permits(permission))
    }

    /// Whether this caller may do what `permission` allows with the data of `project_id`: the
    /// project must be visible to it, and its role there (and its key's scope) must allow it.
    pub fn check_project(&self, project_id: i64, permission: Permission) -> Result<(), ProjectDenied> {
        let role = self.projects.role_in(project_id, self.role).ok_or(ProjectDenied::Hidden)?;
        if role.permits(permission) && self.scope.is_none_or(|scope| scope.permits(permission)) {
            Ok(())
        } else {
            Err(ProjectDenied::Lacks(permission))
        }
    }

    /// Whether this caller sees `project_id` at all.
    pub fn sees(&self, project_id: i64) -> bool {
        self.projects.sees(project_id)
    }

    /// How the audit log names this caller: `user:alice`, `system-key:3`, `anonymous`.
    pub fn actor(&self) -> String {
        match (&self.account, &self.credential) {
            (Some(account), _) => format!("user:{}", account.username),
            (None, Credential::SystemKey { key_id }) => format!("system-key:{key_id}"),
            _ => "anonymous".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(role: Role, scope: Option<KeyScope>) -> Principal {
        Principal {
            account: None,
            role,
            scope,
            credential: Credential::SystemKey { key_id: 1 },
            projects: ProjectAccess::All,
        }
    }

    #[test]
    fn roles_nest() {
        let viewer = with(Role::Viewer, None);
        assert!(viewer.allows(Permission::Read));
        assert!(!viewer.allows(Permission::Write));
        assert!(!viewer.allows(Permission::Ingest));
        let member = with(Role::Member, None);
        assert!(member.allows(Permission::Write) && member.allows(Permission::Ingest));
        assert!(!member.allows(Permission::Admin));
        assert!(with(Role::Admin, None).allows(Permission::Admin));
    }

    #[test]
    fn a_key_never_exceeds_its_scope_or_its_owner() {
        let ingest = with(Role::Admin, Some(KeyScope::Ingest));
        assert!(ingest.allows(Permission::Ingest));
        assert!(!ingest.allows(Permission::Read), "an ingest key reads nothing");
        assert!(!ingest.allows(Permission::Authenticated));
        let read = with(Role::Admin, Some(KeyScope::Read));
        assert!(read.allows(Permission::Read) && !read.allows(Permission::Write));
        let viewer_admin_key = with(Role::Viewer, Some(KeyScope::Admin));
        assert!(!viewer_admin_key.allows(Permission::Write), "the owner's role caps the key");
    }

    #[test]
    fn names_round_trip() {
        for role in [Role::Viewer, Role::Member, Role::Admin] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        for scope in [KeyScope::Ingest, KeyScope::Read, KeyScope::Write, KeyScope::Admin] {
            assert_eq!(KeyScope::parse(scope.as_str()), Some(scope));
        }
        assert_eq!(Role::parse("SYSTEM"), None);
    }
}
