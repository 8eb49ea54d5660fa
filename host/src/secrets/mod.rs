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
    #[error("{0:?} is not a host a secret can be bound to (a lowercase name, an IP address or *.domain)")]
    InvalidHost(String),
}

/// The setting that holds the deployment's Argon2id salt for a passphrase `EMBER_SECRET`.
const KDF_SALT_SETTING: &str = "secrets.kdf_salt";

/// A secret value, zeroed when the last reference goes.
pub type SecretValue = Arc<Zeroizing<String>>;

/// An opened secret and the hosts it may be sent to.
#[derive(Clone)]
pub struct OpenedSecret {
    pub value: SecretValue,
    /// Host names or `*.domain` patterns; `None` for a secret stored without a binding, which
    /// goes wherever the plugin using it is granted.
    pub hosts: Option<Arc<[String]>>,
}

impl OpenedSecret {
    /// Whether the secret may be sent to `host` (lowercase).
    pub fn may_go_to(&self, host: &str) -> bool {
        self.hosts.as_ref().is_none_or(|hosts| hosts.iter().any(|pattern| host_matches(pattern, host)))
    }
}

/// `pattern` is a host name or `*.domain` (any name under the domain, not the domain itself).
fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(domain) => host.strip_suffix(domain).is_some_and(|rest| rest.ends_with('.') && rest.len() > 1),
        None => pattern == host,
    }
}

/// One change of `PUT /v1/secrets`: a value upserts (bound to `hosts` when given), `None`
/// deletes.
#[derive(Debug)]
pub struct SecretEntry {
    pub key: String,
    pub value: Option<String>,
    pub hosts: Option<Vec<String>>,
}

/// Checks a host binding: DNS names, IP literals or `*.domain`, lowercase, no scheme or port.
pub fn check_hosts(hosts: &[String]) -> Result<(), SecretError> {
    for host in hosts {
        let name = host.strip_prefix("*.").unwrap_or(host);
        let valid = !name.is_empty()
            && name.len() <= 253
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b':'))
            && !name.starts_with('.')
            && !name.ends_with('.');
        if !valid {
            return Err(SecretError::InvalidHost(host.clone()));
        }
    }
    Ok(())
}

