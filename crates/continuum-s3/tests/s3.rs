//! The S3 backends and the STS broker against a real S3 + STS + IAM server
//! on loopback: moto 5.2.5 with IAM enforced on every request
//! (`INITIAL_NO_AUTH_ACTION_COUNT=0`). Each test starts its own server.
//!
//! What moto enforces, and so what these tests can show: request
//! signatures and session tokens, and the identity policies of users and
//! roles (an assumed role's credentials are refused outside the role's
//! policy), and object lock. What it does not: session policies passed to
//! AssumeRole, policy variables, conditions outside trust policies. Wallet
//! scoping by session policy is therefore shown by inspecting what is sent;
//! scoping moto can enforce is shown with one role per wallet.

mod support;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ObjectLockMode;
use base64::Engine;
use continuum_egress::HostRules;
use continuum_s3::{session_policy, BrokerError, DataClass, S3MemoryStore, Scope};
use continuum_store::audit::shipping::{verify_shipped, SegmentSink, Shipper};
use continuum_store::audit::{AuditEvent, Outcome};
use continuum_store::{
    AuditStore, CredentialId, CredentialRecord, CredentialStore, InMemoryMemories, MemoryAuditLog,
    MemoryStore, NewMemory, StoreError,
};
use continuum_vault::{Binding, MasterKey, VaultKey};
use serde_json::{json, Value};
use support::Fixture;

/// The S3 error code of a failed request.
fn code<E: ProvideErrorMetadata, R>(result: Result<R, aws_sdk_s3::error::SdkError<E>>) -> String {
    match result {
        Ok(_) => "succeeded".into(),
        Err(err) => err
            .as_service_error()
            .and_then(|e| e.code())
            .unwrap_or("no service error")
            .to_owned(),
    }
}

fn new(persona_id: &str, text: &str) -> NewMemory {
    NewMemory {
        persona_id: persona_id.into(),
        text: text.into(),
        tags: Vec::new(),
    }
}

