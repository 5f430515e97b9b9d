//! The [`MemoryStore`] contract.

use crate::{Memory, MemoryStore, NewMemory, StoreError, MAX_MEMORY_BYTES, MAX_TAGS};
use std::time::Duration;

fn new(persona_id: &str, text: &str, tags: &[&str]) -> NewMemory {
    NewMemory {
        persona_id: persona_id.into(),
        text: text.into(),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
    }
}

async fn remember(store: &dyn MemoryStore, persona_id: &str, text: &str) -> Memory {
    store.remember(new(persona_id, text, &[])).await.unwrap()
}

async fn recalled(store: &dyn MemoryStore, persona_id: &str, query: &str) -> Vec<String> {
    let found = store.recall(persona_id, query, 10).await.unwrap();
    found.into_iter().map(|r| r.memory.text).collect()
}

fn is_invalid<T: std::fmt::Debug>(result: &Result<T, StoreError>, field: &str) -> bool {
    matches!(result, Err(StoreError::Invalid { field: f, .. }) if f == field)
}

/// A pause long enough for the clock to move, so two memories differ in age.
async fn tick() {
    tokio::time::sleep(Duration::from_millis(3)).await;
}

/// The memory store specification, on an empty `store`: validation, ranked
/// recall (relevance first, recency on ties, query text never parsed as
/// syntax), recent, forget and count, each scoped to one persona.
pub async fn contract(store: &dyn MemoryStore) {
    validation(store).await;
    ranking(store).await;
    hostile_queries(store).await;
    scoping(store).await;
}

async fn validation(store: &dyn MemoryStore) {
    let cases = [
        (new("", "text", &[]), "/persona"),
        (new("p-v", "", &[]), "/text"),
        (new("p-v", " \n\t", &[]), "/text"),
        (new("p-v", &"a".repeat(MAX_MEMORY_BYTES + 1), &[]), "/text"),
        (new("p-v", "text", &[""]), "/tags"),
        (new("p-v", "text", &[&"t".repeat(65)]), "/tags"),
        (
            NewMemory {
                tags: vec!["t".into(); MAX_TAGS + 1],
                ..new("p-v", "text", &[])
            },
            "/tags",
        ),
    ];
    for (memory, field) in cases {
        let result = store.remember(memory.clone()).await;
        assert!(
            is_invalid(&result, field),
            "{memory:?} is invalid at {field}: {result:?}"
        );
    }
    assert_eq!(
        store.count("p-v").await.unwrap(),
        0,
        "nothing invalid is stored"
    );

    let largest = store
        .remember(NewMemory {
            tags: vec!["t".repeat(64); MAX_TAGS],
            ..new("p-v", &"a ".repeat(MAX_MEMORY_BYTES / 2), &[])
        })
        .await
        .expect("text of exactly the limit, the most tags, the longest tag");
    let before = crate::now_ms();
    let memory = store
        .remember(new(
            "p-v",
            "Joel's birthday is 3 March",
            &["family", "dates"],
        ))
        .await
        .unwrap();
    assert_eq!(memory.persona_id, "p-v");
    assert_eq!(memory.text, "Joel's birthday is 3 March");
    assert_eq!(memory.tags, ["family", "dates"]);
    assert!(memory.created_at_ms >= before && memory.created_at_ms <= crate::now_ms());
    assert!(crate::id_time_ms(&memory.id).is_some(), "ids are new_id()s");
    assert_ne!(memory.id, largest.id);
    assert_eq!(store.count("p-v").await.unwrap(), 2);
    assert_eq!(
        store.recent("p-v", 10).await.unwrap(),
        [memory, largest],
        "recent is newest first, every field kept"
    );
}

