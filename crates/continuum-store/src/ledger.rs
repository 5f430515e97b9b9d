//! The grant ledger (`data/grid.sqlite`): grants this node issued, and grants
//! other nodes issued to it, kept per target peer so the right one can ride on
//! each outgoing call.
//!
//! The ledger is bookkeeping for people and for the grantee side. It is not
//! consulted by the gate: what the gate trusts is the signature and the epoch
//! watermark (`watermarks`).

use crate::sqlite::{from_ordered, ordered_u64, SharedConnection};
use crate::{BoxFuture, StoreError};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::path::Path;

const MIGRATIONS: &[&str] = &[
    "
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
",
    // 2: epochs move to the order-preserving u64 encoding (`ordered_u64`);
    // before, epochs at or above 2^63 were stored wrapped negative.
    "UPDATE issued_grants SET epoch = CASE WHEN epoch >= 0
         THEN epoch + (-9223372036854775807 - 1)
         ELSE epoch + 9223372036854775807 + 1 END;
     UPDATE held_grants SET epoch = CASE WHEN epoch >= 0
         THEN epoch + (-9223372036854775807 - 1)
         ELSE epoch + 9223372036854775807 + 1 END;",
];

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

/// Signs the grant to record, given the highest epoch already issued to its
/// grantee. Runs under the ledger's lock; a refusal is a [`StoreError`]
/// (`Invalid` names the field at fault).
pub type MintGrant = Box<dyn FnOnce(Option<u64>) -> Result<IssuedGrant, StoreError> + Send>;

/// Grants this node issued and grants it holds from others.
pub trait GrantLedger: Send + Sync {
    /// Picks and records the next grant for `grantee` atomically: `mint` sees
    /// the latest issued epoch and no other issue for `grantee` runs between
    /// that read and the write, so two grants never share an epoch.
    fn issue(
        &self,
        grantee: String,
        mint: MintGrant,
    ) -> BoxFuture<'_, Result<IssuedGrant, StoreError>>;
    /// Issued grants, newest first, optionally for one grantee.
    fn list_issued(
        &self,
        grantee: Option<String>,
    ) -> BoxFuture<'_, Result<Vec<IssuedGrant>, StoreError>>;
    /// Keeps `grant` for its target unless a higher epoch is already held.
    fn hold(&self, grant: HeldGrant) -> BoxFuture<'_, Result<HoldOutcome, StoreError>>;
    /// Held grants, by target.
    fn list_held(&self) -> BoxFuture<'_, Result<Vec<HeldGrant>, StoreError>>;
}

/// Issued and held grants on SQLite. Cheap to clone.
#[derive(Clone)]
pub struct SqliteGrantLedger {
    conn: SharedConnection,
}

impl SqliteGrantLedger {
    /// Opens (creating and migrating) the ledger at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(SqliteGrantLedger {
            conn: SharedConnection::open_migrated(path, MIGRATIONS)?,
        })
    }
}

impl GrantLedger for SqliteGrantLedger {
    fn issue(
        &self,
        grantee: String,
        mint: MintGrant,
    ) -> BoxFuture<'_, Result<IssuedGrant, StoreError>> {
        Box::pin(self.conn.run(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let latest = latest_for(&tx, &grantee)?;
            let grant = mint(latest)?;
            record_issued(&tx, &grant)?;
            tx.commit()?;
            Ok(grant)
        }))
    }

    fn list_issued(
        &self,
        grantee: Option<String>,
    ) -> BoxFuture<'_, Result<Vec<IssuedGrant>, StoreError>> {
        Box::pin(
            self.conn
                .run(move |conn| list_issued(conn, grantee.as_deref())),
        )
    }

    fn hold(&self, grant: HeldGrant) -> BoxFuture<'_, Result<HoldOutcome, StoreError>> {
        Box::pin(self.conn.run(move |conn| hold(conn, &grant)))
    }

    fn list_held(&self) -> BoxFuture<'_, Result<Vec<HeldGrant>, StoreError>> {
        Box::pin(self.conn.run(|conn| list_held(conn)))
    }
}

/// Highest epoch issued to `grantee`.
fn latest_for(conn: &Connection, grantee: &str) -> Result<Option<u64>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT MAX(epoch) FROM issued_grants
             WHERE grantee_peer_id = ?1 HAVING COUNT(*) > 0",
            [grantee],
            |row| Ok(from_ordered(row.get(0)?)),
        )
        .optional()?)
}