#[tokio::test]
async fn memory_store_passes_the_contract_suite_on_s3() {
    let Some(fx) = Fixture::start(&[]).await else {
        return;
    };
    let store = fx.storage.memory_store();
    continuum_store::testing::memories::contract(&store).await;

    // What S3 holds, read independently: one JSON memory per object, under
    // its persona's wallet, and nothing of a forgotten memory but history.
    let dump = fx.moto.dump("cu-memory");
    let current: Vec<&Value> = dump["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["latest"] == json!(true))
        .collect();
    assert!(!current.is_empty());
    for version in current {
        let key = version["key"].as_str().unwrap();
        let body = base64::engine::general_purpose::STANDARD
            .decode(version["body"].as_str().unwrap())
            .unwrap();
        let memory: continuum_store::Memory = serde_json::from_slice(&body).unwrap();
        assert_eq!(key, format!("persona/{}/{}", memory.persona_id, memory.id));
        assert_eq!(version["encryption"], json!("AES256"), "default encryption");
    }
    assert!(
        !dump["delete_markers"].as_array().unwrap().is_empty(),
        "forgetting deletes the object (a delete marker in a versioned bucket)"
    );
}

/// Same memories, same queries: S3 recalls what the in-memory backend
/// recalls, in the same order with the same relevance, and so does a fresh
/// store that loads the persona back from S3.
#[tokio::test]
async fn memory_recall_ranks_like_the_other_backends_and_after_a_reload() {
    let Some(fx) = Fixture::start(&[]).await else {
        return;
    };
    let s3 = fx.storage.memory_store();
    let reference = InMemoryMemories::new();
    let texts = [
        "The owner's sister Ana lives in Porto",
        "Ana prefers tea over coffee",
        "Porto is rainy in winter",
        "The owner drinks coffee every morning",
        "Winter tyres go on in November",
        "The owner drinks coffee every morning",
    ];
    for store in [&s3 as &dyn MemoryStore, &reference] {
        store
            .remember(new("p", "someone else's Ana"))
            .await
            .unwrap();
        for text in texts {
            store.remember(new("p-main", text)).await.unwrap();
        }
    }
    let reloaded = S3MemoryStore::new(fx.storage.clients().clone());
    assert_eq!(reloaded.count("p-main").await.unwrap(), texts.len() as u64);
    assert_eq!(
        reloaded.recent("p-main", 10).await.unwrap(),
        s3.recent("p-main", 10).await.unwrap(),
        "the reload has every memory, in order"
    );
    for query in [
        "Where does Ana live?",
        "coffee in winter",
        "the owner",
        "nothing matches",
    ] {
        let expected = reference.recall("p-main", query, 10).await.unwrap();
        for store in [&s3, &reloaded] {
            let found = store.recall("p-main", query, 10).await.unwrap();
            let texts = |found: &[continuum_store::Recalled]| -> Vec<String> {
                found.iter().map(|r| r.memory.text.clone()).collect()
            };
            assert_eq!(texts(&found), texts(&expected), "{query}");
            for (a, b) in found.iter().zip(&expected) {
                assert!(
                    (a.score - b.score).abs() < 1e-6 * b.score,
                    "{query}: {a:?} {b:?}"
                );
            }
        }
    }
}

#[tokio::test]
async fn credential_store_passes_the_contract_suite_on_s3() {
    let Some(fx) = Fixture::start(&[]).await else {
        return;
    };
    continuum_store::testing::credentials::contract(&fx.storage.credential_store()).await;
}

/// The vault bucket holds sealed blobs: a secret's plaintext is in no
/// object, version, key or metadata, and the blob read back opens.
#[tokio::test]
async fn a_secret_never_reaches_the_vault_bucket_in_plaintext() {
    let Some(fx) = Fixture::start(&[]).await else {
        return;
    };
    let store = fx.storage.credential_store();
    let key = VaultKey::new(&MasterKey::generate().unwrap());
    let secret = "sk-or-v1-PLAINTEXT-MUST-NOT-APPEAR-0123456789";
    let id = CredentialId::new("persona/ada", "openrouter", "default").unwrap();
    let binding = Binding {
        wallet: &id.wallet,
        service: &id.service,
        name: &id.name,
    };
    for round in 0..2u64 {
        let blob = key.seal(&binding, secret.as_bytes()).unwrap();
        store
            .put(CredentialRecord {
                id: id.clone(),
                blob,
                created_at_ms: 1 + round,
                updated_at_ms: 1 + round,
            })
            .await
            .unwrap();
    }
    let stored = store.get(&id).await.unwrap().unwrap();
    assert_eq!(
        key.open(&binding, &stored.blob).unwrap().expose(),
        secret.as_bytes()
    );

    let dump = fx.moto.dump("cu-vault");
    assert_eq!(
        dump["versions"].as_array().unwrap().len(),
        2,
        "both versions kept"
    );
    let needle = secret.as_bytes();
    for version in dump["versions"].as_array().unwrap() {
        let body = base64::engine::general_purpose::STANDARD
            .decode(version["body"].as_str().unwrap())
            .unwrap();
        assert!(
            !body.windows(needle.len()).any(|w| w == needle),
            "plaintext in a body"
        );
        assert_eq!(version["key"], json!("persona/ada/openrouter/default"));
        assert_eq!(version["encryption"], json!("AES256"));
    }
    assert!(
        !dump.to_string().contains(secret),
        "plaintext in keys or metadata"
    );
}

/// Role policies are what moto enforces: the memory role's credentials are
/// refused on the vault bucket, and the vault role's on the memory bucket.
#[tokio::test]
async fn a_class_role_cannot_reach_another_class_bucket() {
    let Some(fx) = Fixture::start(&[]).await else {
        return;
    };
    let vault_store = fx.storage.credential_store();
    let id = CredentialId::new("persona/ada", "openrouter", "default").unwrap();
    vault_store
        .put(CredentialRecord {
            id: id.clone(),
            blob: b"sealed".to_vec(),
            created_at_ms: 1,
            updated_at_ms: 1,
        })
        .await
        .unwrap();
    fx.storage
        .memory_store()
        .remember(new("ada", "Ada likes tea"))
        .await
        .unwrap();

    let clients = fx.storage.clients();
    let memory = clients
        .client(DataClass::Memory, Scope::Wallet("persona/ada"))
        .unwrap();
    let vault = clients
        .client(DataClass::Vault, Scope::Wallet("persona/ada"))
        .unwrap();
    let get = |client: &aws_sdk_s3::Client, bucket: &str, key: &str| {
        client.get_object().bucket(bucket).key(key).send()
    };
    assert_eq!(
        code(get(&memory, "cu-vault", "persona/ada/openrouter/default").await),
        "AccessDenied",
        "memory credentials read the vault"
    );
    assert_eq!(
        code(
            memory
                .list_objects_v2()
                .bucket("cu-vault")
                .prefix("persona/ada/")
                .send()
                .await
        ),
        "AccessDenied",
        "memory credentials list the vault"
    );
    assert_eq!(
        code(get(&vault, "cu-vault", "persona/ada/openrouter/default").await),
        "succeeded",
        "the vault role reads its own bucket"
    );
    let memories = memory
        .list_objects_v2()
        .bucket("cu-memory")
        .prefix("persona/ada/")
        .send()
        .await
        .unwrap();
    let memory_key = memories.contents()[0].key().unwrap().to_owned();
    assert_eq!(
        code(get(&vault, "cu-memory", &memory_key).await),
        "AccessDenied",
        "vault credentials read memories"
    );
    assert_eq!(
        code(get(&memory, "cu-memory", &memory_key).await),
        "succeeded"
    );
}

/// The session policy on the wire is exactly the wallet's prefix, with the
/// session tags. moto 5.2.5 does not enforce session policies (measured):
/// the same credentials can still write another wallet's prefix there, which
/// this test pins so a moto that starts enforcing them is noticed. AWS
/// intersects the session policy with the role's on every request.
#[tokio::test]
async fn the_session_policy_sent_is_exactly_the_wallet_prefix() {
    let Some(fx) = Fixture::start(&[]).await else {
        return;
    };
    let broker = fx.storage.broker();
    broker
        .credentials(DataClass::Memory, Scope::Wallet("persona/alice"))
        .await
        .unwrap();

    let sent = fx.sts.assume_role_requests();
    assert_eq!(sent.len(), 1);
    let request = &sent[0];
    assert_eq!(request["RoleArn"], fx.config.memory.role_arn);
    assert_eq!(request["RoleSessionName"], "cu-memory-persona-alice");
    assert_eq!(request["DurationSeconds"], "900");
    let policy: Value = serde_json::from_str(&request["Policy"]).unwrap();
    assert_eq!(
        policy,
        json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "OwnPrefixObjects",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    "Resource": "arn:aws:s3:::cu-memory/persona/alice/*",
                },
                {
                    "Sid": "ListOwnPrefix",
                    "Effect": "Allow",
                    "Action": "s3:ListBucket",
                    "Resource": "arn:aws:s3:::cu-memory",
                    "Condition": { "StringLike": { "s3:prefix": ["persona/alice/*"] } },
                },
            ],
        }),
        "the wallet's prefix and nothing else"
    );
    assert_eq!(
        request["Policy"],
        session_policy(
            DataClass::Memory,
            &fx.config.memory,
            Scope::Wallet("persona/alice")
        ),
        "what is sent is the pure function's document"
    );
    let tags: Vec<(String, String)> = (1..=2)
        .map(|n| {
            (
                request[&format!("Tags.member.{n}.Key")].clone(),
                request[&format!("Tags.member.{n}.Value")].clone(),
            )
        })
        .collect();
    assert_eq!(
        tags,
        [
            ("class".into(), "memory".into()),
            ("wallet".into(), "persona/alice".into())
        ]
    );

    // moto 5.2.5 ignores the session policy: alice's session writes bob's
    // prefix. On AWS this is AccessDenied.
    let alice = fx
        .storage
        .clients()
        .client(DataClass::Memory, Scope::Wallet("persona/alice"))
        .unwrap();
    let cross = alice
        .put_object()
        .bucket("cu-memory")
        .key("persona/bob/written-by-alice")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    assert_eq!(
        code(cross),
        "succeeded",
        "moto now enforces session policies: make this a refusal check and update ADR 0013"
    );
}

