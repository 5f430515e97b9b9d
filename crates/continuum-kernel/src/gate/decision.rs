//! The (caller, command) -> allowed / forbidden decision.

use super::caller::Trust;
use continuum_wire::Access;

/// Why a call was allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// The caller's trust covers the command's access level.
    Trust,
    /// A verified capability grant confers the command.
    Grant,
}

/// Why a call was refused. Each is audited under its [`Denied::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// The caller is blocked.
    Blocked,
    /// The command is owner-only and the caller is not the owner.
    OwnerOnly,
    /// The caller's trust is below the command's access level.
    InsufficientTrust,
}

impl Denied {
    /// Stable reason code.
    pub fn code(self) -> &'static str {
        match self {
            Denied::Blocked => "blocked",
            Denied::OwnerOnly => "owner_only",
            Denied::InsufficientTrust => "insufficient_trust",
        }
    }
}

/// The gate's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow(Allowed),
    /// Refuse.
    Deny(Denied),
}

impl Decision {
    /// Whether the call may run.
    pub fn is_allowed(self) -> bool {
        matches!(self, Decision::Allow(_))
    }
}

/// Trust needed to run a command of `access` without a grant.
fn required_trust(access: Access) -> Trust {
    match access {
        Access::AiSafe => Trust::Provisional,
        Access::Trusted => Trust::Trusted,
        Access::OwnerOnly => Trust::Owner,
    }
}

/// The one decision function. `grant_confers` says whether a verified grant
/// presented by this caller confers this command (false when there is none).
///
/// A grant lifts a caller above its trust ceiling, but never for a Blocked
/// caller and never onto an owner-only command.
pub fn decide(trust: Trust, access: Access, grant_confers: bool) -> Decision {
    if trust == Trust::Blocked {
        return Decision::Deny(Denied::Blocked);
    }
    if trust >= required_trust(access) {
        return Decision::Allow(Allowed::Trust);
    }
    if access == Access::OwnerOnly {
        return Decision::Deny(Denied::OwnerOnly);
    }
    if grant_confers {
        return Decision::Allow(Allowed::Grant);
    }
    Decision::Deny(Denied::InsufficientTrust)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRUSTS: [Trust; 4] = [
        Trust::Blocked,
        Trust::Provisional,
        Trust::Trusted,
        Trust::Owner,
    ];
    const ACCESSES: [Access; 3] = [Access::AiSafe, Access::Trusted, Access::OwnerOnly];

    #[test]
    fn owner_only_commands_need_the_owner_whatever_the_grant() {
        for trust in TRUSTS {
            for grant in [false, true] {
                let allowed = decide(trust, Access::OwnerOnly, grant).is_allowed();
                assert_eq!(allowed, trust == Trust::Owner, "{trust:?} grant={grant}");
            }
        }
    }

    #[test]
    fn blocked_callers_get_nothing_even_with_a_grant() {
        for access in ACCESSES {
            assert_eq!(
                decide(Trust::Blocked, access, true),
                Decision::Deny(Denied::Blocked)
            );
        }
    }

    #[test]
    fn grant_lifts_a_provisional_caller_onto_a_trusted_command() {
        assert_eq!(
            decide(Trust::Provisional, Access::Trusted, false),
            Decision::Deny(Denied::InsufficientTrust)
        );
        assert_eq!(
            decide(Trust::Provisional, Access::Trusted, true),
            Decision::Allow(Allowed::Grant)
        );
    }

    #[test]
    fn trust_table() {
        let expect = |trust: Trust, access: Access| match access {
            Access::AiSafe => trust >= Trust::Provisional,
            Access::Trusted => trust >= Trust::Trusted,
            Access::OwnerOnly => trust == Trust::Owner,
        };
        for trust in TRUSTS {
            for access in ACCESSES {
                assert_eq!(
                    decide(trust, access, false).is_allowed(),
                    expect(trust, access)
                );
            }
        }
    }
}
