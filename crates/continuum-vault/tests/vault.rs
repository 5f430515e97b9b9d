//! The vault's promises: a blob opens only with its key, for its wallet,
//! service and name, unaltered; the format is pinned by vectors.

use continuum_vault::{Binding, MasterKey, VaultError, VaultKey, FORMAT_VERSION};
use proptest::prelude::*;
use serde::Deserialize;

fn key(byte: u8) -> VaultKey {
    VaultKey::new(&MasterKey::from_bytes([byte; 32]))
}

const ADA: Binding<'static> = Binding {
    wallet: "persona-ada",
    service: "openrouter",
    name: "default",
};

#[test]
fn a_sealed_secret_opens_with_its_key_and_binding() {
    let vault = key(7);
    let blob = vault.seal(&ADA, b"sk-or-v1-secret").unwrap();
    assert_eq!(blob[0], FORMAT_VERSION);
    assert_eq!(
        vault.open(&ADA, &blob).unwrap().expose(),
        b"sk-or-v1-secret"
    );
    // Fresh salt and nonce every time: the same secret never seals the same.
    assert_ne!(vault.seal(&ADA, b"sk-or-v1-secret").unwrap(), blob);
}

#[test]
fn wrong_wallet_service_name_or_key_do_not_open() {
    let vault = key(7);
    let blob = vault.seal(&ADA, b"sk-or-v1-secret").unwrap();
    let elsewhere = [
        Binding {
            wallet: "persona-bob",
            ..ADA
        },
        Binding {
            service: "anthropic",
            ..ADA
        },
        Binding {
            name: "other",
            ..ADA
        },
        // Labels are length-prefixed: moving a byte between them is a change.
        Binding {
            wallet: "persona-adao",
            service: "penrouter",
            ..ADA
        },
    ];
    for binding in elsewhere {
        assert_eq!(
            vault.open(&binding, &blob).unwrap_err(),
            VaultError::Unopenable,
            "{binding:?}"
        );
    }
    assert_eq!(
        key(8).open(&ADA, &blob).unwrap_err(),
        VaultError::Unopenable
    );
}

#[test]
fn every_flipped_bit_is_caught() {
    let vault = key(7);
    let blob = vault.seal(&ADA, b"sk").unwrap();
    for index in 0..blob.len() {
        for bit in 0..8 {
            let mut bent = blob.clone();
            bent[index] ^= 1 << bit;
            let err = vault.open(&ADA, &bent).unwrap_err();
            if index == 0 {
                assert_eq!(err, VaultError::Malformed("unknown version"));
            } else {
                assert_eq!(err, VaultError::Unopenable, "byte {index} bit {bit}");
            }
        }
    }
}

#[test]
fn short_blobs_bad_labels_and_bad_secrets_are_typed_errors() {
    let vault = key(7);
    let blob = vault.seal(&ADA, b"sk").unwrap();
    for len in 0..blob.len() {
        assert!(vault.open(&ADA, &blob[..len]).is_err(), "{len}");
    }
    let long = "x".repeat(256);
    assert_eq!(
        vault
            .seal(&Binding { wallet: "", ..ADA }, b"sk")
            .unwrap_err(),
        VaultError::BadLabel("wallet")
    );
    assert_eq!(
        vault
            .seal(&Binding { name: &long, ..ADA }, b"sk")
            .unwrap_err(),
        VaultError::BadLabel("name")
    );
    assert_eq!(vault.seal(&ADA, b"").unwrap_err(), VaultError::BadSecret);
    assert_eq!(
        vault.seal(&ADA, &vec![1; 64 * 1024 + 1]).unwrap_err(),
        VaultError::BadSecret
    );
}

#[test]
fn secrets_and_keys_never_print() {
    let vault = key(7);
    let secret = vault
        .open(&ADA, &vault.seal(&ADA, b"hunter2").unwrap())
        .unwrap();
    let shown = format!("{secret:?} {:?} {vault:?}", MasterKey::from_bytes([9; 32]));
    assert!(
        !shown.contains("hunter2") && !shown.contains("09"),
        "{shown}"
    );
}

#[derive(Deserialize)]
struct Vectors {
    seal: Vec<SealVector>,
    passphrase: Vec<PassphraseVector>,
}

#[derive(Deserialize)]
struct SealVector {
    master_key: String,
    wallet: String,
    service: String,
    name: String,
    salt: String,
    nonce: String,
    plaintext: String,
    blob: String,
}

#[derive(Deserialize)]
struct PassphraseVector {
    passphrase: String,
    salt: String,
    master_key: String,
}

fn vectors() -> Vectors {
    let text = include_str!("../test-vectors/v1.json");
    serde_json::from_str(text).unwrap()
}

fn array<const N: usize>(text: &str) -> [u8; N] {
    hex::decode(text).unwrap().try_into().unwrap()
}

#[test]
fn the_format_matches_its_vectors() {
    for v in vectors().seal {
        let vault = VaultKey::new(&MasterKey::from_bytes(array(&v.master_key)));
        let binding = Binding {
            wallet: &v.wallet,
            service: &v.service,
            name: &v.name,
        };
        let blob = vault
            .seal_with(
                &binding,
                v.plaintext.as_bytes(),
                &array(&v.salt),
                &array(&v.nonce),
            )
            .unwrap();
        assert_eq!(
            hex::encode(&blob),
            v.blob,
            "{}/{}/{}",
            v.wallet,
            v.service,
            v.name
        );
        assert_eq!(
            vault.open(&binding, &blob).unwrap().expose(),
            v.plaintext.as_bytes()
        );
    }
}

#[test]
fn passphrases_stretch_to_their_vectors() {
    for v in vectors().passphrase {
        let master = MasterKey::from_passphrase(v.passphrase.as_bytes(), &array(&v.salt)).unwrap();
        assert_eq!(hex::encode(master.expose_bytes()), v.master_key);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_secret_round_trips_and_any_other_wallet_fails(
        secret in proptest::collection::vec(any::<u8>(), 1..512),
        wallet in "[a-z0-9-]{1,40}",
    ) {
        let vault = key(3);
        let binding = Binding { wallet: &wallet, ..ADA };
        let blob = vault.seal(&binding, &secret).unwrap();
        let opened = vault.open(&binding, &blob).unwrap();
        prop_assert_eq!(opened.expose(), &secret[..]);
        let other = format!("{wallet}x");
        prop_assert_eq!(
            vault.open(&Binding { wallet: &other, ..ADA }, &blob).unwrap_err(),
            VaultError::Unopenable
        );
    }
}
