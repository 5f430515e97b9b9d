//! The [`PeerStore`] contract (ADR 0015, Decision 3).

use crate::{Invite, PeerRecord, PeerStore, PreviousKey, StoreError, StoredCatalog};
use continuum_wire::{Access, CommandDescriptor, Trust};
use serde_json::json;

/// A distinct valid key per `n`.
fn key(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

fn peer(id: &str, name: &str, key_n: u8) -> PeerRecord {
    PeerRecord {
        id: id.into(),
        name: name.into(),
        key: key(key_n),
        generation: 0,
        previous_keys: Vec::new(),
        trust: Trust::Provisional,
        addresses: Vec::new(),
        paired_at_ms: 10,
        last_seen_ms: None,
        updated_at_ms: 10,
    }
}

fn previous(key_n: u8, generation: u32, valid_until_ms: u64) -> PreviousKey {
    PreviousKey {
        key: key(key_n),
        generation,
        valid_until_ms,
    }
}

fn invite(n: u8, expires_at_ms: u64) -> Invite {
    Invite {
        id: [n; 16],
        secret: [n ^ 0xff; 32],
        name: format!("joiner-{n}"),
        trust: Trust::Provisional,
        expires_at_ms,
    }
}

fn catalog(access: Access, names: &[&str], imported_at_ms: u64) -> StoredCatalog {
    let descriptors = names
        .iter()
        .map(|name| CommandDescriptor {
            name: (*name).into(),
            description: format!("Runs {name}."),
            access: Access::AiSafe,
            params_schema: json!({"type": "object", "properties": {"message": {"type": "string"}}}),
            result_schema: json!({"type": "object"}),
            streaming: name.contains("stream"),
            destructive: false,
            read_only: true,
        })
        .collect();
    StoredCatalog {
        access,
        descriptors,
        imported_at_ms,
    }
}

fn is_conflict<T: std::fmt::Debug>(result: &Result<T, StoreError>, what: &str) -> bool {
    matches!(result, Err(StoreError::Conflict(message)) if message.contains(what))
}

fn is_invalid<T: std::fmt::Debug>(result: &Result<T, StoreError>, pointer: &str) -> bool {
    matches!(result, Err(StoreError::Invalid { field, .. }) if field == pointer)
}

/// A record with every field set away from its default.
fn full() -> PeerRecord {
    PeerRecord {
        id: "node-a.grid:1".into(),
        name: "alpha".into(),
        key: key(1),
        generation: 2,
        previous_keys: vec![
            previous(2, 1, 1_900_000_000_500),
            previous(3, 0, 1_900_000_000_400),
        ],
        trust: Trust::Trusted,
        addresses: vec![
            "[::1]:7001".into(),
            "10.0.0.2:7001".into(),
            "a.example:443".into(),
        ],
        paired_at_ms: 1_800_000_000_000,
        last_seen_ms: Some(1_900_000_000_000),
        updated_at_ms: 1_800_000_000_001,
    }
}

/// The peer store specification, on an empty `store`: every field kept,
/// list by name, id, name and key conflicts (previous keys included),
/// input rules with the offending field, update, `seen`, catalogs (dropped
/// with their peer), and one-time, expiring invites, including two
/// concurrent takes of one invite.
pub async fn contract(store: &dyn PeerStore) {
    starts_empty(store).await;
    records_and_conflicts(store).await;
    input_is_checked(store).await;
    updates(store).await;
    sightings(store).await;
    catalogs_go_with_their_peer(store).await;
    invites_are_one_time(store).await;
}

async fn starts_empty(store: &dyn PeerStore) {
    assert!(
        store.list().await.unwrap().is_empty(),
        "a new store is empty"
    );
    assert_eq!(store.get("node-a").await.unwrap(), None, "unknown id");
    assert!(store.catalogs().await.unwrap().is_empty(), "no catalogs");
    assert_eq!(store.open_invites(0).await.unwrap(), 0, "no invites");
    assert_eq!(store.take_invite(&[0; 16], 0).await.unwrap(), None);
}

async fn records_and_conflicts(store: &dyn PeerStore) {
    let alpha = full();
    store.insert(alpha.clone()).await.unwrap();
    assert_eq!(
        store.get(&alpha.id).await.unwrap(),
        Some(alpha.clone()),
        "every field is kept, previous keys and addresses in order"
    );
    store.insert(peer("node-c", "charlie", 4)).await.unwrap();
    store.insert(peer("node-b", "bravo", 5)).await.unwrap();
    let names = |peers: Vec<PeerRecord>| peers.into_iter().map(|p| p.name).collect::<Vec<_>>();
    assert_eq!(
        names(store.list().await.unwrap()),
        ["alpha", "bravo", "charlie"],
        "list is by name"
    );

    let taken = store.insert(peer(&alpha.id, "delta", 6)).await;
    assert!(is_conflict(&taken, &alpha.id), "same id: {taken:?}");
    let taken = store.insert(peer("node-d", "alpha", 6)).await;
    assert!(is_conflict(&taken, "'alpha'"), "same name: {taken:?}");
    // Names are lowercase only, so no two can differ by case alone.
    let taken = store.insert(peer("node-d", "ALPHA", 6)).await;
    assert!(is_invalid(&taken, "/name"), "a name in capitals: {taken:?}");
    let taken = store.insert(peer("node-d", "delta", 1)).await;
    assert!(is_conflict(&taken, &key(1)), "another's key: {taken:?}");
    let taken = store.insert(peer("node-d", "delta", 3)).await;
    assert!(
        is_conflict(&taken, &key(3)),
        "a key in another peer's previous keys: {taken:?}"
    );
    let mut holds_current = peer("node-d", "delta", 6);
    holds_current.previous_keys = vec![previous(5, 0, 1)];
    let taken = store.insert(holds_current).await;
    assert!(
        is_conflict(&taken, &key(5)),
        "a previous key another peer holds as current: {taken:?}"
    );
    assert_eq!(
        store.get("node-d").await.unwrap(),
        None,
        "a refused insert stores nothing"
    );
    assert_eq!(store.list().await.unwrap().len(), 3);
}

async fn input_is_checked(store: &dyn PeerStore) {
    /// A field's JSON pointer, and how to break it.
    type Case = (&'static str, fn(&mut PeerRecord));
    let cases: Vec<Case> = vec![
        ("/id", |p| p.id = String::new()),
        ("/id", |p| p.id = "node e".into()),
        ("/id", |p| p.id = "n".repeat(129)),
        ("/name", |p| p.name = String::new()),
        ("/name", |p| p.name = "echo_1".into()),
        ("/name", |p| p.name = "Echo".into()),
        ("/name", |p| p.name = "n".repeat(33)),
        ("/name", |p| p.name = "any".into()),
        ("/key", |p| p.key = "ab".repeat(31)),
        ("/key", |p| p.key = "AB".repeat(32)),
        ("/key", |p| p.key = "zz".repeat(32)),
        ("/trust", |p| p.trust = Trust::Owner),
        ("/previousKeys", |p| {
            p.previous_keys = (20..25).map(|n| previous(n, 0, 1)).collect()
        }),
        ("/previousKeys/1/key", |p| {
            p.previous_keys = vec![previous(20, 0, 1), previous(20, 0, 1)];
            p.previous_keys[1].key = "00".into();
        }),
        ("/previousKeys/0/key", |p| {
            p.previous_keys = vec![previous(7, 0, 1)]
        }),
        ("/previousKeys/1/key", |p| {
            p.previous_keys = vec![previous(20, 0, 1), previous(20, 1, 2)]
        }),
        ("/addresses", |p| {
            p.addresses = (1..=9).map(|n| format!("h{n}:7001")).collect()
        }),
        ("/addresses/1", |p| {
            p.addresses = vec!["h:1".into(), "h:1".into()]
        }),
    ];
    for (pointer, break_it) in cases {
        let mut bad = peer("node-e", "echo", 7);
        break_it(&mut bad);
        let refused = store.insert(bad.clone()).await;
        assert!(is_invalid(&refused, pointer), "{pointer}: {refused:?}");
        if pointer != "/id" {
            bad.id = "node-a.grid:1".into();
            let refused = store.update(bad).await;
            assert!(
                is_invalid(&refused, pointer),
                "update {pointer}: {refused:?}"
            );
        }
    }
    for address in [
        "nohost", ":7001", "h:0", "h:65536", "h:port", "::1:7001", "[]:7001", "h :7001", "h:7001\n",
    ] {
        let mut bad = peer("node-e", "echo", 7);
        bad.addresses = vec!["ok.example:1".into(), address.into()];
        let refused = store.insert(bad).await;
        assert!(
            is_invalid(&refused, "/addresses/1"),
            "{address:?}: {refused:?}"
        );
    }
    assert_eq!(
        store.get("node-e").await.unwrap(),
        None,
        "nothing invalid was stored"
    );
    assert_eq!(
        store.get("node-a.grid:1").await.unwrap(),
        Some(full()),
        "no invalid update changed anything"
    );
}

async fn updates(store: &dyn PeerStore) {
    let bravo = store.get("node-b").await.unwrap().unwrap();
    let missing = store.update(peer("node-z", "zulu", 9)).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "updating an unknown id: {missing:?}"
    );
    let clash = store
        .update(PeerRecord {
            name: "alpha".into(),
            ..bravo.clone()
        })
        .await;
    assert!(is_conflict(&clash, "'alpha'"), "another's name: {clash:?}");
    let clash = store
        .update(PeerRecord {
            key: key(2),
            ..bravo.clone()
        })
        .await;
    assert!(
        is_conflict(&clash, &key(2)),
        "another's previous key: {clash:?}"
    );
    let clash = store
        .update(PeerRecord {
            previous_keys: vec![previous(1, 0, 1)],
            ..bravo.clone()
        })
        .await;
    assert!(
        is_conflict(&clash, &key(1)),
        "another's current key: {clash:?}"
    );
    assert_eq!(
        store.get("node-b").await.unwrap(),
        Some(bravo.clone()),
        "a refused update changes nothing"
    );

    // A rotation: the old key joins the previous ones; the limits are
    // inclusive.
    let rotated = PeerRecord {
        name: "bravo-2".into(),
        key: key(8),
        generation: 4,
        previous_keys: vec![
            previous(5, 3, 40),
            previous(30, 2, 30),
            previous(31, 1, 20),
            previous(32, 0, 10),
        ],
        trust: Trust::Blocked,
        addresses: (1..=8).map(|n| format!("10.0.0.{n}:7001")).collect(),
        updated_at_ms: 50,
        ..bravo.clone()
    };
    store.update(rotated.clone()).await.unwrap();
    assert_eq!(
        store.get("node-b").await.unwrap(),
        Some(rotated.clone()),
        "update replaces every field"
    );
    store
        .update(rotated.clone())
        .await
        .expect("keeping one's own name and keys is no conflict");
    let taken = store.insert(peer("node-d", "delta", 5)).await;
    assert!(
        is_conflict(&taken, &key(5)),
        "a rotated-out key is still held: {taken:?}"
    );

    // Keys and names a peer drops are free again.
    store
        .update(PeerRecord {
            name: "bravo".into(),
            previous_keys: Vec::new(),
            ..rotated
        })
        .await
        .unwrap();
    store
        .insert(peer("node-d", "bravo-2", 5))
        .await
        .expect("a dropped key and name are free");
    assert!(store.remove("node-d").await.unwrap());
}

async fn sightings(store: &dyn PeerStore) {
    let missing = store.seen("node-z", 1, None).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "an unknown peer: {missing:?}"
    );
    let bad = store.seen("node-c", 1, Some("no port".into())).await;
    assert!(is_invalid(&bad, "/address"), "{bad:?}");
    let before = store.get("node-c").await.unwrap().unwrap();
    assert!(before.addresses.is_empty() && before.last_seen_ms.is_none());

    let seen = |at_ms, address: Option<&str>| store.seen("node-c", at_ms, address.map(Into::into));
    let now = || async { store.get("node-c").await.unwrap().unwrap() };
    seen(100, Some("h1:1")).await.unwrap();
    seen(90, Some("h2:1")).await.unwrap();
    let after = now().await;
    assert_eq!(after.addresses, ["h2:1", "h1:1"], "the working one first");
    assert_eq!(after.last_seen_ms, Some(100), "last seen never moves back");
    seen(110, Some("h1:1")).await.unwrap();
    seen(120, None).await.unwrap();
    let after = now().await;
    assert_eq!(after.addresses, ["h1:1", "h2:1"], "no address twice");
    assert_eq!(after.last_seen_ms, Some(120));
    for n in 3..=9 {
        seen(130, Some(&format!("h{n}:1"))).await.unwrap();
    }
    let after = now().await;
    assert_eq!(
        after.addresses,
        ["h9:1", "h8:1", "h7:1", "h6:1", "h5:1", "h4:1", "h3:1", "h1:1"],
        "the oldest is dropped past 8"
    );
    assert_eq!(
        after.updated_at_ms, before.updated_at_ms,
        "contact is not a change"
    );
}

