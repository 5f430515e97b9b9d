//! Credentials a call presents, and the seam through which the gate checks
//! them. A credential is part of the *call*, not of the caller: the same peer
//! may present a different grant (or none) on each request.

use crate::command::BoxFuture;
use crate::gate::{PeerCaller, Trust};
use std::sync::Arc;

/// What a call presents beyond who it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credential {
    /// A signed capability grant, as base64url text (`meta.grant`).
    Grant(String),
}

/// The grant that admitted a call: recorded in the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantUse {
    /// The issuer's ed25519 public key.
    pub issuer: [u8; 32],
    /// The grant's epoch.
    pub epoch: u64,
    /// When one of this node's personas issued it: that persona, whose
    /// compute the grant sells. The call then runs as the persona.
    pub persona: Option<Arc<IssuingPersona>>,
}

/// A persona of this node that issued a grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuingPersona {
    /// The persona's id.
    pub persona_id: String,
    /// Its trust now (looked up at decision time, so a change applies at once).
    pub trust: Trust,
}

/// This node's registered peers, asked at every decision about a peer
/// minted with [`crate::CallerMint::registered_peer`].
pub trait PeerDirectory: Send + Sync {
    /// The trust this node gives peer `peer_id` proving `key`, now; `None`
    /// when it is not (or no longer) registered with that key.
    fn trust(&self, peer_id: &str, key: &[u8; 32]) -> Option<Trust>;
}

/// This node's personas, for the owner handing a call to one of them
/// (`meta.asPersona`). Looked up per call, so trust changes and retirements
/// apply from the next call.
pub trait PersonaDirectory: Send + Sync {
    /// The active persona with this id, or this name (without case).
    fn find(&self, name_or_id: &str) -> Option<IssuingPersona>;
}

/// Verifies a grant presented by an authenticated peer for one command.
///
/// `Err` carries the stable verdict code (`key_mismatch`, `superseded`, ...),
/// which is what the caller and the audit log see.
pub trait GrantCheck: Send + Sync {
    /// Full authorization for a call: may advance the grantee's epoch
    /// watermark, exactly as the format requires of a presentation.
    fn check<'a>(
        &'a self,
        peer: &'a PeerCaller,
        grant: &'a str,
        command: &'a str,
    ) -> BoxFuture<'a, Result<GrantUse, &'static str>>;

    /// Whether `grant` names one of this node's personas as its issuer. Cheap
    /// and unverified (it only routes the call to the persona path, where
    /// [`GrantCheck::check`] verifies everything).
    fn persona_issued(&self, grant: &str) -> bool {
        let _ = grant;
        false
    }

    /// The same answer with no side effect (the watermark is compared, never
    /// advanced). Used to list what a caller may call.
    fn peek<'a>(
        &'a self,
        peer: &'a PeerCaller,
        grant: &'a str,
        command: &'a str,
    ) -> BoxFuture<'a, Result<GrantUse, &'static str>>;
}
