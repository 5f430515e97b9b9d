//! Releases: scoped to the actor's wallets, audited before the plaintext
//! leaves, refused when the audit log fails.

use continuum_broker::{Actor, Broker, BrokerError, RELEASE_COMMAND};
use continuum_kernel::audit::{AuditError, AuditEvent, AuditLog, Outcome};
use continuum_kernel::command::BoxFuture;
use continuum_store::{CredentialId, CredentialStore, InMemoryCredentials, SqliteCredentials};
use continuum_vault::{MasterKey, VaultKey};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct RecordingAudit {
    events: Mutex<Vec<AuditEvent>>,
    broken: AtomicBool,
}

impl AuditLog for RecordingAudit {
    fn append(&self, event: AuditEvent) {
        self.events.lock().unwrap().push(event);
    }
    fn append_durable(&self, event: AuditEvent) -> BoxFuture<'_, Result<(), AuditError>> {
        let result = if self.broken.load(Ordering::SeqCst) {
            Err(AuditError::Store("disk full".into()))
        } else {
            self.events.lock().unwrap().push(event);
            Ok(())
        };
        Box::pin(async move { result })
    }
}

fn broker(store: Arc<dyn CredentialStore>) -> (Broker, Arc<RecordingAudit>) {
    let audit = Arc::new(RecordingAudit::default());
    let key = VaultKey::new(&MasterKey::from_bytes([5; 32]));
    (Broker::new(key, store, audit.clone()), audit)
}

fn id(wallet: &str) -> CredentialId {
    CredentialId::new(wallet, "openrouter", "default").unwrap()
}

#[tokio::test]
async fn a_release_is_audited_first_and_only_within_the_actors_wallets() {
    let (broker, audit) = broker(Arc::new(InMemoryCredentials::new()));
    broker.put(id("persona/ada"), b"sk-ada").await.unwrap();
    broker.put(id("persona/bob"), b"sk-bob").await.unwrap();
    broker.put(id("shared"), b"sk-shared").await.unwrap();
    let ada = Actor::persona("ada");

    let own = broker
        .release(&ada, &id("persona/ada"), "ai/generate")
        .await
        .unwrap();
    assert_eq!(own.expose(), b"sk-ada");
    let shared = broker
        .release(&ada, &id("shared"), "ai/generate")
        .await
        .unwrap();
    assert_eq!(shared.expose(), b"sk-shared");
    let refused = broker
        .release(&ada, &id("persona/bob"), "ai/generate")
        .await;
    assert!(
        matches!(refused, Err(BrokerError::OutOfScope { .. })),
        "{refused:?}"
    );
    assert_eq!(
        broker
            .release(&Actor::owner(), &id("persona/bob"), "test")
            .await
            .unwrap()
            .expose(),
        b"sk-bob",
        "the owner reads every wallet"
    );

    let events = audit.events.lock().unwrap().clone();
    let summary: Vec<(String, Outcome, String)> = events
        .iter()
        .map(|e| (e.caller.clone(), e.outcome, e.reason.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                "persona:ada".to_owned(),
                Outcome::Allowed,
                "released".to_owned()
            ),
            (
                "persona:ada".to_owned(),
                Outcome::Allowed,
                "released".to_owned()
            ),
            (
                "persona:ada".to_owned(),
                Outcome::Denied,
                "wallet_scope".to_owned()
            ),
            ("owner".to_owned(), Outcome::Allowed, "released".to_owned()),
        ]
    );
    assert!(events.iter().all(|e| e.command == RELEASE_COMMAND));
    assert_eq!(
        events[0].forwarded_for.as_deref(),
        Some("persona/ada:openrouter/default for ai/generate")
    );
    assert!(
        !format!("{events:?}").contains("sk-"),
        "no value in any record"
    );
}

#[tokio::test]
async fn the_actors_own_wallet_comes_before_the_shared_one() {
    let (broker, _) = broker(Arc::new(InMemoryCredentials::new()));
    broker.put(id("shared"), b"sk-shared").await.unwrap();
    let ada = Actor::persona("ada");
    assert_eq!(
        broker
            .release_named(&ada, "openrouter", "default", "p")
            .await
            .unwrap()
            .expose(),
        b"sk-shared"
    );
    broker.put(id("persona/ada"), b"sk-ada").await.unwrap();
    assert_eq!(
        broker
            .release_named(&ada, "openrouter", "default", "p")
            .await
            .unwrap()
            .expose(),
        b"sk-ada"
    );
    assert!(matches!(
        broker
            .release_named(&ada, "anthropic", "default", "p")
            .await,
        Err(BrokerError::NotFound(_))
    ));
}

#[tokio::test]
async fn nothing_is_released_when_the_audit_log_fails() {
    let (broker, audit) = broker(Arc::new(InMemoryCredentials::new()));
    broker.put(id("shared"), b"sk-shared").await.unwrap();
    audit.broken.store(true, Ordering::SeqCst);
    let refused = broker
        .release(&Actor::owner(), &id("shared"), "ai/generate")
        .await;
    assert!(
        matches!(refused, Err(BrokerError::AuditUnavailable(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn the_plaintext_never_reaches_the_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.sqlite");
    let (broker, _) = broker(Arc::new(SqliteCredentials::open(&path).unwrap()));
    broker
        .put(id("shared"), b"sk-or-v1-PLAINTEXT-MARKER")
        .await
        .unwrap();
    let listed = broker.list(None).await.unwrap();
    assert_eq!(listed.len(), 1);
    drop(broker);
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes
                .windows(b"PLAINTEXT-MARKER".len())
                .any(|w| w == b"PLAINTEXT-MARKER"),
            "plaintext found on disk"
        );
    }
}
