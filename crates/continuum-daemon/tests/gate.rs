//! The gate over the daemon's real command map: listed == callable for every
//! command and every kind of caller, composition cannot escalate, destructive
//! commands stay owner-only, `forwarded_for` is recorded but never decides,
//! a trust ceiling only lowers trust, and owner-only actions fail closed when
//! the audit log fails.
//!
//! Callers are minted the way transports mint them, through the kernel's one
//! `CallerMint`; this file never builds a caller itself (it cannot).

use continuum_commands::data::DataModule;
use continuum_commands::system::{DaemonState, SystemModule};
use continuum_daemon::{build_kernel, DaemonConfig, GateAudit, Services};
use continuum_kernel::command::{erase, CallMeta, Command, CommandError, Ctx, RegistryBuilder};
use continuum_kernel::credential::Credential;
use continuum_kernel::gate::Trust;
use continuum_kernel::{CallerMint, KernelBuilder, Request};
use continuum_store::{AuditStore, MemoryAuditLog, MemoryDocumentStore};
use continuum_wire::Access;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Who calls, as a transport would establish it, plus what the call presents.
#[derive(Clone, Debug, PartialEq)]
enum Caller {
    LocalOwner,
    Persona(&'static str, Trust),
    Tcp(&'static str),
    Peer {
        id: String,
        key: [u8; 32],
        trust: Option<Trust>,
        grant: Option<String>,
    },
    /// Another caller asking for at most this trust (`meta.maxTrust`).
    Capped(Box<Caller>, Trust),
}

fn state(home: PathBuf) -> Arc<DaemonState> {
    Arc::new(DaemonState::new(
        "test",
        home.clone(),
        home.join("run/core.sock"),
        None,
        CancellationToken::new(),
    ))
}

fn kernel_with(audit: Arc<MemoryAuditLog>) -> CallerMint {
    // The identity and grant ledger live here for the whole test process.
    let dir = tempfile::tempdir().expect("tempdir").keep();
    let mut services = Services::ephemeral(&dir).expect("services");
    services.audit = audit;
    build_kernel(&state(dir), &services, &DaemonConfig::default(), &[]).expect("kernel")
}

fn kernel() -> CallerMint {
    kernel_with(Arc::new(MemoryAuditLog::new()))
}

fn peer(trust: Option<Trust>) -> Caller {
    Caller::Peer {
        id: "peer-1".into(),
        key: [7; 32],
        trust,
        grant: None,
    }
}

/// A peer holding `key`, presenting a grant the owner issued through
/// `grid/grant/issue` for `grantee_key` with `capabilities`.
async fn granted_peer(
    d: &CallerMint,
    peer_id: &str,
    key: [u8; 32],
    grantee_key: [u8; 32],
    capabilities: &[&str],
    trust: Option<Trust>,
) -> Caller {
    let issued = call(
        d,
        Caller::LocalOwner,
        "grid/grant/issue",
        json!({
            "grantee": peer_id,
            "granteeKey": hex::encode(grantee_key),
            "capabilities": capabilities,
            "ttl": "1h",
        }),
    )
    .await
    .expect("the owner issues a grant");
    Caller::Peer {
        id: peer_id.into(),
        key,
        trust,
        grant: Some(issued["grant"].as_str().unwrap().to_owned()),
    }
}

fn public_key(seed: u8) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
        .verifying_key()
        .to_bytes()
}

/// Peers presenting grants: exact, prefix (covering an owner-only command),
/// Blocked with a grant, and a grant stolen from another key.
async fn peers_with_grants(d: &CallerMint) -> Vec<Caller> {
    vec![
        granted_peer(
            d,
            "g-exact",
            public_key(1),
            public_key(1),
            &["system/info"],
            None,
        )
        .await,
        granted_peer(
            d,
            "g-prefix",
            public_key(2),
            public_key(2),
            &["system"],
            None,
        )
        .await,
        granted_peer(
            d,
            "g-blocked",
            public_key(3),
            public_key(3),
            &["system"],
            Some(Trust::Blocked),
        )
        .await,
        granted_peer(
            d,
            "g-stolen",
            public_key(4),
            public_key(5),
            &["system"],
            None,
        )
        .await,
    ]
}

fn every_kind_of_caller() -> Vec<Caller> {
    let base = vec![
        Caller::LocalOwner,
        Caller::Persona("asha", Trust::Provisional),
        Caller::Persona("trusted", Trust::Trusted),
        Caller::Persona("blocked", Trust::Blocked),
        Caller::Tcp("127.0.0.1:5555"),
        peer(None),
        peer(Some(Trust::Blocked)),
        peer(Some(Trust::Trusted)),
        peer(Some(Trust::Owner)),
    ];
    let capped = [Trust::Provisional, Trust::Trusted, Trust::Owner]
        .into_iter()
        .flat_map(|max| {
            [Caller::LocalOwner, peer(Some(Trust::Trusted))]
                .map(|caller| Caller::Capped(Box::new(caller), max))
        });
    base.into_iter().chain(capped).collect()
}

async fn call(
    d: &CallerMint,
    caller: Caller,
    method: &str,
    params: Value,
) -> Result<Value, CommandError> {
    call_meta(d, caller, method, params, CallMeta::default()).await
}

/// Mints `caller` as its transport would and makes one call.
async fn call_meta(
    d: &CallerMint,
    caller: Caller,
    method: &str,
    params: Value,
    meta: CallMeta,
) -> Result<Value, CommandError> {
    let mut request = Request {
        meta,
        ..Request::new(method, params)
    };
    let mut caller = caller;
    if let Caller::Capped(inner, max) = caller {
        request.max_trust = Some(max);
        caller = *inner;
    }
    let session = match caller {
        Caller::LocalOwner => d.local_owner(),
        Caller::Persona(id, trust) => d.persona(id.into(), trust),
        Caller::Tcp(remote) => d.tcp(remote.parse().unwrap()),
        Caller::Peer {
            id,
            key,
            trust,
            grant,
        } => {
            request.credential = grant.map(Credential::Grant);
            d.peer(id, key, trust)
        }
        Caller::Capped(..) => unreachable!("one ceiling per call"),
    };
    session.call(request).await
}

async fn listed(d: &CallerMint, caller: Caller) -> BTreeSet<String> {
    let result = call(d, caller, "commands/list", json!({"schemas": false}))
        .await
        .unwrap_or(json!({"commands": []}));
    result["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Params that make a command run (or fail validation) without side effects
/// that would break other checks; what matters is forbidden vs not.
fn probe_params(name: &str) -> Value {
    match name {
        "system/shutdown" | "test/panic" => json!({}),
        _ => json!({"__probe": true}),
    }
}

#[tokio::test]
async fn commands_list_shows_exactly_what_the_gate_allows_for_every_caller() {
    let d = kernel();
    let all: Vec<String> = d
        .dispatcher()
        .registry()
        .entries()
        .map(|e| e.descriptor().name.clone())
        .collect();
    let mut callers = every_kind_of_caller();
    callers.extend(peers_with_grants(&d).await);
    for caller in callers {
        let visible = listed(&d, caller.clone()).await;
        for name in &all {
            let outcome = call(&d, caller.clone(), name, probe_params(name)).await;
            let forbidden = matches!(outcome, Err(CommandError::Forbidden { .. }));
            assert_eq!(
                visible.contains(name),
                !forbidden,
                "{caller:?}: '{name}' listed={} but dispatch gave {outcome:?}",
                visible.contains(name)
            );
        }
    }
}

#[tokio::test]
async fn every_advertised_command_routes_to_a_handler() {
    let d = kernel();
    let names = listed(&d, Caller::LocalOwner).await;
    assert_eq!(
        names.len(),
        d.dispatcher().registry().len(),
        "the owner sees every command"
    );
    for name in &names {
        let outcome = call(&d, Caller::LocalOwner, name, probe_params(name)).await;
        assert!(
            !matches!(outcome, Err(CommandError::MethodNotFound { .. })),
            "{name} is advertised but does not route"
        );
    }
    // The check can fail: a name nothing serves is answered MethodNotFound.
    let unserved = call(&d, Caller::LocalOwner, "ping/unserved", json!({})).await;
    assert!(
        matches!(unserved, Err(CommandError::MethodNotFound { .. })),
        "{unserved:?}"
    );
    assert!(names.contains("ping") && names.contains("commands/list"));
}

#[tokio::test]
async fn destructive_data_commands_stay_owner_only() {
    let d = kernel();
    let destructive: Vec<String> = d
        .dispatcher()
        .registry()
        .entries()
        .filter(|entry| entry.descriptor().destructive)
        .map(|entry| entry.descriptor().name.clone())
        .collect();
    for name in [
        "data/update",
        "data/delete",
        "data/truncate",
        "data/clear-all",
    ] {
        assert!(
            destructive.iter().any(|d| d == name),
            "{name} must declare DESTRUCTIVE"
        );
    }
    for name in &destructive {
        let entry = d.dispatcher().registry().get(name).unwrap();
        assert_eq!(
            entry.descriptor().access,
            Access::OwnerOnly,
            "{name} must stay owner-only"
        );
        // Even a peer holding a grant for the whole `data/` family.
        let data_grant =
            granted_peer(&d, "g-data", public_key(6), public_key(6), &["data"], None).await;
        for caller in every_kind_of_caller()
            .into_iter()
            .filter(|c| {
                *c != Caller::LocalOwner
                    && *c != Caller::Capped(Box::new(Caller::LocalOwner), Trust::Owner)
            })
            .chain([data_grant])
        {
            let outcome = call(
                &d,
                caller.clone(),
                name,
                json!({"collection": "c", "id": "x", "confirm": true, "data": {}}),
            )
            .await;
            assert!(
                matches!(outcome, Err(CommandError::Forbidden { .. })),
                "{caller:?} reached {name}: {outcome:?}"
            );
        }
    }
}

#[tokio::test]
async fn unknown_commands_suggest_only_what_the_caller_may_call() {
    let d = kernel();
    let owner = call(&d, Caller::LocalOwner, "data/delet", json!({})).await;
    let remote = call(&d, Caller::Tcp("127.0.0.1:1"), "data/delet", json!({})).await;
    match (owner, remote) {
        (
            Err(CommandError::MethodNotFound { suggestions: o, .. }),
            Err(CommandError::MethodNotFound { suggestions: r, .. }),
        ) => {
            assert!(o.contains(&"data/delete".to_owned()), "{o:?}");
            assert!(
                !r.contains(&"data/delete".to_owned()),
                "an owner-only name leaked to a remote caller: {r:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// A composing command: calls another command through its context.
struct Composer;

impl Command for Composer {
    const NAME: &'static str = "compose/forward";
    const DESCRIPTION: &'static str = "calls `command` with `params` as the same caller";
    const ACCESS: Access = Access::AiSafe;
    type Params = Value;
    type Output = Value;

    async fn run(&self, ctx: Ctx, params: Value) -> Result<Value, CommandError> {
        let command = params["command"].as_str().unwrap_or_default().to_owned();
        ctx.call_by_name(&command, params["params"].clone()).await
    }
}

#[tokio::test]
async fn composition_carries_the_caller_and_cannot_escalate() {
    let documents = Arc::new(MemoryDocumentStore::new());
    let registry = RegistryBuilder::new()
        .with_registered()
        .module(&SystemModule::new(state("/tmp/unused-home".into())))
        .module(&DataModule::new(documents))
        .command(erase(Composer));
    let audit = GateAudit(Arc::new(MemoryAuditLog::new()));
    let d = KernelBuilder::new(registry, Arc::new(audit))
        .build()
        .unwrap();
    let persona = Caller::Persona("asha", Trust::Provisional);
    let delete = json!({"command": "data/delete", "params": {"collection": "c", "id": "x"}});

    let outcome = call(&d, persona.clone(), "compose/forward", delete.clone()).await;
    assert!(
        matches!(outcome, Err(CommandError::Forbidden { .. })),
        "provisional escalated through composition: {outcome:?}"
    );

    let outcome = call(&d, Caller::LocalOwner, "compose/forward", delete).await;
    assert_eq!(
        outcome.unwrap(),
        json!({"deleted": false}),
        "the owner composes freely"
    );

    let ping = json!({"command": "ping", "params": {"message": "via compose"}});
    let outcome = call(&d, persona, "compose/forward", ping).await.unwrap();
    assert_eq!(outcome["message"], "via compose");

    // A trust ceiling rides along too: the owner capped at Provisional
    // cannot reach an owner-only command through composition.
    let capped = Caller::Capped(Box::new(Caller::LocalOwner), Trust::Provisional);
    let delete = json!({"command": "data/delete", "params": {"collection": "c", "id": "x"}});
    let outcome = call(&d, capped, "compose/forward", delete).await;
    assert!(
        matches!(outcome, Err(CommandError::Forbidden { .. })),
        "a ceiling was lost in composition: {outcome:?}"
    );
}

#[tokio::test]
async fn composition_deeper_than_the_limit_is_overloaded_not_internal() {
    let registry = RegistryBuilder::new()
        .with_registered()
        .command(erase(Composer));
    let audit = GateAudit(Arc::new(MemoryAuditLog::new()));
    let d = KernelBuilder::new(registry, Arc::new(audit))
        .build()
        .unwrap();
    // Twelve nested compositions; the kernel allows eight.
    let mut params = json!({"command": "ping", "params": {}});
    for _ in 0..12 {
        params = json!({"command": "compose/forward", "params": params});
    }
    let outcome = call(&d, Caller::LocalOwner, "compose/forward", params).await;
    match outcome {
        Err(CommandError::Overloaded(message)) => {
            assert!(message.contains("composition deeper than 8"), "{message}")
        }
        other => panic!("expected overloaded, got {other:?}"),
    }
}

#[tokio::test]
async fn a_trust_ceiling_only_ever_lowers_trust() {
    let d = kernel();
    let owner = listed(&d, Caller::LocalOwner).await;
    let provisional = listed(&d, Caller::Persona("p", Trust::Provisional)).await;
    let trusted = listed(&d, Caller::Persona("t", Trust::Trusted)).await;
    let capped = |caller: Caller, max| Caller::Capped(Box::new(caller), max);
    // The owner capped at a level sees exactly what that level sees.
    assert_eq!(
        listed(&d, capped(Caller::LocalOwner, Trust::Provisional)).await,
        provisional
    );
    assert_eq!(
        listed(&d, capped(Caller::LocalOwner, Trust::Trusted)).await,
        trusted
    );
    assert_eq!(
        listed(&d, capped(Caller::LocalOwner, Trust::Owner)).await,
        owner
    );
    assert!(listed(&d, capped(Caller::LocalOwner, Trust::Blocked))
        .await
        .is_empty());
    assert!(provisional.len() < owner.len());
    // No ceiling raises anyone: a TCP caller asking for Owner stays Provisional.
    for max in [Trust::Trusted, Trust::Owner] {
        assert_eq!(
            listed(&d, capped(Caller::Tcp("127.0.0.1:2"), max)).await,
            provisional
        );
        let outcome = call(
            &d,
            capped(Caller::Tcp("127.0.0.1:2"), max),
            "system/shutdown",
            json!({}),
        )
        .await;
        assert!(
            matches!(outcome, Err(CommandError::Forbidden { .. })),
            "{outcome:?}"
        );
    }
    let outcome = call(
        &d,
        capped(Caller::LocalOwner, Trust::Provisional),
        "data/clear-all",
        json!({"confirm": true}),
    )
    .await;
    match outcome {
        Err(CommandError::Forbidden { reason, .. }) => assert_eq!(reason, "owner_only"),
        other => panic!("expected owner_only, got {other:?}"),
    }
}

#[tokio::test]
async fn forwarded_for_is_audited_and_never_changes_a_decision() {
    let audit = Arc::new(MemoryAuditLog::new());
    let d = kernel_with(audit.clone());
    let tcp = Caller::Tcp("127.0.0.1:9");
    let meta = CallMeta {
        request_id: None,
        forwarded_for: Some("owner".into()),
    };
    let outcome = call_meta(
        &d,
        tcp.clone(),
        "data/delete",
        json!({"collection": "c", "id": "x"}),
        meta,
    )
    .await;
    assert!(
        matches!(outcome, Err(CommandError::Forbidden { .. })),
        "claiming to act for the owner must not help"
    );
    let meta = CallMeta {
        request_id: None,
        forwarded_for: Some("alice".into()),
    };
    call_meta(&d, tcp, "ping", json!({}), meta).await.unwrap();
    let records = audit.records();
    let denied = records.iter().find(|r| r.command == "data/delete").unwrap();
    assert_eq!(denied.outcome.as_str(), "denied");
    assert_eq!(denied.reason, "owner_only");
    assert_eq!(denied.forwarded_for.as_deref(), Some("owner"));
    let allowed = records.iter().find(|r| r.command == "ping").unwrap();
    assert_eq!(allowed.forwarded_for.as_deref(), Some("alice"));
    assert_eq!(allowed.caller, "tcp:127.0.0.1:9");
}

#[tokio::test]
async fn owner_only_actions_fail_closed_when_the_audit_log_fails() {
    let audit = Arc::new(MemoryAuditLog::new());
    let d = kernel_with(audit.clone());
    call(
        &d,
        Caller::LocalOwner,
        "data/create",
        json!({"collection": "c", "id": "1", "data": {}}),
    )
    .await
    .unwrap();
    audit.fail_durable_appends(true);
    let outcome = call(
        &d,
        Caller::LocalOwner,
        "data/delete",
        json!({"collection": "c", "id": "1"}),
    )
    .await;
    assert!(
        matches!(outcome, Err(CommandError::Unavailable(_))),
        "{outcome:?}"
    );
    audit.fail_durable_appends(false);
    let read = call(
        &d,
        Caller::LocalOwner,
        "data/read",
        json!({"collection": "c", "id": "1"}),
    )
    .await;
    assert!(read.is_ok(), "the refused delete did not run");
}

#[tokio::test]
async fn every_decision_is_audited_with_its_reason() {
    let audit = Arc::new(MemoryAuditLog::new());
    let d = kernel_with(audit.clone());
    let blocked = peer(Some(Trust::Blocked));
    let provisional = Caller::Persona("p", Trust::Provisional);
    let _ = call(&d, blocked, "ping", json!({})).await;
    let _ = call(&d, provisional.clone(), "system/info", json!({})).await;
    let _ = call(&d, provisional, "system/shutdown", json!({})).await;
    let _ = call(
        &d,
        Caller::LocalOwner,
        "data/truncate",
        json!({"collection": "c"}),
    )
    .await;
    let reasons: Vec<(String, String, String)> = audit
        .records()
        .into_iter()
        .map(|r| (r.command, r.outcome.as_str().to_owned(), r.reason))
        .collect();
    let expect = |c: &str, o: &str, r: &str| (c.to_owned(), o.to_owned(), r.to_owned());
    assert!(
        reasons.contains(&expect("ping", "denied", "blocked")),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&expect("system/info", "denied", "insufficient_trust")),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&expect("system/shutdown", "denied", "owner_only")),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&expect("data/truncate", "allowed", "trust")),
        "{reasons:?}"
    );
    assert!(audit.verify().await.unwrap().ok);
}

#[tokio::test]
async fn grants_lift_a_peer_above_its_ceiling_but_never_to_owner_only_and_every_verdict_is_audited()
{
    let audit = Arc::new(MemoryAuditLog::new());
    let d = kernel_with(audit.clone());
    let peers = peers_with_grants(&d).await;
    let [exact, prefix, blocked, stolen] = <[Caller; 4]>::try_from(peers).unwrap();
    let ok = |r: &Result<Value, CommandError>| r.is_ok();
    let reason = |r: Result<Value, CommandError>| match r {
        Err(CommandError::Forbidden { reason, .. }) => reason,
        other => panic!("expected forbidden, got {other:?}"),
    };

    assert!(ok(&call(&d, exact.clone(), "system/info", json!({})).await));
    assert_eq!(
        reason(call(&d, exact.clone(), "system/metrics", json!({})).await),
        "not_granted"
    );
    assert!(ok(
        &call(&d, prefix.clone(), "system/metrics", json!({})).await
    ));
    // `system` covers system/shutdown by name, but owner-only is out of reach.
    assert_eq!(
        reason(call(&d, prefix.clone(), "system/shutdown", json!({})).await),
        "owner_only"
    );
    assert_eq!(
        reason(call(&d, blocked, "system/info", json!({})).await),
        "blocked"
    );
    assert_eq!(
        reason(call(&d, stolen, "system/info", json!({})).await),
        "key_mismatch"
    );

    // Revocation: a higher epoch with nothing in it; the old grant is dead.
    call(
        &d,
        Caller::LocalOwner,
        "grid/grant/revoke",
        json!({"grantee": "g-prefix"}),
    )
    .await
    .expect("revoke");
    assert_eq!(
        reason(call(&d, prefix.clone(), "system/metrics", json!({})).await),
        "superseded"
    );
    assert!(!listed(&d, prefix).await.contains("system/metrics"));

    let records = audit.records();
    let has = |command: &str, outcome: &str, why: &str| {
        records
            .iter()
            .any(|r| r.command == command && r.outcome.as_str() == outcome && r.reason == why)
    };
    assert!(has("system/info", "allowed", "grant"));
    assert!(has("system/metrics", "denied", "not_granted"));
    assert!(has("system/shutdown", "denied", "owner_only"));
    assert!(has("system/info", "denied", "key_mismatch"));
    assert!(has("system/metrics", "denied", "superseded"));
    assert!(has("grid/grant/revoke", "allowed", "trust"));

    // A peer's records name the key its connection proved, and an allowed
    // grant call names the grant's issuer and epoch.
    let granted = records
        .iter()
        .find(|r| r.command == "system/info" && r.reason == "grant")
        .unwrap();
    assert_eq!(granted.caller, "peer:g-exact");
    assert_eq!(granted.caller_key, Some(hex::encode(public_key(1))));
    assert_eq!(granted.grant_epoch, Some(1));
    assert_eq!(granted.grant_issuer.as_deref().map(str::len), Some(64));
    let stolen = records.iter().find(|r| r.reason == "key_mismatch").unwrap();
    assert_eq!(stolen.caller_key, Some(hex::encode(public_key(4))));
    assert_eq!(stolen.grant_epoch, None, "a refused grant admitted nothing");
    let owner = records
        .iter()
        .find(|r| r.command == "grid/grant/revoke")
        .unwrap();
    assert_eq!(owner.caller_key, None);
}

#[tokio::test]
async fn issuing_checks_its_params_and_numbers_epochs_per_grantee() {
    let d = kernel();
    let issue = |params: Value| call(&d, Caller::LocalOwner, "grid/grant/issue", params);
    let key = hex::encode(public_key(9));
    let field = |r: Result<Value, CommandError>| match r {
        Err(CommandError::InvalidParams { field, .. }) => field,
        other => panic!("expected invalid params, got {other:?}"),
    };
    let base = json!({"grantee": "peer-x", "granteeKey": key, "capabilities": ["system/info"], "ttl": "1h"});
    let with = |k: &str, v: Value| {
        let mut p = base.clone();
        p[k] = v;
        p
    };
    assert_eq!(
        field(issue(with("granteeKey", json!("abc"))).await),
        "/granteeKey"
    );
    assert_eq!(
        field(issue(with("grantee", json!("a b"))).await),
        "/grantee"
    );
    assert_eq!(field(issue(with("ttl", json!("forever"))).await), "/ttl");
    assert_eq!(
        field(issue(with("capabilities", json!([]))).await),
        "/capabilities"
    );
    assert_eq!(
        field(issue(with("capabilities", json!(["system/info", "data/delete"]))).await),
        "/capabilities/1"
    );
    // Capabilities that can never match a command, and duplicates.
    for capability in ["*", "ping\u{0}", "nonexistent/cmd", "System/info", "ai/"] {
        assert_eq!(
            field(issue(with("capabilities", json!(["ping", capability]))).await),
            "/capabilities/1",
            "{capability:?}"
        );
    }
    assert_eq!(
        field(issue(with("capabilities", json!(["system", "ping", "system"]))).await),
        "/capabilities/2"
    );
    // Keys no one can hold a secret for.
    for key in [
        "00".repeat(32),
        "ff".repeat(32),
        format!("01{}", "00".repeat(31)),
    ] {
        assert_eq!(
            field(issue(with("granteeKey", json!(key))).await),
            "/granteeKey",
            "{key}"
        );
    }
    let first = issue(base.clone()).await.unwrap();
    let second = issue(base.clone()).await.unwrap();
    assert_eq!(
        (first["epoch"].as_u64(), second["epoch"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(field(issue(with("epoch", json!(2))).await), "/epoch");
    assert_eq!(issue(with("epoch", json!(10))).await.unwrap()["epoch"], 10);
    let listed = call(
        &d,
        Caller::LocalOwner,
        "grid/grant/list",
        json!({"grantee": "peer-x"}),
    )
    .await
    .unwrap();
    let epochs: Vec<u64> = listed["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["epoch"].as_u64().unwrap())
        .collect();
    assert_eq!(epochs.len(), 3, "{listed}");
    assert!(epochs.contains(&10));
    let unknown = call(
        &d,
        Caller::LocalOwner,
        "grid/grant/revoke",
        json!({"grantee": "nobody"}),
    )
    .await;
    assert!(
        matches!(unknown, Err(CommandError::NotFound(_))),
        "{unknown:?}"
    );
}

/// A peer directory whose answer the test changes.
struct FlipDirectory(std::sync::Mutex<Option<Trust>>);

impl continuum_kernel::credential::PeerDirectory for FlipDirectory {
    fn trust(&self, peer_id: &str, key: &[u8; 32]) -> Option<Trust> {
        (peer_id == "peer-9" && key == &[9; 32])
            .then(|| *self.0.lock().unwrap())
            .flatten()
    }
}

#[tokio::test]
async fn blocking_a_registered_peer_reaches_its_open_session() {
    let registry = RegistryBuilder::new()
        .with_registered()
        .module(&SystemModule::new(state("/tmp/unused-home".into())));
    let audit = Arc::new(MemoryAuditLog::new());
    let directory = Arc::new(FlipDirectory(std::sync::Mutex::new(Some(Trust::Trusted))));
    let d = KernelBuilder::new(registry, Arc::new(GateAudit(audit.clone())))
        .peers(directory.clone())
        .build()
        .unwrap();
    // One session, as one open connection holds.
    let session = d.registered_peer("peer-9".into(), [9; 32]);
    let trusted = session.call(Request::new("system/info", json!({}))).await;
    assert!(
        trusted.is_ok(),
        "a Trusted peer may call system/info: {trusted:?}"
    );

    *directory.0.lock().unwrap() = Some(Trust::Blocked);
    let blocked = session.call(Request::new("ping", json!({}))).await;
    assert!(
        matches!(&blocked, Err(CommandError::Forbidden { reason, .. }) if reason == "blocked"),
        "{blocked:?}"
    );

    // Forgotten (no longer registered with this key): Blocked as well.
    *directory.0.lock().unwrap() = None;
    let forgotten = session.call(Request::new("ping", json!({}))).await;
    assert!(
        matches!(&forgotten, Err(CommandError::Forbidden { reason, .. }) if reason == "blocked"),
        "{forgotten:?}"
    );
    // A session of the same key under another id is not that peer.
    let stranger = d.registered_peer("peer-10".into(), [9; 32]);
    assert!(stranger
        .call(Request::new("ping", json!({})))
        .await
        .is_err());

    // Without a directory, a peer is unknown: Provisional.
    let plain = KernelBuilder::new(
        RegistryBuilder::new().with_registered(),
        Arc::new(GateAudit(Arc::new(MemoryAuditLog::new()))),
    )
    .build()
    .unwrap();
    let unknown = plain.registered_peer("peer-9".into(), [9; 32]);
    assert!(unknown.call(Request::new("ping", json!({}))).await.is_ok());
}
