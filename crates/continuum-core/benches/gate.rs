//! What the gate and the audit log add to a dispatch.
//!
//! `cargo bench -p continuum-core --bench gate`
//!
//! - `gate/decide`: the pure decision (caller trust x access).
//! - `gate/decide+audit_enqueue`: the decision plus building and queueing its
//!   audit record on the real SQLite log, i.e. everything the gate layer adds
//!   to an allowed AI-safe call.
//! - `dispatch/ping`: a whole dispatch of `ping` as the owner (lookup, gate,
//!   audit, metrics, validation, timeout, panic guard, handler).
//! - `dispatch/owner_only_audited`: an owner-only command, whose audit record
//!   is committed durably to SQLite before it runs.

use continuum_core::audit::{AuditEvent, AuditLog, Outcome, SqliteAuditLog};
use continuum_core::command::CallMeta;
use continuum_core::daemon::{build_dispatcher, DaemonState, Home, Services};
use continuum_core::dispatch::Call;
use continuum_core::gate::{caller_trust, decide, Caller, Trust};
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
        &Home::at(dir.path()),
        None,
        CancellationToken::new(),
    ));
    let services = Services::ephemeral(dir.path()).unwrap();
    let dispatcher =
        Arc::new(build_dispatcher(&state, &services, audit.clone() as Arc<dyn AuditLog>).unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let persona = Caller::Persona {
        persona_id: "asha".into(),
        trust: Trust::Provisional,
    };

    c.bench_function("gate/decide", |b| {
        b.iter(|| {
            decide(
                caller_trust(black_box(&persona)),
                black_box(Access::AiSafe),
                false,
            )
        })
    });
    c.bench_function("gate/decide+audit_enqueue", |b| {
        b.iter(|| {
            let decision = decide(
                caller_trust(black_box(&persona)),
                black_box(Access::AiSafe),
                false,
            );
            audit.append(AuditEvent::new(
                &persona,
                "ping",
                Outcome::Allowed,
                "trust",
                None,
            ));
            decision
        })
    });
    let owner = Arc::new(Caller::LocalOwner);
    let meta = Arc::new(CallMeta::default());
    let call = |method: &str, params: serde_json::Value| Call {
        caller: Arc::clone(&owner),
        method: method.to_owned(),
        params,
        meta: Arc::clone(&meta),
        stream: None,
    };
    c.bench_function("dispatch/ping", |b| {
        b.to_async(&runtime)
            .iter(|| async { dispatcher.dispatch(call("ping", json!({}))).await.unwrap() })
    });
    c.bench_function("dispatch/owner_only_audited", |b| {
        b.to_async(&runtime).iter(|| async {
            dispatcher
                .dispatch(call("data/delete", json!({"collection": "c", "id": "x"})))
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
