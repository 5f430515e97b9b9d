//! Rooms: waiting for messages, and who heard what.

use continuum_persona::Rooms;
use continuum_store::{Author, AuthorKind, InMemoryChat, NewMessage};
use std::sync::Arc;
use std::time::Duration;

fn said(room_id: &str, text: &str) -> NewMessage {
    NewMessage {
        room_id: room_id.into(),
        author: Author {
            kind: AuthorKind::Owner,
            id: "owner".into(),
            name: "owner".into(),
        },
        text: text.into(),
        hop: 0,
        reply_to: None,
        persona: None,
    }
}

#[tokio::test]
async fn a_persona_hears_only_what_was_said_after_it_joined() {
    let rooms = Rooms::new(Arc::new(InMemoryChat::new()));
    let room = rooms.store().create_room("lobby", 3).await.unwrap();
    let before = rooms.post(said(&room.id, "before")).await.unwrap();
    assert!(rooms.join(&room.id, "p1").await.unwrap());
    let after = rooms.post(said(&room.id, "after")).await.unwrap();
    assert!(!rooms.heard("p1", &before), "said before it joined");
    assert!(rooms.heard("p1", &after));
    assert!(
        rooms.heard("p2", &before),
        "members from before this run hear everything"
    );
}

#[tokio::test]
async fn a_long_poll_returns_the_next_message_or_nothing_at_its_deadline() {
    let rooms = Arc::new(Rooms::new(Arc::new(InMemoryChat::new())));
    let room = rooms.store().create_room("lobby", 3).await.unwrap();
    let last = rooms.last_id(&room.id).await.unwrap();
    let empty = rooms
        .wait_after(&room.id, last, 10, Duration::from_millis(20))
        .await
        .unwrap();
    assert!(empty.is_empty());
    let poster = Arc::clone(&rooms);
    let room_id = room.id.clone();
    let post = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        poster.post(said(&room_id, "late")).await.unwrap()
    });
    let woke = rooms
        .wait_after(&room.id, last, 10, Duration::from_secs(10))
        .await
        .unwrap();
    let posted = post.await.unwrap();
    assert_eq!(woke.len(), 1);
    assert_eq!(woke[0].id, posted.id);
}
