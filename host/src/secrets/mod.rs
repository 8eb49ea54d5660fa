//! Secrets: values an administrator stores for provider plugins (API keys), sealed at rest with a
//! key from `EMBER_SECRET`, written over the API but never read back, and handed only to the
//! outbound HTTP client, which puts them into headers after the sandbox has let a request go.
//!
//! Opened values are cached in memory (zeroed when dropped) so that plugin calls, which run on
//! blocking threads, never wait on the database for a known secret. A miss reads the database once
//! more, so a secret another replica stored is found.

mod cipher;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use zeroize::Zeroizing;

pub use cipher::{CipherError, Sealed, SecretCipher, MIN_PASSPHRASE_LEN};

use crate::store::{SealedSecret, SecretChanges, Store, StoreError};

/// Why a secret operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secrets are disabled: set EMBER_SECRET (at least {MIN_PASSPHRASE_LEN} characters) to store them")]
    Disabled,
    #[error("invalid secret key {0:?}: use 1–128 characters of A-Z, a-z, 0-9, '_', '.' and '-'")]
    InvalidKey(String),
    #[error(transparent)]
    Cipher(#[from] CipherError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A secret value, zeroed when the last reference goes.
pub type SecretValue = Arc<Zeroizing<String>>;

/// The server's secrets: the cipher (when `EMBER_SECRET` is set) and the opened values.
#[derive(Clone)]
pub struct Secrets {
    cipher: Option<Arc<SecretCipher>>,
    store: Store,
    opened: Arc<RwLock<HashMap<String, SecretValue>>>,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets").field("enabled", &self.cipher.is_some()).finish_non_exhaustive()
    }
}

/// Checks a secret's key (its name).
pub fn check_key(key: &str) -> Result<(), SecretError> {
    let valid = (1..=128).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(SecretError::InvalidKey(key.to_owned()))
    }
}

impl Secrets {
    /// Secrets sealed with a key derived from `passphrase`, or disabled without one. Must be
    /// called inside the Tokio runtime.
    pub fn new(store: Store, passphrase: Option<&str>) -> Result<Self, SecretError> {
        let cipher = passphrase.map(SecretCipher::from_passphrase).transpose()?.map(Arc::new);
        Ok(Self { cipher, store, opened: Arc::default(), runtime: tokio::runtime::Handle::current() })
    }

    /// Whether `EMBER_SECRET` is set.
    pub fn enabled(&self) -> bool {
        self.cipher.is_some()
    }

    /// Opens every stored secret into the cache; returns how many could not be opened (sealed
    /// with another key, or damaged), which are logged by name.
    pub async fn load(&self) -> Result<usize, SecretError> {
        let Some(cipher) = &self.cipher else { return Ok(0) };
        let mut failed = 0;
        let mut opened = HashMap::new();
        for row in self.store.sealed_secrets().await? {
            match open(cipher, &row) {
                Ok(value) => {
                    opened.insert(row.key, value);
                }
                Err(err) => {
                    failed += 1;
                    tracing::warn!(secret = %row.key, error = %err, "stored secret not usable");
                }
            }
        }
        if let Ok(mut cache) = self.opened.write() {
            *cache = opened;
        }
        Ok(failed)
    }

    /// Upserts (`Some`) and deletes (`None`) in one transaction; the last entry for a key wins.
    /// Returns the keys upserted and the keys deleted.
    pub async fn change(
        &self,
        entries: Vec<(String, Option<String>)>,
    ) -> Result<(Vec<String>, Vec<String>), SecretError> {
        let cipher = self.cipher.as_ref().ok_or(SecretError::Disabled)?;
        let mut last: Vec<(String, Option<Zeroizing<String>>)> = Vec::new();
        for (key, value) in entries {
            check_key(&key)?;
            last.retain(|(seen, _)| *seen != key);
            last.push((key, value.map(Zeroizing::new)));
        }
        let mut changes = SecretChanges::default();
        for (key, value) in &last {
            match value {
                Some(value) => {
                    let sealed = cipher.seal(key, value)?;
                    changes.upserts.push(SealedSecret {
                        key: key.clone(),
                        nonce: sealed.nonce,
                        ciphertext: sealed.ciphertext,
                        key_id: cipher.key_id().to_owned(),
                        updated_ns: 0,
                    });
                }
                None => changes.deletes.push(key.clone()),
            }
        }
        self.store.change_secrets(&changes).await?;
        if let Ok(mut cache) = self.opened.write() {
            for (key, value) in last.iter() {
                match value {
                    Some(value) => cache.insert(key.clone(), Arc::new(value.clone())),
                    None => cache.remove(key),
                };
            }
        }
        let upserted = changes.upserts.into_iter().map(|secret| secret.key).collect();
        Ok((upserted, changes.deletes))
    }

    /// Stored keys with when each last changed (nanoseconds); never values.
    pub async fn list(&self) -> Result<Vec<(String, i64)>, SecretError> {
        Ok(self.store.sealed_secrets().await?.into_iter().map(|row| (row.key, row.updated_ns)).collect())
    }

    /// The value of `key`, for the outbound HTTP client. Safe to call from any thread: a cache
    /// miss reads the database on a helper thread.
    pub fn value(&self, key: &str) -> Option<SecretValue> {
        let cipher = self.cipher.as_ref()?;
        if let Some(value) = self.opened.read().ok().and_then(|cache| cache.get(key).cloned()) {
            return Some(value);
        }
        let store = self.store.clone();
        let runtime = self.runtime.clone();
        let owned = key.to_owned();
        let row =
            std::thread::scope(|scope| scope.spawn(move || runtime.block_on(store.sealed_secret(&owned))).join().ok());
        let row = match row {
            Some(Ok(Some(row))) => row,
            Some(Err(err)) => {
                tracing::warn!(secret = %key, error = %err, "secret lookup failed");
                return None;
            }
            _ => return None,
        };
        match open(cipher, &row) {
            Ok(value) => {
                if let Ok(mut cache) = self.opened.write() {
                    cache.insert(row.key, value.clone());
                }
                Some(value)
            }
            Err(err) => {
                tracing::warn!(secret = %key, error = %err, "stored secret not usable");
                None
            }
        }
    }
}

fn open(cipher: &SecretCipher, row: &SealedSecret) -> Result<SecretValue, CipherError> {
    let sealed = Sealed { nonce: row.nonce.clone(), ciphertext: row.ciphertext.clone() };
    cipher.open(&row.key, &row.key_id, &sealed).map(Arc::new)
}
