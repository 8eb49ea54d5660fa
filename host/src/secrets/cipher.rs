//! Sealing secret values: ChaCha20-Poly1305 with a fresh random nonce per value and the secret's
//! name as associated data, under a key derived from `EMBER_SECRET`.
//!
//! `EMBER_SECRET` is either a random 32-byte key (64 hex digits, or base64), used as is, or a
//! passphrase, stretched with Argon2id (64 MiB, 3 passes) and a random salt kept in the database,
//! so that a stolen database costs an attacker Argon2id work per guess instead of one HMAC. The
//! first version derived the key from a passphrase with HKDF alone; values sealed that way are
//! still opened (`legacy_hkdf`) and resealed under the new key at start.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::hkdf::{KeyType, Salt, HKDF_SHA256};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// Shortest `EMBER_SECRET` accepted: a passphrase shorter than this is too easy to guess.
pub const MIN_PASSPHRASE_LEN: usize = 16;

const SALT: &[u8] = b"ember-secrets-v1";

/// Why a value could not be sealed or opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CipherError {
    #[error("EMBER_SECRET must be at least {MIN_PASSPHRASE_LEN} characters")]
    WeakPassphrase,
    #[error("secret {0} was sealed with another EMBER_SECRET")]
    WrongKey(String),
    #[error("secret {0} does not decrypt: the stored value is damaged or was tampered with")]
    Damaged(String),
    #[error("the system random number generator failed")]
    Random,
}

/// A sealed value: what the database stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// The AEAD key and its public identifier.
pub struct SecretCipher {
    key: LessSafeKey,
    key_id: String,
    random: SystemRandom,
}

impl std::fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretCipher").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

/// Output length for HKDF expansion.
struct Len(usize);

impl KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// The 32 bytes of `EMBER_SECRET` when it is a random key written as 64 hex digits or base64.
fn raw_key(secret: &str) -> Option<Zeroizing<Vec<u8>>> {
    use base64::Engine;
    let secret = secret.trim();
    let decoded = if secret.len() == 64 {
        hex::decode(secret).ok()
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(secret)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(secret))
            .ok()
    };
    decoded.filter(|bytes| bytes.len() == 32).map(Zeroizing::new)
}

impl SecretCipher {
    /// The key for `EMBER_SECRET`: a 32-byte random key is used as it is; a passphrase is
    /// stretched with Argon2id and `salt` (the deployment's, from the database). CPU- and
    /// memory-heavy for a passphrase (about 0.1–0.3 s): call it from a blocking thread.
    pub fn from_secret(secret: &str, salt: &[u8]) -> Result<Self, CipherError> {
        if let Some(key) = raw_key(secret) {
            return Self::from_material(&key, b"ember-secrets-key-v2", "k2-");
        }
        if secret.chars().count() < MIN_PASSPHRASE_LEN {
            return Err(CipherError::WeakPassphrase);
        }
        let params = argon2::Params::new(64 * 1024, 3, 1, Some(32)).map_err(|_| CipherError::Random)?;
        let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut stretched = Zeroizing::new([0u8; 32]);
        argon.hash_password_into(secret.as_bytes(), salt, stretched.as_mut()).map_err(|_| CipherError::Random)?;
        Self::from_material(stretched.as_ref(), b"ember-secrets-passphrase-v2", "p2-")
    }

    /// The first version's key: HKDF of the passphrase alone. Only to open values sealed before
    /// the Argon2id key, so that they can be resealed.
    pub fn legacy_hkdf(passphrase: &str) -> Result<Self, CipherError> {
        Self::from_material(passphrase.as_bytes(), SALT, "")
    }

    fn from_material(material: &[u8], salt: &[u8], id_prefix: &str) -> Result<Self, CipherError> {
        let prk = Salt::new(HKDF_SHA256, salt).extract(material);
        let mut key_bytes = Zeroizing::new([0u8; 32]);
        let mut id_bytes = [0u8; 8];
        prk.expand(&[b"aead-key"], Len(32))
            .and_then(|okm| okm.fill(key_bytes.as_mut()))
            .map_err(|_| CipherError::Random)?;
        prk.expand(&[b"key-id"], Len(8)).and_then(|okm| okm.fill(&mut id_bytes)).map_err(|_| CipherError::Random)?;
        let key = UnboundKey::new(&CHACHA20_POLY1305, key_bytes.as_ref()).map_err(|_| CipherError::Random)?;
        let key_id = format!("{id_prefix}{}", hex::encode(id_bytes));
        Ok(Self { key: LessSafeKey::new(key), key_id, random: SystemRandom::new() })
    }

