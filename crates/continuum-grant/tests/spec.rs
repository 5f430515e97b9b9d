//! The grant rules, one behaviour per test.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::*;
use continuum_grant::body::{DOMAIN, FORMAT_VERSION, MAX_CAPABILITIES, MAX_STRING_BYTES};
use continuum_grant::{
    authorize, authorize_text, confers, verify, DecodeError, EpochDecision, EpochWatermarks,
    GrantBody, GrantVerdict, InMemoryWatermarks, LimitError, SignedGrant, WatermarkError,
};
use ed25519_dalek::{Signer as _, SigningKey};

fn caps(list: &[&str]) -> Vec<String> {
    list.iter().map(|c| (*c).to_owned()).collect()
}

/// Signs arbitrary body bytes with the issuer and packs them as transport text,
/// to build grants the encoder itself would never produce.
fn text_from_raw_body(body: &[u8], signer: &SigningKey) -> String {
    let mut bytes = body.to_vec();
    bytes.extend_from_slice(&signer.sign(body).to_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

fn check(grant: &SignedGrant) -> Result<(), GrantVerdict> {
    verify(grant, &grantee_key(), &policy(), NOW)
}

fn put_u32(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(&n.to_be_bytes());
}

/// Hand-written encoding with the documented layout, up to the capability count.
fn raw_body_prefix(mesh: &[u8], peer: &[u8]) -> Vec<u8> {
    let mut out = DOMAIN.to_vec();
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&issuer().verifying_key().to_bytes());
    put_u32(&mut out, mesh.len() as u32);
    out.extend_from_slice(mesh);
    put_u32(&mut out, peer.len() as u32);
    out.extend_from_slice(peer);
    out.extend_from_slice(&grantee_key());
    out.extend_from_slice(&(NOW - HOUR).to_be_bytes());
    out.extend_from_slice(&(NOW + HOUR).to_be_bytes());
    out.extend_from_slice(&1u64.to_be_bytes());
    out
}

// ---- encoding ----

#[test]
fn grant_survives_a_round_trip_through_its_text_form() {
    let g = grant(&["ai/generate", "data/list"], 3);
    assert_eq!(SignedGrant::from_text(&g.to_text()), Ok(g));
}

#[test]
fn signed_bytes_follow_the_documented_layout() {
    let g = grant(&["b", "a"], 7);
    let mut expected = raw_body_prefix(MESH.as_bytes(), GRANTEE.as_bytes());
    // raw_body_prefix writes epoch 1; this grant has epoch 7.
    let epoch_at = expected.len() - 8;
    expected[epoch_at..].copy_from_slice(&7u64.to_be_bytes());
    put_u32(&mut expected, 2);
    for c in ["a", "b"] {
        put_u32(&mut expected, 1);
        expected.extend_from_slice(c.as_bytes());
    }
    assert_eq!(g.signed_bytes(), expected);
    assert_eq!(&expected[..16], b"continuum-grant\0");
}

#[test]
fn equal_capability_sets_encode_equally_whatever_their_order_or_duplicates() {
    let a = grant(&["data/list", "ai/generate", "ai/generate"], 1);
    let b = grant(&["ai/generate", "data/list"], 1);
    assert_eq!(a.signed_bytes(), b.signed_bytes());
    assert_eq!(a.to_text(), b.to_text());
    assert_eq!(
        a.body.capabilities(),
        caps(&["ai/generate", "data/list"]).as_slice()
    );
}

#[test]
fn body_beyond_the_limits_is_refused_at_construction() {
    let key = issuer().verifying_key().to_bytes();
    let mut s = spec(&[], 1);
    s.mesh_id = "m".repeat(MAX_STRING_BYTES + 1);
    assert!(matches!(
        GrantBody::new(key, s),
        Err(LimitError::FieldTooLong {
            field: "mesh_id",
            ..
        })
    ));

    let mut s = spec(&[], 1);
    s.capabilities = (0..=MAX_CAPABILITIES).map(|i| format!("c/{i}")).collect();
    assert!(matches!(
        GrantBody::new(key, s),
        Err(LimitError::TooManyCapabilities { .. })
    ));

    let mut s = spec(&[], 1);
    s.capabilities = (0..100).map(|i| format!("{i:0>200}")).collect();
    assert!(matches!(
        GrantBody::new(key, s),
        Err(LimitError::TooLarge { .. })
    ));
}

#[test]
fn largest_allowed_body_round_trips() {
    let mut s = spec(&[], 1);
    s.mesh_id = "m".repeat(MAX_STRING_BYTES);
    s.capabilities = (0..50).map(|i| format!("{i:0>256}")).collect();
    let g = continuum_grant::issue_grant(&issuer(), s).expect("within limits");
    assert_eq!(SignedGrant::from_text(&g.to_text()), Ok(g));
}

#[test]
fn padded_or_standard_alphabet_base64_is_bad_base64() {
    let text = grant(&["ai/generate"], 1).to_text();
    let padded = format!("{text}{}", "=".repeat((4 - text.len() % 4) % 4 + 4));
    assert_eq!(SignedGrant::from_text(&padded), Err(DecodeError::BadBase64));
    let standard = text.replace('-', "+").replace('_', "/");
    if standard != text {
        assert_eq!(
            SignedGrant::from_text(&standard),
            Err(DecodeError::BadBase64)
        );
    }
    assert_eq!(
        SignedGrant::from_text("not base64!"),
        Err(DecodeError::BadBase64)
    );
}

#[test]
fn empty_or_short_text_is_truncated() {
    assert_eq!(SignedGrant::from_text(""), Err(DecodeError::Truncated));
    assert_eq!(
        SignedGrant::from_text(&URL_SAFE_NO_PAD.encode([0u8; 63])),
        Err(DecodeError::Truncated)
    );
}

#[test]
fn dropping_the_last_byte_is_malformed() {
    let g = grant(&["ai/generate"], 1);
    let mut bytes = g.signed_bytes();
    bytes.extend_from_slice(&g.signature);
    bytes.pop();
    assert!(SignedGrant::from_text(&URL_SAFE_NO_PAD.encode(&bytes)).is_err());
}

#[test]
fn bytes_between_body_and_signature_are_trailing_bytes() {
    let mut body = grant(&["ai/generate"], 1).signed_bytes();
    body.extend_from_slice(b"xx");
    assert_eq!(
        SignedGrant::from_text(&text_from_raw_body(&body, &issuer())),
        Err(DecodeError::TrailingBytes(2))
    );
}

#[test]
fn unknown_version_is_refused_even_when_properly_signed() {
    let mut body = grant(&["ai/generate"], 1).signed_bytes();
    body[DOMAIN.len()] = 2;
    assert_eq!(
        SignedGrant::from_text(&text_from_raw_body(&body, &issuer())),
        Err(DecodeError::UnknownVersion(2))
    );
}

#[test]
fn wrong_domain_prefix_is_bad_domain() {
    let mut body = grant(&["ai/generate"], 1).signed_bytes();
    body[0] = b'C';
    assert_eq!(
        SignedGrant::from_text(&text_from_raw_body(&body, &issuer())),
        Err(DecodeError::BadDomain)
    );
}

#[test]
fn unsorted_or_duplicate_capabilities_are_non_canonical() {
    for list in [["b", "a"], ["a", "a"]] {
        let mut body = raw_body_prefix(MESH.as_bytes(), GRANTEE.as_bytes());
        put_u32(&mut body, 2);
        for c in list {
            put_u32(&mut body, 1);
            body.extend_from_slice(c.as_bytes());
        }
        assert_eq!(
            SignedGrant::from_text(&text_from_raw_body(&body, &issuer())),
            Err(DecodeError::NonCanonicalCapabilities)
        );
    }
}

#[test]
fn invalid_utf8_in_a_string_field_is_invalid_utf8() {
    let mut body = raw_body_prefix(&[0xff, 0xfe], GRANTEE.as_bytes());
    put_u32(&mut body, 0);
    assert_eq!(
        SignedGrant::from_text(&text_from_raw_body(&body, &issuer())),
        Err(DecodeError::InvalidUtf8 { field: "mesh_id" })
    );
}

#[test]
fn absurd_string_length_is_a_limit_error_not_an_allocation() {
    let mut body = DOMAIN.to_vec();
    body.push(FORMAT_VERSION);
    body.extend_from_slice(&[0; 32]);
    put_u32(&mut body, u32::MAX);
    assert!(matches!(
        SignedGrant::from_text(&text_from_raw_body(&body, &issuer())),
        Err(DecodeError::Limit(LimitError::FieldTooLong { len, .. })) if len == u32::MAX as usize
    ));
}

#[test]
fn absurd_capability_count_is_a_limit_error_not_an_allocation() {
    let mut body = raw_body_prefix(MESH.as_bytes(), GRANTEE.as_bytes());
    put_u32(&mut body, u32::MAX);
    assert!(matches!(
        SignedGrant::from_text(&text_from_raw_body(&body, &issuer())),
        Err(DecodeError::Limit(LimitError::TooManyCapabilities { .. }))
    ));
}

#[test]
fn oversized_text_is_refused_before_decoding() {
    let huge = "A".repeat(1 << 20);
    let err = SignedGrant::from_text(&huge).unwrap_err();
    assert_eq!(err.code(), "too_large");
}

// ---- verification ----

#[test]
fn valid_grant_verifies() {
    assert_eq!(check(&grant(&["ai/generate"], 1)), Ok(()));
}

#[test]
fn grant_from_an_unpinned_issuer_is_untrusted_issuer() {
    let g = continuum_grant::issue_grant(&rogue_issuer(), spec(&["ai/generate"], 1)).unwrap();
    assert_eq!(check(&g), Err(GrantVerdict::UntrustedIssuer));
}

#[test]
fn grant_naming_the_pinned_issuer_but_signed_by_another_key_is_bad_signature() {
    let body = GrantBody::new(
        issuer().verifying_key().to_bytes(),
        spec(&["ai/generate"], 1),
    )
    .unwrap();
    let forged = SignedGrant::sign(body, &rogue_issuer());
    assert_eq!(check(&forged), Err(GrantVerdict::BadSignature));
}

#[test]
fn flipping_any_body_byte_is_refused() {
    // One bit per byte keeps this fast in debug builds; which bit does not
    // matter to a signature.
    let g = grant(&["ai/generate"], 1);
    let body = g.signed_bytes();
    for i in 0..body.len() {
        let mut bytes = body.clone();
        bytes[i] ^= 0x01;
        bytes.extend_from_slice(&g.signature);
        if let Ok(tampered) = SignedGrant::from_text(&URL_SAFE_NO_PAD.encode(&bytes)) {
            // The issuer key occupies bytes 17..49: changing it unpins the grant.
            let expected = if (17..49).contains(&i) {
                "untrusted_issuer"
            } else {
                "bad_signature"
            };
            assert_eq!(check(&tampered).unwrap_err().code(), expected, "byte {i}");
        }
    }
}

#[test]
fn flipped_signature_byte_is_bad_signature() {
    let mut g = grant(&["ai/generate"], 1);
    g.signature[10] ^= 0x01;
    assert_eq!(check(&g), Err(GrantVerdict::BadSignature));
}

#[test]
fn malleated_signature_with_s_plus_group_order_is_bad_signature() {
    // The ed25519 group order L, little-endian.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut g = grant(&["ai/generate"], 1);
    let mut carry = 0u16;
    for (i, l) in L.iter().enumerate() {
        let sum = u16::from(g.signature[32 + i]) + u16::from(*l) + carry;
        g.signature[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(check(&g), Err(GrantVerdict::BadSignature));
}

#[test]
fn pinned_issuer_key_that_is_not_a_valid_point_is_bad_signature() {
    let invalid = (0u8..=255)
        .map(|b| {
            let mut k = [0u8; 32];
            k[0] = b;
            k[1] = 1;
            k
        })
        .find(|k| ed25519_dalek::VerifyingKey::from_bytes(k).is_err())
        .expect("some y has no curve point");
    let g = SignedGrant::sign(
        GrantBody::new(invalid, spec(&["ai/generate"], 1)).unwrap(),
        &issuer(),
    );
    let mut p = policy();
    p.trusted_issuers.push(invalid);
    assert_eq!(
        verify(&g, &grantee_key(), &p, NOW),
        Err(GrantVerdict::BadSignature)
    );
}

#[test]
fn pinned_small_order_issuer_key_is_bad_signature() {
    // The identity point: every signature "verifies" non-strictly under it.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let g = SignedGrant {
        body: GrantBody::new(identity, spec(&["ai/generate"], 1)).unwrap(),
        signature: {
            let mut s = [0u8; 64];
            s[0] = 1;
            s
        },
    };
    let mut p = policy();
    p.trusted_issuers.push(identity);
    assert_eq!(
        verify(&g, &grantee_key(), &p, NOW),
        Err(GrantVerdict::BadSignature)
    );
}

#[test]
fn stolen_grant_presented_with_another_key_is_key_mismatch() {
    let g = grant(&["ai/generate"], 1);
    assert_eq!(
        verify(&g, &other_peer_key(), &policy(), NOW),
        Err(GrantVerdict::KeyMismatch)
    );
}

#[test]
fn grant_for_another_mesh_is_wrong_mesh() {
    let mut s = spec(&["ai/generate"], 1);
    s.mesh_id = "mesh-beta".into();
    let g = continuum_grant::issue_grant(&issuer(), s).unwrap();
    assert_eq!(
        check(&g),
        Err(GrantVerdict::WrongMesh {
            expected: MESH.into(),
            actual: "mesh-beta".into()
        })
    );
}

#[test]
fn grant_expiring_at_or_before_its_issue_is_invalid_window() {
    for expires in [NOW - HOUR, NOW - 2 * HOUR] {
        let mut s = spec(&["ai/generate"], 1);
        s.expires_at_ms = expires;
        let g = continuum_grant::issue_grant(&issuer(), s).unwrap();
        assert_eq!(check(&g), Err(GrantVerdict::InvalidWindow));
    }
}

fn grant_valid_between(issued: u64, expires: u64) -> SignedGrant {
    let mut s = spec(&["ai/generate"], 1);
    s.issued_at_ms = issued;
    s.expires_at_ms = expires;
    continuum_grant::issue_grant(&issuer(), s).unwrap()
}

#[test]
fn grant_issued_within_the_skew_ahead_is_valid() {
    assert_eq!(check(&grant_valid_between(NOW + SKEW, NOW + HOUR)), Ok(()));
}

#[test]
fn grant_issued_beyond_the_skew_ahead_is_not_yet_valid() {
    assert_eq!(
        check(&grant_valid_between(NOW + SKEW + 1, NOW + HOUR)),
        Err(GrantVerdict::NotYetValid {
            issued_at_ms: NOW + SKEW + 1,
            now_ms: NOW
        })
    );
}

#[test]
fn grant_expired_within_the_skew_is_still_valid() {
    assert_eq!(check(&grant_valid_between(NOW - HOUR, NOW - SKEW)), Ok(()));
}

#[test]
fn grant_expired_beyond_the_skew_is_expired() {
    assert_eq!(
        check(&grant_valid_between(NOW - HOUR, NOW - SKEW - 1)),
        Err(GrantVerdict::Expired {
            expires_at_ms: NOW - SKEW - 1,
            now_ms: NOW
        })
    );
}

#[test]
fn extreme_timestamps_and_skew_do_not_overflow() {
    let g = grant_valid_between(0, u64::MAX);
    let mut p = policy();
    p.max_clock_skew_ms = u64::MAX;
    assert_eq!(verify(&g, &grantee_key(), &p, u64::MAX), Ok(()));
    assert_eq!(verify(&g, &grantee_key(), &p, 0), Ok(()));
}

#[test]
fn checks_run_in_the_documented_order() {
    // Each grant fails two checks; the earlier one must be reported.
    let mut s = spec(&["ai/generate"], 1);
    s.mesh_id = "mesh-beta".into();
    s.expires_at_ms = 0;
    let untrusted_and_wrong_mesh =
        continuum_grant::issue_grant(&rogue_issuer(), s.clone()).unwrap();
    assert_eq!(
        check(&untrusted_and_wrong_mesh),
        Err(GrantVerdict::UntrustedIssuer)
    );

    let mut bad_sig = continuum_grant::issue_grant(&issuer(), s.clone()).unwrap();
    bad_sig.signature[0] ^= 1;
    assert_eq!(
        verify(&bad_sig, &other_peer_key(), &policy(), NOW),
        Err(GrantVerdict::BadSignature)
    );

    let wrong_mesh_and_window = continuum_grant::issue_grant(&issuer(), s).unwrap();
    assert_eq!(
        verify(&wrong_mesh_and_window, &other_peer_key(), &policy(), NOW),
        Err(GrantVerdict::KeyMismatch)
    );
    assert_eq!(
        check(&wrong_mesh_and_window).unwrap_err().code(),
        "wrong_mesh"
    );
}

// ---- capability rule ----

#[test]
fn capability_confers_its_exact_command() {
    assert!(confers(&caps(&["ai/generate"]), "ai/generate"));
}

#[test]
fn capability_confers_commands_below_it_on_a_slash_boundary() {
    assert!(confers(&caps(&["ai/generate"]), "ai/generate/stream"));
    assert!(confers(&caps(&["ai"]), "ai/generate/stream"));
}

#[test]
fn capability_does_not_confer_a_longer_name_without_a_slash_boundary() {
    assert!(!confers(&caps(&["ai/generate"]), "ai/generatex"));
    assert!(!confers(&caps(&["ai/gen"]), "ai/generate"));
}

#[test]
fn capability_does_not_confer_its_parent() {
    assert!(!confers(&caps(&["ai/generate"]), "ai"));
    assert!(!confers(&caps(&["ai/generate"]), "ai/"));
}

#[test]
fn empty_capability_confers_nothing() {
    assert!(!confers(&caps(&[""]), "ai/generate"));
    assert!(!confers(&caps(&[""]), ""));
    assert!(!confers(&caps(&[""]), "/ai"));
}

#[test]
fn there_are_no_wildcards_and_matching_is_case_sensitive() {
    assert!(!confers(&caps(&["*"]), "ai/generate"));
    assert!(!confers(&caps(&["ai/*"]), "ai/generate"));
    assert!(!confers(&caps(&["AI/generate"]), "ai/generate"));
}

#[test]
fn no_capabilities_confer_nothing() {
    assert!(!confers(&[], "ai/generate"));
}

// ---- epoch watermarks ----

#[test]
fn the_same_epoch_is_accepted_every_time_it_is_presented() {
    let store = InMemoryWatermarks::default();
    for _ in 0..3 {
        assert_eq!(
            store
                .check_and_advance(GRANTEE, 5, NOW + HOUR, NOW)
                .unwrap(),
            EpochDecision::Accept
        );
    }
    assert_eq!(store.watermark(GRANTEE), Some(5));
}

#[test]
fn a_lower_epoch_after_a_higher_one_is_superseded() {
    let store = InMemoryWatermarks::default();
    store
        .check_and_advance(GRANTEE, 5, NOW + HOUR, NOW)
        .unwrap();
    assert_eq!(
        store
            .check_and_advance(GRANTEE, 4, NOW + HOUR, NOW)
            .unwrap(),
        EpochDecision::Superseded { watermark: 5 }
    );
    assert_eq!(store.watermark(GRANTEE), Some(5));
}

#[test]
fn watermarks_are_kept_per_grantee() {
    let store = InMemoryWatermarks::default();
    store
        .check_and_advance("peer-a", 9, NOW + HOUR, NOW)
        .unwrap();
    assert_eq!(
        store
            .check_and_advance("peer-b", 1, NOW + HOUR, NOW)
            .unwrap(),
        EpochDecision::Accept
    );
}

#[test]
fn eviction_drops_only_entries_past_their_latest_expiry_plus_retention() {
    let store = InMemoryWatermarks::new(1_000);
    store.check_and_advance("short", 1, NOW, NOW - 10).unwrap();
    store
        .check_and_advance("long", 1, NOW + HOUR, NOW - 10)
        .unwrap();
    assert_eq!(store.evict_expired(NOW + 1_000).unwrap(), 0);
    assert_eq!(store.evict_expired(NOW + 1_001).unwrap(), 1);
    assert_eq!(store.watermark("short"), None);
    assert_eq!(store.watermark("long"), Some(1));
}

#[test]
fn a_superseded_presentation_still_extends_how_long_the_entry_is_kept() {
    // Epoch 2 (a revocation) expires soon, but a long-lived epoch-1 grant is
    // still in circulation: the entry must outlive it, or eviction would
    // reopen the revoked grant.
    let store = InMemoryWatermarks::new(1_000);
    store.check_and_advance(GRANTEE, 2, NOW, NOW - 10).unwrap();
    store
        .check_and_advance(GRANTEE, 1, NOW + HOUR, NOW - 10)
        .unwrap();
    assert_eq!(store.evict_expired(NOW + 5_000).unwrap(), 0);
    assert_eq!(store.watermark(GRANTEE), Some(2));
}

#[test]
fn racing_epochs_never_let_the_lower_win_after_the_higher_committed() {
    const THREADS: usize = 8;
    const ROUNDS: usize = 300;
    let store = InMemoryWatermarks::default();
    for round in 0..ROUNDS {
        let peer = format!("peer-{round}");
        let high_committed = AtomicBool::new(false);
        let barrier = Barrier::new(THREADS);
        std::thread::scope(|scope| {
            for t in 0..THREADS {
                let (store, peer, high_committed, barrier) =
                    (&store, &peer, &high_committed, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    for _ in 0..20 {
                        if t % 2 == 0 {
                            let decision =
                                store.check_and_advance(peer, 2, NOW + HOUR, NOW).unwrap();
                            assert_eq!(decision, EpochDecision::Accept);
                            high_committed.store(true, Ordering::SeqCst);
                        } else {
                            let committed_before = high_committed.load(Ordering::SeqCst);
                            let decision =
                                store.check_and_advance(peer, 1, NOW + HOUR, NOW).unwrap();
                            if committed_before {
                                assert_eq!(decision, EpochDecision::Superseded { watermark: 2 });
                            }
                        }
                    }
                });
            }
        });
        assert_eq!(store.watermark(&peer), Some(2));
    }
}

// ---- authorization ----

#[test]
fn valid_grant_authorizes_a_conferred_command_and_reports_its_capabilities() {
    let store = InMemoryWatermarks::default();
    let g = grant(&["ai/generate", "data/list"], 1);
    let ok = authorize(
        &g,
        &grantee_key(),
        "ai/generate/stream",
        &policy(),
        &store,
        NOW,
    )
    .unwrap();
    assert_eq!(ok.body(), &g.body);
    assert_eq!(
        ok.capabilities(),
        caps(&["ai/generate", "data/list"]).as_slice()
    );
}

#[test]
fn grant_text_authorizes_like_the_decoded_grant() {
    let store = InMemoryWatermarks::default();
    let g = grant(&["ai/generate"], 1);
    let ok = authorize_text(
        &g.to_text(),
        &grantee_key(),
        "ai/generate",
        &policy(),
        &store,
        NOW,
    )
    .unwrap();
    assert_eq!(ok.body(), &g.body);
}

#[test]
fn undecodable_grant_text_is_malformed() {
    let store = InMemoryWatermarks::default();
    let verdict =
        authorize_text("%%%", &grantee_key(), "ai/generate", &policy(), &store, NOW).unwrap_err();
    assert_eq!(verdict, GrantVerdict::Malformed(DecodeError::BadBase64));
}

#[test]
fn command_outside_the_capabilities_is_not_granted() {
    let store = InMemoryWatermarks::default();
    let verdict = authorize(
        &grant(&["ai/generate"], 1),
        &grantee_key(),
        "data/delete",
        &policy(),
        &store,
        NOW,
    )
    .unwrap_err();
    assert_eq!(
        verdict,
        GrantVerdict::NotGranted {
            command: "data/delete".into()
        }
    );
}

#[test]
fn higher_epoch_with_no_capabilities_revokes_the_earlier_grant() {
    let store = InMemoryWatermarks::default();
    let (old, revocation) = (grant(&["ai/generate"], 1), grant(&[], 2));
    assert!(authorize(&old, &grantee_key(), "ai/generate", &policy(), &store, NOW).is_ok());
    assert_eq!(
        authorize(
            &revocation,
            &grantee_key(),
            "ai/generate",
            &policy(),
            &store,
            NOW
        )
        .unwrap_err()
        .code(),
        "not_granted"
    );
    assert_eq!(
        authorize(&old, &grantee_key(), "ai/generate", &policy(), &store, NOW),
        Err(GrantVerdict::Superseded {
            watermark: 2,
            presented: 1
        })
    );
}

#[test]
fn higher_epoch_replaces_the_earlier_grant_even_when_it_confers_other_commands() {
    let store = InMemoryWatermarks::default();
    authorize(
        &grant(&["data/list"], 3),
        &grantee_key(),
        "ai/generate",
        &policy(),
        &store,
        NOW,
    )
    .unwrap_err();
    assert_eq!(
        authorize(
            &grant(&["ai/generate"], 2),
            &grantee_key(),
            "ai/generate",
            &policy(),
            &store,
            NOW
        )
        .unwrap_err()
        .code(),
        "superseded"
    );
}

#[test]
fn invalid_grants_never_move_the_watermark() {
    let store = InMemoryWatermarks::default();
    let mut forged = grant(&[], 99);
    forged.signature[0] ^= 1;
    let _ = authorize(&forged, &grantee_key(), "x", &policy(), &store, NOW);
    let stolen = grant(&[], 98);
    let _ = authorize(&stolen, &other_peer_key(), "x", &policy(), &store, NOW);
    let expired = {
        let mut s = spec(&[], 97);
        s.expires_at_ms = NOW - HOUR / 2;
        continuum_grant::issue_grant(&issuer(), s).unwrap()
    };
    let _ = authorize(&expired, &grantee_key(), "x", &policy(), &store, NOW);
    assert!(store.is_empty());
    assert!(authorize(
        &grant(&["ai/generate"], 1),
        &grantee_key(),
        "ai/generate",
        &policy(),
        &store,
        NOW
    )
    .is_ok());
}

struct BrokenStore;

impl EpochWatermarks for BrokenStore {
    fn check_and_advance(
        &self,
        _: &str,
        _: u64,
        _: u64,
        _: u64,
    ) -> Result<EpochDecision, WatermarkError> {
        Err(WatermarkError::new("disk I/O error"))
    }
    fn current(&self, _: &str) -> Result<Option<u64>, WatermarkError> {
        Err(WatermarkError::new("disk I/O error"))
    }
    fn evict_expired(&self, _: u64) -> Result<usize, WatermarkError> {
        Err(WatermarkError::new("disk I/O error"))
    }
}

#[test]
fn failing_watermark_store_denies_with_store_unavailable() {
    let verdict = authorize(
        &grant(&["ai/generate"], 1),
        &grantee_key(),
        "ai/generate",
        &policy(),
        &BrokenStore,
        NOW,
    )
    .unwrap_err();
    assert_eq!(verdict.code(), "store_unavailable");
    assert!(verdict.to_string().contains("disk I/O error"));
}

#[test]
fn verdict_codes_are_distinct_snake_case_and_displayed() {
    let all = [
        GrantVerdict::Malformed(DecodeError::Truncated),
        GrantVerdict::UntrustedIssuer,
        GrantVerdict::BadSignature,
        GrantVerdict::KeyMismatch,
        GrantVerdict::WrongMesh {
            expected: "a".into(),
            actual: "b".into(),
        },
        GrantVerdict::InvalidWindow,
        GrantVerdict::NotYetValid {
            issued_at_ms: 2,
            now_ms: 1,
        },
        GrantVerdict::Expired {
            expires_at_ms: 1,
            now_ms: 2,
        },
        GrantVerdict::Superseded {
            watermark: 2,
            presented: 1,
        },
        GrantVerdict::StoreUnavailable("x".into()),
        GrantVerdict::NotGranted {
            command: "c".into(),
        },
    ];
    let codes: std::collections::BTreeSet<_> = all.iter().map(GrantVerdict::code).collect();
    assert_eq!(codes.len(), all.len());
    for v in &all {
        assert!(v
            .code()
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_'));
        assert!(!v.to_string().is_empty());
    }
}