/// Scoping moto does enforce: a role whose policy allows only wallet A's
/// prefix cannot write wallet B's.
#[tokio::test]
async fn a_role_per_wallet_cannot_write_another_wallet_prefix() {
    let alice_role = (
        "continuum-memory-alice",
        vec!["arn:aws:s3:::cu-memory/persona/alice/*".to_owned()],
    );
    let Some(fx) = Fixture::start(&[alice_role]).await else {
        return;
    };
    let mut config = fx.config.clone();
    config.memory.role_arn = fx.moto.roles["continuum-memory-alice"].clone();
    let storage = fx.storage_with(config);
    let alice = storage
        .clients()
        .client(DataClass::Memory, Scope::Wallet("persona/alice"))
        .unwrap();
    let put = |key: &'static str| {
        alice
            .put_object()
            .bucket("cu-memory")
            .key(key)
            .body(ByteStream::from_static(b"x"))
            .send()
    };
    assert_eq!(code(put("persona/alice/m1").await), "succeeded");
    assert_eq!(code(put("persona/bob/m1").await), "AccessDenied");
    assert_eq!(
        code(put("persona/alice2/m1").await),
        "AccessDenied",
        "a sibling sharing the prefix text"
    );
    assert_eq!(
        code(
            alice
                .get_object()
                .bucket("cu-vault")
                .key("persona/alice/x")
                .send()
                .await
        ),
        "AccessDenied"
    );
}

