//! The [`PersonaStore`] contract.

use crate::{PersonaRecord, PersonaStore, StoreError};
use continuum_wire::Trust;

fn record(id: &str, name: &str, born_at_ms: u64) -> PersonaRecord {
    PersonaRecord {
        id: id.into(),
        name: name.into(),
        born_at_ms,
        public_key: "ab".repeat(32),
        provider: "local".into(),
        model: None,
        system_prompt: String::new(),
        thinking: "default".into(),
        trust: Trust::Provisional,
        retired_at_ms: None,
        updated_at_ms: born_at_ms,
    }
}

fn is_name_conflict<T: std::fmt::Debug>(result: &Result<T, StoreError>, name: &str) -> bool {
    matches!(result, Err(StoreError::Conflict(what)) if what.contains(name))
}

/// The persona store specification, on an empty `store`: insert and get,
/// list order, id and active-name conflicts (retired personas free their
/// name), update and its not-found and conflict cases, every field kept.
pub async fn contract(store: &dyn PersonaStore) {
    assert!(
        store.list().await.unwrap().is_empty(),
        "a new store is empty"
    );
    assert_eq!(store.get("p1").await.unwrap(), None, "unknown id");

    let mut asha = record("p2", "asha", 20);
    asha.model = Some("qwen3:8b".into());
    asha.system_prompt = "You are Asha.\nBe brief.".into();
    asha.thinking = "suppress".into();
    asha.trust = Trust::Trusted;
    store.insert(asha.clone()).await.unwrap();
    store.insert(record("p1", "bo", 10)).await.unwrap();
    store.insert(record("p0", "cy", 20)).await.unwrap();
    assert_eq!(
        store.get("p2").await.unwrap(),
        Some(asha.clone()),
        "every field is kept"
    );
    let ids: Vec<String> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["p1", "p0", "p2"], "list is by birth time, then id");

    assert!(
        matches!(
            store.insert(record("p2", "other", 30)).await,
            Err(StoreError::Conflict(_))
        ),
        "a duplicate id is a conflict"
    );
    let taken = store.insert(record("p3", "asha", 30)).await;
    assert!(
        is_name_conflict(&taken, "asha"),
        "an active persona's name is taken: {taken:?}"
    );
    let taken = store.insert(record("p3", "ASHA", 30)).await;
    assert!(
        is_name_conflict(&taken, "ASHA"),
        "names are compared without case: {taken:?}"
    );
    assert_eq!(
        store.get("p3").await.unwrap(),
        None,
        "a refused insert stores nothing"
    );

    // Retiring frees the name, for new personas and for renames.
    let mut retired = asha.clone();
    retired.retired_at_ms = Some(40);
    retired.updated_at_ms = 40;
    store.update(retired.clone()).await.unwrap();
    assert_eq!(store.get("p2").await.unwrap(), Some(retired.clone()));
    store.insert(record("p3", "asha", 50)).await.unwrap();
    let mut retired_too = record("p4", "asha", 60);
    retired_too.retired_at_ms = Some(60);
    store.insert(retired_too).await.unwrap();

    let mut unretired = retired.clone();
    unretired.retired_at_ms = None;
    let clash = store.update(unretired).await;
    assert!(
        is_name_conflict(&clash, "asha"),
        "unretiring onto a taken name is a conflict: {clash:?}"
    );
    let mut renamed = record("p1", "cy", 10);
    let clash = store.update(renamed.clone()).await;
    assert!(
        is_name_conflict(&clash, "cy"),
        "renaming onto an active persona's name is a conflict: {clash:?}"
    );
    assert_eq!(
        store.get("p1").await.unwrap().unwrap().name,
        "bo",
        "a refused update changes nothing"
    );
    renamed.name = "bob".into();
    renamed.trust = Trust::Blocked;
    renamed.updated_at_ms = 70;
    store.update(renamed.clone()).await.unwrap();
    assert_eq!(
        store.get("p1").await.unwrap(),
        Some(renamed),
        "update replaces the record"
    );
    let mut same_name = record("p0", "cy", 20);
    same_name.provider = "other".into();
    store
        .update(same_name)
        .await
        .expect("keeping one's own name is no conflict");

    assert!(
        matches!(
            store.update(record("nope", "zed", 1)).await,
            Err(StoreError::NotFound(_))
        ),
        "updating an unknown id is not found"
    );
    assert_eq!(
        store.list().await.unwrap().len(),
        5,
        "retired records are listed"
    );
}
