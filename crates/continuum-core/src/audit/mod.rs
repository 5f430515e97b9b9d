//! The audit log: append-only and tamper-evident. Every gate decision and every
//! owner-only action is recorded; each record carries the hash of the one
//! before it, so editing or deleting a record breaks the chain and
//! `audit/verify` says where.
//!
//! Durability policy: owner-only actions and every denial are appended
//! durably (the dispatcher awaits the commit; if it fails, the owner-only action
//! is refused). Allowed calls of non-owner commands are queued and committed in
//! the next group commit, keeping the hot path free of disk waits.

mod chain;
mod memory;
mod sqlite;

pub use chain::{AuditRecord, VerifyReport, GENESIS_HASH};
pub use memory::MemoryAuditLog;
pub use sqlite::SqliteAuditLog;

use crate::command::BoxFuture;
use crate::gate::Caller;
use serde::{Deserialize, Serialize};
use std::time::{SystemTime, UNIX_EPOCH};

/// Whether a decision let the call through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The call ran.
    Allowed,
    /// The call was refused.
    Denied,
}

impl Outcome {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
        }
    }
}

/// One decision to record (before it is sealed into the chain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Unix time in milliseconds.
    pub time_ms: u64,
    /// Who called (a label, never a secret).
    pub caller: String,
    /// The command.
    pub command: String,
    /// Allowed or denied.
    pub outcome: Outcome,
    /// Why (`trust`, `grant`, `owner_only`, a grant verdict...).
    pub reason: String,
    /// On whose behalf, as the caller claimed. Recorded, never authorizing.
    pub forwarded_for: Option<String>,
}

impl AuditEvent {
    /// An event stamped with the current time.
    pub fn new(
        caller: &Caller,
        command: &str,
        outcome: Outcome,
        reason: &str,
        forwarded_for: Option<String>,
    ) -> Self {
        AuditEvent {
            time_ms: now_ms(),
            caller: caller.label(),
            command: command.to_owned(),
            outcome,
            reason: reason.to_owned(),
            forwarded_for,
        }
    }
}

/// Why the audit log failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuditError {
    /// The store failed.
    #[error("audit store error: {0}")]
    Store(String),
    /// The writer is gone (daemon shutting down).
    #[error("audit writer stopped")]
    Closed,
}

/// Append-only, hash-chained decision log.
pub trait AuditLog: Send + Sync {
    /// Queues an event; it is committed, in order, with the next group commit.
    fn append(&self, event: AuditEvent);
    /// Appends and waits until the record is durable.
    fn append_durable(&self, event: AuditEvent) -> BoxFuture<'_, Result<(), AuditError>>;
    /// The newest `limit` records, oldest first.
    fn tail(&self, limit: usize) -> BoxFuture<'_, Result<Vec<AuditRecord>, AuditError>>;
    /// Re-computes the whole chain.
    fn verify(&self) -> BoxFuture<'_, Result<VerifyReport, AuditError>>;
    /// Waits until everything queued so far is durable.
    fn flush(&self) -> BoxFuture<'_, Result<(), AuditError>>;
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}
