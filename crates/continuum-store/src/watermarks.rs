//! Durable grant epoch watermarks on SQLite (`data/watermarks.sqlite`): the
//! `continuum_grant::EpochWatermarks` the gate uses, so a revocation survives
//! a restart.
//!
//! One connection behind a mutex. Every call is one short statement on a
//! local file (no fsync per commit in WAL + `synchronous=NORMAL`), so holding
//! the lock across compare and update costs microseconds and makes
//! check-and-advance atomic for the one process that owns the home (the
//! instance lock guarantees there is only one).

use super::sqlite::{from_ordered, ordered_u64, SharedConnection};
use super::StoreError;
use continuum_grant::{EpochDecision, EpochWatermarks, WatermarkError, DEFAULT_RETENTION_MS};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::MutexGuard;

const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE watermarks (
        grantee_peer_id TEXT PRIMARY KEY,
        epoch INTEGER NOT NULL,
        latest_expiry_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX watermarks_by_expiry ON watermarks (latest_expiry_ms);
",
    // 2: epochs move to the order-preserving u64 encoding (`ordered_u64`).
    // Stores written before held epochs clamped at 2^63-1.
    "UPDATE watermarks SET epoch = epoch + (-9223372036854775807 - 1);",
];

/// Per-grantee epoch watermarks in SQLite.
pub struct SqliteWatermarks {
    conn: SharedConnection,
    retention_ms: u64,
}

impl SqliteWatermarks {
    /// Opens (creating and migrating) the store at `path`, keeping entries
    /// [`DEFAULT_RETENTION_MS`] past their latest grant expiry.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_retention(path, DEFAULT_RETENTION_MS)
    }

    /// As [`open`](Self::open) with an explicit retention margin, which must
    /// be at least the verifier's clock skew allowance.
    pub fn open_with_retention(path: &Path, retention_ms: u64) -> Result<Self, StoreError> {
        Ok(SqliteWatermarks {
            conn: SharedConnection::open_migrated(path, MIGRATIONS)?,
            retention_ms,
        })
    }

    /// The stored watermark for a grantee, if any.
    pub fn watermark(&self, grantee_peer_id: &str) -> Result<Option<u64>, WatermarkError> {
        let conn = self.lock()?;
        conn.prepare_cached("SELECT epoch FROM watermarks WHERE grantee_peer_id = ?1")
            .and_then(|mut stmt| {
                stmt.query_row([grantee_peer_id], |row| row.get::<_, i64>(0))
                    .optional()
            })
            .map(|epoch| epoch.map(from_ordered))
            .map_err(WatermarkError::new)
    }

    /// Number of grantees with a watermark.
    pub fn len(&self) -> Result<usize, WatermarkError> {
        let conn = self.lock()?;
        conn.query_row("SELECT COUNT(*) FROM watermarks", [], |row| {
            row.get::<_, i64>(0)
        })
        .map(|n| n as usize)
        .map_err(WatermarkError::new)
    }

    /// Whether no grantee has a watermark.
    pub fn is_empty(&self) -> Result<bool, WatermarkError> {
        self.len().map(|n| n == 0)
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, WatermarkError> {
        self.conn.lock().map_err(WatermarkError::new)
    }
}

/// A time as SQLite's i64, clamped: no real time comes near 2^63 ms.
fn sql_time(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl EpochWatermarks for SqliteWatermarks {
    fn check_and_advance(
        &self,
        grantee_peer_id: &str,
        epoch: u64,
        expires_at_ms: u64,
        _now_ms: u64,
    ) -> Result<EpochDecision, WatermarkError> {
        let conn = self.lock()?;
        let (epoch_sql, expiry_sql) = (ordered_u64(epoch), sql_time(expires_at_ms));
        // Fast path, under the same lock: the usual call presents the grant
        // already recorded, and then nothing needs writing.
        let stored: Option<(i64, i64)> = conn
            .prepare_cached(
                "SELECT epoch, latest_expiry_ms FROM watermarks WHERE grantee_peer_id = ?1",
            )
            .and_then(|mut stmt| {
                stmt.query_row([grantee_peer_id], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()
            })
            .map_err(WatermarkError::new)?;
        match stored {
            Some((stored_epoch, _)) if stored_epoch > epoch_sql => {
                // Still raise the recorded expiry, per the trait contract.
                conn.prepare_cached(
                    "UPDATE watermarks SET latest_expiry_ms = max(latest_expiry_ms, ?2)
                     WHERE grantee_peer_id = ?1",
                )
                .and_then(|mut stmt| stmt.execute(params![grantee_peer_id, expiry_sql]))
                .map_err(WatermarkError::new)?;
                return Ok(EpochDecision::Superseded {
                    watermark: from_ordered(stored_epoch),
                });
            }
            Some((stored_epoch, stored_expiry))
                if stored_epoch == epoch_sql && stored_expiry >= expiry_sql =>
            {
                return Ok(EpochDecision::Accept);
            }
            _ => {}
        }
        // One statement: insert, or raise epoch and expiry to the maxima.
        let watermark: i64 = conn
            .prepare_cached(
                "INSERT INTO watermarks (grantee_peer_id, epoch, latest_expiry_ms)
                 VALUES (?1, ?2, ?3)
                 ON CONFLICT (grantee_peer_id) DO UPDATE SET
                     epoch = max(epoch, excluded.epoch),
                     latest_expiry_ms = max(latest_expiry_ms, excluded.latest_expiry_ms)
                 RETURNING epoch",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![grantee_peer_id, epoch_sql, expiry_sql], |row| {
                    row.get(0)
                })
            })
            .map_err(WatermarkError::new)?;
        Ok(if watermark > epoch_sql {
            EpochDecision::Superseded {
                watermark: from_ordered(watermark),
            }
        } else {
            EpochDecision::Accept
        })
    }

    fn current(&self, grantee_peer_id: &str) -> Result<Option<u64>, WatermarkError> {
        self.watermark(grantee_peer_id)
    }

    fn evict_expired(&self, now_ms: u64) -> Result<usize, WatermarkError> {
        let conn = self.lock()?;
        let cutoff = sql_time(now_ms.saturating_sub(self.retention_ms));
        conn.prepare_cached("DELETE FROM watermarks WHERE latest_expiry_ms < ?1")
            .and_then(|mut stmt| stmt.execute([cutoff]))
            .map_err(WatermarkError::new)
    }
}
