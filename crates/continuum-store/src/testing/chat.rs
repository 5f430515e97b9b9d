//! The [`ChatStore`] contract.

use crate::{
    AnswerOutcome, AnswerRecord, Author, AuthorKind, ChatMessage, ChatStore, NewMessage,
    PersonaMeta, StoreError, TokenUsage, ToolCallRecord, DEFAULT_HOP_BUDGET, MAX_MESSAGE_BYTES,
};

fn owner() -> Author {
    Author {
        kind: AuthorKind::Owner,
        id: "owner".into(),
        name: "Joel".into(),
    }
}

fn said(room_id: &str, text: &str) -> NewMessage {
    NewMessage {
        room_id: room_id.into(),
        author: owner(),
        text: text.into(),
        hop: 0,
        reply_to: None,
        persona: None,
    }
}

fn is_invalid<T: std::fmt::Debug>(result: &Result<T, StoreError>, field: &str) -> bool {
    matches!(result, Err(StoreError::Invalid { field: f, .. }) if f == field)
}

fn ids(messages: &[ChatMessage]) -> Vec<u64> {
    messages.iter().map(|m| m.id).collect()
}

/// The chat store specification, on an empty `store`: rooms (names, lookup,
/// order), membership in join order, appending (validation, one increasing
/// id sequence over all rooms, every field kept), history paging in both
/// directions, and answer records.
pub async fn contract(store: &dyn ChatStore) {
    rooms(store).await;
    membership(store).await;
    messages(store).await;
    answers(store).await;
}

async fn rooms(store: &dyn ChatStore) {
    assert!(
        store.rooms().await.unwrap().is_empty(),
        "a new store has no rooms"
    );
    let general = store
        .create_room("general", DEFAULT_HOP_BUDGET)
        .await
        .unwrap();
    assert_eq!(general.name, "general");
    assert_eq!(general.hop_budget, DEFAULT_HOP_BUDGET);
    assert!(general.members.is_empty());
    assert!(
        crate::id_time_ms(&general.id).is_some(),
        "room ids are new_id()s"
    );
    let named_max = "a".repeat(64);
    let quiet = store.create_room("quiet_room-2.0", 0).await.unwrap();
    assert_eq!(quiet.hop_budget, 0, "the hop budget is stored as given");
    store
        .create_room(&named_max, 7)
        .await
        .expect("64 characters is a valid name");
    store.create_room("Alpha", 1).await.unwrap();

    assert!(
        matches!(
            store.create_room("general", 1).await,
            Err(StoreError::Conflict(_))
        ),
        "a taken name is a conflict"
    );
    for bad in ["", "has space", "slash/", "ünïcode", &"a".repeat(65)] {
        assert!(
            is_invalid(&store.create_room(bad, 1).await, "/name"),
            "room name {bad:?} is invalid (field /name)"
        );
    }
    let names: Vec<String> = store
        .rooms()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(
        names,
        ["Alpha", named_max.as_str(), "general", "quiet_room-2.0"],
        "rooms are by name"
    );

    assert_eq!(
        store.room("general").await.unwrap(),
        Some(general.clone()),
        "by name"
    );
    assert_eq!(
        store.room(&general.id).await.unwrap(),
        Some(general),
        "by id"
    );
    assert_eq!(store.room("nowhere").await.unwrap(), None);
}

async fn membership(store: &dyn ChatStore) {
    let room = store.create_room("members", 3).await.unwrap();
    assert!(
        store.join(&room.id, "p-b").await.unwrap(),
        "a first join adds"
    );
    assert!(store.join(&room.id, "p-a").await.unwrap());
    assert!(store.join(&room.id, "p-c").await.unwrap());
    assert!(
        !store.join(&room.id, "p-a").await.unwrap(),
        "joining twice is false"
    );
    let listed = store.room(&room.id).await.unwrap().unwrap().members;
    assert_eq!(listed, ["p-b", "p-a", "p-c"], "members are in join order");

    assert!(
        store.leave(&room.id, "p-b").await.unwrap(),
        "leaving removes"
    );
    assert!(
        !store.leave(&room.id, "p-b").await.unwrap(),
        "leaving twice is false"
    );
    assert!(
        store.join(&room.id, "p-b").await.unwrap(),
        "a rejoin adds again"
    );
    let listed = store.room("members").await.unwrap().unwrap().members;
    assert_eq!(listed, ["p-a", "p-c", "p-b"], "a rejoin goes last");
    let in_list = store
        .rooms()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id == room.id)
        .unwrap();
    assert_eq!(in_list.members, listed, "rooms() carries members too");

    for result in [
        store.join("no-room", "p-a").await,
        store.leave("no-room", "p-a").await,
    ] {
        assert!(
            matches!(&result, Err(StoreError::NotFound(what)) if what == "room no-room"),
            "membership in an unknown room is not found: {result:?}"
        );
    }
}

