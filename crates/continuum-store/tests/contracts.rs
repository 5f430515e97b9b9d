//! Every backend in this crate runs the exported contract suites, plus what
//! only a durable backend can show (reopen, fail closed).

use continuum_grant::{EpochWatermarks, InMemoryWatermarks};
use continuum_store::testing::{audit, documents, watermarks};
use continuum_store::{
    MemoryAuditLog, MemoryDocumentStore, SqliteAuditLog, SqliteDocumentStore, SqliteWatermarks,
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
