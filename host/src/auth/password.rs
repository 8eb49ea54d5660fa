//! Passwords: the policy a new one must meet, and Argon2id hashes in PHC strings.
//!
//! The cost is OWASP's Argon2id baseline (19 MiB, 2 passes, 1 lane): about 20–40 ms per hash
//! here, paid on login and password changes only, in a blocking thread. Requests with a key or a
//! session token never hash a password.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 12;
/// Longest password accepted, in bytes (hashing cost grows with length).
pub const MAX_BYTES: usize = 1024;

/// Why a password was refused or could not be hashed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("the password must be at least {MIN_LENGTH} characters long")]
    TooShort,
    #[error("the password must be at most {MAX_BYTES} bytes long")]
    TooLong,
    #[error("the password must not contain the username or email")]
    ContainsIdentity,
    #[error("the password must not be a single repeated character")]
    Repetitive,
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// Checks `password` against the policy for an account named `username` / `email`.
pub fn check_policy(password: &str, username: &str, email: &str) -> Result<(), PasswordError> {
    if password.chars().count() < MIN_LENGTH {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_BYTES {
        return Err(PasswordError::TooLong);
    }
    let lower = password.to_lowercase();
    let local_part = email.split('@').next().unwrap_or_default();
    for identity in [username, local_part] {
        if identity.chars().count() >= 3 && lower.contains(&identity.to_lowercase()) {
            return Err(PasswordError::ContainsIdentity);
        }
    }
    let mut chars = password.chars();
    if let Some(first) = chars.next() {
        if chars.all(|c| c == first) {
            return Err(PasswordError::Repetitive);
        }
    }
    Ok(())
}

fn hasher() -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|err| PasswordError::Hash(err.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The Argon2id PHC string of `password` with a fresh random salt. CPU-bound: call it from a
/// blocking thread.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    let hashed =
        hasher()?.hash_password(password.as_bytes(), &salt).map_err(|err| PasswordError::Hash(err.to_string()))?;
    Ok(hashed.to_string())
}

/// Whether `password` matches the PHC string `stored` (its own parameters are used, so hashes
/// made with older costs still verify). CPU-bound: call it from a blocking thread.
pub fn verify(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
}

/// A hash to verify against when the account does not exist, so that a login for an unknown
/// user costs the same time as one with a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash("decoy password that matches nothing").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let first = hash("correct horse battery").unwrap();
        let second = hash("correct horse battery").unwrap();
        assert!(first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{first}");
        assert_ne!(first, second, "each hash has its own salt");
        assert!(verify("correct horse battery", &first));
        assert!(!verify("correct horse batterx", &first));
        assert!(!verify("anything", "not a phc string"));
    }

    #[test]
    fn the_policy_refuses_weak_passwords() {
        assert_eq!(check_policy("short", "alice", "a@x.io"), Err(PasswordError::TooShort));
        assert_eq!(check_policy("alice-is-my-password", "alice", "a@x.io"), Err(PasswordError::ContainsIdentity));
        assert_eq!(check_policy("my bob.smith pass", "bsmith", "bob.smith@x.io"), Err(PasswordError::ContainsIdentity));
        assert_eq!(check_policy("aaaaaaaaaaaaaaaa", "alice", "a@x.io"), Err(PasswordError::Repetitive));
        assert_eq!(check_policy(&"x1".repeat(600), "alice", "a@x.io"), Err(PasswordError::TooLong));
        assert_eq!(check_policy("correct horse battery", "alice", "a@x.io"), Ok(()));
    }
}