async fn ranking(store: &dyn MemoryStore) {
    let p = "p-rank";
    for text in [
        "The cat sleeps on the red sofa",
        "My favourite colour is deep blue",
        "The owner's daughter is called Mia",
        "Blue whales are the largest animals",
        "Tomorrow the owner flies to Lisbon",
    ] {
        remember(store, p, text).await;
    }
    store
        .remember(new(p, "Planted tomatoes in spring", &["gardening"]))
        .await
        .unwrap();

    let found = recalled(store, p, "What is my favourite colour?").await;
    assert_eq!(
        found.first().map(String::as_str),
        Some("My favourite colour is deep blue"),
        "{found:?}"
    );
    let found = recalled(store, p, "DAUGHTER name").await;
    assert_eq!(
        found,
        ["The owner's daughter is called Mia"],
        "case does not matter; only sharing memories come back"
    );
    assert_eq!(
        recalled(store, p, "gardening").await,
        ["Planted tomatoes in spring"],
        "tags are recalled by"
    );
    assert!(
        recalled(store, p, "quantum chromodynamics")
            .await
            .is_empty(),
        "no shared word, nothing recalled"
    );
    assert!(
        recalled(store, p, "a b c ! ?").await.is_empty(),
        "one-letter words are not words"
    );
    assert!(recalled(store, p, "").await.is_empty(), "an empty query");

    let scored = store.recall(p, "the owner blue", 10).await.unwrap();
    assert!(scored.len() >= 4, "every memory sharing a word: {scored:?}");
    assert!(
        scored
            .windows(2)
            .all(|w| w[0].score >= w[1].score && w[1].score > 0.0),
        "best first, positive scores: {scored:?}"
    );
    assert_eq!(
        store.recall(p, "the owner blue", 2).await.unwrap().len(),
        2,
        "limit"
    );
    assert!(
        store
            .recall(p, "the owner blue", 0)
            .await
            .unwrap()
            .is_empty(),
        "limit 0"
    );

    // Equally relevant: the newer wins.
    let t = "p-tie";
    let older = remember(store, t, "The owner likes green tea").await;
    tick().await;
    let newer = remember(store, t, "The owner likes green tea").await;
    remember(store, t, "Coffee is for mornings").await;
    let tie = store.recall(t, "green tea", 10).await.unwrap();
    let order: Vec<&str> = tie.iter().map(|r| r.memory.id.as_str()).collect();
    assert_eq!(
        order,
        [newer.id.as_str(), older.id.as_str()],
        "on a tie the newer memory comes first"
    );

    // Clearly more relevant beats newer.
    let r = "p-relevance";
    remember(
        store,
        r,
        "The owner's sister Ana lives in Porto and plays cello",
    )
    .await;
    tick().await;
    remember(store, r, "The rain in Porto today").await;
    remember(store, r, "The printer is out of toner").await;
    let found = recalled(store, r, "Where does Ana, the sister, live?").await;
    assert_eq!(
        found.first().map(String::as_str),
        Some("The owner's sister Ana lives in Porto and plays cello"),
        "a clearly more relevant old memory beats a barely relevant new one: {found:?}"
    );
}

async fn hostile_queries(store: &dyn MemoryStore) {
    let p = "p-hostile";
    remember(store, p, "The colour of the boat is blue").await;
    for query in [
        "\"",
        "\"\"",
        "'",
        "NEAR(",
        "NEAR(colour blue",
        "a AND",
        "AND",
        "OR OR",
        "NOT",
        "colour NOT",
        "*",
        "colour*",
        "^colour",
        "-colour",
        "+",
        "(",
        ")",
        "{}",
        "col:",
        "colour:blue",
        "{text}: colour",
        "colour\"",
        "\"colour",
        "\u{0}",
        "\\",
        "%",
        "_",
        ";",
        "--",
        "🦀",
        "𞤀𞤁",
        "é\u{301}",
        "x\u{301}y",
        "NEAR/3",
        "\"colour\" OR \"",
        "rowid = 1",
        "' OR 1=1 --",
    ] {
        let result = store.recall(p, query, 5).await;
        assert!(
            result.is_ok(),
            "query {query:?} is words, never syntax: {result:?}"
        );
    }
    assert_eq!(
        recalled(store, p, "\"colour\" NEAR(blue*").await,
        ["The colour of the boat is blue"],
        "words inside syntax still count"
    );
    assert_eq!(recalled(store, p, "COLOUR").await.len(), 1);
    let long = "colour ".repeat(1000) + &"y".repeat(10_000);
    assert_eq!(recalled(store, p, &long).await.len(), 1, "a huge query");
}

async fn scoping(store: &dyn MemoryStore) {
    let (a, b) = ("p-alice", "p-bob");
    let mine = remember(store, a, "The launch code is swordfish").await;
    let theirs = remember(store, b, "The launch code is marlin").await;
    remember(store, b, "Swordfish are fast").await;

    assert_eq!(
        recalled(store, a, "launch code swordfish marlin").await,
        [mine.text.as_str()],
        "a persona recalls only its own"
    );
    assert_eq!(
        recalled(store, b, "swordfish").await,
        ["Swordfish are fast"]
    );
    assert!(
        recalled(store, "p-nobody", "launch code").await.is_empty(),
        "a persona with no memories"
    );
    assert_eq!(
        store.recent(a, 10).await.unwrap(),
        std::slice::from_ref(&mine),
        "recent is scoped"
    );
    assert_eq!(store.recent(b, 1).await.unwrap().len(), 1, "recent's limit");
    assert_eq!(store.count(a).await.unwrap(), 1);
    assert_eq!(store.count(b).await.unwrap(), 2);
    assert_eq!(store.count("p-nobody").await.unwrap(), 0);

    assert!(
        !store.forget(a, &theirs.id).await.unwrap(),
        "another persona's memory cannot be forgotten"
    );
    assert_eq!(store.count(b).await.unwrap(), 2, "and is still there");
    assert_eq!(recalled(store, b, "marlin").await, [theirs.text.as_str()]);
    assert!(!store.forget(a, "no-such-id").await.unwrap());

    assert!(
        store.forget(a, &mine.id).await.unwrap(),
        "forgetting one's own"
    );
    assert!(
        !store.forget(a, &mine.id).await.unwrap(),
        "forgetting twice is false"
    );
    assert_eq!(store.count(a).await.unwrap(), 0);
    assert!(
        recalled(store, a, "swordfish").await.is_empty(),
        "a forgotten memory is not recalled"
    );
    assert!(store.recent(a, 10).await.unwrap().is_empty());
    let again = remember(store, a, "The launch code is now tuna").await;
    assert_eq!(
        recalled(store, a, "launch code").await,
        [again.text],
        "remembering after forgetting"
    );
}