/// The server's secrets: the cipher (when `EMBER_SECRET` is set) and the opened values.
#[derive(Clone)]
pub struct Secrets {
    cipher: Option<Arc<SecretCipher>>,
    /// The first version's key for the same `EMBER_SECRET`, to reseal what it sealed.
    legacy: Option<Arc<SecretCipher>>,
    store: Store,
    opened: Arc<RwLock<HashMap<String, OpenedSecret>>>,
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
    /// Secrets sealed with the key from `secret` (`EMBER_SECRET`; see `cipher` for how it becomes
    /// a key), or disabled without one. The passphrase salt is the deployment's, created in the
    /// database at first use. Must be called inside the Tokio runtime.
    pub async fn open(store: Store, secret: Option<&str>) -> Result<Self, SecretError> {
        let runtime = tokio::runtime::Handle::current();
        let Some(secret) = secret else {
            return Ok(Self { cipher: None, legacy: None, store, opened: Arc::default(), runtime });
        };
        let mut fresh = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut fresh);
        let salt = store.setting_or_insert(KDF_SALT_SETTING, &hex::encode(fresh)).await?;
        let salt = hex::decode(salt).map_err(|_| CipherError::Damaged(KDF_SALT_SETTING.to_owned()))?;
        let owned = Zeroizing::new(secret.to_owned());
        let cipher = tokio::task::spawn_blocking(move || SecretCipher::from_secret(&owned, &salt))
            .await
            .map_err(|_| CipherError::Random)??;
        let legacy = SecretCipher::legacy_hkdf(secret).ok().map(Arc::new);
        Ok(Self { cipher: Some(Arc::new(cipher)), legacy, store, opened: Arc::default(), runtime })
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
        let mut resealed = SecretChanges::default();
        for row in self.store.sealed_secrets().await? {
            let legacy = self.legacy.as_ref().filter(|legacy| legacy.key_id() == row.key_id);
            match open(legacy.unwrap_or(cipher), &row) {
                Ok(secret) => {
                    if legacy.is_some() {
                        let sealed = cipher.seal(&row.key, &secret.value)?;
                        resealed.upserts.push(SealedSecret {
                            nonce: sealed.nonce,
                            ciphertext: sealed.ciphertext,
                            key_id: cipher.key_id().to_owned(),
                            ..row.clone()
                        });
                    }
                    opened.insert(row.key, secret);
                }
                Err(err) => {
                    failed += 1;
                    tracing::warn!(secret = %row.key, error = %err, "stored secret not usable");
                }
            }
        }
        if !resealed.upserts.is_empty() {
            self.store.change_secrets(&resealed).await?;
            tracing::info!(
                secrets = resealed.upserts.len(),
                "resealed secrets from the HKDF key under the Argon2id key"
            );
        }
        if let Ok(mut cache) = self.opened.write() {
            *cache = opened;
        }
        Ok(failed)
    }

    /// Upserts (`Some`) and deletes (`None`) in one transaction; the last entry for a key wins.
    /// Returns the keys upserted and the keys deleted.
    pub async fn change(&self, entries: Vec<SecretEntry>) -> Result<(Vec<String>, Vec<String>), SecretError> {
        let cipher = self.cipher.as_ref().ok_or(SecretError::Disabled)?;
        let mut last: Vec<SecretEntry> = Vec::new();
        for entry in entries {
            check_key(&entry.key)?;
            if let Some(hosts) = &entry.hosts {
                check_hosts(hosts)?;
            }
            last.retain(|seen| seen.key != entry.key);
            last.push(entry);
        }
        let mut changes = SecretChanges::default();
        for entry in &last {
            match &entry.value {
                Some(value) => {
                    let sealed = cipher.seal(&entry.key, value)?;
                    changes.upserts.push(SealedSecret {
                        key: entry.key.clone(),
                        nonce: sealed.nonce,
                        ciphertext: sealed.ciphertext,
                        key_id: cipher.key_id().to_owned(),
                        updated_ns: 0,
                        hosts: entry.hosts.as_ref().map(|hosts| serde_json::json!(hosts).to_string()),
                    });
                }
                None => changes.deletes.push(entry.key.clone()),
            }
        }
        self.store.change_secrets(&changes).await?;
        if let Ok(mut cache) = self.opened.write() {
            for entry in last {
                match entry.value {
                    Some(value) => {
                        let opened =
                            OpenedSecret { value: Arc::new(Zeroizing::new(value)), hosts: entry.hosts.map(Arc::from) };
                        cache.insert(entry.key, opened)
                    }
                    None => cache.remove(&entry.key),
                };
            }
        }
        let upserted = changes.upserts.into_iter().map(|secret| secret.key).collect();
        Ok((upserted, changes.deletes))
    }

    /// Stored keys with when each last changed (nanoseconds) and their host binding; never
    /// values.
    pub async fn list(&self) -> Result<Vec<(String, i64, Option<Vec<String>>)>, SecretError> {
        let rows = self.store.sealed_secrets().await?;
        Ok(rows.into_iter().map(|row| (row.key, row.updated_ns, hosts_of(row.hosts.as_deref()))).collect())
    }

    /// The value of `key`, for the outbound HTTP client. Safe to call from any thread: a cache
    /// miss reads the database on a helper thread.
    pub fn value(&self, key: &str) -> Option<OpenedSecret> {
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

fn open(cipher: &SecretCipher, row: &SealedSecret) -> Result<OpenedSecret, CipherError> {
    let sealed = Sealed { nonce: row.nonce.clone(), ciphertext: row.ciphertext.clone() };
    let value = cipher.open(&row.key, &row.key_id, &sealed).map(Arc::new)?;
    Ok(OpenedSecret { value, hosts: hosts_of(row.hosts.as_deref()).map(Arc::from) })
}

/// A stored binding; one that does not parse binds to nothing rather than to everything.
fn hosts_of(stored: Option<&str>) -> Option<Vec<String>> {
    stored.map(|text| serde_json::from_str(text).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_match_exact_names_and_subdomains_only() {
        let bound = |hosts: &[&str]| OpenedSecret {
            value: Arc::new(Zeroizing::new("v".to_owned())),
            hosts: Some(hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>().into()),
        };
        let openai = bound(&["api.openai.com", "*.azure.com"]);
        assert!(openai.may_go_to("api.openai.com"));
        assert!(openai.may_go_to("east.azure.com"));
        assert!(!openai.may_go_to("azure.com"), "a wildcard covers subdomains, not the domain");
        assert!(!openai.may_go_to("api.openai.com.evil.example"));
        assert!(!openai.may_go_to("evilazure.com"));
        assert!(!bound(&[]).may_go_to("api.openai.com"), "bound to nothing goes nowhere");
        let unbound = OpenedSecret { value: Arc::new(Zeroizing::new("v".to_owned())), hosts: None };
        assert!(unbound.may_go_to("anywhere.example"));
    }

    #[tokio::test]
    async fn values_sealed_with_the_first_versions_key_are_resealed_at_load() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(None, dir.path()).await.unwrap();
        let passphrase = "the same passphrase as before";
        let legacy = SecretCipher::legacy_hkdf(passphrase).unwrap();
        let sealed = legacy.seal("OLD_KEY", "old value").unwrap();
        let row = SealedSecret {
            key: "OLD_KEY".into(),
            nonce: sealed.nonce,
            ciphertext: sealed.ciphertext,
            key_id: legacy.key_id().into(),
            updated_ns: 0,
            hosts: Some("[\"api.example.com\"]".into()),
        };
        store.change_secrets(&SecretChanges { upserts: vec![row], deletes: vec![] }).await.unwrap();

        let secrets = Secrets::open(store.clone(), Some(passphrase)).await.unwrap();
        assert_eq!(secrets.load().await.unwrap(), 0, "nothing unusable");
        let stored = store.sealed_secret("OLD_KEY").await.unwrap().unwrap();
        assert!(stored.key_id.starts_with("p2-"), "resealed under the Argon2id key: {}", stored.key_id);
        assert_eq!(stored.hosts.as_deref(), Some("[\"api.example.com\"]"), "the binding is kept");
        let reopened = Secrets::open(store, Some(passphrase)).await.unwrap();
        assert_eq!(reopened.load().await.unwrap(), 0);
        assert_eq!(reopened.value("OLD_KEY").unwrap().value.as_str(), "old value");
    }

    #[test]
    fn host_bindings_are_checked() {
        assert!(check_hosts(&["api.openai.com".into(), "*.example.com".into(), "127.0.0.1".into()]).is_ok());
        for bad in ["https://api.openai.com", "API.openai.com", "host:443/x", "", "*.", ".example.com"] {
            assert!(check_hosts(&[bad.to_owned()]).is_err(), "{bad:?}");
        }
    }
}
