//! Property tests: the decoder survives any input, and no change to a valid
//! grant's bytes is ever accepted.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::*;
use continuum_grant::{issue_grant, verify, GrantSpec, SignedGrant};
use proptest::prelude::*;

fn valid_bytes() -> Vec<u8> {
    let g = grant(&["ai/generate", "data/list"], 7);
    let mut bytes = g.signed_bytes();
    bytes.extend_from_slice(&g.signature);
    bytes
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, mask: u8 },
    Truncate { len: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Remove { at: usize, n: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        any::<usize>().prop_map(|len| Mutation::Truncate { len }),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), 1usize..16).prop_map(|(at, n)| Mutation::Remove { at, n }),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    match m {
        Mutation::Flip { at, mask } => bytes[at % len] ^= mask,
        Mutation::Truncate { len: keep } => bytes.truncate(keep % len),
        Mutation::Insert { at, bytes: extra } => {
            let at = at % (len + 1);
            bytes.splice(at..at, extra.iter().copied());
        }
        Mutation::Remove { at, n } => {
            let at = at % len;
            bytes.drain(at..(at + n).min(len));
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics_the_decoder(text in ".{0,600}") {
        let _ = SignedGrant::from_text(&text);
    }

    #[test]
    fn base64url_alphabet_text_never_panics_the_decoder(text in "[A-Za-z0-9_-]{0,600}") {
        let _ = SignedGrant::from_text(&text);
    }

    #[test]
    fn base64_of_arbitrary_bytes_never_panics_the_decoder(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        let _ = SignedGrant::from_text(&URL_SAFE_NO_PAD.encode(&bytes));
    }

    #[test]
    fn arbitrary_bytes_behind_a_valid_header_never_panic_the_decoder(
        tail in prop::collection::vec(any::<u8>(), 0..1024),
    ) {
        let mut bytes = valid_bytes()[..17].to_vec();
        bytes.extend_from_slice(&tail);
        let _ = SignedGrant::from_text(&URL_SAFE_NO_PAD.encode(&bytes));
    }

    #[test]
    fn mutated_grant_is_never_accepted(mutations in prop::collection::vec(mutation(), 1..4)) {
        let original = valid_bytes();
        let mut bytes = original.clone();
        for m in &mutations {
            apply(&mut bytes, m);
            if bytes.is_empty() {
                break;
            }
        }
        prop_assume!(bytes != original);
        if let Ok(g) = SignedGrant::from_text(&URL_SAFE_NO_PAD.encode(&bytes)) {
            prop_assert!(verify(&g, &grantee_key(), &policy(), NOW).is_err());
        }
    }

    #[test]
    fn any_grant_within_the_limits_round_trips_exactly(
        mesh_id in "[a-z0-9-]{0,40}",
        grantee_peer_id in "\\PC{0,40}",
        capabilities in prop::collection::vec("[a-z/]{0,20}", 0..20),
        issued_at_ms in any::<u64>(),
        expires_at_ms in any::<u64>(),
        epoch in any::<u64>(),
    ) {
        let g = issue_grant(&issuer(), GrantSpec {
            mesh_id,
            grantee_peer_id,
            grantee_key: grantee_key(),
            capabilities,
            issued_at_ms,
            expires_at_ms,
            epoch,
        }).unwrap();
        let text = g.to_text();
        let decoded = SignedGrant::from_text(&text).unwrap();
        prop_assert_eq!(decoded.to_text(), text);
        prop_assert_eq!(decoded, g);
    }
}
