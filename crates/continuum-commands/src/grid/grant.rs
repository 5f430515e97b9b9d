//! `grid/grant/*`: issue, revoke and list the grants this node signs, and keep
//! the grants other nodes sign for it.

use super::GridNode;
use crate::store_error;
use continuum_grant::{CheckedSignature, GrantVerdict, SignedGrant, VerifyPolicy};
use continuum_grid::MAX_CLOCK_SKEW_MS;
use continuum_grid::{GrantSigner, IssueRequest};
use continuum_kernel::clock::now_ms;
use continuum_kernel::command::{Command, CommandError, Ctx};
use continuum_store::{HeldGrant, HoldOutcome, IssuedGrant};
use continuum_wire::peer::check_peer_id;
use continuum_wire::Access;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Longest lifetime a grant may be issued with.
const MAX_TTL_MS: u64 = 366 * 24 * 3_600_000;

/// Issues a grant.
pub(super) struct GrantIssue(pub(super) Arc<GridNode>);

/// Params of `grid/grant/issue`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct IssueParams {
    /// The peer the grant is for (its logical id).
    pub grantee: String,
    /// The grantee's ed25519 public key, hex (its `grid/identity` publicKey).
    pub grantee_key: String,
    /// Commands conferred: exact names, or prefixes on a `/` boundary
    /// (`ai` confers `ai/generate`). Owner-only commands are never conferred.
    pub capabilities: Vec<String>,
    /// Lifetime from now: `90s`, `30m`, `1h`, `7d` (or plain seconds).
    #[serde(default)]
    pub ttl: Option<String>,
    /// End of validity, Unix milliseconds (instead of `ttl`).
    #[serde(default)]
    pub expires_at: Option<u64>,
    /// Epoch; defaults to one above the latest issued to this grantee.
    #[serde(default)]
    pub epoch: Option<u64>,
    /// Sign with this persona's key (name or id) instead of the node's: the
    /// grantee's calls then run as that persona, never above its trust.
    #[serde(default)]
    pub persona: Option<String>,
}

/// Result of `grid/grant/issue` and `grid/grant/revoke`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct IssueResult {
    /// The grant, to hand to the grantee (`grid/grant/hold` on its node).
    pub grant: String,
    /// The grantee peer id.
    pub grantee: String,
    /// The grant's epoch; every lower epoch for this grantee is now superseded.
    pub epoch: u64,
    /// What it confers (empty for a revocation).
    pub capabilities: Vec<String>,
    /// Start of validity, Unix ms.
    pub issued_at_ms: u64,
    /// End of validity, Unix ms.
    pub expires_at_ms: u64,
}

impl Command for GrantIssue {
    const NAME: &'static str = "grid/grant/issue";
    const DESCRIPTION: &'static str =
        "Sign a grant letting a peer call the given commands on this node; returns the grant text.";
    type Params = IssueParams;
    type Output = IssueResult;

