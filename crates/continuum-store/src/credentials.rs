//! Sealed credentials: vault blobs by wallet, service and name. A store
//! holds blobs only; the master key and the plaintext never come here, so
//! a copied database (or bucket) gives away nothing but names.

use crate::sqlite::SharedConnection;
use crate::{BoxFuture, StoreError};
use rusqlite::{params, OptionalExtension};
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

/// Longest wallet, service or name (the vault binds at most 255 bytes).
pub const MAX_LABEL_BYTES: usize = 128;

/// Where an item lives: its wallet, the service it is for, its name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CredentialId {
    /// Whose it is: `shared` (lent to every actor by the owner), `owner`,
    /// `persona/<id>`, ... Reads are allowed only within an actor's wallet.
    pub wallet: String,
    /// The upstream: `openrouter`, `anthropic`, `s3`, ...
    pub service: String,
    /// The item within the wallet and service.
    pub name: String,
}

impl CredentialId {
    /// An id, its labels checked: 1 to 128 bytes of `[A-Za-z0-9._:-]` and,
    /// in wallets only, `/` between non-empty segments.
    pub fn new(
        wallet: impl Into<String>,
        service: impl Into<String>,
        name: impl Into<String>,
    ) -> Result<CredentialId, StoreError> {
        let id = CredentialId {
            wallet: wallet.into(),
            service: service.into(),
            name: name.into(),
        };
        check_label("/wallet", &id.wallet, true)?;
        check_label("/service", &id.service, false)?;
        check_label("/name", &id.name, false)?;
        Ok(id)
    }
}

impl std::fmt::Display for CredentialId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}/{}", self.wallet, self.service, self.name)
    }
}

fn check_label(field: &str, label: &str, slashes: bool) -> Result<(), StoreError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
    let ok = !label.is_empty()
        && label.len() <= MAX_LABEL_BYTES
        && if slashes {
            label
                .split('/')
                .all(|segment| !segment.is_empty() && segment.chars().all(allowed))
        } else {
            label.chars().all(allowed)
        };
    if ok {
        Ok(())
    } else {
        Err(StoreError::invalid(
            field,
            format!(
                "must be 1 to {MAX_LABEL_BYTES} bytes of letters, digits, '.', '_', ':' or '-'{}",
                if slashes {
                    " (segments joined by '/')"
                } else {
                    ""
                }
            ),
        ))
    }
}

/// One sealed item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRecord {
    /// Where it lives.
    pub id: CredentialId,
    /// The vault blob (`docs/vault-format.md`).
    pub blob: Vec<u8>,
    /// First stored, Unix ms.
    pub created_at_ms: u64,
    /// Last replaced, Unix ms.
    pub updated_at_ms: u64,
}

/// What a listing shows of an item: never its blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialInfo {
    /// Whose it is.
    pub wallet: String,
    /// The upstream it is for.
    pub service: String,
    /// Its name.
    pub name: String,
    /// First stored, Unix ms.
    pub created_at_ms: u64,
    /// Last replaced, Unix ms.
    pub updated_at_ms: u64,
}

impl From<&CredentialRecord> for CredentialInfo {
    fn from(record: &CredentialRecord) -> CredentialInfo {
        CredentialInfo {
            wallet: record.id.wallet.clone(),
            service: record.id.service.clone(),
            name: record.id.name.clone(),
            created_at_ms: record.created_at_ms,
            updated_at_ms: record.updated_at_ms,
        }
    }
}

/// Sealed credentials.
pub trait CredentialStore: Send + Sync {
    /// Stores `record`, replacing an item at the same id (whose creation
    /// time is kept). Returns whether it replaced one.
    fn put(&self, record: CredentialRecord) -> BoxFuture<'_, Result<bool, StoreError>>;
    /// The item at `id`.
    fn get(&self, id: &CredentialId)
        -> BoxFuture<'_, Result<Option<CredentialRecord>, StoreError>>;
    /// Items in `wallet` or below it (`persona` covers `persona/x`, not
    /// `personas`); every item when `None`. Sorted by wallet, service, name.
    fn list(&self, wallet: Option<&str>) -> BoxFuture<'_, Result<Vec<CredentialInfo>, StoreError>>;
    /// Removes the item at `id`; whether there was one.
    fn delete(&self, id: &CredentialId) -> BoxFuture<'_, Result<bool, StoreError>>;
}

/// The wallet of one of this node's personas: `persona/<id>`.
pub fn persona_wallet(persona_id: &str) -> String {
    format!("persona/{persona_id}")
}