async fn catalogs_go_with_their_peer(store: &dyn PeerStore) {
    let alpha = full();
    let missing = store
        .set_catalog("node-z", Some(catalog(Access::Trusted, &["ping"], 1)))
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "a catalog needs its peer: {missing:?}"
    );
    let first = catalog(Access::OwnerOnly, &["ping", "system/info"], 60);
    store
        .set_catalog(&alpha.id, Some(first.clone()))
        .await
        .unwrap();
    let charlie = catalog(Access::AiSafe, &["data/stream"], 61);
    store
        .set_catalog("node-c", Some(charlie.clone()))
        .await
        .unwrap();
    assert_eq!(
        store.catalogs().await.unwrap(),
        [
            (alpha.id.clone(), first.clone()),
            ("node-c".to_owned(), charlie.clone())
        ],
        "every descriptor field kept, by peer id"
    );
    let second = catalog(Access::Trusted, &["ping"], 70);
    store
        .set_catalog(&alpha.id, Some(second.clone()))
        .await
        .unwrap();
    store.set_catalog("node-c", None).await.unwrap();
    assert_eq!(
        store.catalogs().await.unwrap(),
        [(alpha.id.clone(), second)],
        "replaced, and dropped"
    );

    assert!(store.remove(&alpha.id).await.unwrap(), "forget");
    assert!(!store.remove(&alpha.id).await.unwrap(), "already gone");
    assert_eq!(store.get(&alpha.id).await.unwrap(), None);
    assert!(
        store.catalogs().await.unwrap().is_empty(),
        "forgetting drops the catalog"
    );
    // Coming back under the same id and keys starts clean.
    store.insert(alpha.clone()).await.unwrap();
    assert!(
        store.catalogs().await.unwrap().is_empty(),
        "no catalog comes back"
    );
}