    async fn run(&self, ctx: Ctx, p: IssueParams) -> Result<IssueResult, CommandError> {
        check_peer_id(&p.grantee)
            .map_err(|reason| CommandError::invalid_params("/grantee", reason))?;
        let grantee_key = parse_key(&p.grantee_key, "/granteeKey")?;
        if p.capabilities.is_empty() {
            return Err(CommandError::invalid_params(
                "/capabilities",
                "name at least one command (to take access away, use grid/grant/revoke)",
            ));
        }
        for (index, capability) in p.capabilities.iter().enumerate() {
            let field = format!("/capabilities/{index}");
            let well_formed = !capability.is_empty()
                && capability.split('/').all(|segment| {
                    !segment.is_empty()
                        && segment
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                });
            if !well_formed {
                return Err(CommandError::invalid_params(
                    field,
                    "a capability is a command name or a prefix of one, like ai/generate or ai",
                ));
            }
            if p.capabilities[..index].contains(capability) {
                return Err(CommandError::invalid_params(
                    field,
                    format!("'{capability}' is listed twice"),
                ));
            }
            let confers_something = ctx.catalog().descriptors().any(|descriptor| {
                continuum_grant::confers(std::slice::from_ref(capability), &descriptor.name)
            });
            if !confers_something {
                return Err(CommandError::invalid_params(
                    field,
                    format!("'{capability}' names no command on this node, nor a prefix of one"),
                ));
            }
            let owner_only = ctx
                .catalog()
                .descriptor(capability)
                .is_some_and(|descriptor| descriptor.access == Access::OwnerOnly);
            if owner_only {
                return Err(CommandError::invalid_params(
                    field,
                    format!("'{capability}' is owner-only; no grant can ever confer it"),
                ));
            }
        }
        let now = now_ms();
        let expires_at_ms = match (&p.ttl, p.expires_at) {
            (Some(_), Some(_)) => {
                return Err(CommandError::invalid_params(
                    "/expiresAt",
                    "give either ttl or expiresAt, not both",
                ))
            }
            (Some(ttl), None) => now + parse_ttl(ttl)?,
            (None, Some(at)) if at > now && at - now <= MAX_TTL_MS => at,
            (None, Some(_)) => {
                return Err(CommandError::invalid_params(
                    "/expiresAt",
                    "must be in the future and at most 366 days away",
                ))
            }
            (None, None) => {
                return Err(CommandError::invalid_params(
                    "/ttl",
                    "say how long the grant lasts: ttl (e.g. 1h) or expiresAt",
                ))
            }
        };
        let signer = match &p.persona {
            Some(persona) => {
                let roster = self.0.personas.as_ref().ok_or_else(|| {
                    CommandError::invalid_params("/persona", "this node hosts no personas")
                })?;
                let persona = roster
                    .resolve(persona)
                    .map_err(|err| CommandError::invalid_params("/persona", err.to_string()))?;
                Some(persona as Arc<dyn GrantSigner>)
            }
            None => None,
        };
        let request = IssueRequest {
            grantee: p.grantee,
            grantee_key,
            capabilities: p.capabilities,
            issued_at_ms: now,
            expires_at_ms,
            epoch: p.epoch,
            revocation: false,
        };
        issue(&self.0, request, signer).await
    }
}

/// Revokes every grant issued to a peer.
pub(super) struct GrantRevoke(pub(super) Arc<GridNode>);

/// Params of `grid/grant/revoke`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RevokeParams {
    /// The peer whose grants end now.
    pub grantee: String,
}

impl Command for GrantRevoke {
    const NAME: &'static str = "grid/grant/revoke";
    const DESCRIPTION: &'static str =
        "Revoke every grant issued to a peer by issuing a higher epoch that confers nothing.";
    // Irreversible: every grant the peer holds is superseded for good.
    const DESTRUCTIVE: bool = true;
    type Params = RevokeParams;
    type Output = IssueResult;

    async fn run(&self, _: Ctx, p: RevokeParams) -> Result<IssueResult, CommandError> {
        check_peer_id(&p.grantee)
            .map_err(|reason| CommandError::invalid_params("/grantee", reason))?;
        let issued = self
            .0
            .issuer
            .ledger()
            .list_issued(Some(p.grantee.clone()))
            .await
            .map_err(store_error)?;
        let Some(latest) = issued.iter().max_by_key(|g| g.epoch) else {
            return Err(CommandError::NotFound(format!(
                "no grant was issued to peer '{}'",
                p.grantee
            )));
        };
        let now = now_ms();
        // The revocation must outlive what it revokes: once the watermark
        // entry is evicted, only expiry keeps an old grant out.
        let expires_at_ms = issued
            .iter()
            .map(|g| g.expires_at_ms)
            .max()
            .unwrap_or(now)
            .max(now + 1);
        let request = IssueRequest {
            grantee: p.grantee,
            grantee_key: parse_key_bytes(&latest.grant)?,
            capabilities: Vec::new(),
            issued_at_ms: now,
            expires_at_ms,
            epoch: None,
            revocation: true,
        };
        issue(&self.0, request, None).await
    }
}

/// Lists issued grants.
pub(super) struct GrantList(pub(super) Arc<GridNode>);

/// Params of `grid/grant/list`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ListParams {
    /// Only grants for this peer.
    #[serde(default)]
    pub grantee: Option<String>,
}

/// Result of `grid/grant/list`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ListResult {
    /// Newest first.
    pub grants: Vec<IssuedGrant>,
}

impl Command for GrantList {
    const NAME: &'static str = "grid/grant/list";
    const READ_ONLY: bool = true;
    const DESCRIPTION: &'static str = "Grants this node issued (and revocations), newest first.";
    type Params = ListParams;
    type Output = ListResult;

