//! The first administrator, without a default password: either an initial password from the
//! environment (the account must change it), or a one-time setup token written to a file
//! only the server's user can read, exchanged once through `POST /auth/setup`.

use std::path::{Path, PathBuf};

use super::token::{self, TokenKind};
use super::{Auth, AuthError, Role, UserInput};

/// Ember's variable for the first admin's initial password.
pub const INITIAL_PASSWORD_ENV: &str = "EMBER_ADMIN_INITIAL_PASSWORD";
/// Phoenix's name for it, read when Ember's is not set.
pub const PHOENIX_INITIAL_PASSWORD_ENV: &str = "PHOENIX_DEFAULT_ADMIN_INITIAL_PASSWORD";
/// The first admin's username and email when bootstrapped from the environment.
const ADMIN_USERNAME: &str = "admin";
const ADMIN_EMAIL: &str = "admin@localhost";

/// How the first administrator gets in.
#[derive(Debug)]
pub enum Bootstrap {
    /// Accounts exist already.
    Done,
    /// Created `admin` with the initial password from the environment.
    AdminCreated,
    /// No accounts yet: the setup token was written to `file`.
    AwaitingSetup { file: PathBuf },
}

impl Auth {
    /// Makes sure an administrator can get in: does nothing when users exist, else creates
    /// `admin` with `initial_password`, else writes a one-time setup token to `working_dir`.
    pub async fn bootstrap(&self, initial_password: Option<&str>, working_dir: &Path) -> Result<Bootstrap, AuthError> {
        if self.store().user_count().await? > 0 {
            return Ok(Bootstrap::Done);
        }
        if let Some(password) = initial_password.filter(|password| !password.is_empty()) {
            let created = self
                .create_user(UserInput {
                    username: ADMIN_USERNAME,
                    email: ADMIN_EMAIL,
                    role: Role::Admin,
                    password: Some(password),
                    password_needs_reset: true,
                })
                .await;
            return match created {
                Ok(_) => Ok(Bootstrap::AdminCreated),
                // Another replica on the same database created it first.
                Err(AuthError::Store(crate::store::StoreError::UserExists(_))) => Ok(Bootstrap::Done),
                Err(err) => Err(err),
            };
        }
        let setup = token::generate(TokenKind::Access);
        let file = working_dir.join("admin-setup-token");
        write_private(&file, &setup.secret).map_err(|err| AuthError::Blocking(format!("{}: {err}", file.display())))?;
        *self.inner.setup.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(setup.hash);
        Ok(Bootstrap::AwaitingSetup { file })
    }

    /// Creates the first administrator with the setup token; refused once any user exists.
    pub async fn complete_setup(
        &self,
        presented: &str,
        user: UserInput<'_>,
    ) -> Result<crate::store::UserRow, AuthError> {
        let expected = *self.inner.setup.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if expected != Some(token::digest(presented)) || self.store().user_count().await? > 0 {
            return Err(AuthError::Invalid);
        }
        let created = self.create_user(UserInput { role: Role::Admin, password_needs_reset: false, ..user }).await?;
        *self.inner.setup.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
        Ok(created)
    }
}

/// Writes `secret` to `path`, readable by the owner only.
fn write_private(path: &Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(secret.as_bytes())?;
    file.write_all(b"\n")
}
