//! The [`CredentialStore`] contract.

use crate::{CredentialId, CredentialRecord, CredentialStore, StoreError};

fn id(wallet: &str, service: &str, name: &str) -> CredentialId {
    CredentialId::new(wallet, service, name).unwrap()
}

fn record(id: CredentialId, blob: &[u8], at_ms: u64) -> CredentialRecord {
    CredentialRecord {
        id,
        blob: blob.to_vec(),
        created_at_ms: at_ms,
        updated_at_ms: at_ms,
    }
}

/// The credential store specification, on an empty `store`: put and get
/// every field, replace keeps the creation time, listing by wallet scope
/// (a wallet and what is below it, never a sibling that shares a prefix),
/// sorted and without blobs, delete, and label checks.
pub async fn contract(store: &dyn CredentialStore) {
    assert!(
        store.list(None).await.unwrap().is_empty(),
        "a new store is empty"
    );
    let key = id("shared", "openrouter", "default");
    assert_eq!(store.get(&key).await.unwrap(), None, "unknown id");

    let blob: Vec<u8> = (0..=255u8).collect();
    assert!(
        !store.put(record(key.clone(), &blob, 10)).await.unwrap(),
        "a new item"
    );
    assert_eq!(
        store.get(&key).await.unwrap(),
        Some(record(key.clone(), &blob, 10)),
        "every byte and field is kept"
    );
    assert!(
        store.put(record(key.clone(), b"second", 20)).await.unwrap(),
        "a replacement"
    );
    let replaced = store.get(&key).await.unwrap().unwrap();
    assert_eq!(replaced.blob, b"second");
    assert_eq!(
        (replaced.created_at_ms, replaced.updated_at_ms),
        (10, 20),
        "creation time kept"
    );

    for (wallet, service, name) in [
        ("persona/p1", "openrouter", "default"),
        ("persona/p1/sub", "anthropic", "k"),
        ("persona/p10", "openrouter", "default"),
        ("personas", "openrouter", "default"),
        ("owner", "anthropic", "default"),
    ] {
        store
            .put(record(id(wallet, service, name), b"x", 30))
            .await
            .unwrap();
    }
    let wallets = |items: Vec<crate::CredentialInfo>| -> Vec<String> {
        items
            .into_iter()
            .map(|i| format!("{}:{}/{}", i.wallet, i.service, i.name))
            .collect()
    };
    assert_eq!(
        wallets(store.list(Some("persona/p1")).await.unwrap()),
        [
            "persona/p1:openrouter/default",
            "persona/p1/sub:anthropic/k"
        ],
        "a wallet and below it, never persona/p10"
    );
    assert_eq!(
        wallets(store.list(None).await.unwrap()),
        [
            "owner:anthropic/default",
            "persona/p1:openrouter/default",
            "persona/p1/sub:anthropic/k",
            "persona/p10:openrouter/default",
            "personas:openrouter/default",
            "shared:openrouter/default",
        ],
        "everything, sorted by wallet, service, name"
    );
    assert!(store.list(Some("nobody")).await.unwrap().is_empty());

    assert!(store.delete(&key).await.unwrap());
    assert!(!store.delete(&key).await.unwrap(), "already gone");
    assert_eq!(store.get(&key).await.unwrap(), None);

    for (wallet, service, name, field) in [
        ("", "s", "n", "/wallet"),
        ("a//b", "s", "n", "/wallet"),
        ("w", "s/x", "n", "/service"),
        ("w", "s", "n n", "/name"),
        ("w", "s", &"n".repeat(129), "/name"),
    ] {
        assert!(
            matches!(CredentialId::new(wallet, service, name), Err(StoreError::Invalid { field: f, .. }) if f == field),
            "{wallet:?} {service:?} {name:?}"
        );
    }
}