    async fn run(&self, _: Ctx, p: ListParams) -> Result<ListResult, CommandError> {
        let grants = self
            .0
            .issuer
            .ledger()
            .list_issued(p.grantee)
            .await
            .map_err(store_error)?;
        Ok(ListResult { grants })
    }
}

/// Keeps a grant another node issued to this one.
pub(super) struct GrantHold(pub(super) Arc<GridNode>);

/// Params of `grid/grant/hold`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct HoldParams {
    /// The peer that issued the grant and will honour it.
    pub target: String,
    /// The grant text it sent.
    pub grant: String,
}

/// Result of `grid/grant/hold`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct HoldResult {
    /// Whether this grant is now the one held for `target`.
    pub stored: bool,
    /// The epoch held for `target` after this call.
    pub held_epoch: u64,
    /// The grant's epoch.
    pub epoch: u64,
    /// What it confers.
    pub capabilities: Vec<String>,
    /// End of validity, Unix ms.
    pub expires_at_ms: u64,
}

impl Command for GrantHold {
    const NAME: &'static str = "grid/grant/hold";
    const DESCRIPTION: &'static str =
        "Keep a grant another node issued to this one; the latest epoch per target wins.";
    type Params = HoldParams;
    type Output = HoldResult;

    async fn run(&self, _: Ctx, p: HoldParams) -> Result<HoldResult, CommandError> {
        check_peer_id(&p.target)
            .map_err(|reason| CommandError::invalid_params("/target", reason))?;
        let invalid = |reason: String| CommandError::invalid_params("/grant", reason);
        let grant = SignedGrant::from_text(p.grant.trim())
            .map_err(|err| invalid(format!("not a grant: {err}")))?;
        let body = &grant.body;
        let identity = self.0.issuer.identity();
        if *body.grantee_key() != identity.public_key() {
            return Err(invalid(format!(
                "this grant is for key {}, not this node's key {}",
                hex::encode(body.grantee_key()),
                hex::encode(identity.public_key())
            )));
        }
        // We cannot know the issuer's pinning here (the issuer checks that),
        // but a grant that does not verify under its own issuer key, or has
        // already expired, is useless to keep.
        let self_signed = VerifyPolicy {
            trusted_issuers: vec![*body.issuer_key()],
            expected_mesh: body.mesh_id().to_owned(),
            max_clock_skew_ms: MAX_CLOCK_SKEW_MS,
        };
        let now = now_ms();
        if now > body.expires_at_ms().saturating_add(MAX_CLOCK_SKEW_MS) {
            return Err(invalid(
                GrantVerdict::Expired {
                    expires_at_ms: body.expires_at_ms(),
                    now_ms: now,
                }
                .to_string(),
            ));
        }
        let checked =
            CheckedSignature::check(grant, &self_signed).map_err(|v| invalid(v.to_string()))?;
        let body = &checked.grant().body;
        let held = HeldGrant {
            target_peer_id: p.target,
            issuer_key: hex::encode(body.issuer_key()),
            epoch: body.epoch(),
            capabilities: body.capabilities().to_vec(),
            expires_at_ms: body.expires_at_ms(),
            received_at_ms: now,
            grant: p.grant.trim().to_owned(),
        };
        let (epoch, capabilities, expires_at_ms) =
            (held.epoch, held.capabilities.clone(), held.expires_at_ms);
        let outcome = self
            .0
            .issuer
            .ledger()
            .hold(held)
            .await
            .map_err(store_error)?;
        let (stored, held_epoch) = match outcome {
            HoldOutcome::Stored => (true, epoch),
            HoldOutcome::KeptNewer { held_epoch } => (false, held_epoch),
        };
        Ok(HoldResult {
            stored,
            held_epoch,
            epoch,
            capabilities,
            expires_at_ms,
        })
    }
}

/// Lists held grants.
pub(super) struct GrantHeld(pub(super) Arc<GridNode>);

/// Result of `grid/grant/held`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct HeldResult {
    /// One per target peer.
    pub grants: Vec<HeldGrant>,
}

impl Command for GrantHeld {
    const NAME: &'static str = "grid/grant/held";
    const READ_ONLY: bool = true;
    const DESCRIPTION: &'static str = "Grants other nodes issued to this one, one per target peer.";
    type Params = continuum_kernel::command::NoParams;
    type Output = HeldResult;