async fn messages(store: &dyn ChatStore) {
    let a = store.create_room("room-a", 3).await.unwrap();
    let b = store.create_room("room-b", 3).await.unwrap();

    let unknown = store.append(said("no-room", "hi")).await;
    assert!(
        matches!(&unknown, Err(StoreError::NotFound(what)) if what == "room no-room"),
        "appending to an unknown room is not found: {unknown:?}"
    );
    for blank in ["", "  ", "\n\t "] {
        assert!(
            is_invalid(&store.append(said(&a.id, blank)).await, "/text"),
            "blank text {blank:?}"
        );
    }
    let oversized = "x".repeat(MAX_MESSAGE_BYTES + 1);
    assert!(
        is_invalid(&store.append(said(&a.id, &oversized)).await, "/text"),
        "oversized text"
    );
    let largest = store
        .append(said(&a.id, &"x".repeat(MAX_MESSAGE_BYTES)))
        .await
        .unwrap();
    assert_eq!(
        largest.text.len(),
        MAX_MESSAGE_BYTES,
        "exactly the limit is accepted"
    );

    let before = crate::now_ms();
    let first = store.append(said(&a.id, "hello")).await.unwrap();
    assert!(
        first.at_ms >= before && first.at_ms <= crate::now_ms(),
        "at_ms is now"
    );
    let answer = NewMessage {
        room_id: a.id.clone(),
        author: Author {
            kind: AuthorKind::Persona,
            id: "p-asha".into(),
            name: "Asha".into(),
        },
        text: "Hello, Joel.".into(),
        hop: 1,
        reply_to: Some(first.id),
        persona: Some(PersonaMeta {
            model: "qwen3:8b".into(),
            usage: TokenUsage {
                prompt_tokens: 120,
                completion_tokens: 7,
            },
            answer_id: "ans-1".into(),
        }),
    };
    let reply = store.append(answer.clone()).await.unwrap();
    assert_eq!(
        (
            &reply.author,
            &reply.text,
            reply.hop,
            reply.reply_to,
            &reply.persona
        ),
        (
            &answer.author,
            &answer.text,
            1,
            Some(first.id),
            &answer.persona
        ),
        "append returns what it was given"
    );
    let mut peer = said(&b.id, "from afar");
    peer.author = Author {
        kind: AuthorKind::Peer,
        id: "peer-1".into(),
        name: "Bea's node".into(),
    };
    let in_b = store.append(peer).await.unwrap();
    let mut client = said(&a.id, "via tcp");
    client.author.kind = AuthorKind::Client;
    let mut a_ids = vec![largest.id, first.id, reply.id];
    a_ids.push(store.append(client).await.unwrap().id);
    for n in 0..4 {
        a_ids.push(
            store
                .append(said(&a.id, &format!("message {n}")))
                .await
                .unwrap()
                .id,
        );
    }
    let mut all = a_ids.clone();
    all.insert(3, in_b.id);
    assert!(
        all.windows(2).all(|w| w[0] < w[1]),
        "ids strictly increase across rooms: {all:?}"
    );

    let everything = store.history(&a.id, None, 100).await.unwrap();
    assert_eq!(
        ids(&everything),
        a_ids,
        "history holds the room's messages in id order"
    );
    assert_eq!(everything[2], reply, "every field is kept");
    assert_eq!(everything[3].author.kind, AuthorKind::Client);
    assert_eq!(
        store.history(&b.id, None, 100).await.unwrap(),
        vec![in_b],
        "rooms are apart"
    );

    let last = store.history(&a.id, None, 3).await.unwrap();
    assert_eq!(
        ids(&last),
        a_ids[5..],
        "without `after`: the last `limit`, ascending"
    );
    let page = store.history(&a.id, Some(a_ids[1]), 3).await.unwrap();
    assert_eq!(
        ids(&page),
        a_ids[2..5],
        "with `after`: the first `limit` after it"
    );
    let across = store.history(&a.id, Some(a_ids[2]), 2).await.unwrap();
    assert_eq!(
        ids(&across),
        a_ids[3..5],
        "`after` counts ids of every room"
    );
    let tail = store.history(&a.id, Some(a_ids[6]), 10).await.unwrap();
    assert_eq!(ids(&tail), a_ids[7..], "a short last page");
    assert!(
        store
            .history(&a.id, Some(a_ids[7]), 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing after the last"
    );
    assert!(
        store.history(&a.id, None, 0).await.unwrap().is_empty(),
        "limit 0"
    );
    assert!(
        store.history(&a.id, Some(0), 0).await.unwrap().is_empty(),
        "limit 0 with after"
    );
    assert!(
        store.history("no-room", None, 10).await.unwrap().is_empty(),
        "an unknown room has no messages"
    );
}

async fn answers(store: &dyn ChatStore) {
    let posted = AnswerRecord {
        id: crate::new_id(),
        persona_id: "p-asha".into(),
        room_id: "room-a".into(),
        trigger_id: 4,
        outcome: AnswerOutcome::Posted,
        message_id: Some(5),
        reasoning: Some("The owner greeted me.".into()),
        model: "qwen3:8b".into(),
        usage: TokenUsage {
            prompt_tokens: 300,
            completion_tokens: 40,
        },
        tool_calls: vec![
            ToolCallRecord {
                command: "memory/recall".into(),
                ok: true,
                error: None,
            },
            ToolCallRecord {
                command: "data/clear".into(),
                ok: false,
                error: Some("forbidden".into()),
            },
        ],
        detail: None,
        at_ms: 1_800_000_000_000,
        inference_us: 1_234_567,
        pipeline_us: 890,
    };
    let failed = AnswerRecord {
        id: crate::new_id(),
        outcome: AnswerOutcome::Failed,
        message_id: None,
        reasoning: None,
        model: String::new(),
        usage: TokenUsage::default(),
        tool_calls: Vec::new(),
        detail: Some("provider unreachable".into()),
        ..posted.clone()
    };
    store.record_answer(posted.clone()).await.unwrap();
    store.record_answer(failed.clone()).await.unwrap();
    assert_eq!(
        store.answer(&posted.id).await.unwrap(),
        Some(posted.clone()),
        "round trip"
    );
    assert_eq!(
        store.answer(&failed.id).await.unwrap(),
        Some(failed.clone()),
        "round trip, empty fields"
    );
    assert_eq!(store.answer("nope").await.unwrap(), None, "unknown answer");
    let other_room = AnswerRecord {
        id: crate::new_id(),
        room_id: "room-b".into(),
        ..posted.clone()
    };
    let other_persona = AnswerRecord {
        id: crate::new_id(),
        persona_id: "p-bodhi".into(),
        ..posted.clone()
    };
    store.record_answer(other_room).await.unwrap();
    store.record_answer(other_persona.clone()).await.unwrap();
    let ids = |records: Vec<AnswerRecord>| records.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.answers("room-a", None, 10).await.unwrap()),
        [
            other_persona.id.clone(),
            failed.id.clone(),
            posted.id.clone()
        ],
        "a room's answers, newest first"
    );
    assert_eq!(
        ids(store.answers("room-a", Some("p-asha"), 1).await.unwrap()),
        std::slice::from_ref(&failed.id),
        "one persona's, limited"
    );
    assert!(store.answers("room-z", None, 10).await.unwrap().is_empty());
    assert!(
        matches!(
            store.record_answer(posted).await,
            Err(StoreError::Conflict(_))
        ),
        "a duplicate answer id is a conflict"
    );
}