/// A lookup within the session is served from memory; near expiry (the
/// refresh margin before it) new credentials are fetched, and they work.
#[tokio::test]
async fn credentials_are_cached_until_shortly_before_expiry() {
    let Some(fx) = Fixture::start(&[]).await else {
        return;
    };
    let broker = fx.storage.broker();
    let scope = Scope::Wallet("persona/ada");
    let first = broker.credentials(DataClass::Memory, scope).await.unwrap();
    let again = broker.credentials(DataClass::Memory, scope).await.unwrap();
    assert_eq!(
        fx.sts.assume_role_requests().len(),
        1,
        "the second lookup makes no STS call"
    );
    assert_eq!(first.access_key_id(), again.access_key_id());

    let store = fx.storage.memory_store();
    store.remember(new("ada", "one")).await.unwrap();
    store.recall("ada", "one", 5).await.unwrap();
    assert_eq!(
        fx.sts.assume_role_requests().len(),
        1,
        "S3 requests reuse the cached credentials"
    );
    assert!(
        broker.cached(DataClass::Vault, scope).is_none(),
        "per class"
    );

    // Session 900 s, refresh 300 s before expiry: still fresh at +500 s...
    fx.clock.advance(500);
    broker.credentials(DataClass::Memory, scope).await.unwrap();
    assert_eq!(fx.sts.assume_role_requests().len(), 1);
    // ...due at +601 s.
    fx.clock.advance(101);
    assert!(broker.cached(DataClass::Memory, scope).is_none());
    let renewed = broker.credentials(DataClass::Memory, scope).await.unwrap();
    assert_eq!(
        fx.sts.assume_role_requests().len(),
        2,
        "refreshed near expiry"
    );
    assert_ne!(renewed.access_key_id(), first.access_key_id());
    // moto stamps expiry by the real clock (the renewed credentials expire
    // 900 s after now, not after now + 601 s): back to it.
    fx.clock.rewind();
    assert_eq!(store.recall("ada", "one", 5).await.unwrap().len(), 1);
    store.remember(new("ada", "two")).await.unwrap();
    assert_eq!(
        fx.sts.assume_role_requests().len(),
        2,
        "and the new ones are cached"
    );
    assert_eq!(broker.assume_role_calls(), 2);
    let debug = format!("{renewed:?}");
    assert!(
        !debug.contains(renewed.secret_access_key()),
        "Debug redacts the secret: {debug}"
    );
}

