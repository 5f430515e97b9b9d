//! Stateless verification: everything about a grant that needs no store.

use ed25519_dalek::{Signature, VerifyingKey};

use crate::body::SignedGrant;
use crate::verdict::GrantVerdict;

/// What this node trusts, fixed by configuration rather than by any grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyPolicy {
    /// Pinned issuer public keys; a grant signed by any other key is refused.
    pub trusted_issuers: Vec<[u8; 32]>,
    /// The mesh this node belongs to.
    pub expected_mesh: String,
    /// How far the issuer's clock may differ from ours, in milliseconds.
    pub max_clock_skew_ms: u64,
}

/// Checks a grant in a fixed order and returns the first failure:
/// issuer pinned -> strict signature -> key binding -> mesh -> validity window.
///
/// `presenting_key` must come from the authenticated connection the grant
/// arrived on, never from the grant itself: binding it to the grantee key is
/// what stops a stolen grant being replayed by another peer.
///
/// This does not consult the epoch watermark or the capability list; use
/// [`crate::authorize`] for the full decision.
pub fn verify(
    grant: &SignedGrant,
    presenting_key: &[u8; 32],
    policy: &VerifyPolicy,
    now_ms: u64,
) -> Result<(), GrantVerdict> {
    check_issuer(grant, policy)?;
    check_signature(grant)?;
    check_claims(grant, presenting_key, policy, now_ms)
}

/// A grant whose signature verified strictly under its issuer key.
///
/// The signature is a fixed function of the grant's bytes, so this proof can
/// be cached and reused for the same bytes. Everything that depends on who
/// presents the grant, on the policy or on the clock is re-checked on every
/// use by [`verify_checked`] (and [`crate::authorize_checked`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedSignature {
    grant: SignedGrant,
}

impl CheckedSignature {
    /// Verifies the signature (and that the issuer is pinned by `policy`, so
    /// grants from strangers cost no signature check).
    pub fn check(grant: SignedGrant, policy: &VerifyPolicy) -> Result<Self, GrantVerdict> {
        check_issuer(&grant, policy)?;
        check_signature(&grant)?;
        Ok(Self { grant })
    }

    /// The grant.
    pub fn grant(&self) -> &SignedGrant {
        &self.grant
    }
}

/// [`verify`] for a grant whose signature is already checked: the same order
/// and verdicts, minus the signature itself. The issuer is re-checked against
/// `policy`, so a cached proof never outlives the issuer's pinning.
pub fn verify_checked(
    checked: &CheckedSignature,
    presenting_key: &[u8; 32],
    policy: &VerifyPolicy,
    now_ms: u64,
) -> Result<(), GrantVerdict> {
    check_issuer(&checked.grant, policy)?;
    check_claims(&checked.grant, presenting_key, policy, now_ms)
}

fn check_issuer(grant: &SignedGrant, policy: &VerifyPolicy) -> Result<(), GrantVerdict> {
    if policy.trusted_issuers.contains(grant.body.issuer_key()) {
        Ok(())
    } else {
        Err(GrantVerdict::UntrustedIssuer)
    }
}

fn check_signature(grant: &SignedGrant) -> Result<(), GrantVerdict> {
    let issuer = VerifyingKey::from_bytes(grant.body.issuer_key())
        .map_err(|_| GrantVerdict::BadSignature)?;
    // verify_strict rejects malleable signatures and small-order keys, so one
    // grant has exactly one valid signature.
    issuer
        .verify_strict(
            &grant.signed_bytes(),
            &Signature::from_bytes(&grant.signature),
        )
        .map_err(|_| GrantVerdict::BadSignature)
}

/// Key binding -> mesh -> validity window.
fn check_claims(
    grant: &SignedGrant,
    presenting_key: &[u8; 32],
    policy: &VerifyPolicy,
    now_ms: u64,
) -> Result<(), GrantVerdict> {
    let body = &grant.body;
    if body.grantee_key() != presenting_key {
        return Err(GrantVerdict::KeyMismatch);
    }
    if body.mesh_id() != policy.expected_mesh {
        return Err(GrantVerdict::WrongMesh {
            expected: policy.expected_mesh.clone(),
            actual: body.mesh_id().to_owned(),
        });
    }
    check_window(
        body.issued_at_ms(),
        body.expires_at_ms(),
        policy.max_clock_skew_ms,
        now_ms,
    )
}

fn check_window(
    issued_at_ms: u64,
    expires_at_ms: u64,
    skew_ms: u64,
    now_ms: u64,
) -> Result<(), GrantVerdict> {
    if expires_at_ms <= issued_at_ms {
        return Err(GrantVerdict::InvalidWindow);
    }
    if issued_at_ms > now_ms.saturating_add(skew_ms) {
        return Err(GrantVerdict::NotYetValid {
            issued_at_ms,
            now_ms,
        });
    }
    if now_ms > expires_at_ms.saturating_add(skew_ms) {
        return Err(GrantVerdict::Expired {
            expires_at_ms,
            now_ms,
        });
    }
    Ok(())
}
