//! Sealing secret values: ChaCha20-Poly1305 with a key derived by HKDF-SHA256 from
//! `EMBER_SECRET`, a fresh random nonce per value, and the secret's name as associated data.

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

impl SecretCipher {
    /// Derives the key from a passphrase (`EMBER_SECRET`).
    pub fn from_passphrase(passphrase: &str) -> Result<Self, CipherError> {
        if passphrase.chars().count() < MIN_PASSPHRASE_LEN {
            return Err(CipherError::WeakPassphrase);
        }
        let prk = Salt::new(HKDF_SHA256, SALT).extract(passphrase.as_bytes());
        let mut key_bytes = Zeroizing::new([0u8; 32]);
        let mut id_bytes = [0u8; 8];
        prk.expand(&[b"aead-key"], Len(32))
            .and_then(|okm| okm.fill(key_bytes.as_mut()))
            .map_err(|_| CipherError::Random)?;
        prk.expand(&[b"key-id"], Len(8)).and_then(|okm| okm.fill(&mut id_bytes)).map_err(|_| CipherError::Random)?;
        let key = UnboundKey::new(&CHACHA20_POLY1305, key_bytes.as_ref()).map_err(|_| CipherError::Random)?;
        Ok(Self { key: LessSafeKey::new(key), key_id: hex::encode(id_bytes), random: SystemRandom::new() })
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
