//! The full decision: verify, then epoch, then capability.

use crate::body::{GrantBody, SignedGrant};
use crate::capability::confers;
use crate::verdict::GrantVerdict;
use crate::verify::{verify, verify_checked, CheckedSignature, VerifyPolicy};
use crate::watermark::{EpochDecision, EpochWatermarks};

/// A grant that authorized a command. Only [`authorize`] and
/// [`authorize_text`] make one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizedGrant {
    body: GrantBody,
}

impl AuthorizedGrant {
    /// The verified grant body (issuer, grantee, epoch... for the audit log).
    pub fn body(&self) -> &GrantBody {
        &self.body
    }

    /// Everything the grant confers, for the gate to re-check other commands
    /// with [`confers`].
    pub fn capabilities(&self) -> &[String] {
        self.body.capabilities()
    }
}

/// Decodes a transported grant, then runs [`authorize`].
pub fn authorize_text(
    grant_text: &str,
    presenting_key: &[u8; 32],
    command: &str,
    policy: &VerifyPolicy,
    watermarks: &dyn EpochWatermarks,
    now_ms: u64,
) -> Result<AuthorizedGrant, GrantVerdict> {
    let grant = SignedGrant::from_text(grant_text)?;
    decide(&grant, presenting_key, command, policy, watermarks, now_ms)?;
    Ok(AuthorizedGrant { body: grant.body })
}

/// Decides whether `grant`, presented by `presenting_key` (taken from the
/// authenticated connection), authorizes `command`.
///
/// Order: [`verify`] -> epoch watermark -> capability. The watermark advances
/// for every valid grant before capabilities are looked at, so a higher-epoch
/// grant with no capabilities revokes every earlier one. A store failure
/// denies with [`GrantVerdict::StoreUnavailable`].
pub fn authorize(
    grant: &SignedGrant,
    presenting_key: &[u8; 32],
    command: &str,
    policy: &VerifyPolicy,
    watermarks: &dyn EpochWatermarks,
    now_ms: u64,
) -> Result<AuthorizedGrant, GrantVerdict> {
    decide(grant, presenting_key, command, policy, watermarks, now_ms)?;
    Ok(AuthorizedGrant {
        body: grant.body.clone(),
    })
}

/// [`authorize`] for a grant whose signature was checked earlier (e.g. a
/// cached [`CheckedSignature`]): the same pipeline and verdicts, without
/// repeating the signature check.
pub fn authorize_checked(
    checked: &CheckedSignature,
    presenting_key: &[u8; 32],
    command: &str,
    policy: &VerifyPolicy,
    watermarks: &dyn EpochWatermarks,
    now_ms: u64,
) -> Result<AuthorizedGrant, GrantVerdict> {
    after_checked(checked, presenting_key, policy, now_ms, |grant| {
        after_verify(grant, command, watermarks, now_ms)
    })
}

/// What [`authorize_checked`] would answer, with no side effect: the epoch is
/// compared with the grantee's watermark but the watermark is not advanced.
/// For listing what a grant confers; a call must use `authorize_checked`.
pub fn preview_checked(
    checked: &CheckedSignature,
    presenting_key: &[u8; 32],
    command: &str,
    policy: &VerifyPolicy,
    watermarks: &dyn EpochWatermarks,
    now_ms: u64,
) -> Result<AuthorizedGrant, GrantVerdict> {
    after_checked(checked, presenting_key, policy, now_ms, |grant| {
        let body = &grant.body;
        let decision = match watermarks.current(body.grantee_peer_id()) {
            Ok(Some(watermark)) if body.epoch() < watermark => {
                EpochDecision::Superseded { watermark }
            }
            Ok(_) => EpochDecision::Accept,
            Err(e) => return Err(GrantVerdict::StoreUnavailable(e.to_string())),
        };
        epoch_then_capability(grant, command, decision)
    })
}

/// The per-call checks of a grant whose signature was checked earlier (key
/// binding, mesh, window), then `rest` (epoch and capability).
fn after_checked(
    checked: &CheckedSignature,
    presenting_key: &[u8; 32],
    policy: &VerifyPolicy,
    now_ms: u64,
    rest: impl FnOnce(&SignedGrant) -> Result<(), GrantVerdict>,
) -> Result<AuthorizedGrant, GrantVerdict> {
    verify_checked(checked, presenting_key, policy, now_ms)?;
    let grant = checked.grant();
    rest(grant)?;
    Ok(AuthorizedGrant {
        body: grant.body.clone(),
    })
}

fn decide(
    grant: &SignedGrant,
    presenting_key: &[u8; 32],
    command: &str,
    policy: &VerifyPolicy,
    watermarks: &dyn EpochWatermarks,
    now_ms: u64,
) -> Result<(), GrantVerdict> {
    verify(grant, presenting_key, policy, now_ms)?;
    after_verify(grant, command, watermarks, now_ms)
}

/// Epoch watermark (advanced), then capability.
fn after_verify(
    grant: &SignedGrant,
    command: &str,
    watermarks: &dyn EpochWatermarks,
    now_ms: u64,
) -> Result<(), GrantVerdict> {
    let body = &grant.body;
    let decision = watermarks
        .check_and_advance(
            body.grantee_peer_id(),
            body.epoch(),
            body.expires_at_ms(),
            now_ms,
        )
        .map_err(|e| GrantVerdict::StoreUnavailable(e.to_string()))?;
    epoch_then_capability(grant, command, decision)
}

/// The epoch decision, then the capability match.
fn epoch_then_capability(
    grant: &SignedGrant,
    command: &str,
    decision: EpochDecision,
) -> Result<(), GrantVerdict> {
    let body = &grant.body;
    if let EpochDecision::Superseded { watermark } = decision {
        return Err(GrantVerdict::Superseded {
            watermark,
            presented: body.epoch(),
        });
    }
    if !confers(body.capabilities(), command) {
        return Err(GrantVerdict::NotGranted {
            command: command.to_owned(),
        });
    }
    Ok(())
}
