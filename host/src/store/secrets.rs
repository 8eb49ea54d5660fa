//! Sealed secrets: rows of nonce + ciphertext. The store never sees a value in clear; sealing and
//! opening happen in `crate::secrets`.

use super::sql::Param;
use super::{Result, Store};
use crate::time::now_ns;

/// One stored secret, still sealed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SealedSecret {
    pub key: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub key_id: String,
    pub updated_ns: i64,
    /// The hosts it may be sent to, as a JSON list; `None` when unbound.
    pub hosts: Option<String>,
}

/// A batch of changes applied atomically by [`Store::change_secrets`].
#[derive(Debug, Default)]
pub struct SecretChanges {
    pub upserts: Vec<SealedSecret>,
    pub deletes: Vec<String>,
}

impl Store {
    /// Upserts and deletes in one transaction.
    pub async fn change_secrets(&self, changes: &SecretChanges) -> Result<()> {
        let mut tx = self.begin().await?;
        let now = now_ns();
        for secret in &changes.upserts {
            let mut sql = self.sql();
            sql.push("INSERT INTO secrets (key, nonce, ciphertext, key_id, updated_ns, hosts) VALUES ")
                .bind_list([
                    Param::Str(&secret.key),
                    Param::Bytes(&secret.nonce),
                    Param::Bytes(&secret.ciphertext),
                    Param::Str(&secret.key_id),
                    Param::I64(now),
                    Param::OptStr(secret.hosts.as_deref()),
                ])
                .push(
                    " ON CONFLICT (key) DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext, \
                     key_id = excluded.key_id, updated_ns = excluded.updated_ns, hosts = excluded.hosts",
                );
            tx.execute(&sql).await?;
        }
        for key in &changes.deletes {
            let mut sql = self.sql();
            sql.push("DELETE FROM secrets WHERE key = ").bind(Param::Str(key));
            tx.execute(&sql).await?;
        }
        tx.commit().await
    }

    /// Every stored secret, sealed, by key.
    pub async fn sealed_secrets(&self) -> Result<Vec<SealedSecret>> {
        let mut sql = self.sql();
        sql.push("SELECT key, nonce, ciphertext, key_id, updated_ns, hosts FROM secrets ORDER BY key");
        self.fetch_all(&sql).await
    }

    /// One stored secret, sealed.
    pub async fn sealed_secret(&self, key: &str) -> Result<Option<SealedSecret>> {
        let mut sql = self.sql();
        sql.push("SELECT key, nonce, ciphertext, key_id, updated_ns, hosts FROM secrets WHERE key = ")
            .bind(Param::Str(key));
        self.fetch_optional(&sql).await
    }
}
