//! Every backend in this crate runs the exported contract suites, plus what
//! only a durable backend can show (reopen, fail closed).

use continuum_grant::{EpochWatermarks, InMemoryWatermarks};
use continuum_store::testing::{audit, chat, documents, memories, personas, watermarks};
use continuum_store::{
    Author, AuthorKind, ChatStore, InMemoryChat, InMemoryMemories, InMemoryPersonas,
    MemoryAuditLog, MemoryDocumentStore, MemoryStore, NewMemory, NewMessage, PersonaRecord,
    PersonaStore, SqliteAuditLog, SqliteChat, SqliteDocumentStore, SqliteMemories, SqlitePersonas,
    SqliteWatermarks,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use watermarks::{Grants, RETENTION};

#[test]
fn in_memory_watermarks_meet_the_contract() {
    watermarks::contract("memory", &|| {
        Arc::new(InMemoryWatermarks::new(RETENTION)) as Arc<dyn EpochWatermarks>
    });
}

#[test]
fn sqlite_watermarks_meet_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let made = AtomicUsize::new(0);
    watermarks::contract("sqlite", &|| {
        let n = made.fetch_add(1, Ordering::Relaxed);
        let path = dir.path().join(format!("w{n}.sqlite"));
        Arc::new(SqliteWatermarks::open_with_retention(&path, RETENTION).unwrap())
            as Arc<dyn EpochWatermarks>
    });
}

#[test]
fn sqlite_watermarks_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.sqlite");
    let g = Grants::new();
    {
        let store = SqliteWatermarks::open(&path).unwrap();
        g.present(&store, &g.issue(1, &["ai/generate"]), "ai/generate")
            .unwrap();
        assert_eq!(
            g.present(&store, &g.issue(2, &[]), "ai/generate")
                .unwrap_err()
                .code(),
            "not_granted"
        );
    }
    let store = SqliteWatermarks::open(&path).unwrap();
    assert_eq!(store.watermark("bob").unwrap(), Some(2));
    assert_eq!(
        g.present(&store, &g.issue(1, &["ai/generate"]), "ai/generate")
            .unwrap_err()
            .code(),
        "superseded"
    );
}

/// A store that cannot write denies: the grant is refused with
/// `store_unavailable`, never allowed on unknown replay status.
#[test]
fn a_failing_sqlite_store_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.sqlite");
    let store = SqliteWatermarks::open(&path).unwrap();
    // Another connection holds the write lock past the busy timeout.
    let blocker = rusqlite::Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let g = Grants::new();
    let verdict = g
        .present(&store, &g.issue(1, &["ai/generate"]), "ai/generate")
        .unwrap_err();
    assert_eq!(verdict.code(), "store_unavailable", "{verdict}");
    blocker.execute_batch("ROLLBACK").unwrap();
    assert_eq!(
        g.present(&store, &g.issue(1, &["ai/generate"]), "ai/generate"),
        Ok(())
    );
}

#[tokio::test]
async fn both_document_stores_meet_the_contract() {
    documents::contract(&MemoryDocumentStore::new()).await;
    let dir = tempfile::tempdir().unwrap();
    documents::contract(&SqliteDocumentStore::open(&dir.path().join("d.sqlite")).unwrap()).await;
}

#[tokio::test]
async fn both_audit_stores_meet_the_contract() {
    audit::contract("memory", &MemoryAuditLog::new()).await;
    let dir = tempfile::tempdir().unwrap();
    audit::contract(
        "sqlite",
        &SqliteAuditLog::open(&dir.path().join("a.sqlite")).unwrap(),
    )
    .await;
}

/// A watermark store written before epochs were stored exactly (plain i64,
/// clamped at 2^63-1) is converted on open and keeps refusing lower epochs.
#[test]
fn an_older_watermark_store_is_migrated_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE watermarks (grantee_peer_id TEXT PRIMARY KEY, epoch INTEGER NOT NULL,
                 latest_expiry_ms INTEGER NOT NULL) WITHOUT ROWID;
             CREATE INDEX watermarks_by_expiry ON watermarks (latest_expiry_ms);
             INSERT INTO watermarks VALUES ('bob', 7, 1900000000000), ('max', 9223372036854775807, 1900000000000);
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let store = SqliteWatermarks::open(&path).unwrap();
    assert_eq!(store.watermark("bob").unwrap(), Some(7));
    assert_eq!(store.watermark("max").unwrap(), Some((1 << 63) - 1));
    assert_eq!(
        store.check_and_advance("bob", 6, 1, 1).unwrap(),
        continuum_grant::EpochDecision::Superseded { watermark: 7 }
    );
    assert_eq!(
        store.check_and_advance("max", 1 << 63, 1, 1).unwrap(),
        continuum_grant::EpochDecision::Accept
    );
}

#[tokio::test]
async fn both_persona_stores_meet_the_contract() {
    personas::contract(&InMemoryPersonas::new()).await;
    let dir = tempfile::tempdir().unwrap();
    personas::contract(&SqlitePersonas::open(&dir.path().join("p.sqlite")).unwrap()).await;
}

#[tokio::test]
async fn both_chat_stores_meet_the_contract() {
    chat::contract(&InMemoryChat::new()).await;
    let dir = tempfile::tempdir().unwrap();
    chat::contract(&SqliteChat::open(&dir.path().join("c.sqlite")).unwrap()).await;
}

#[tokio::test]
async fn both_memory_stores_meet_the_contract() {
    memories::contract(&InMemoryMemories::new()).await;
    let dir = tempfile::tempdir().unwrap();
    memories::contract(&SqliteMemories::open(&dir.path().join("m.sqlite")).unwrap()).await;
}

