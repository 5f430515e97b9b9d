//! `admit`: the one rule deciding whether a principal, presenting a
//! credential, may call a command. Dispatch, `commands/list`, did-you-mean
//! suggestions (and later persona tool lists and MCP `tools/list`) all ask it,
//! so what a caller is shown is exactly what it may call.

use super::{caller_trust, decide, Allowed, Caller, Decision, Denied, Principal, Trust};
use crate::credential::{Credential, GrantCheck, GrantUse, IssuingPersona};
use continuum_wire::Access;
use std::sync::Arc;

/// Whether the check is for a real call or only to show what is callable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presentation {
    /// A call: a grant is checked in full (its epoch may advance the watermark).
    Call,
    /// A listing: the same answer, with no side effect.
    Listing,
}

/// The gate's answer for one command, with what the audit log records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// Allowed, or why not.
    pub decision: Decision,
    /// The stable reason code: `trust`, `grant`, a [`Denied`] code, or the
    /// grant verdict code when a presented grant was refused.
    pub reason: &'static str,
    /// The grant that admitted the call, if one did.
    pub grant: Option<GrantUse>,
}

impl Admission {
    /// The persona the call runs as, when a persona-issued grant admitted it.
    pub fn acting_persona(&self) -> Option<&Arc<IssuingPersona>> {
        self.grant.as_ref().and_then(|grant| grant.persona.as_ref())
    }
}

impl Admission {
    /// Whether the call may run.
    pub fn is_allowed(&self) -> bool {
        self.decision.is_allowed()
    }
}

/// Decides whether `principal` presenting `credential` may call `command`
/// (declared `access`). Trust first; a grant is consulted only when trust
/// alone falls short, only for a peer whose key the transport proved, and
/// never for an owner-only command or a Blocked caller (see [`decide`]).
///
/// A grant issued by one of this node's personas is different: it sells
/// that persona's compute, so the call runs *as the persona* or not at all.
/// The grant must verify and confer the command, and then the persona's own
/// trust (capped by the caller's ceiling) decides, with no grant lift: a
/// persona can never sell more than it may do itself.
pub async fn admit(
    principal: &Principal,
    credential: Option<&Credential>,
    access: Access,
    command: &str,
    grants: Option<&dyn GrantCheck>,
    presentation: Presentation,
) -> Admission {
    if let (Some(grants), Some(peer), Some(Credential::Grant(grant))) =
        (grants, principal.grant_presenter(), credential)
    {
        if grants.persona_issued(grant) {
            if principal.trust() == Trust::Blocked {
                return admission(Decision::Deny(Denied::Blocked), None, None);
            }
            let checked = match presentation {
                Presentation::Call => grants.check(peer, grant, command).await,
                Presentation::Listing => grants.peek(peer, grant, command).await,
            };
            return match checked {
                Ok(used) => match used.persona.clone() {
                    Some(persona) => {
                        // The persona's trust as the caller rule gives it
                        // (never above Trusted, whatever a record says),
                        // capped by the presenting caller's ceiling.
                        let as_caller = Caller::Persona {
                            persona_id: persona.persona_id.clone(),
                            trust: persona.trust,
                        };
                        let trust = caller_trust(&as_caller).min(principal.ceiling());
                        let decision = decide(trust, access, false);
                        let mut granted = admission(decision, None, Some(used));
                        if decision.is_allowed() {
                            granted.reason = "persona_grant";
                        } else if decision == Decision::Deny(Denied::InsufficientTrust) {
                            // The grant is genuine; the persona may not do this itself.
                            granted.reason = "persona_trust";
                        }
                        granted
                    }
                    // Not a persona's after all (retired meanwhile): no lift.
                    None => admission(
                        Decision::Deny(Denied::InsufficientTrust),
                        Some("unknown_issuer"),
                        None,
                    ),
                },
                Err(verdict) => admission(
                    Decision::Deny(Denied::InsufficientTrust),
                    Some(verdict),
                    None,
                ),
            };
        }
    }
    if principal.is_acting_for_peer() {
        // A persona acting on a peer's behalf has no rights of its own:
        // only its grant (checked above) admits anything.
        return admission(
            Decision::Deny(Denied::InsufficientTrust),
            Some("unknown_issuer"),
            None,
        );
    }
    let trust = principal.trust();
    let decision = decide(trust, access, false);
    if decision != Decision::Deny(Denied::InsufficientTrust) {
        return admission(decision, None, None);
    }
    let (Some(grants), Caller::Peer(peer), Some(Credential::Grant(grant))) =
        (grants, principal.caller(), credential)
    else {
        return admission(decision, None, None);
    };
    let checked = match presentation {
        Presentation::Call => grants.check(peer, grant, command).await,
        Presentation::Listing => grants.peek(peer, grant, command).await,
    };
    match checked {
        // A persona's grant belongs on the persona path: a persona that went
        // live between the two lookups gets no peer-style lift.
        Ok(used) if used.persona.is_some() => admission(decision, Some("unknown_issuer"), None),
        Ok(used) => admission(decide(trust, access, true), None, Some(used)),
        Err(verdict) => admission(decision, Some(verdict), None),
    }
}

