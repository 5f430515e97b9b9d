//! The grant ledger (`data/grid.sqlite`): grants this node issued, and grants
//! other nodes issued to it, kept per target peer so the right one can ride on
//! each outgoing call.
//!
//! The ledger is bookkeeping for people and for the grantee side. It is not
//! consulted by the gate: what the gate trusts is the signature and the epoch
//! watermark (`store::watermarks`).

use crate::store::sqlite::SharedConnection;
use crate::store::StoreError;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::path::Path;

const MIGRATIONS: &[&str] = &["
    CREATE TABLE issued_grants (
        grantee_peer_id TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        capabilities TEXT NOT NULL,
        issued_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        revocation INTEGER NOT NULL,
        grant_text TEXT NOT NULL,
        PRIMARY KEY (grantee_peer_id, epoch)
    ) WITHOUT ROWID;
    CREATE TABLE held_grants (
        target_peer_id TEXT PRIMARY KEY,
        issuer_key TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        capabilities TEXT NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        received_at_ms INTEGER NOT NULL,
        grant_text TEXT NOT NULL
    ) WITHOUT ROWID;
"];

/// A grant this node issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuedGrant {
    /// The peer it was issued to.
    pub grantee_peer_id: String,
    /// Its epoch.
    pub epoch: u64,
    /// What it confers (empty for a revocation).
    pub capabilities: Vec<String>,
    /// Start of validity, Unix ms.
    pub issued_at_ms: u64,
    /// End of validity, Unix ms.
    pub expires_at_ms: u64,
    /// Whether it was issued by `grid/grant/revoke`.
    pub revocation: bool,
    /// The transport form (base64url).
    pub grant: String,
}

/// A grant another node issued to this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeldGrant {
    /// The node that will honour it.
    pub target_peer_id: String,
    /// Its issuer's public key (hex).
    pub issuer_key: String,
    /// Its epoch.
    pub epoch: u64,
    /// What it confers.
    pub capabilities: Vec<String>,
    /// End of validity, Unix ms.
    pub expires_at_ms: u64,
    /// When this node stored it, Unix ms.
    pub received_at_ms: u64,
    /// The transport form (base64url).
    pub grant: String,
}

/// What [`GrantLedger::hold`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldOutcome {
    /// Stored (first grant for the target, or a newer or equal epoch).
    Stored,
    /// Kept the grant already held, whose epoch is higher.
    KeptNewer {
        /// The epoch already held.
        held_epoch: u64,
    },
}

/// Issued and held grants on SQLite. Cheap to clone.
#[derive(Clone)]
pub struct GrantLedger {
    conn: SharedConnection,
}

