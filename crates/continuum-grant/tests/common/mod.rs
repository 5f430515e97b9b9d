//! Fixed keys and a baseline grant shared by the test files.
#![allow(dead_code)]

use continuum_grant::{issue_grant, GrantSpec, SignedGrant, VerifyPolicy};
use ed25519_dalek::SigningKey;

pub(crate) const NOW: u64 = 1_700_000_000_000;
pub(crate) const HOUR: u64 = 60 * 60 * 1000;
pub(crate) const SKEW: u64 = 30_000;
pub(crate) const MESH: &str = "mesh-alpha";
pub(crate) const GRANTEE: &str = "peer-bob";

pub(crate) fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub(crate) fn issuer() -> SigningKey {
    key(1)
}

pub(crate) fn grantee_key() -> [u8; 32] {
    key(2).verifying_key().to_bytes()
}

pub(crate) fn other_peer_key() -> [u8; 32] {
    key(3).verifying_key().to_bytes()
}

pub(crate) fn rogue_issuer() -> SigningKey {
    key(4)
}

pub(crate) fn spec(capabilities: &[&str], epoch: u64) -> GrantSpec {
    GrantSpec {
        mesh_id: MESH.to_owned(),
        grantee_peer_id: GRANTEE.to_owned(),
        grantee_key: grantee_key(),
        capabilities: capabilities.iter().map(|c| (*c).to_owned()).collect(),
        issued_at_ms: NOW - HOUR,
        expires_at_ms: NOW + HOUR,
        epoch,
    }
}

pub(crate) fn grant(capabilities: &[&str], epoch: u64) -> SignedGrant {
    issue_grant(&issuer(), spec(capabilities, epoch)).expect("within limits")
}

pub(crate) fn policy() -> VerifyPolicy {
    VerifyPolicy {
        trusted_issuers: vec![issuer().verifying_key().to_bytes()],
        expected_mesh: MESH.to_owned(),
        max_clock_skew_ms: SKEW,
    }
}