    async fn run(
        &self,
        _: Ctx,
        _: continuum_kernel::command::NoParams,
    ) -> Result<HeldResult, CommandError> {
        let grants = self
            .0
            .issuer
            .ledger()
            .list_held()
            .await
            .map_err(store_error)?;
        Ok(HeldResult { grants })
    }
}

/// Issues `request` and shapes the answer.
async fn issue(
    node: &GridNode,
    request: IssueRequest,
    signer: Option<Arc<dyn GrantSigner>>,
) -> Result<IssueResult, CommandError> {
    let issued = match signer {
        Some(signer) => node.issuer.issue_signed_by(request, signer).await,
        None => node.issuer.issue(request).await,
    }
    .map_err(store_error)?;
    Ok(IssueResult {
        grant: issued.grant,
        grantee: issued.grantee_peer_id,
        epoch: issued.epoch,
        capabilities: issued.capabilities,
        issued_at_ms: issued.issued_at_ms,
        expires_at_ms: issued.expires_at_ms,
    })
}

fn parse_key(text: &str, field: &str) -> Result<[u8; 32], CommandError> {
    let key: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| {
            CommandError::invalid_params(
                field,
                "must be an ed25519 public key as 64 hex characters (the peer's grid/identity publicKey)",
            )
        })?;
    // A key no one can hold a secret for (not a curve point, a small-order
    // point, or a non-canonical encoding) could never prove itself in the
    // strict handshake; a grant to it is a mistake.
    match ed25519_dalek::VerifyingKey::from_bytes(&key) {
        Ok(point) if !point.is_weak() && point.to_edwards().compress().to_bytes() == key => Ok(key),
        _ => Err(CommandError::invalid_params(
            field,
            "is not a usable ed25519 public key (not a canonical curve point, or a weak small-order one)",
        )),
    }
}

/// The grantee key of a grant this node issued.
fn parse_key_bytes(grant_text: &str) -> Result<[u8; 32], CommandError> {
    SignedGrant::from_text(grant_text)
        .map(|grant| *grant.body.grantee_key())
        .map_err(|err| CommandError::Internal(format!("an issued grant no longer decodes: {err}")))
}

/// `90s`, `30m`, `1h`, `7d`, or plain seconds -> milliseconds.
fn parse_ttl(text: &str) -> Result<u64, CommandError> {
    let invalid = || {
        CommandError::invalid_params(
            "/ttl",
            format!("'{text}' is not a duration; use e.g. 90s, 30m, 1h or 7d (at most 366d)"),
        )
    };
    let text = text.trim();
    let (number, unit_ms) = match text.char_indices().last() {
        Some((at, 's')) => (&text[..at], 1_000),
        Some((at, 'm')) => (&text[..at], 60_000),
        Some((at, 'h')) => (&text[..at], 3_600_000),
        Some((at, 'd')) => (&text[..at], 86_400_000),
        Some(_) => (text, 1_000),
        None => return Err(invalid()),
    };
    let ms = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit_ms))
        .ok_or_else(invalid)?;
    if ms == 0 || ms > MAX_TTL_MS {
        return Err(invalid());
    }
    Ok(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_parse_with_units_and_bounds() {
        assert_eq!(parse_ttl("90s").unwrap(), 90_000);
        assert_eq!(parse_ttl("30m").unwrap(), 1_800_000);
        assert_eq!(parse_ttl("1h").unwrap(), 3_600_000);
        assert_eq!(parse_ttl("7d").unwrap(), 604_800_000);
        assert_eq!(parse_ttl("120").unwrap(), 120_000);
        for bad in [
            "",
            "h",
            "0s",
            "-1h",
            "1w",
            "400d",
            "1.5h",
            "99999999999999999999d",
        ] {
            let err = parse_ttl(bad).unwrap_err();
            assert!(
                matches!(&err, CommandError::InvalidParams { field, .. } if field == "/ttl"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn keys_must_be_64_hex_characters() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32])
            .verifying_key()
            .to_bytes();
        assert_eq!(parse_key(&hex::encode(key), "/k").unwrap(), key);
        for bad in ["", "zz", &"ab".repeat(31), &"ab".repeat(33)] {
            assert!(parse_key(bad, "/k").is_err(), "{bad}");
        }
    }
}
