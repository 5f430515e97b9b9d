//! In-memory audit log for tests.

use super::chain::verify_chain;
use super::{AuditEvent, AuditRecord, AuditStore, VerifyReport, GENESIS_HASH};
use crate::{BoxFuture, StoreError};
use std::sync::Mutex;

/// Keeps the chain in a vector. Same sealing rules as the durable log.
#[derive(Default)]
pub struct MemoryAuditLog {
    records: Mutex<Vec<AuditRecord>>,
    fail: std::sync::atomic::AtomicBool,
}

impl MemoryAuditLog {
    /// An empty log.
    pub fn new() -> Self {
        MemoryAuditLog::default()
    }

    /// Makes every later durable append fail (to test fail-closed paths).
    pub fn fail_durable_appends(&self, fail: bool) {
        self.fail.store(fail, std::sync::atomic::Ordering::SeqCst);
    }

    /// A copy of every record.
    pub fn records(&self) -> Vec<AuditRecord> {
        self.records.lock().map(|r| r.clone()).unwrap_or_default()
    }

    fn push(&self, event: AuditEvent) {
        if let Ok(mut records) = self.records.lock() {
            let prev = records
                .last()
                .map_or(GENESIS_HASH, |r| r.hash.as_str())
                .to_owned();
            let seq = records.len() as u64 + 1;
            records.push(AuditRecord::seal(seq, event, &prev));
        }
    }
}

impl AuditStore for MemoryAuditLog {
    fn append(&self, event: AuditEvent) {
        self.push(event);
    }

    fn append_durable(&self, event: AuditEvent) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(StoreError::Backend("injected failure".into()));
            }
            self.push(event);
            Ok(())
        })
    }

    fn tail(&self, limit: usize) -> BoxFuture<'_, Result<Vec<AuditRecord>, StoreError>> {
        Box::pin(async move {
            let records = self.records();
            let skip = records.len().saturating_sub(limit);
            Ok(records.into_iter().skip(skip).collect())
        })
    }

    fn verify(&self) -> BoxFuture<'_, Result<VerifyReport, StoreError>> {
        Box::pin(async move { Ok(verify_chain(&self.records())) })
    }

    fn flush(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }
}