async fn invites_are_one_time(store: &dyn PeerStore) {
    store.add_invite(invite(1, 1_000)).await.unwrap();
    store.add_invite(invite(2, 2_000)).await.unwrap();
    let again = store.add_invite(invite(1, 5_000)).await;
    assert!(is_conflict(&again, &hex::encode([1u8; 16])), "{again:?}");
    let owner = store
        .add_invite(Invite {
            trust: Trust::Owner,
            ..invite(3, 5_000)
        })
        .await;
    assert!(is_invalid(&owner, "/trust"), "{owner:?}");
    let named = store
        .add_invite(Invite {
            name: "No".into(),
            ..invite(3, 5_000)
        })
        .await;
    assert!(is_invalid(&named, "/name"), "{named:?}");
    assert!(
        !format!("{:?}", invite(1, 1)).contains(&hex::encode([0xfe_u8; 32])),
        "Debug never shows the secret"
    );

    assert_eq!(store.open_invites(999).await.unwrap(), 2);
    assert_eq!(
        store.open_invites(1_000).await.unwrap(),
        1,
        "an invite is dead at its expiry"
    );
    assert_eq!(
        store.take_invite(&[1; 16], 500).await.unwrap(),
        None,
        "an expired invite is deleted, not just hidden"
    );
    assert_eq!(
        store.take_invite(&[2; 16], 1_500).await.unwrap(),
        Some(invite(2, 2_000)),
        "every field kept"
    );
    assert_eq!(
        store.take_invite(&[2; 16], 1_500).await.unwrap(),
        None,
        "one use"
    );
    store.add_invite(invite(3, 3_000)).await.unwrap();
    assert_eq!(
        store.take_invite(&[3; 16], 3_000).await.unwrap(),
        None,
        "expired at take"
    );
    assert_eq!(
        store.take_invite(&[3; 16], 0).await.unwrap(),
        None,
        "and deleted by it"
    );
    assert_eq!(store.open_invites(0).await.unwrap(), 0);

    for n in 10..42 {
        store.add_invite(invite(n, u64::MAX)).await.unwrap();
    }
    assert_eq!(
        store.open_invites(u64::MAX - 1).await.unwrap(),
        32,
        "expiry compares as u64"
    );
    for n in 10..42 {
        let (a, b) = tokio::join!(
            store.take_invite(&[n; 16], 5_000),
            store.take_invite(&[n; 16], 5_000)
        );
        let won: Vec<Invite> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
        assert_eq!(
            won,
            [invite(n, u64::MAX)],
            "two concurrent takes, one winner"
        );
    }
    assert_eq!(store.open_invites(5_000).await.unwrap(), 0);
}

