//! Caller identity and the caller -> trust mapping.
//!
//! A [`Caller`] says who is calling. Its variants are `#[non_exhaustive]`, so
//! code outside this crate can read a caller (`match`, with `..`) but never
//! build one: callers are minted only through a [`crate::CallerMint`], which
//! the composition root hands to transports and nothing hands to handlers.

use crate::credential::PeerDirectory;
pub use continuum_wire::Trust;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

/// Highest trust any remote party can hold. Owner is local-only.
pub const REMOTE_TRUST_CEILING: Trust = Trust::Trusted;

/// A grid peer whose key the transport authenticated.
#[derive(Clone)]
pub struct PeerCaller {
    peer_id: String,
    key: [u8; 32],
    standing: Standing,
}

/// Where a peer's trust comes from.
#[derive(Clone)]
enum Standing {
    /// Fixed when the connection was made (`None`: an unknown peer).
    Fixed(Option<Trust>),
    /// Looked up at every decision, so blocking or forgetting a peer
    /// applies to the connections it already has.
    Live(Arc<dyn PeerDirectory>),
}

impl PeerCaller {
    pub(crate) fn new(peer_id: String, key: [u8; 32], registered_trust: Option<Trust>) -> Self {
        PeerCaller {
            peer_id,
            key,
            standing: Standing::Fixed(registered_trust),
        }
    }

    pub(crate) fn registered(
        peer_id: String,
        key: [u8; 32],
        directory: Arc<dyn PeerDirectory>,
    ) -> Self {
        PeerCaller {
            peer_id,
            key,
            standing: Standing::Live(directory),
        }
    }

    /// The peer's logical id, as it claimed it in the handshake.
    pub fn peer_id(&self) -> &str {
        &self.peer_id
    }

    /// The ed25519 key the connection proved possession of.
    pub fn key(&self) -> &[u8; 32] {
        &self.key
    }

    /// Trust registered for this peer, if it is known. A registered peer
    /// is looked up now: one that is no longer registered with this key
    /// (forgotten, or its key past its grace window) is Blocked.
    pub fn registered_trust(&self) -> Option<Trust> {
        match &self.standing {
            Standing::Fixed(trust) => *trust,
            Standing::Live(directory) => Some(
                directory
                    .trust(&self.peer_id, &self.key)
                    .unwrap_or(Trust::Blocked),
            ),
        }
    }
}

// A peer is who it proved to be: its id and key. Its trust is a lookup.
impl PartialEq for PeerCaller {
    fn eq(&self, other: &Self) -> bool {
        self.peer_id == other.peer_id && self.key == other.key
    }
}

impl Eq for PeerCaller {}

impl fmt::Debug for PeerCaller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerCaller")
            .field("peer_id", &self.peer_id)
            .field("key", &hex::encode(self.key))
            .finish_non_exhaustive()
    }
}

/// Who is making a call. Fixed when the call enters the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The machine's owner: a Unix-socket peer with our uid.
    #[non_exhaustive]
    LocalOwner,
    /// A persona living in this daemon.
    #[non_exhaustive]
    Persona {
        /// Persona id.
        persona_id: String,
        /// Its configured trust (capped below Owner).
        trust: Trust,
    },
    /// A verified grid peer.
    #[non_exhaustive]
    Peer(PeerCaller),
    /// An unauthenticated TCP connection.
    #[non_exhaustive]
    Tcp {
        /// Remote address.
        remote: SocketAddr,
    },
}

impl Caller {
    /// A short, loggable description (no secrets).
    pub fn label(&self) -> String {
        self.to_string()
    }

    /// The key the transport proved for this caller, if it has one.
    pub fn proven_key(&self) -> Option<&[u8; 32]> {
        match self {
            Caller::Peer(peer) => Some(peer.key()),
            _ => None,
        }
    }
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Caller::LocalOwner => f.write_str("owner"),
            Caller::Persona { persona_id, .. } => write!(f, "persona:{persona_id}"),
            Caller::Peer(peer) => write!(f, "peer:{}", peer.peer_id),
            Caller::Tcp { remote } => write!(f, "tcp:{remote}"),
        }
    }
}

/// The one rule mapping a caller to its trust level.
///
/// Local owner: Owner. Persona: its own trust, never above Trusted. TCP:
/// Provisional. Known peer: its registered trust capped at Trusted (Blocked
/// stays Blocked). Unknown peer: Provisional.
pub fn caller_trust(caller: &Caller) -> Trust {
    match caller {
        Caller::LocalOwner => Trust::Owner,
        Caller::Persona { trust, .. } => (*trust).min(REMOTE_TRUST_CEILING),
        Caller::Tcp { .. } => Trust::Provisional,
        Caller::Peer(peer) => peer
            .registered_trust()
            .map_or(Trust::Provisional, |trust| trust.min(REMOTE_TRUST_CEILING)),
    }
}

