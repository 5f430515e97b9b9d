//! The STS-cached credential lookup (issue target: under 1 us): what every
//! signed S3 request asks the broker for. The cache is filled by real
//! AssumeRole calls to moto (IAM enforced), then only the cache is timed:
//! - `cached`: the synchronous fast path ([`StsBroker::cached`]);
//! - `credentials`: the async entry point S3 clients call, polled once
//!   (a cache hit completes on the first poll, no runtime involved).
//!
//! Each for one wallet alone and for one among 1,000 cached wallets.
//!
//! Needs `CONTINUUM_TEST_MOTO_PYTHON` (scripts/ci/setup-moto.sh); prints
//! "skipped" without it.
//!
//! Run: `CONTINUUM_TEST_MOTO_PYTHON=$(bash scripts/ci/setup-moto.sh) cargo bench -p continuum-s3 --bench cached_lookup`

#![allow(missing_docs)]

#[path = "../tests/support/mod.rs"]
mod support;

use continuum_s3::{DataClass, Scope, StsBroker};
use criterion::{criterion_group, criterion_main, Criterion};
use futures_util::{FutureExt, StreamExt};
use std::hint::black_box;
use std::sync::Arc;

const WALLETS: usize = 1000;

fn lookups(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(fx) = runtime.block_on(support::Fixture::start(&[])) else {
        return;
    };
    let broker: Arc<StsBroker> = Arc::clone(fx.storage.broker());
    let one = "persona/solo";
    runtime.block_on(async {
        broker
            .credentials(DataClass::Memory, Scope::Wallet(one))
            .await
            .unwrap();
    });
    let wallets: Vec<String> = (0..WALLETS).map(|n| format!("persona/p{n:04}")).collect();
    runtime.block_on(async {
        // Filled with real AssumeRole calls, a few at a time.
        futures_util::stream::iter(&wallets)
            .for_each_concurrent(8, |wallet| {
                let broker = &broker;
                async move {
                    broker
                        .credentials(DataClass::Vault, Scope::Wallet(wallet))
                        .await
                        .unwrap();
                }
            })
            .await;
    });
    let calls = broker.assume_role_calls();
    let among = wallets[WALLETS / 2].as_str();

    let mut group = c.benchmark_group("sts_cached_lookup");
    group.bench_function("cached/one_wallet", |b| {
        b.iter(|| {
            black_box(broker.cached(DataClass::Memory, Scope::Wallet(black_box(one)))).unwrap()
        })
    });
    group.bench_function(format!("cached/one_of_{WALLETS}"), |b| {
        b.iter(|| {
            black_box(broker.cached(DataClass::Vault, Scope::Wallet(black_box(among)))).unwrap()
        })
    });
    group.bench_function("credentials/one_wallet", |b| {
        b.iter(|| {
            broker
                .credentials(DataClass::Memory, Scope::Wallet(black_box(one)))
                .now_or_never()
                .expect("a cache hit is ready on the first poll")
                .unwrap()
        })
    });
    group.bench_function(format!("credentials/one_of_{WALLETS}"), |b| {
        b.iter(|| {
            broker
                .credentials(DataClass::Vault, Scope::Wallet(black_box(among)))
                .now_or_never()
                .expect("a cache hit is ready on the first poll")
                .unwrap()
        })
    });
    group.finish();
    assert_eq!(
        broker.assume_role_calls(),
        calls,
        "every timed lookup was a cache hit"
    );
    drop(fx);
}

criterion_group!(benches, lookups);
criterion_main!(benches);