/// What a durable backend must keep across a reopen: records with every
/// field, catalogs, live invites, and the name, key and one-use rules.
/// `open` opens the same store each time; the previous one is dropped first.
pub async fn survives_reopen(open: &dyn Fn() -> Box<dyn PeerStore>) {
    let alpha = full();
    let shelf = catalog(Access::Trusted, &["ping"], 5);
    {
        let store = open();
        store.insert(alpha.clone()).await.unwrap();
        store.insert(peer("node-b", "bravo", 5)).await.unwrap();
        store
            .set_catalog(&alpha.id, Some(shelf.clone()))
            .await
            .unwrap();
        store.add_invite(invite(1, 1_000)).await.unwrap();
        store
            .seen("node-b", 7, Some("b.example:1".into()))
            .await
            .unwrap();
    }
    {
        let store = open();
        assert_eq!(store.get(&alpha.id).await.unwrap(), Some(alpha.clone()));
        let listed = store.list().await.unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[1].addresses, ["b.example:1"]);
        assert_eq!(listed[1].last_seen_ms, Some(7));
        assert_eq!(store.catalogs().await.unwrap(), [(alpha.id.clone(), shelf)]);
        assert_eq!(store.open_invites(0).await.unwrap(), 1);
        let taken = store.insert(peer("node-c", "alpha", 6)).await;
        assert!(is_conflict(&taken, "'alpha'"), "{taken:?}");
        let taken = store.insert(peer("node-c", "charlie", 3)).await;
        assert!(is_conflict(&taken, &key(3)), "{taken:?}");
        assert_eq!(
            store.take_invite(&[1; 16], 0).await.unwrap(),
            Some(invite(1, 1_000))
        );
    }
    let store = open();
    assert_eq!(
        store.take_invite(&[1; 16], 0).await.unwrap(),
        None,
        "a used invite stays used"
    );
}
