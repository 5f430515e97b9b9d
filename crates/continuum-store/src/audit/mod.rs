//! The audit log store: append-only and tamper-evident. Each record carries
//! the hash of the one before it, so editing or deleting a record breaks the
//! chain and `verify` says where.
//!
//! Appends come in two kinds: queued (committed, in order, with the next
//! group commit) and durable (the caller waits for the commit). Which one a
//! decision needs is the gate's policy (`continuum-kernel::audit`).

mod chain;
mod memory;
mod sqlite;

pub use chain::{AuditRecord, ChainBase, VerifyReport, GENESIS_HASH};
pub use continuum_wire::{AuditEvent, Outcome};
pub mod shipping;

pub use memory::MemoryAuditLog;
pub use sqlite::SqliteAuditLog;

use crate::{BoxFuture, StoreError};

/// Append-only, hash-chained decision log.
pub trait AuditStore: Send + Sync {
    /// Queues an event; it is committed, in order, with the next group commit.
    fn append(&self, event: AuditEvent);
    /// Appends and waits until the record is durable.
    fn append_durable(&self, event: AuditEvent) -> BoxFuture<'_, Result<(), StoreError>>;
    /// At most `limit` records after `seq`, oldest first (to ship the log
    /// in segments).
    fn after(&self, seq: u64, limit: usize) -> BoxFuture<'_, Result<Vec<AuditRecord>, StoreError>>;
    /// The newest `limit` records, oldest first.
    fn tail(&self, limit: usize) -> BoxFuture<'_, Result<Vec<AuditRecord>, StoreError>>;
    /// Re-computes the whole chain.
    fn verify(&self) -> BoxFuture<'_, Result<VerifyReport, StoreError>>;
    /// Waits until everything queued so far is durable.
    fn flush(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Retention: drops all but the newest `keep` records (at least one is
    /// kept). The chain stays verifiable: the last dropped record becomes
    /// its base (its seq and hash kept, and signed by the anchor when there
    /// is one).
    fn compact(&self, keep: u64) -> BoxFuture<'_, Result<CompactReport, StoreError>>;
}

/// What a compaction did.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct CompactReport {
    /// Records dropped now.
    pub dropped: u64,
    /// Records kept.
    pub kept: u64,
    /// The chain's base after compaction (0: nothing was ever dropped).
    pub base_seq: u64,
}

/// Where the head of the chain is anchored outside the database, signed, so
/// that deleting or replacing the newest records (which leaves a shorter,
/// still internally consistent chain) is detected.
pub trait AuditAnchor: Send + Sync {
    /// Records that the chain's head is record `seq` with hash `hash`.
    fn seal(&self, seq: u64, hash: &str) -> Result<(), StoreError>;
    /// The last head sealed, if any. An anchor that exists but does not
    /// verify is an error.
    fn last(&self) -> Result<Option<(u64, String)>, StoreError>;
    /// Records that records up to `seq` were dropped and the chain now
    /// starts after record `seq`, whose hash was `hash`.
    fn seal_base(&self, seq: u64, hash: &str) -> Result<(), StoreError>;
    /// The base last sealed, if any (verified like [`last`](Self::last)).
    fn base(&self) -> Result<Option<(u64, String)>, StoreError>;
}

/// The audit writer has stopped (the daemon is shutting down).
pub(crate) fn writer_stopped() -> StoreError {
    StoreError::Backend("audit writer stopped".into())
}