impl GrantLedger {
    /// Opens (creating and migrating) the ledger at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(GrantLedger {
            conn: SharedConnection::open_migrated(path, MIGRATIONS)?,
        })
    }

    /// Runs `work` on the connection off the async workers.
    pub async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.conn.run(work).await
    }

    /// Highest epoch issued to `grantee` and the latest expiry among its grants.
    pub fn latest_for(conn: &Connection, grantee: &str) -> Result<Option<(u64, u64)>, StoreError> {
        Ok(conn
            .query_row(
                "SELECT MAX(epoch), MAX(expires_at_ms) FROM issued_grants
                 WHERE grantee_peer_id = ?1 HAVING COUNT(*) > 0",
                [grantee],
                |row| Ok((row.get::<_, i64>(0)? as u64, row.get::<_, i64>(1)? as u64)),
            )
            .optional()?)
    }

    /// Records an issued grant. Its (grantee, epoch) must be new.
    pub fn record_issued(conn: &Connection, grant: &IssuedGrant) -> Result<(), StoreError> {
        let inserted = conn.execute(
            "INSERT INTO issued_grants
             (grantee_peer_id, epoch, capabilities, issued_at_ms, expires_at_ms, revocation, grant_text)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
            params![
                grant.grantee_peer_id,
                grant.epoch as i64,
                encode_caps(&grant.capabilities),
                grant.issued_at_ms as i64,
                grant.expires_at_ms as i64,
                grant.revocation,
                grant.grant,
            ],
        )?;
        if inserted == 0 {
            return Err(StoreError::Conflict(format!(
                "a grant with epoch {} for peer {}",
                grant.epoch, grant.grantee_peer_id
            )));
        }
        Ok(())
    }

    /// Issued grants, newest first, optionally for one grantee.
    pub fn list_issued(
        conn: &Connection,
        grantee: Option<&str>,
    ) -> Result<Vec<IssuedGrant>, StoreError> {
        let mut stmt = conn.prepare(
            "SELECT grantee_peer_id, epoch, capabilities, issued_at_ms, expires_at_ms, revocation, grant_text
             FROM issued_grants WHERE ?1 IS NULL OR grantee_peer_id = ?1
             ORDER BY issued_at_ms DESC, grantee_peer_id, epoch DESC",
        )?;
        let rows = stmt.query_map([grantee], |row| {
            Ok(IssuedGrant {
                grantee_peer_id: row.get(0)?,
                epoch: row.get::<_, i64>(1)? as u64,
                capabilities: decode_caps(&row.get::<_, String>(2)?),
                issued_at_ms: row.get::<_, i64>(3)? as u64,
                expires_at_ms: row.get::<_, i64>(4)? as u64,
                revocation: row.get(5)?,
                grant: row.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Keeps `grant` for its target unless a higher epoch is already held
    /// (latest epoch wins), in one transaction.
    pub fn hold(conn: &mut Connection, grant: &HeldGrant) -> Result<HoldOutcome, StoreError> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let held: Option<i64> = tx
            .query_row(
                "SELECT epoch FROM held_grants WHERE target_peer_id = ?1",
                [&grant.target_peer_id],
                |row| row.get(0),
            )
            .optional()?;
        if let Some(held_epoch) = held.map(|e| e as u64) {
            if held_epoch > grant.epoch {
                return Ok(HoldOutcome::KeptNewer { held_epoch });
            }
        }
        tx.execute(
            "INSERT OR REPLACE INTO held_grants
             (target_peer_id, issuer_key, epoch, capabilities, expires_at_ms, received_at_ms, grant_text)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                grant.target_peer_id,
                grant.issuer_key,
                grant.epoch as i64,
                encode_caps(&grant.capabilities),
                grant.expires_at_ms as i64,
                grant.received_at_ms as i64,
                grant.grant,
            ],
        )?;
        tx.commit()?;
        Ok(HoldOutcome::Stored)
    }

    /// Held grants, by target.
    pub fn list_held(conn: &Connection) -> Result<Vec<HeldGrant>, StoreError> {
        let mut stmt = conn.prepare(
            "SELECT target_peer_id, issuer_key, epoch, capabilities, expires_at_ms, received_at_ms, grant_text
             FROM held_grants ORDER BY target_peer_id",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(HeldGrant {
                target_peer_id: row.get(0)?,
                issuer_key: row.get(1)?,
                epoch: row.get::<_, i64>(2)? as u64,
                capabilities: decode_caps(&row.get::<_, String>(3)?),
                expires_at_ms: row.get::<_, i64>(4)? as u64,
                received_at_ms: row.get::<_, i64>(5)? as u64,
                grant: row.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn encode_caps(capabilities: &[String]) -> String {
    serde_json::to_string(capabilities).expect("strings serialize")
}

fn decode_caps(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(target: &str, epoch: u64) -> HeldGrant {
        HeldGrant {
            target_peer_id: target.into(),
            issuer_key: "ab".into(),
            epoch,
            capabilities: vec!["ai/generate".into()],
            expires_at_ms: 10,
            received_at_ms: 1,
            grant: format!("grant-{epoch}"),
        }
    }

    fn issued(grantee: &str, epoch: u64, expires_at_ms: u64) -> IssuedGrant {
        IssuedGrant {
            grantee_peer_id: grantee.into(),
            epoch,
            capabilities: vec!["system/info".into()],
            issued_at_ms: epoch,
            expires_at_ms,
            revocation: false,
            grant: format!("g{epoch}"),
        }
    }

    #[test]
    fn latest_epoch_wins_for_held_grants_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grid.sqlite");
        {
            let ledger = GrantLedger::open(&path).unwrap();
            let mut conn = ledger.conn.lock().unwrap();
            assert_eq!(
                GrantLedger::hold(&mut conn, &held("b", 2)).unwrap(),
                HoldOutcome::Stored
            );
            assert_eq!(
                GrantLedger::hold(&mut conn, &held("b", 1)).unwrap(),
                HoldOutcome::KeptNewer { held_epoch: 2 }
            );
            assert_eq!(
                GrantLedger::hold(&mut conn, &held("b", 3)).unwrap(),
                HoldOutcome::Stored
            );
            assert_eq!(
                GrantLedger::hold(&mut conn, &held("c", 1)).unwrap(),
                HoldOutcome::Stored
            );
        }
        let ledger = GrantLedger::open(&path).unwrap();
        let conn = ledger.conn.lock().unwrap();
        let all = GrantLedger::list_held(&conn).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].target_peer_id.as_str(), all[0].epoch), ("b", 3));
        assert_eq!(all[0].grant, "grant-3");
    }

    #[test]
    fn issued_grants_track_the_latest_epoch_and_expiry_per_grantee() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = GrantLedger::open(&dir.path().join("grid.sqlite")).unwrap();
        let conn = ledger.conn.lock().unwrap();
        assert_eq!(GrantLedger::latest_for(&conn, "b").unwrap(), None);
        GrantLedger::record_issued(&conn, &issued("b", 1, 500)).unwrap();
        GrantLedger::record_issued(&conn, &issued("b", 2, 300)).unwrap();
        GrantLedger::record_issued(&conn, &issued("c", 7, 100)).unwrap();
        assert_eq!(GrantLedger::latest_for(&conn, "b").unwrap(), Some((2, 500)));
        let err = GrantLedger::record_issued(&conn, &issued("b", 2, 1)).unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        assert_eq!(GrantLedger::list_issued(&conn, Some("b")).unwrap().len(), 2);
        assert_eq!(GrantLedger::list_issued(&conn, None).unwrap().len(), 3);
    }
}
