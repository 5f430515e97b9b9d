//! What opening one vault blob costs, next to the raw AEAD open of the
//! same bytes, in one run.
//!
//! `cargo bench -p continuum-vault --bench open`
//!
//! - `vault_open/raw_xchacha20poly1305`: the AEAD primitive alone, with a
//!   key already expanded (the floor).
//! - `vault_open/open_cached_prk`: `VaultKey::open`: the per-item HKDF
//!   expand from the cached PRK, the AEAD, the binding's associated data.
//! - `vault_open/open_new_vault_key`: the same, building the `VaultKey`
//!   (the HKDF extract) each time: what caching the PRK saves.
//! - `vault_open/seal`: `VaultKey::seal` (OS randomness included).

#![allow(missing_docs)] // criterion's macros generate undocumented items

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use continuum_vault::{Binding, MasterKey, VaultKey};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

const SECRET: &[u8] = b"sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef01234567";

fn benches(c: &mut Criterion) {
    let binding = Binding {
        wallet: "persona/01a208d8a7b60000016a65815a",
        service: "openrouter",
        name: "default",
    };
    let master = MasterKey::from_bytes([7; 32]);
    let vault = VaultKey::new(&master);
    let blob = vault.seal(&binding, SECRET).unwrap();

    let raw_key = [9u8; 32];
    let raw = XChaCha20Poly1305::new_from_slice(&raw_key).unwrap();
    let nonce = XNonce::from([3u8; 24]);
    let aad = b"continuum-vault/v1/aad-of-similar-length-0123456789".to_vec();
    let sealed = raw
        .encrypt(
            &nonce,
            Payload {
                msg: SECRET,
                aad: &aad,
            },
        )
        .unwrap();

    let mut group = c.benchmark_group("vault_open");
    group.bench_function("raw_xchacha20poly1305", |b| {
        b.iter(|| {
            let cipher = XChaCha20Poly1305::new_from_slice(black_box(&raw_key)).unwrap();
            black_box(
                cipher
                    .decrypt(
                        &nonce,
                        Payload {
                            msg: &sealed,
                            aad: &aad,
                        },
                    )
                    .unwrap(),
            )
        })
    });
    group.bench_function("open_cached_prk", |b| {
        b.iter(|| black_box(vault.open(black_box(&binding), black_box(&blob)).unwrap()))
    });
    group.bench_function("open_new_vault_key", |b| {
        b.iter(|| {
            let fresh = VaultKey::new(black_box(&master));
            black_box(fresh.open(&binding, &blob).unwrap())
        })
    });
    group.bench_function("seal", |b| {
        b.iter(|| black_box(vault.seal(&binding, black_box(SECRET)).unwrap()))
    });
    group.finish();
}

criterion_group!(vault, benches);
criterion_main!(vault);
