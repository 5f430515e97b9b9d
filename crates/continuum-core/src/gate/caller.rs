//! Caller identity and the caller -> trust mapping.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;

/// How much a caller is trusted. Ordered: `Blocked < Provisional < Trusted < Owner`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Trust {
    /// May call nothing.
    Blocked,
    /// AI-safe commands only (personas, TCP callers, unknown peers).
    Provisional,
    /// AI-safe and Trusted commands.
    Trusted,
    /// Everything. Only the local owner on the Unix socket.
    Owner,
}

impl Trust {
    /// Stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Trust::Blocked => "blocked",
            Trust::Provisional => "provisional",
            Trust::Trusted => "trusted",
            Trust::Owner => "owner",
        }
    }
}

/// Highest trust any remote party can hold. Owner is local-only.
pub const REMOTE_TRUST_CEILING: Trust = Trust::Trusted;

/// A grid peer whose key the transport authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCaller {
    /// The peer's stable logical id.
    pub peer_id: String,
    /// The ed25519 key the connection proved possession of.
    pub key: [u8; 32],
    /// Trust registered for this peer, if it is known.
    pub registered_trust: Option<Trust>,
    /// A signed capability grant presented with the call (base64url text).
    pub grant: Option<String>,
}

/// Who is making a call. Fixed when the call enters the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The machine's owner: a Unix-socket peer with our uid.
    LocalOwner,
    /// A persona living in this daemon.
    Persona {
        /// Persona id.
        persona_id: String,
        /// Its configured trust (capped below Owner).
        trust: Trust,
    },
    /// A verified grid peer.
    Peer(PeerCaller),
    /// An unauthenticated TCP connection.
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
            .registered_trust
            .map_or(Trust::Provisional, |trust| trust.min(REMOTE_TRUST_CEILING)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(trust: Option<Trust>) -> Caller {
        Caller::Peer(PeerCaller {
            peer_id: "p".into(),
            key: [0; 32],
            registered_trust: trust,
            grant: None,
        })
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
}