#[tokio::test]
async fn both_peer_stores_meet_the_contract() {
    use continuum_store::testing::peers;
    use continuum_store::{InMemoryPeers, PeerStore, SqlitePeers};
    peers::contract(&InMemoryPeers::new()).await;
    let dir = tempfile::tempdir().unwrap();
    peers::contract(&SqlitePeers::open(&dir.path().join("peers.sqlite")).unwrap()).await;
    let path = dir.path().join("reopened.sqlite");
    peers::survives_reopen(&|| Box::new(SqlitePeers::open(&path).unwrap()) as Box<dyn PeerStore>)
        .await;
}

/// Two connections to one peers file (two daemons' worth of writers) race
/// for each invite: exactly one take wins, the other sees nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_is_taken_once_across_sqlite_connections() {
    use continuum_store::{Invite, PeerStore, SqlitePeers};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("peers.sqlite");
    let first = Arc::new(SqlitePeers::open(&path).unwrap());
    let second = Arc::new(SqlitePeers::open(&path).unwrap());
    for n in 0..64u8 {
        let invite = Invite {
            id: [n; 16],
            secret: [7; 32],
            name: format!("joiner-{n}"),
            trust: continuum_wire::Trust::Provisional,
            expires_at_ms: u64::MAX,
        };
        first.add_invite(invite).await.unwrap();
    }
    for n in 0..64u8 {
        let take = |store: Arc<SqlitePeers>| {
            tokio::spawn(async move { store.take_invite(&[n; 16], 1).await.unwrap() })
        };
        let (a, b) = tokio::join!(take(first.clone()), take(second.clone()));
        let winners = [a.unwrap(), b.unwrap()].into_iter().flatten().count();
        assert_eq!(winners, 1, "invite {n}");
    }
    assert_eq!(second.open_invites(1).await.unwrap(), 0);
}

#[tokio::test]
async fn sqlite_personas_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sqlite");
    let record = PersonaRecord {
        id: continuum_store::new_id(),
        name: "asha".into(),
        born_at_ms: 1,
        public_key: "ab".repeat(32),
        provider: "local".into(),
        model: Some("qwen3:8b".into()),
        system_prompt: "Be brief.".into(),
        thinking: "on".into(),
        trust: continuum_wire::Trust::Trusted,
        retired_at_ms: None,
        updated_at_ms: 2,
    };
    SqlitePersonas::open(&path)
        .unwrap()
        .insert(record.clone())
        .await
        .unwrap();
    let reopened = SqlitePersonas::open(&path).unwrap();
    assert_eq!(
        reopened.list().await.unwrap(),
        std::slice::from_ref(&record)
    );
    let clash = PersonaRecord {
        id: continuum_store::new_id(),
        ..record
    };
    assert!(
        reopened.insert(clash).await.is_err(),
        "the active-name rule survives reopen"
    );
}

#[tokio::test]
async fn sqlite_message_ids_keep_increasing_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    let say = |room_id: &str| NewMessage {
        room_id: room_id.into(),
        author: Author {
            kind: AuthorKind::Owner,
            id: "owner".into(),
            name: "Joel".into(),
        },
        text: "hello".into(),
        hop: 0,
        reply_to: None,
        persona: None,
    };
    let (room, before) = {
        let store = SqliteChat::open(&path).unwrap();
        let room = store.create_room("general", 3).await.unwrap();
        store.join(&room.id, "p-asha").await.unwrap();
        store.append(say(&room.id)).await.unwrap();
        let last = store.append(say(&room.id)).await.unwrap();
        (room, last)
    };
    // Deleting the newest message must not let its id be handed out again.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("DELETE FROM messages WHERE id = ?1", [before.id as i64])
        .unwrap();
    let store = SqliteChat::open(&path).unwrap();
    let after = store.append(say(&room.id)).await.unwrap();
    assert!(after.id > before.id, "{} > {}", after.id, before.id);
    let reopened = store.room("general").await.unwrap().unwrap();
    assert_eq!(reopened.members, ["p-asha"]);
    assert_eq!(store.history(&room.id, None, 10).await.unwrap().len(), 2);
}

#[tokio::test]
async fn sqlite_memories_survive_reopen_and_are_recalled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.sqlite");
    let remembered = SqliteMemories::open(&path)
        .unwrap()
        .remember(NewMemory {
            persona_id: "p-asha".into(),
            text: "The owner's favourite colour is blue".into(),
            tags: vec!["preferences".into()],
        })
        .await
        .unwrap();
    let store = SqliteMemories::open(&path).unwrap();
    let found = store.recall("p-asha", "favourite colour", 5).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].memory, remembered);
    assert_eq!(store.count("p-asha").await.unwrap(), 1);
    assert!(store.forget("p-asha", &remembered.id).await.unwrap());
    assert!(store
        .recall("p-asha", "colour", 5)
        .await
        .unwrap()
        .is_empty());
}

/// Every store file is owner-only, like the rest of the home.
#[test]
fn new_store_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    SqlitePersonas::open(&dir.path().join("p.sqlite")).unwrap();
    SqliteChat::open(&dir.path().join("c.sqlite")).unwrap();
    SqliteMemories::open(&dir.path().join("m.sqlite")).unwrap();
    continuum_store::SqlitePeers::open(&dir.path().join("peers.sqlite")).unwrap();
    for file in ["p.sqlite", "c.sqlite", "m.sqlite", "peers.sqlite"] {
        let mode = std::fs::metadata(dir.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
}

#[tokio::test]
async fn both_credential_stores_meet_the_contract() {
    use continuum_store::testing::credentials;
    use continuum_store::{InMemoryCredentials, SqliteCredentials};
    credentials::contract(&InMemoryCredentials::new()).await;
    let dir = tempfile::tempdir().unwrap();
    credentials::contract(&SqliteCredentials::open(&dir.path().join("v.sqlite")).unwrap()).await;
}
