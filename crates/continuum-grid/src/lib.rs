//! `continuum-grid`: this node as the grid sees it. Its ed25519 identity
//! (`identity/node.key`, 0600), [`GrantIssuer`] (signing and recording this
//! node's grants) and [`GrantAuthorizer`], the production grant check the
//! kernel's gate consults for peers. The grid transport, the peer
//! registry and pairing join here.
//!
//! Invariants: the secret key is never logged or returned (`Debug` prints
//! the public key only); the presenting key a grant is checked against is
//! the one the transport proved, never one the grant or the peer claims.

mod authorizer;
mod checkpoints;
mod identity;
mod issuer;
pub mod keyfile;

pub use authorizer::{GrantAuthorizer, PersonaIssuers, MAX_CLOCK_SKEW_MS};
pub use checkpoints::AuditCheckpoints;
pub use identity::{AuditPoint, IdentityError, NodeIdentity};
pub use issuer::{GrantIssuer, GrantSigner, IssueRequest, MAX_ISSUABLE_EPOCH};