/// A caller together with the trust ceiling the call asked for
/// (`meta.maxTrust`). Its trust is the lower of the two: a ceiling can only
/// take trust away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    caller: Caller,
    ceiling: Trust,
    /// When a persona acts on a grant it issued: the peer that presented it.
    /// Every call this principal makes (composition, listing) goes through
    /// the persona-grant rule again, so the grant's capabilities still bind.
    presented_by: Option<PeerCaller>,
}

impl Principal {
    pub(crate) fn new(caller: Caller) -> Self {
        Principal {
            caller,
            ceiling: Trust::Owner,
            presented_by: None,
        }
    }

    /// The same caller with trust lowered to at most `max`. Monotone: a
    /// ceiling above the current one changes nothing.
    pub(crate) fn lowered(&self, max: Option<Trust>) -> Principal {
        Principal {
            caller: self.caller.clone(),
            ceiling: max.map_or(self.ceiling, |max| max.min(self.ceiling)),
            presented_by: self.presented_by.clone(),
        }
    }

    /// The persona that issued the grant a peer presented, acting in the
    /// peer's place: the persona's trust, the peer's ceiling.
    pub(crate) fn acting_as(&self, persona: &crate::credential::IssuingPersona) -> Principal {
        Principal {
            caller: Caller::Persona {
                persona_id: persona.persona_id.clone(),
                trust: persona.trust,
            },
            ceiling: self.ceiling,
            presented_by: self.grant_presenter().cloned(),
        }
    }

    /// The peer whose proven key a grant is checked against: the caller
    /// itself, or the peer a persona acts for.
    pub(crate) fn grant_presenter(&self) -> Option<&PeerCaller> {
        match &self.caller {
            Caller::Peer(peer) => Some(peer),
            _ => self.presented_by.as_ref(),
        }
    }

    /// Whether this is a persona acting on a grant it issued.
    pub(crate) fn is_acting_for_peer(&self) -> bool {
        self.presented_by.is_some()
    }

    /// Who is calling.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The ceiling in force (Owner when none was asked for).
    pub fn ceiling(&self) -> Trust {
        self.ceiling
    }

    /// The trust the gate uses: the caller's, capped by the ceiling.
    pub fn trust(&self) -> Trust {
        caller_trust(&self.caller).min(self.ceiling)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(trust: Option<Trust>) -> Caller {
        Caller::Peer(PeerCaller::new("p".into(), [0; 32], trust))
    }

    #[test]
    fn trust_levels_are_ordered() {
        assert!(Trust::Blocked < Trust::Provisional);
        assert!(Trust::Provisional < Trust::Trusted);
        assert!(Trust::Trusted < Trust::Owner);
    }

    #[test]
    fn only_the_local_owner_is_owner() {
        assert_eq!(caller_trust(&Caller::LocalOwner), Trust::Owner);
        assert_eq!(
            caller_trust(&Caller::Tcp {
                remote: "127.0.0.1:1".parse().unwrap()
            }),
            Trust::Provisional
        );
        assert_eq!(caller_trust(&peer(Some(Trust::Owner))), Trust::Trusted);
        let persona = Caller::Persona {
            persona_id: "a".into(),
            trust: Trust::Owner,
        };
        assert_eq!(caller_trust(&persona), Trust::Trusted);
    }

    #[test]
    fn peers_map_by_registration() {
        assert_eq!(caller_trust(&peer(None)), Trust::Provisional);
        assert_eq!(caller_trust(&peer(Some(Trust::Blocked))), Trust::Blocked);
        assert_eq!(caller_trust(&peer(Some(Trust::Trusted))), Trust::Trusted);
    }

    #[test]
    fn a_ceiling_only_ever_lowers_trust() {
        let callers = [
            Caller::LocalOwner,
            peer(None),
            peer(Some(Trust::Trusted)),
            peer(Some(Trust::Blocked)),
        ];
        for caller in callers {
            let base = Principal::new(caller.clone());
            for first in Trust::ALL {
                let once = base.lowered(Some(first));
                assert!(once.trust() <= base.trust(), "{caller:?} {first:?}");
                assert_eq!(once.trust(), base.trust().min(first));
                for second in Trust::ALL {
                    // A later ceiling can never undo an earlier one.
                    let twice = once.lowered(Some(second));
                    assert!(twice.trust() <= once.trust());
                    assert_eq!(twice.trust(), base.trust().min(first).min(second));
                }
                assert_eq!(once.lowered(None), once);
            }
        }
    }
}
