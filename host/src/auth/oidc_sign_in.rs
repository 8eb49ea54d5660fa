//! Accounts for OpenID Connect sign-ins: the account a provider's subject maps to (created at
//! first sign-in when the provider allows sign-up), its role kept in step with the provider's
//! claims, and the per-project roles its groups give.

use std::collections::BTreeMap;

use super::oidc::{Identity, OidcError};
use super::oidc_config::OidcProvider;
use super::principal::Role;
use super::sessions::IssuedSession;
use super::{Auth, AuthError};
use crate::store::{NewUser, StoreError, UserRow};

impl Auth {
    /// Signs in the verified `identity` from `provider`: finds or creates its account, applies
    /// the roles its claims map to, and starts a browser session.
    pub async fn sign_in_oidc(
        &self,
        provider: &OidcProvider,
        identity: &Identity,
    ) -> Result<(UserRow, IssuedSession), AuthError> {
        let store = &self.inner.store;
        let user = match store.user_by_oauth2(&provider.name, &identity.subject).await? {
            Some(user) => {
                if let Some(role) = identity.role.filter(|role| role.as_str() != user.role) {
                    store.set_user_role(user.id, role.as_str()).await?;
                }
                store.user(user.id).await?.unwrap_or(user)
            }
            None if !provider.allow_sign_up => {
                return Err(
                    OidcError::NotAllowed("sign-up is closed: ask an administrator for an account".into()).into()
                )
            }
            None => {
                if store.user_by_login(&identity.email).await?.is_some() {
                    // Never attach a provider identity to an existing account by email alone.
                    return Err(OidcError::NotAllowed(format!(
                        "an account with the email {} already exists and signs in another way",
                        identity.email
                    ))
                    .into());
                }
                let role = identity.role.unwrap_or(Role::Viewer);
                let new = NewUser {
                    username: &identity.username,
                    email: &identity.email,
                    role: role.as_str(),
                    password_hash: None,
                    password_needs_reset: false,
                };
                match store.create_oauth2_user(&new, &provider.name, &identity.subject).await {
                    Ok(user) => user,
                    Err(StoreError::UserExists(_)) => {
                        // The display name is taken: fall back to the unique email as username.
                        let new = NewUser { username: &identity.email, ..new };
                        store.create_oauth2_user(&new, &provider.name, &identity.subject).await?
                    }
                    Err(err) => return Err(err.into()),
                }
            }
        };
        self.apply_project_roles(provider, identity, user.id).await?;
        self.forget_cached();
        let session = self.start_session(user.id).await?;
        Ok((user, session))
    }

    /// Gives the user the project roles their groups map to (the highest when several do), and
    /// takes away those of mapped projects whose groups they are no longer in.
    async fn apply_project_roles(
        &self,
        provider: &OidcProvider,
        identity: &Identity,
        user_id: i64,
    ) -> Result<(), AuthError> {
        let store = &self.inner.store;
        let mut wanted: BTreeMap<&str, Option<Role>> = BTreeMap::new();
        for (group, project, role) in &provider.project_roles {
            let entry = wanted.entry(project.as_str()).or_default();
            if identity.groups.contains(group) {
                *entry = (*entry).max(Some(*role));
            }
        }
        for (project, role) in wanted {
            let row = match (store.project_by_name(project).await?, role) {
                (Some(row), _) => row,
                (None, Some(_)) => match store.create_project(project, None).await {
                    Ok(row) => row,
                    Err(StoreError::ProjectExists(_)) => match store.project_by_name(project).await? {
                        Some(row) => row,
                        None => continue,
                    },
                    Err(err) => return Err(err.into()),
                },
                (None, None) => continue,
            };
            match role {
                Some(role) => store.set_project_member(row.id, user_id, role.as_str()).await?,
                None => {
                    store.remove_project_member(row.id, user_id).await?;
                }
            }
        }
        Ok(())
    }
}
