//! What authorizing one presented grant costs in the daemon, next to the raw
//! signature check and an equivalent biscuit token, in one run.
//!
//! `cargo bench -p continuum-core --bench grants` (ratios: `scripts/bench/grants.sh`)
//!
//! - `grant_auth/ed25519_verify_strict`: the signature primitive alone.
//! - `grant_auth/full_cold_sqlite`: decode + issuer + strict signature + key
//!   binding + mesh + window + SQLite epoch watermark + capability
//!   (`continuum_grant::authorize_text` on the daemon's `SqliteWatermarks`).
//! - `grant_auth/full_cold_memory`: the same on the in-memory watermarks.
//! - `grant_auth/daemon_warm_sqlite`: the daemon's `GrantAuthorizer` on a grant
//!   it has seen before: the signature proof is cached, every other check runs.
//! - `grant_auth/sqlite_watermark_advance`: one watermark write (a new epoch).
//! - `grant_auth/biscuit_authorize`: an equivalent biscuit (decode, signature,
//!   Datalog authorizer with presenter, operation, mesh and clock).

#![allow(missing_docs)] // criterion's macros generate undocumented items

use biscuit_auth::macros::{authorizer, biscuit};
use biscuit_auth::{AuthorizerLimits, Biscuit, KeyPair};
use continuum_grant::{
    authorize_text, issue_grant, EpochWatermarks, GrantSpec, InMemoryWatermarks, VerifyPolicy,
};
use continuum_grid::{GrantAuthorizer, MAX_CLOCK_SKEW_MS};
use continuum_store::SqliteWatermarks;
use criterion::{criterion_group, criterion_main, Criterion};
use ed25519_dalek::{Signature, SigningKey};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

const NOW: u64 = 1_800_000_000_000;
const HOUR: u64 = 3_600_000;
const MESH: &str = "mesh-alpha";
const COMMAND: &str = "ai/generate";
const CAPABILITIES: [&str; 3] = ["ai/generate", "data/list", "system/info"];

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
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
            capabilities: CAPABILITIES.iter().map(|c| c.to_string()).collect(),
            issued_at_ms: NOW - HOUR,
            expires_at_ms: NOW + HOUR,
            epoch: 5,
        },
    )
    .unwrap();
    let text = grant.to_text();
    let policy = VerifyPolicy {
        trusted_issuers: vec![issuer.verifying_key().to_bytes()],
        expected_mesh: MESH.into(),
        max_clock_skew_ms: MAX_CLOCK_SKEW_MS,
    };
    let sqlite = Arc::new(SqliteWatermarks::open(&dir.path().join("w.sqlite")).unwrap());
    let memory = InMemoryWatermarks::default();
    let daemon = GrantAuthorizer::new(policy.clone(), sqlite.clone() as Arc<dyn EpochWatermarks>);

    let mut group = c.benchmark_group("grant_auth");
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
    group.bench_function("full_cold_sqlite", |b| {
        b.iter(|| {
            authorize_text(
                black_box(&text),
                &grantee,
                COMMAND,
                &policy,
                sqlite.as_ref(),
                NOW,
            )
            .unwrap()
        })
    });
    group.bench_function("full_cold_memory", |b| {
        b.iter(|| {
            authorize_text(black_box(&text), &grantee, COMMAND, &policy, &memory, NOW).unwrap()
        })
    });
    daemon.authorize(&text, &grantee, COMMAND, NOW).unwrap();
    group.bench_function("daemon_warm_sqlite", |b| {
        b.iter(|| {
            daemon
                .authorize(black_box(&text), &grantee, COMMAND, NOW)
                .unwrap()
        })
    });
    let mut epoch = 1_000u64;
    group.bench_function("sqlite_watermark_advance", |b| {
        b.iter(|| {
            epoch += 1;
            sqlite
                .check_and_advance("peer-writer", epoch, NOW + HOUR, NOW)
                .unwrap()
        })
    });

    // The same statement as a biscuit: the root key stands for the pinned
    // issuer; the authority block carries capabilities, grantee key, mesh and
    // validity window; the authorizer supplies presenter, command and clock.
    // Biscuit has no epoch watermark; ours above includes one.
    let root = KeyPair::new();
    let token = biscuit!(
        r#"
        right({cap1});
        right({cap2});
        right({cap3});
        grantee({grantee_key});
        mesh({mesh});
        check if now($t), $t >= {issued}, $t <= {expires};
        "#,
        cap1 = CAPABILITIES[0],
        cap2 = CAPABILITIES[1],
        cap3 = CAPABILITIES[2],
        grantee_key = grantee.to_vec(),
        mesh = MESH,
        issued = (NOW - HOUR) as i64,
        expires = (NOW + HOUR) as i64,
    )
    .build(&root)
    .unwrap()
    .to_base64()
    .unwrap();
    let root_public = root.public();
    // Biscuit's default 1 ms run limit can trip on a loaded machine; this
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

criterion_group! {
    name = grant_benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(4));
    targets = benches
}
criterion_main!(grant_benches);
