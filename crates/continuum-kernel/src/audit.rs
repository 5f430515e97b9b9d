//! The audit seam: the gate records every decision through [`AuditLog`]; a
//! store (hash-chained, in `continuum-store`) implements it.
//!
//! Durability policy: owner-only actions and every denial are appended
//! durably (the dispatcher awaits the commit; if it fails, the owner-only
//! action is refused). Allowed calls of other commands are queued and
//! committed with the next group commit, keeping the hot path free of disk
//! waits.

pub use continuum_wire::{AuditEvent, Outcome};

use crate::clock::now_ms;
use crate::command::BoxFuture;
use crate::gate::{Admission, Caller, Principal};

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

/// Where the gate's decisions go.
pub trait AuditLog: Send + Sync {
    /// Queues an event; it is committed, in order, with the next group commit.
    fn append(&self, event: AuditEvent);
    /// Appends and waits until the record is durable.
    fn append_durable(&self, event: AuditEvent) -> BoxFuture<'_, Result<(), AuditError>>;
}

/// The record of one gate decision, stamped now: the caller's label and
/// proven key, the command, the outcome and reason, and the grant used.
pub fn decision_event(
    principal: &Principal,
    command: &str,
    admission: &Admission,
    forwarded_for: Option<String>,
) -> AuditEvent {
    let caller = principal.caller();
    // A persona-issued grant: the persona acts, on behalf of the peer that
    // presented the grant (whose proven key stays on the record), in the
    // first call and in every call it composes.
    let presenter = principal.grant_presenter();
    let (label, forwarded_for) = match (admission.acting_persona(), presenter) {
        (Some(persona), Some(peer)) => {
            let peer_label = Caller::Peer(peer.clone()).label();
            let on_behalf = match forwarded_for {
                Some(asked) => format!("{peer_label} (for {asked})"),
                None => peer_label,
            };
            (format!("persona:{}", persona.persona_id), Some(on_behalf))
        }
        _ => (caller.label(), forwarded_for),
    };
    AuditEvent {
        time_ms: now_ms(),
        caller: label,
        caller_key: caller
            .proven_key()
            .or(presenter.map(|peer| peer.key()))
            .map(hex::encode),
        command: command.to_owned(),
        outcome: if admission.is_allowed() {
            Outcome::Allowed
        } else {
            Outcome::Denied
        },
        reason: admission.reason.to_owned(),
        forwarded_for,
        grant_issuer: admission
            .grant
            .as_ref()
            .map(|grant| hex::encode(grant.issuer)),
        grant_epoch: admission.grant.as_ref().map(|grant| grant.epoch),
    }
}

/// The record of a refusal made before the gate saw the call (a caller
/// asking to act as a persona it may not be).
pub fn refusal_event(
    principal: &Principal,
    command: &str,
    reason: &str,
    forwarded_for: Option<String>,
) -> AuditEvent {
    let caller = principal.caller();
    AuditEvent {
        time_ms: now_ms(),
        caller: caller.label(),
        caller_key: caller.proven_key().map(hex::encode),
        command: command.to_owned(),
        outcome: Outcome::Denied,
        reason: reason.to_owned(),
        forwarded_for,
        grant_issuer: None,
        grant_epoch: None,
    }
}