/// Each bucket has its class's settings, as S3 reports them.
#[tokio::test]
async fn buckets_are_provisioned_with_their_class_settings() {
    let Some(fx) = Fixture::start(&[]).await else {
        return;
    };
    for bucket in ["cu-vault", "cu-memory", "cu-audit"] {
        let settings = fx.moto.settings(bucket);
        assert_eq!(settings["versioning"], json!("Enabled"), "{bucket}");
        let algorithm = &settings["encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]
            ["SSEAlgorithm"];
        assert_eq!(algorithm, &json!("AES256"), "{bucket}: {settings}");
        let retention = &settings["object_lock"]["Rule"]["DefaultRetention"];
        if bucket == "cu-audit" {
            assert_eq!(retention["Mode"], json!("COMPLIANCE"), "{settings}");
            assert_eq!(retention["Days"], json!(365), "{settings}");
            assert!(
                settings["lifecycle"].get("error").is_some(),
                "no expiry: {settings}"
            );
        } else {
            assert!(
                settings["object_lock"].get("error").is_some(),
                "{bucket}: {settings}"
            );
            assert_eq!(
                settings["lifecycle"][0]["NoncurrentVersionExpiration"]["NoncurrentDays"],
                json!(30),
                "{bucket}: {settings}"
            );
        }
    }
}

/// An audit segment under COMPLIANCE retention cannot be deleted: not the
/// version, not by the audit role (whose role policy allows s3:*), not by
/// the admin.
#[tokio::test]
async fn a_version_under_compliance_retention_cannot_be_deleted() {
    let Some(fx) = Fixture::start(&[]).await else {
        return;
    };
    let audit = fx
        .storage
        .clients()
        .client(DataClass::Audit, Scope::Wallet("owner"))
        .unwrap();
    let key = "owner/segment-000001";
    let put = audit
        .put_object()
        .bucket("cu-audit")
        .key(key)
        .body(ByteStream::from_static(b"{\"seq\":1}\n"))
        .send()
        .await
        .unwrap();
    let version = put.version_id().unwrap().to_owned();
    let head = audit
        .head_object()
        .bucket("cu-audit")
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.object_lock_mode(),
        Some(&ObjectLockMode::Compliance),
        "the bucket's default retention"
    );

    let delete_version = |client: &aws_sdk_s3::Client| {
        client
            .delete_object()
            .bucket("cu-audit")
            .key(key)
            .version_id(&version)
            .send()
    };
    assert_eq!(code(delete_version(&audit).await), "AccessDenied");
    let admin = fx.moto.admin_s3().await;
    assert_eq!(
        code(delete_version(&admin).await),
        "AccessDenied",
        "not even the admin"
    );
    let still = audit
        .get_object()
        .bucket("cu-audit")
        .key(key)
        .version_id(&version)
        .send()
        .await
        .unwrap();
    assert_eq!(
        still.body.collect().await.unwrap().to_vec(),
        b"{\"seq\":1}\n"
    );
}

fn egress_rules(text: &str) -> std::sync::Arc<HostRules> {
    let rules: HostRules = toml::from_str(text).unwrap();
    assert_eq!(rules.invalid_pattern(), None);
    std::sync::Arc::new(rules)
}

/// The egress policy is asked before every S3 request: a refused host is
/// an error naming the adapter and host, and nothing reaches the bucket.
#[tokio::test]
async fn an_s3_host_the_egress_policy_refuses_gets_no_request() {
    let Some(fx) = Fixture::start(&[]).await else {
        return;
    };
    let rules = egress_rules(
        r#"
allow = ["127.0.0.1"]
[adapters.s3]
allow = ["*.amazonaws.com"]
"#,
    );
    let storage = fx.storage_with_egress(fx.config.clone(), rules);
    let err = storage
        .memory_store()
        .remember(new("ada", "Ada likes tea"))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("egress to 127.0.0.1 is not allowed for s3"),
        "{err}"
    );
    let dump = fx.moto.dump("cu-memory");
    assert_eq!(dump["versions"], json!([]), "nothing reached the bucket");
}