fn admission(
    decision: Decision,
    verdict: Option<&'static str>,
    grant: Option<GrantUse>,
) -> Admission {
    let reason = match decision {
        Decision::Allow(Allowed::Trust) => "trust",
        Decision::Allow(Allowed::Grant) => "grant",
        Decision::Deny(denied) => verdict.unwrap_or(denied.code()),
    };
    Admission {
        decision,
        reason,
        grant: grant.filter(|_| decision.is_allowed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::BoxFuture;
    use crate::gate::PeerCaller;

    /// Grants are "persona:<trust>" texts; anything else is the node's own
    /// grant conferring everything.
    struct FakeGrants;

    impl FakeGrants {
        fn answer(grant: &str) -> Result<GrantUse, &'static str> {
            let persona = grant.strip_prefix("persona:").map(|trust| {
                Arc::new(IssuingPersona {
                    persona_id: "p1".into(),
                    trust: Trust::parse(trust).unwrap(),
                })
            });
            match grant {
                "bad" => Err("bad_signature"),
                _ => Ok(GrantUse {
                    issuer: [1; 32],
                    epoch: 1,
                    persona,
                }),
            }
        }
    }

    impl GrantCheck for FakeGrants {
        fn check<'a>(
            &'a self,
            _: &'a PeerCaller,
            grant: &'a str,
            _: &'a str,
        ) -> BoxFuture<'a, Result<GrantUse, &'static str>> {
            Box::pin(std::future::ready(FakeGrants::answer(grant)))
        }
        fn peek<'a>(
            &'a self,
            _: &'a PeerCaller,
            grant: &'a str,
            _: &'a str,
        ) -> BoxFuture<'a, Result<GrantUse, &'static str>> {
            Box::pin(std::future::ready(FakeGrants::answer(grant)))
        }
        fn persona_issued(&self, grant: &str) -> bool {
            grant.starts_with("persona:") || grant == "bad"
        }
    }

    fn peer(trust: Option<Trust>) -> Principal {
        Principal::new(Caller::Peer(PeerCaller::new("peer".into(), [2; 32], trust)))
    }

    async fn decide_for(principal: &Principal, grant: &str, access: Access) -> Admission {
        let credential = Credential::Grant(grant.into());
        admit(
            principal,
            Some(&credential),
            access,
            "cmd",
            Some(&FakeGrants),
            Presentation::Call,
        )
        .await
    }

    #[tokio::test]
    async fn a_persona_grant_runs_as_the_persona_within_its_trust_only() {
        let bob = peer(None);
        let sold = decide_for(&bob, "persona:provisional", Access::AiSafe).await;
        assert!(sold.is_allowed());
        assert_eq!(sold.reason, "persona_grant");
        assert_eq!(sold.acting_persona().unwrap().persona_id, "p1");

        // The grant may list a Trusted command; a Provisional persona cannot sell it.
        let above = decide_for(&bob, "persona:provisional", Access::Trusted).await;
        assert!(!above.is_allowed());
        assert_eq!(above.reason, "persona_trust");
        assert!(above.acting_persona().is_none());
        assert!(decide_for(&bob, "persona:trusted", Access::Trusted)
            .await
            .is_allowed());

        // Never owner-only, never for a blocked peer, never with a bad grant.
        let owner = decide_for(&bob, "persona:trusted", Access::OwnerOnly).await;
        assert_eq!(owner.reason, "owner_only");
        let blocked = decide_for(
            &peer(Some(Trust::Blocked)),
            "persona:trusted",
            Access::AiSafe,
        )
        .await;
        assert_eq!(blocked.reason, "blocked");
        let forged = decide_for(&bob, "bad", Access::AiSafe).await;
        assert_eq!(
            (forged.is_allowed(), forged.reason),
            (false, "bad_signature")
        );

        // A record claiming Owner is still at most Trusted: never owner-only.
        let owner_claim = decide_for(&bob, "persona:owner", Access::OwnerOnly).await;
        assert_eq!(owner_claim.reason, "owner_only");
        assert!(!decide_for(&bob, "persona:owner", Access::OwnerOnly)
            .await
            .is_allowed());

        // Acting as the persona, every further call needs the grant again.
        let acting = bob.acting_as(sold.acting_persona().unwrap());
        assert!(decide_for(&acting, "persona:provisional", Access::AiSafe)
            .await
            .is_allowed());
        let credential = Credential::Grant("bad".into());
        let no_grant = admit(
            &acting,
            None,
            Access::AiSafe,
            "cmd",
            Some(&FakeGrants),
            Presentation::Call,
        )
        .await;
        assert!(!no_grant.is_allowed(), "no rights of its own");
        let forged = admit(
            &acting,
            Some(&credential),
            Access::AiSafe,
            "cmd",
            Some(&FakeGrants),
            Presentation::Listing,
        )
        .await;
        assert!(!forged.is_allowed());

        // The caller's ceiling still caps the persona.
        let capped = bob.lowered(Some(Trust::Provisional));
        assert_eq!(
            decide_for(&capped, "persona:trusted", Access::Trusted)
                .await
                .reason,
            "persona_trust"
        );
    }
}
