//! In-memory audit log for tests.

use super::chain::verify_chain;
use super::{AuditEvent, AuditRecord, AuditStore, ChainBase, CompactReport, VerifyReport};
use crate::{BoxFuture, StoreError};
use std::sync::Mutex;

/// Keeps the chain in a vector. Same sealing rules as the durable log.
pub struct MemoryAuditLog {
    chain: Mutex<(ChainBase, Vec<AuditRecord>)>,
    fail: std::sync::atomic::AtomicBool,
}

impl Default for MemoryAuditLog {
    fn default() -> Self {
        MemoryAuditLog {
            chain: Mutex::new((ChainBase::genesis(), Vec::new())),
            fail: std::sync::atomic::AtomicBool::new(false),
        }
    }
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
        self.chain
            .lock()
            .map(|chain| chain.1.clone())
            .unwrap_or_default()
    }

    fn push(&self, event: AuditEvent) {
        if let Ok(mut chain) = self.chain.lock() {
            let (base, records) = &mut *chain;
            let (seq, prev) = records
                .last()
                .map_or((base.seq, base.hash.clone()), |r| (r.seq, r.hash.clone()));
            records.push(AuditRecord::seal(seq + 1, event, &prev));
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

    fn after(&self, seq: u64, limit: usize) -> BoxFuture<'_, Result<Vec<AuditRecord>, StoreError>> {
        Box::pin(async move {
            Ok(self
                .records()
                .into_iter()
                .filter(|record| record.seq > seq)
                .take(limit)
                .collect())
        })
    }

    fn verify(&self) -> BoxFuture<'_, Result<VerifyReport, StoreError>> {
        Box::pin(async move {
            let chain = self
                .chain
                .lock()
                .map_err(|_| StoreError::Backend("audit log poisoned".into()))?;
            Ok(verify_chain(&chain.1, &chain.0))
        })
    }

    fn flush(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }

    fn compact(&self, keep: u64) -> BoxFuture<'_, Result<CompactReport, StoreError>> {
        Box::pin(async move {
            let mut chain = self
                .chain
                .lock()
                .map_err(|_| StoreError::Backend("audit log poisoned".into()))?;
            let (base, records) = &mut *chain;
            let keep = keep.max(1) as usize;
            let dropped = records.len().saturating_sub(keep);
            if dropped > 0 {
                let last = &records[dropped - 1];
                *base = ChainBase {
                    seq: last.seq,
                    hash: last.hash.clone(),
                };
                records.drain(..dropped);
            }
            Ok(CompactReport {
                dropped: dropped as u64,
                kept: records.len() as u64,
                base_seq: base.seq,
            })
        })
    }
}
