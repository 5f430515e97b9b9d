//! The storage boundary: one repo trait per concern, each with an in-memory
//! implementation (tests) and an embedded SQLite one (the runtime default).
//! Adapters that need heavy dependencies (S3, ...) live in their own crates and
//! implement these same traits.
//!
//! | concern | trait | where |
//! |---|---|---|
//! | JSON documents | [`DocumentStore`] | [`documents`] |
//! | audit log | [`crate::audit::AuditLog`] | `audit/` |
//! | grant epoch watermarks | `continuum_grant::EpochWatermarks` | [`watermarks`] |

pub mod documents;
pub mod sqlite;
pub mod watermarks;

pub use documents::{
    Document, DocumentStore, ListQuery, MemoryDocumentStore, Order, SqliteDocumentStore,
};
pub use watermarks::SqliteWatermarks;

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

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        StoreError::Backend(err.to_string())
    }
}

impl From<StoreError> for crate::command::CommandError {
    fn from(err: StoreError) -> Self {
        use crate::command::CommandError;
        match err {
            StoreError::NotFound(what) => CommandError::NotFound(what),
            StoreError::Conflict(what) => CommandError::Conflict(format!("{what} already exists")),
            StoreError::Invalid { field, reason } => CommandError::invalid_params(field, reason),
            StoreError::Backend(reason) => CommandError::Unavailable(reason),
        }
    }
}