    /// Identifies the key without revealing it, so that rows sealed under another key are named.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Seals `value` for the secret called `name`.
    pub fn seal(&self, name: &str, value: &str) -> Result<Sealed, CipherError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce).map_err(|_| CipherError::Random)?;
        let mut buffer = value.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(name.as_bytes()), &mut buffer)
            .map_err(|_| CipherError::Random)?;
        Ok(Sealed { nonce: nonce.to_vec(), ciphertext: buffer })
    }

    /// Opens the value sealed for `name`; `key_id` is the identifier stored beside it.
    pub fn open(&self, name: &str, key_id: &str, sealed: &Sealed) -> Result<Zeroizing<String>, CipherError> {
        if key_id != self.key_id {
            return Err(CipherError::WrongKey(name.to_owned()));
        }
        let nonce =
            <[u8; NONCE_LEN]>::try_from(sealed.nonce.as_slice()).map_err(|_| CipherError::Damaged(name.to_owned()))?;
        let mut buffer = Zeroizing::new(sealed.ciphertext.clone());
        let plain = self
            .key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(name.as_bytes()), buffer.as_mut())
            .map_err(|_| CipherError::Damaged(name.to_owned()))?;
        let text = std::str::from_utf8(plain).map_err(|_| CipherError::Damaged(name.to_owned()))?;
        Ok(Zeroizing::new(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSPHRASE: &str = "correct horse battery staple";
    const SALT16: &[u8] = b"0123456789abcdef";

    impl SecretCipher {
        fn from_passphrase(passphrase: &str) -> Result<Self, CipherError> {
            Self::from_secret(passphrase, SALT16)
        }
    }

    #[test]
    fn a_random_key_is_used_as_is_and_a_passphrase_is_stretched_with_its_salt() {
        let hex_key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let from_hex = SecretCipher::from_secret(hex_key, b"ignored salt....").unwrap();
        let again = SecretCipher::from_secret(hex_key, b"another salt....").unwrap();
        assert!(from_hex.key_id().starts_with("k2-"));
        assert_eq!(from_hex.key_id(), again.key_id(), "a random key needs no salt");
        let sealed = from_hex.seal("K", "v").unwrap();
        assert_eq!(again.open("K", again.key_id(), &sealed).unwrap().as_str(), "v");
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 32]);
        assert!(SecretCipher::from_secret(&b64, SALT16).unwrap().key_id().starts_with("k2-"));

        let stretched = SecretCipher::from_passphrase(PASSPHRASE).unwrap();
        assert!(stretched.key_id().starts_with("p2-"));
        let other_salt = SecretCipher::from_secret(PASSPHRASE, b"fedcba9876543210").unwrap();
        assert_ne!(stretched.key_id(), other_salt.key_id(), "the deployment's salt is part of the key");
        let legacy = SecretCipher::legacy_hkdf(PASSPHRASE).unwrap();
        assert_ne!(legacy.key_id(), stretched.key_id());
        assert!(!legacy.key_id().contains('-'), "legacy ids are bare hex, as stored by the first version");
    }

    #[test]
    fn values_round_trip_and_never_appear_in_the_sealed_bytes() {
        let cipher = SecretCipher::from_passphrase(PASSPHRASE).unwrap();
        let sealed = cipher.seal("OPENAI_API_KEY", "sk-test-value-1234567890").unwrap();
        assert!(!sealed.ciphertext.windows(8).any(|w| w == b"sk-test-"));
        let opened = cipher.open("OPENAI_API_KEY", cipher.key_id(), &sealed).unwrap();
        assert_eq!(opened.as_str(), "sk-test-value-1234567890");
        let again = cipher.seal("OPENAI_API_KEY", "sk-test-value-1234567890").unwrap();
        assert_ne!(sealed, again, "a fresh nonce per seal");
    }

    #[test]
    fn a_value_cannot_be_moved_to_another_name_or_opened_with_another_key() {
        let cipher = SecretCipher::from_passphrase(PASSPHRASE).unwrap();
        let sealed = cipher.seal("A", "value").unwrap();
        assert_eq!(cipher.open("B", cipher.key_id(), &sealed), Err(CipherError::Damaged("B".into())));
        let other = SecretCipher::from_passphrase("another passphrase, long enough").unwrap();
        assert_ne!(other.key_id(), cipher.key_id());
        assert_eq!(other.open("A", cipher.key_id(), &sealed), Err(CipherError::WrongKey("A".into())));
        let mut tampered = sealed.clone();
        tampered.ciphertext[0] ^= 1;
        assert_eq!(cipher.open("A", cipher.key_id(), &tampered), Err(CipherError::Damaged("A".into())));
    }

    #[test]
    fn short_passphrases_are_refused() {
        assert_eq!(SecretCipher::from_passphrase("short").unwrap_err(), CipherError::WeakPassphrase);
    }
}