/// Whether `wallet` is `scope` or inside it.
pub fn wallet_within(wallet: &str, scope: &str) -> bool {
    wallet == scope
        || wallet
            .strip_prefix(scope)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// In-memory credentials, for tests.
#[derive(Default)]
pub struct InMemoryCredentials {
    items: Mutex<BTreeMap<CredentialId, CredentialRecord>>,
}

impl InMemoryCredentials {
    /// An empty store.
    pub fn new() -> Self {
        InMemoryCredentials::default()
    }

    fn with<T>(
        &self,
        work: impl FnOnce(&mut BTreeMap<CredentialId, CredentialRecord>) -> T,
    ) -> Result<T, StoreError> {
        let mut items = self
            .items
            .lock()
            .map_err(|_| StoreError::Backend("credential store lock poisoned".into()))?;
        Ok(work(&mut items))
    }
}

impl CredentialStore for InMemoryCredentials {
    fn put(&self, mut record: CredentialRecord) -> BoxFuture<'_, Result<bool, StoreError>> {
        let result = self.with(|items| {
            let previous = items.get(&record.id);
            if let Some(previous) = previous {
                record.created_at_ms = previous.created_at_ms;
            }
            items.insert(record.id.clone(), record).is_some()
        });
        Box::pin(async move { result })
    }

    fn get(
        &self,
        id: &CredentialId,
    ) -> BoxFuture<'_, Result<Option<CredentialRecord>, StoreError>> {
        let result = self.with(|items| items.get(id).cloned());
        Box::pin(async move { result })
    }

    fn list(&self, wallet: Option<&str>) -> BoxFuture<'_, Result<Vec<CredentialInfo>, StoreError>> {
        let result = self.with(|items| {
            items
                .values()
                .filter(|record| wallet.is_none_or(|scope| wallet_within(&record.id.wallet, scope)))
                .map(CredentialInfo::from)
                .collect()
        });
        Box::pin(async move { result })
    }

    fn delete(&self, id: &CredentialId) -> BoxFuture<'_, Result<bool, StoreError>> {
        let result = self.with(|items| items.remove(id).is_some());
        Box::pin(async move { result })
    }
}

const MIGRATIONS: &[&str] = &["
CREATE TABLE credentials (
    wallet TEXT NOT NULL,
    service TEXT NOT NULL,
    name TEXT NOT NULL,
    blob BLOB NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (wallet, service, name)
) WITHOUT ROWID;
"];

/// Credentials in SQLite (WAL, 0600). Blocking work runs off the async workers.
pub struct SqliteCredentials {
    conn: SharedConnection,
}

impl SqliteCredentials {
    /// Opens (creating and migrating) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(SqliteCredentials {
            conn: SharedConnection::open_migrated(path, MIGRATIONS)?,
        })
    }
}

impl CredentialStore for SqliteCredentials {
    fn put(&self, record: CredentialRecord) -> BoxFuture<'_, Result<bool, StoreError>> {
        self.conn.boxed(move |conn| {
            let tx = conn.transaction()?;
            let id = &record.id;
            let existed = tx
                .query_row(
                    "SELECT 1 FROM credentials WHERE wallet = ?1 AND service = ?2 AND name = ?3",
                    params![id.wallet, id.service, id.name],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            tx.execute(
                "INSERT INTO credentials (wallet, service, name, blob, created_at_ms, updated_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (wallet, service, name)
                 DO UPDATE SET blob = excluded.blob, updated_at_ms = excluded.updated_at_ms",
                params![
                    id.wallet,
                    id.service,
                    id.name,
                    record.blob,
                    record.created_at_ms as i64,
                    record.updated_at_ms as i64
                ],
            )?;
            tx.commit()?;
            Ok(existed)
        })
    }

    fn get(
        &self,
        id: &CredentialId,
    ) -> BoxFuture<'_, Result<Option<CredentialRecord>, StoreError>> {
        let id = id.clone();
        self.conn.boxed(move |conn| {
            let found = conn
                .query_row(
                    "SELECT blob, created_at_ms, updated_at_ms FROM credentials
                     WHERE wallet = ?1 AND service = ?2 AND name = ?3",
                    params![id.wallet, id.service, id.name],
                    |row| {
                        Ok((
                            row.get::<_, Vec<u8>>(0)?,
                            row.get::<_, i64>(1)? as u64,
                            row.get::<_, i64>(2)? as u64,
                        ))
                    },
                )
                .optional()?;
            Ok(
                found.map(|(blob, created_at_ms, updated_at_ms)| CredentialRecord {
                    id,
                    blob,
                    created_at_ms,
                    updated_at_ms,
                }),
            )
        })
    }

    fn list(&self, wallet: Option<&str>) -> BoxFuture<'_, Result<Vec<CredentialInfo>, StoreError>> {
        let scope = wallet.map(str::to_owned);
        self.conn.boxed(move |conn| {
            let mut statement = conn.prepare(
                "SELECT wallet, service, name, created_at_ms, updated_at_ms FROM credentials
                 ORDER BY wallet, service, name",
            )?;
            let rows = statement.query_map([], |row| {
                Ok(CredentialInfo {
                    wallet: row.get(0)?,
                    service: row.get(1)?,
                    name: row.get(2)?,
                    created_at_ms: row.get::<_, i64>(3)? as u64,
                    updated_at_ms: row.get::<_, i64>(4)? as u64,
                })
            })?;
            let mut items = Vec::new();
            for row in rows {
                let info = row?;
                if scope
                    .as_deref()
                    .is_none_or(|scope| wallet_within(&info.wallet, scope))
                {
                    items.push(info);
                }
            }
            Ok(items)
        })
    }

    fn delete(&self, id: &CredentialId) -> BoxFuture<'_, Result<bool, StoreError>> {
        let id = id.clone();
        self.conn.boxed(move |conn| {
            let removed = conn.execute(
                "DELETE FROM credentials WHERE wallet = ?1 AND service = ?2 AND name = ?3",
                params![id.wallet, id.service, id.name],
            )?;
            Ok(removed > 0)
        })
    }
}
