//! The peer handshake: how a peer proves which ed25519 key it holds before
//! its first request on the daemon's peer listener.
//!
//! One JSON object per line, then ordinary JSON-RPC:
//! 1. daemon -> peer: [`Challenge`] (32 random bytes, the daemon's node id and key);
//! 2. peer -> daemon: [`Proof`] (its peer id and key, and an ed25519 signature
//!    over [`proof_message`]);
//! 3. daemon -> peer: [`Accepted`], or a JSON-RPC error response and close.
//!
//! The signature covers the challenge (no replay), the daemon's key (a proof
//! made for one node is useless at another) and the claimed peer id. This
//! authenticates the peer's key; it does not encrypt. It stands in for the
//! encrypted grid transport, so the daemon only binds it to loopback.
//! Keys, challenges and signatures are lowercase hex.

use serde::{Deserialize, Serialize};

/// Protocol name sent in [`Challenge::handshake`].
pub const HANDSHAKE_PROTOCOL: &str = "continuum-peer/1";

/// Domain separation for the signed proof.
pub const PROOF_DOMAIN: &[u8] = b"continuum-peer-handshake/1\0";

/// Longest peer id accepted, in bytes.
pub const MAX_PEER_ID_BYTES: usize = 128;

/// First line from the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Challenge {
    /// Always [`HANDSHAKE_PROTOCOL`].
    pub handshake: String,
    /// The daemon's logical node id.
    pub node_id: String,
    /// The daemon's ed25519 public key (hex).
    pub node_key: String,
    /// 32 random bytes (hex) to sign.
    pub challenge: String,
}

/// The peer's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Proof {
    /// The peer's logical id.
    pub peer_id: String,
    /// The peer's ed25519 public key (hex).
    pub key: String,
    /// Signature (hex) over [`proof_message`].
    pub signature: String,
}

/// The daemon's acceptance; JSON-RPC follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    /// Always true.
    pub ok: bool,
    /// The peer id the daemon will audit calls under.
    pub peer_id: String,
}

/// The bytes a peer signs: domain || challenge || node key || peer id.
pub fn proof_message(challenge: &[u8; 32], node_key: &[u8; 32], peer_id: &str) -> Vec<u8> {
    let mut message = Vec::with_capacity(PROOF_DOMAIN.len() + 64 + peer_id.len());
    message.extend_from_slice(PROOF_DOMAIN);
    message.extend_from_slice(challenge);
    message.extend_from_slice(node_key);
    message.extend_from_slice(peer_id.as_bytes());
    message
}

/// Checks a claimed peer id: 1..=128 bytes of ASCII letters, digits, `-`, `_`, `.`, `:`.
pub fn check_peer_id(peer_id: &str) -> Result<(), &'static str> {
    if peer_id.is_empty() || peer_id.len() > MAX_PEER_ID_BYTES {
        return Err("peer id must be 1 to 128 bytes");
    }
    if !peer_id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
    {
        return Err("peer id may contain only ASCII letters, digits, '-', '_', '.', ':'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proof_message_binds_challenge_node_and_peer() {
        let a = proof_message(&[1; 32], &[2; 32], "peer-b");
        assert!(a.starts_with(PROOF_DOMAIN));
        assert_ne!(a, proof_message(&[9; 32], &[2; 32], "peer-b"));
        assert_ne!(a, proof_message(&[1; 32], &[9; 32], "peer-b"));
        assert_ne!(a, proof_message(&[1; 32], &[2; 32], "peer-c"));
    }

    #[test]
    fn peer_ids_are_checked() {
        assert!(check_peer_id("node-1a2b.mesh:x_y").is_ok());
        for bad in ["", "a b", "é", "a/b", &"x".repeat(129)] {
            assert!(check_peer_id(bad).is_err(), "{bad:?}");
        }
    }
}
