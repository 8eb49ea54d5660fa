//! Bearer secrets: API keys and session tokens are 256 random bits with a prefix that says what
//! they are; only their SHA-256 is stored.
//!
//! A fast hash is enough here because the secret is random, not chosen by a person: there is
//! nothing to guess from the hash, and verification stays cheap on the ingest hot path.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// What a bearer secret is, from its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    SystemKey,
    UserKey,
    Access,
    Refresh,
}

impl TokenKind {
    fn prefix(self) -> &'static str {
        match self {
            TokenKind::SystemKey => "ember_sk_",
            TokenKind::UserKey => "ember_uk_",
            TokenKind::Access => "ember_at_",
            TokenKind::Refresh => "ember_rt_",
        }
    }

    /// The kind a presented token claims by its prefix.
    pub fn of(token: &str) -> Option<Self> {
        [TokenKind::SystemKey, TokenKind::UserKey, TokenKind::Access, TokenKind::Refresh]
            .into_iter()
            .find(|kind| token.starts_with(kind.prefix()))
    }
}

/// A freshly made secret: shown once, then only its hash is kept.
#[derive(Debug)]
pub struct NewToken {
    pub secret: String,
    pub hash: [u8; 32],
}

/// A new random token of `kind`.
pub fn generate(kind: TokenKind) -> NewToken {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(bytes));
    let hash = digest(&secret);
    NewToken { secret, hash }
}

/// The stored form of a presented token.
pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_hashed() {
        let a = generate(TokenKind::SystemKey);
        let b = generate(TokenKind::SystemKey);
        assert_ne!(a.secret, b.secret);
        assert_eq!(TokenKind::of(&a.secret), Some(TokenKind::SystemKey));
        assert_eq!(digest(&a.secret), a.hash);
        assert_eq!(a.secret.len(), "ember_sk_".len() + 43);
        assert_eq!(TokenKind::of("Bearer x"), None);
    }
}
