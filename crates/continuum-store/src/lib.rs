//! `continuum-store`: the storage boundary. One repo trait per concern, each
//! with an in-memory implementation and an embedded SQLite one (the runtime
//! default). Adapters that need heavy dependencies (S3, ...) live in their own
//! crates, implement these same traits, and run the same contract suites
//! ([`testing`], behind the `testing` feature).
//!
//! | concern | trait | backends |
//! |---|---|---|
//! | JSON documents | [`DocumentStore`] | [`MemoryDocumentStore`], [`SqliteDocumentStore`] |
//! | audit log (hash chain) | [`AuditStore`] | [`MemoryAuditLog`], [`SqliteAuditLog`] |
//! | grant epoch watermarks | `continuum_grant::EpochWatermarks` | `InMemoryWatermarks` (grant crate), [`SqliteWatermarks`] |
//! | grant ledger | [`GrantLedger`] | [`SqliteGrantLedger`] |
//! | persona records | [`PersonaStore`] | [`InMemoryPersonas`], [`SqlitePersonas`] |
//! | rooms, messages, answer records | [`ChatStore`] | [`InMemoryChat`], [`SqliteChat`] |
//! | persona memories (ranked recall) | [`MemoryStore`] | [`InMemoryMemories`], [`SqliteMemories`] (FTS5) |
//! | grid peers, invites, imported catalogs | [`PeerStore`] | [`InMemoryPeers`], [`SqlitePeers`] |
//!
//! Credentials join as a further trait here.
//!
//! Invariants: this crate knows nothing of commands, callers or the gate
//! (no dependency on the kernel); a committed SQLite write survives `kill -9`
//! (WAL, `synchronous=NORMAL`); blocking SQLite work runs off the async runtime.

pub mod audit;
pub mod chat;
pub mod credentials;
pub mod documents;
pub mod ledger;
pub mod memories;
pub mod peers;
pub mod personas;
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;
pub mod watermarks;

pub use audit::{
    AuditAnchor, AuditRecord, AuditStore, ChainBase, CompactReport, MemoryAuditLog, SqliteAuditLog,
    VerifyReport, GENESIS_HASH,
};
pub use chat::{
    AnswerOutcome, AnswerRecord, Author, AuthorKind, ChatMessage, ChatStore, InMemoryChat,
    NewMessage, PersonaMeta, Room, SqliteChat, TokenUsage, ToolCallRecord, DEFAULT_HOP_BUDGET,
    MAX_MESSAGE_BYTES,
};
pub use credentials::{
    persona_wallet, wallet_within, CredentialId, CredentialInfo, CredentialRecord, CredentialStore,
    InMemoryCredentials, SqliteCredentials,
};
pub use documents::{
    check_collection, check_id, Document, DocumentStore, ListQuery, MemoryDocumentStore, Order,
    SqliteDocumentStore,
};
pub use ledger::{GrantLedger, HeldGrant, HoldOutcome, IssuedGrant, MintGrant, SqliteGrantLedger};
pub use memories::{
    InMemoryMemories, Memory, MemoryStore, NewMemory, Recalled, SqliteMemories, MAX_MEMORY_BYTES,
    MAX_TAGS,
};
pub use peers::{
    InMemoryPeers, Invite, PeerRecord, PeerStore, PreviousKey, SqlitePeers, StoredCatalog,
    MAX_ADDRESSES, MAX_PEER_NAME_BYTES, MAX_PREVIOUS_KEYS,
};
pub use personas::{InMemoryPersonas, PersonaRecord, PersonaStore, SqlitePersonas};
pub use watermarks::SqliteWatermarks;

use std::future::Future;
use std::pin::Pin;
use std::time::{SystemTime, UNIX_EPOCH};

/// A boxed, sendable future (the repo traits are object-safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a store operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The addressed record does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The record already exists.
    #[error("{0} already exists")]
    Conflict(String),
    /// The request is malformed (bad field path, bad collection name...).
    #[error("{field}: {reason}")]
    Invalid {
        /// JSON pointer of the offending param.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The backend failed.
    #[error("store backend: {0}")]
    Backend(String),
}

impl StoreError {
    /// An `Invalid` error on `field` (a JSON pointer such as `/epoch`).
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        StoreError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        StoreError::Backend(err.to_string())
    }
}

/// Milliseconds since the Unix epoch (record timestamps).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// A new id: 12 hex digits of Unix ms, then a process counter and random
/// bits. Ids sort by creation time and are never reused.
pub fn new_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = now_ms();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // Time-ordered and unique within a process; random suffix across restarts.
    let random: u32 =
        std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), n) as u32;
    format!("{now:012x}{:06x}{random:08x}", n & 0xff_ffff)
}

/// The creation time a [`new_id`] carries, if `id` is one.
pub fn id_time_ms(id: &str) -> Option<u64> {
    let prefix = id.get(..12)?;
    if id.len() != 26 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(prefix, 16).ok()
}
