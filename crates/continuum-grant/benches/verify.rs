//! Cost of deciding one presented grant, next to the cost of the primitives
//! and of an equivalent biscuit token. Figures are recorded in
//! docs/adr/0005-grant-format.md.
//!
//! Quick run: `cargo bench -p continuum-grant --bench verify -- --quick`.

use std::hint::black_box;
use std::time::Duration;

use biscuit_auth::macros::{authorizer, biscuit};
use biscuit_auth::{AuthorizerLimits, Biscuit, KeyPair};
use continuum_grant::{authorize_text, issue_grant, GrantSpec, InMemoryWatermarks, VerifyPolicy};
use criterion::{criterion_group, criterion_main, Criterion};
use ed25519_dalek::{Signature, SigningKey};

const NOW: u64 = 1_750_000_000_000;
const HOUR: u64 = 3_600_000;
const MESH: &str = "mesh-alpha";
const COMMAND: &str = "ai/generate";

fn bench_verify(c: &mut Criterion) {
    let issuer = SigningKey::from_bytes(&[0x11; 32]);
    let grantee = SigningKey::from_bytes(&[0x22; 32])
        .verifying_key()
        .to_bytes();
    let grant = issue_grant(
        &issuer,
        GrantSpec {
            mesh_id: MESH.into(),
            grantee_peer_id: "peer-bob".into(),
            grantee_key: grantee,
            capabilities: vec![COMMAND.into(), "data/list".into()],
            issued_at_ms: NOW - HOUR,
            expires_at_ms: NOW + HOUR,
            epoch: 5,
        },
    )
    .expect("within limits");
    let text = grant.to_text();
    let policy = VerifyPolicy {
        trusted_issuers: vec![issuer.verifying_key().to_bytes()],
        expected_mesh: MESH.into(),
        max_clock_skew_ms: 30_000,
    };
    let watermarks = InMemoryWatermarks::default();

    let mut group = c.benchmark_group("grant");

    let issuer_key = issuer.verifying_key();
    let signed = grant.signed_bytes();
    let signature = Signature::from_bytes(&grant.signature);
    group.bench_function("ed25519_verify_strict", |b| {
        b.iter(|| {
            issuer_key
                .verify_strict(black_box(&signed), black_box(&signature))
                .unwrap()
        })
    });

    group.bench_function("continuum_authorize_text", |b| {
        b.iter(|| {
            authorize_text(
                black_box(&text),
                &grantee,
                COMMAND,
                &policy,
                &watermarks,
                NOW,
            )
            .unwrap()
        })
    });

    // The same statement as a biscuit: the root key stands for the pinned
    // issuer; the authority block carries capabilities, grantee key, mesh and
    // validity window; the authorizer supplies the presenting key, command and
    // clock. Both sides do decode + signature + key binding + mesh + window +
    // exact capability match. (Biscuit has no epoch watermark; ours includes
    // an in-memory one.)
    let root = KeyPair::new();
    let token = biscuit!(
        r#"
        right({cap1});
        right({cap2});
        grantee({grantee_key});
        mesh({mesh});
        check if now($t), $t >= {issued}, $t <= {expires};
        "#,
        cap1 = COMMAND,
        cap2 = "data/list",
        grantee_key = grantee.to_vec(),
        mesh = MESH,
        issued = (NOW - HOUR) as i64,
        expires = (NOW + HOUR) as i64,
    )
    .build(&root)
    .expect("biscuit builds")
    .to_base64()
    .expect("biscuit serializes");
    let root_public = root.public();
    // Biscuit's default 1 ms run limit trips on a loaded machine; the bench
    // measures cost, not the limit.
    let limits = AuthorizerLimits {
        max_time: Duration::from_secs(1),
        ..AuthorizerLimits::default()
    };
    let biscuit_allows = |presenter: &[u8; 32], op: &str| {
        let token = Biscuit::from_base64(black_box(&token), root_public).unwrap();
        authorizer!(
            r#"
            now({now});
            operation({op});
            presenter({presenter});
            allow if right($op), operation($op), grantee($k), presenter($k), mesh({mesh});
            "#,
            now = NOW as i64,
            op = op,
            presenter = presenter.to_vec(),
            mesh = MESH,
        )
        .set_limits(limits.clone())
        .build(&token)
        .unwrap()
        .authorize()
        .is_ok()
    };
    // Equivalence sanity: the biscuit refuses what the grant refuses.
    assert!(biscuit_allows(&grantee, COMMAND));
    assert!(!biscuit_allows(&[7; 32], COMMAND));
    assert!(!biscuit_allows(&grantee, "data/delete"));
    group.bench_function("biscuit_authorize", |b| {
        b.iter(|| assert!(biscuit_allows(&grantee, COMMAND)))
    });

    group.finish();
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