/// The STS endpoint is checked too: a refusal is a typed broker error and
/// no credentials are issued.
#[tokio::test]
async fn an_sts_host_the_egress_policy_refuses_is_a_typed_error() {
    let Some(fx) = Fixture::start(&[]).await else {
        return;
    };
    let rules = egress_rules(
        r#"
allow = ["127.0.0.1"]
[adapters.sts]
allow = ["sts.amazonaws.com"]
"#,
    );
    let storage = fx.storage_with_egress(fx.config.clone(), rules);
    let result = storage
        .broker()
        .credentials(DataClass::Vault, Scope::Wallet("owner"))
        .await;
    match result {
        Err(BrokerError::Egress(denied)) => {
            assert_eq!(
                (denied.adapter.as_str(), denied.host.as_str()),
                ("sts", "127.0.0.1")
            );
        }
        other => panic!("expected an egress refusal, got {other:?}"),
    }
    assert!(storage
        .broker()
        .cached(DataClass::Vault, Scope::Wallet("owner"))
        .is_none());
}

fn audit_event(n: u64) -> AuditEvent {
    AuditEvent {
        time_ms: 1_000 + n,
        caller: format!("caller-{n}"),
        caller_key: None,
        command: "ping".into(),
        outcome: Outcome::Allowed,
        reason: "trust".into(),
        forwarded_for: None,
        grant_issuer: None,
        grant_epoch: None,
    }
}

async fn audit_log(events: std::ops::RangeInclusive<u64>) -> MemoryAuditLog {
    let log = MemoryAuditLog::new();
    for n in events {
        log.append_durable(audit_event(n)).await.unwrap();
    }
    log
}

/// The local log shipped to the audit bucket in segments: the shipped copy
/// chains and matches the log, a restart resumes where shipping stopped, a
/// segment is written once, a truncated local end is found, and no shipped
/// segment's version can be deleted (object lock COMPLIANCE).
#[tokio::test]
async fn shipped_audit_segments_chain_and_cannot_be_deleted() {
    let Some(fx) = Fixture::start(&[]).await else {
        return;
    };
    let sink = fx.storage.audit_sink("node/n1").unwrap();
    let log = audit_log(1..=10).await;
    let shipper = Shipper::new();
    for expected in [4, 4, 2, 0] {
        assert_eq!(shipper.ship_once(&log, &sink, 4).await.unwrap(), expected);
    }
    let names = sink.list().await.unwrap();
    assert_eq!(names.len(), 3, "{names:?}");
    let report = verify_shipped(&log, &sink).await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!((report.segments, report.shipped_through), (3, 10));

    log.append_durable(audit_event(11)).await.unwrap();
    assert_eq!(
        Shipper::new().ship_once(&log, &sink, 4).await.unwrap(),
        1,
        "a restart resumes"
    );
    assert!(verify_shipped(&log, &sink).await.unwrap().ok);

    assert!(
        matches!(
            sink.put(&names[0], b"forged".to_vec()).await,
            Err(StoreError::Conflict(_))
        ),
        "a shipped segment is never replaced"
    );
    let truncated = audit_log(1..=7).await;
    let report = verify_shipped(&truncated, &sink).await.unwrap();
    assert!(!report.ok);
    assert_eq!(report.first_bad_seq, Some(8), "{report:?}");

    let key = sink.key(&names[0]);
    let audit = fx
        .storage
        .clients()
        .client(DataClass::Audit, Scope::Wallet("node/n1"))
        .unwrap();
    let head = audit
        .head_object()
        .bucket("cu-audit")
        .key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Compliance));
    let version = head.version_id().unwrap().to_owned();
    let admin = fx.moto.admin_s3().await;
    for client in [&audit, &admin] {
        let deleted = client
            .delete_object()
            .bucket("cu-audit")
            .key(&key)
            .version_id(&version)
            .send()
            .await;
        assert_eq!(code(deleted), "AccessDenied");
    }
    assert!(
        verify_shipped(&log, &sink).await.unwrap().ok,
        "the shipped copy is intact"
    );
}
