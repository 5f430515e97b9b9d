//! Epoch anti-replay: one watermark per grantee, behind a trait so the durable
//! store can live in another crate. This module defines the contract and an
//! in-memory implementation; it performs no I/O.

use dashmap::DashMap;

/// Outcome of presenting an epoch to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochDecision {
    /// The epoch is at or above the watermark, which now equals the higher of
    /// the two.
    Accept,
    /// A higher epoch was already seen; the presented grant is replaced or
    /// revoked.
    Superseded {
        /// The stored watermark, higher than the presented epoch.
        watermark: u64,
    },
}

/// The store could not answer. Callers must deny (fail closed).
#[derive(Debug, thiserror::Error)]
#[error("epoch watermark store failed: {0}")]
pub struct WatermarkError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

impl WatermarkError {
    /// Wraps a backend error.
    pub fn new(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(source.into())
    }
}

/// Per-grantee epoch watermarks.
///
/// Contract for implementations (the in-memory one here, a durable one
/// elsewhere):
///
/// - [`check_and_advance`](EpochWatermarks::check_and_advance) is one atomic
///   step per grantee: no other call for the same grantee may observe or write
///   the watermark between the comparison and the update. Otherwise a lower
///   epoch could pass its check while a higher one commits.
/// - An epoch equal to the watermark is accepted: the same grant is presented
///   on every call.
/// - Every call, accepted or not, raises the entry's recorded expiry to at
///   least `expires_at_ms`, so the entry outlives every grant seen for the
///   grantee.
/// - [`evict_expired`](EpochWatermarks::evict_expired) may drop an entry only
///   when its recorded expiry plus a retention margin is in the past. The margin
///   must be at least the verifier's `max_clock_skew_ms`, so that any grant the
///   entry could still reject is already refused as expired by verification.
/// - Any failure is a [`WatermarkError`]; the caller denies.
///
/// Eviction is only safe if a revoking grant expires no earlier than the grants
/// it revokes; issuers must choose expiries accordingly.
///
/// The trait is object-safe; callers hold a `&dyn EpochWatermarks`.
pub trait EpochWatermarks: Send + Sync {
    /// Compares `epoch` with the grantee's watermark and, if it is not lower,
    /// raises the watermark to it, atomically.
    fn check_and_advance(
        &self,
        grantee_peer_id: &str,
        epoch: u64,
        expires_at_ms: u64,
        now_ms: u64,
    ) -> Result<EpochDecision, WatermarkError>;

    /// The grantee's current watermark, without changing anything. Used to
    /// preview a grant (listing what it would confer) with no side effect.
    fn current(&self, grantee_peer_id: &str) -> Result<Option<u64>, WatermarkError>;

    /// Drops entries that no live grant could still need; returns how many.
    fn evict_expired(&self, now_ms: u64) -> Result<usize, WatermarkError>;
}

/// Default retention after the latest expiry before an entry may be evicted:
/// comfortably above any sane clock skew.
pub const DEFAULT_RETENTION_MS: u64 = 10 * 60 * 1000;

#[derive(Debug, Clone, Copy)]
struct Watermark {
    epoch: u64,
    latest_expiry_ms: u64,
}

/// Process-lifetime watermarks in a sharded map, for tests and for nodes that
/// accept losing anti-replay state on restart.
#[derive(Debug)]
pub struct InMemoryWatermarks {
    entries: DashMap<String, Watermark>,
    retention_ms: u64,
}

impl Default for InMemoryWatermarks {
    fn default() -> Self {
        Self::new(DEFAULT_RETENTION_MS)
    }
}

impl InMemoryWatermarks {
    /// An empty store that keeps each entry `retention_ms` past its latest
    /// grant expiry.
    pub fn new(retention_ms: u64) -> Self {
        Self {
            entries: DashMap::new(),
            retention_ms,
        }
    }

    /// Number of grantees tracked.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no grantee is tracked.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The stored watermark for a grantee, if any.
    pub fn watermark(&self, grantee_peer_id: &str) -> Option<u64> {
        self.entries.get(grantee_peer_id).map(|w| w.epoch)
    }
}

fn advance(entry: &mut Watermark, epoch: u64, expires_at_ms: u64) -> EpochDecision {
    entry.latest_expiry_ms = entry.latest_expiry_ms.max(expires_at_ms);
    if epoch < entry.epoch {
        EpochDecision::Superseded {
            watermark: entry.epoch,
        }
    } else {
        entry.epoch = epoch;
        EpochDecision::Accept
    }
}

impl EpochWatermarks for InMemoryWatermarks {
    fn check_and_advance(
        &self,
        grantee_peer_id: &str,
        epoch: u64,
        expires_at_ms: u64,
        _now_ms: u64,
    ) -> Result<EpochDecision, WatermarkError> {
        // Both paths hold the shard's write lock across compare and update.
        // The fast path avoids allocating the key for a known grantee; the
        // entry path re-checks, so a racing insert is handled there.
        if let Some(mut entry) = self.entries.get_mut(grantee_peer_id) {
            return Ok(advance(&mut entry, epoch, expires_at_ms));
        }
        let mut entry = self
            .entries
            .entry(grantee_peer_id.to_owned())
            .or_insert(Watermark {
                epoch,
                latest_expiry_ms: expires_at_ms,
            });
        Ok(advance(&mut entry, epoch, expires_at_ms))
    }

    fn current(&self, grantee_peer_id: &str) -> Result<Option<u64>, WatermarkError> {
        Ok(self.watermark(grantee_peer_id))
    }

    fn evict_expired(&self, now_ms: u64) -> Result<usize, WatermarkError> {
        let mut evicted = 0;
        self.entries.retain(|_, w| {
            let keep = w.latest_expiry_ms.saturating_add(self.retention_ms) >= now_ms;
            if !keep {
                evicted += 1;
            }
            keep
        });
        Ok(evicted)
    }
}