/// Records an issued grant. Its (grantee, epoch) must be new.
fn record_issued(conn: &Connection, grant: &IssuedGrant) -> Result<(), StoreError> {
    let inserted = conn.execute(
        "INSERT INTO issued_grants
         (grantee_peer_id, epoch, capabilities, issued_at_ms, expires_at_ms, revocation, grant_text)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
        params![
            grant.grantee_peer_id,
            ordered_u64(grant.epoch),
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
fn list_issued(conn: &Connection, grantee: Option<&str>) -> Result<Vec<IssuedGrant>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT grantee_peer_id, epoch, capabilities, issued_at_ms, expires_at_ms, revocation, grant_text
         FROM issued_grants WHERE ?1 IS NULL OR grantee_peer_id = ?1
         ORDER BY issued_at_ms DESC, grantee_peer_id, epoch DESC",
    )?;
    let rows = stmt.query_map([grantee], |row| {
        Ok(IssuedGrant {
            grantee_peer_id: row.get(0)?,
            epoch: from_ordered(row.get(1)?),
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
fn hold(conn: &mut Connection, grant: &HeldGrant) -> Result<HoldOutcome, StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let held: Option<i64> = tx
        .query_row(
            "SELECT epoch FROM held_grants WHERE target_peer_id = ?1",
            [&grant.target_peer_id],
            |row| row.get(0),
        )
        .optional()?;
    if let Some(held_epoch) = held.map(from_ordered) {
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
            ordered_u64(grant.epoch),
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
fn list_held(conn: &Connection) -> Result<Vec<HeldGrant>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT target_peer_id, issuer_key, epoch, capabilities, expires_at_ms, received_at_ms, grant_text
         FROM held_grants ORDER BY target_peer_id",
    )?;
    let rows = stmt.query_map([], |row| {
        Ok(HeldGrant {
            target_peer_id: row.get(0)?,
            issuer_key: row.get(1)?,
            epoch: from_ordered(row.get(2)?),
            capabilities: decode_caps(&row.get::<_, String>(3)?),
            expires_at_ms: row.get::<_, i64>(4)? as u64,
            received_at_ms: row.get::<_, i64>(5)? as u64,
            grant: row.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
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

    #[tokio::test]
    async fn latest_epoch_wins_for_held_grants_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grid.sqlite");
        {
            let ledger = SqliteGrantLedger::open(&path).unwrap();
            for (target, epoch, expected) in [
                ("b", 2, HoldOutcome::Stored),
                ("b", 1, HoldOutcome::KeptNewer { held_epoch: 2 }),
                ("b", 3, HoldOutcome::Stored),
                ("c", 1, HoldOutcome::Stored),
            ] {
                assert_eq!(ledger.hold(held(target, epoch)).await.unwrap(), expected);
            }
        }
        let ledger = SqliteGrantLedger::open(&path).unwrap();
        let all = ledger.list_held().await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].target_peer_id.as_str(), all[0].epoch), ("b", 3));
        assert_eq!(all[0].grant, "grant-3");
    }

    #[tokio::test]
    async fn issuing_sees_the_latest_epoch_and_never_reuses_one() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = SqliteGrantLedger::open(&dir.path().join("grid.sqlite")).unwrap();
        let issue = |grantee: &'static str, epoch: Option<u64>, expect_latest: Option<u64>| {
            ledger.issue(
                grantee.into(),
                Box::new(move |latest| {
                    assert_eq!(latest, expect_latest);
                    Ok(issued(
                        grantee,
                        epoch.unwrap_or(latest.map_or(1, |l| l + 1)),
                        500,
                    ))
                }),
            )
        };
        assert_eq!(issue("b", None, None).await.unwrap().epoch, 1);
        assert_eq!(issue("b", None, Some(1)).await.unwrap().epoch, 2);
        assert_eq!(issue("c", Some(7), None).await.unwrap().epoch, 7);
        let err = issue("b", Some(2), Some(2)).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        let refused = ledger
            .issue(
                "b".into(),
                Box::new(|_| Err(StoreError::invalid("/epoch", "no"))),
            )
            .await
            .unwrap_err();
        assert!(matches!(refused, StoreError::Invalid { .. }), "{refused}");
        assert_eq!(ledger.list_issued(Some("b".into())).await.unwrap().len(), 2);
        assert_eq!(ledger.list_issued(None).await.unwrap().len(), 3);

        // Epochs past 2^63 are kept exactly and order above smaller ones.
        for epoch in [(1 << 63) - 1, 1 << 63, u64::MAX - 1] {
            let expected_latest = ledger
                .list_issued(Some("big".into()))
                .await
                .unwrap()
                .iter()
                .map(|g| g.epoch)
                .max();
            assert_eq!(
                issue("big", Some(epoch), expected_latest)
                    .await
                    .unwrap()
                    .epoch,
                epoch
            );
        }
        let epochs: Vec<u64> = ledger
            .list_issued(Some("big".into()))
            .await
            .unwrap()
            .iter()
            .map(|g| g.epoch)
            .collect();
        assert!(
            epochs.contains(&(u64::MAX - 1)) && epochs.contains(&(1 << 63)),
            "{epochs:?}"
        );
    }

    #[tokio::test]
    async fn an_older_ledger_with_wrapped_epochs_is_migrated_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grid.sqlite");
        {
            let mut conn = Connection::open(&path).unwrap();
            crate::sqlite::migrate(&mut conn, &MIGRATIONS[..1]).unwrap();
            // Written by the old code: `epoch as i64`, so 2^63 wrapped negative.
            conn.execute_batch(
                "INSERT INTO issued_grants VALUES ('b', 3, '[]', 1, 2, 0, 'g3');
                 INSERT INTO issued_grants VALUES ('b', -9223372036854775808, '[]', 1, 2, 0, 'gbig');
                 INSERT INTO held_grants VALUES ('t', 'ab', 5, '[]', 2, 1, 'h5');",
            )
            .unwrap();
        }
        let ledger = SqliteGrantLedger::open(&path).unwrap();
        let mut epochs: Vec<u64> = ledger
            .list_issued(None)
            .await
            .unwrap()
            .iter()
            .map(|g| g.epoch)
            .collect();
        epochs.sort_unstable();
        assert_eq!(epochs, [3, 1 << 63]);
        assert_eq!(ledger.list_held().await.unwrap()[0].epoch, 5);
    }
}
