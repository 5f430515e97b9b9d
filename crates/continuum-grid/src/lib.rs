//! `continuum-grid`: this node as the grid sees it. Its ed25519 identity
//! (`identity/node.key`, 0600), [`GrantIssuer`] (signing and recording this
//! node's grants) and [`GrantAuthorizer`], the production grant check the
//! kernel's gate consults for peers; [`Peers`], the peer registry; [`tls`],
//! TLS 1.3 with raw ed25519 keys; and [`client::PeerLink`], the dialer.
//! Pairing joins here.
//!
//! Invariants: the secret key is never logged or returned (`Debug` prints
//! the public key only); the presenting key a grant is checked against is
//! the one the transport proved, never one the grant or the peer claims.

mod authorizer;
mod checkpoints;
pub mod client;
mod identity;
mod issuer;
pub mod keyfile;
mod peers;
pub mod tls;

pub use authorizer::{GrantAuthorizer, PersonaIssuers, MAX_CLOCK_SKEW_MS};
pub use checkpoints::AuditCheckpoints;
pub use identity::{AuditPoint, IdentityError, NodeIdentity};
pub use issuer::{GrantIssuer, GrantSigner, IssueRequest, MAX_ISSUABLE_EPOCH};
pub use peers::{KeyStatus, Peers, PeersError};
