//! What the gate and the audit log add to a dispatch.
//!
//! `cargo bench -p continuum-daemon --bench gate`
//!
//! - `gate/decide`: the pure decision (trust x access).
//! - `gate/decide+audit_enqueue`: the decision plus building and queueing its
//!   audit record on the real SQLite log, i.e. everything the gate layer adds
//!   to an allowed AI-safe call.
//! - `dispatch/ping`: a whole dispatch of `ping` as the owner (lookup, gate,
//!   audit, metrics, validation, timeout, panic guard, handler).
//! - `dispatch/owner_only_audited`: an owner-only command, whose audit record
//!   is committed durably to SQLite before it runs.

#![allow(missing_docs)] // criterion's macros generate undocumented items

use continuum_commands::system::DaemonState;
use continuum_daemon::{build_kernel, DaemonConfig, Services};
use continuum_kernel::audit::{AuditEvent, Outcome};
use continuum_kernel::gate::{decide, Trust};
use continuum_kernel::Request;
use continuum_store::{AuditStore, SqliteAuditLog};
use continuum_wire::Access;
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use std::hint::black_box;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let audit = Arc::new(SqliteAuditLog::open(&dir.path().join("audit.sqlite")).unwrap());
    let state = Arc::new(DaemonState::new(
        "bench",
        dir.path().to_owned(),
        dir.path().join("core.sock"),
        None,
        CancellationToken::new(),
    ));
    let mut services = Services::ephemeral(dir.path()).unwrap();
    services.audit = audit.clone();
    let mint = build_kernel(&state, &services, &DaemonConfig::default(), &[]).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let event = || AuditEvent {
        time_ms: 1,
        caller: "persona:asha".into(),
        caller_key: None,
        command: "ping".into(),
        outcome: Outcome::Allowed,
        reason: "trust".into(),
        forwarded_for: None,
        grant_issuer: None,
        grant_epoch: None,
    };

    c.bench_function("gate/decide", |b| {
        b.iter(|| {
            decide(
                black_box(Trust::Provisional),
                black_box(Access::AiSafe),
                false,
            )
        })
    });
    c.bench_function("gate/decide+audit_enqueue", |b| {
        b.iter(|| {
            let decision = decide(
                black_box(Trust::Provisional),
                black_box(Access::AiSafe),
                false,
            );
            audit.append(event());
            decision
        })
    });
    let owner = mint.local_owner();
    c.bench_function("dispatch/ping", |b| {
        b.to_async(&runtime)
            .iter(|| async { owner.call(Request::new("ping", json!({}))).await.unwrap() })
    });
    c.bench_function("dispatch/owner_only_audited", |b| {
        b.to_async(&runtime).iter(|| async {
            owner
                .call(Request::new(
                    "data/delete",
                    json!({"collection": "c", "id": "x"}),
                ))
                .await
                .unwrap()
        })
    });
    runtime.block_on(audit.flush()).unwrap();
}

criterion_group! {
    name = gate;
    config = Criterion::default().sample_size(50).measurement_time(std::time::Duration::from_secs(3));
    targets = benches
}
criterion_main!(gate);
