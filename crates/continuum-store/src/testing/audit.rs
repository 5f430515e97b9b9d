//! The [`AuditStore`] contract: order, chaining, durable and queued appends,
//! tail, flush, and the grant and key fields under the hash.

use crate::{AuditStore, GENESIS_HASH};
use continuum_wire::{AuditEvent, Outcome};

fn event(n: u64) -> AuditEvent {
    AuditEvent {
        time_ms: 1_800_000_000_000 + n,
        caller: format!("peer:p{n}"),
        caller_key: n.is_multiple_of(2).then(|| format!("{n:064x}")),
        command: "system/info".into(),
        outcome: if n.is_multiple_of(3) {
            Outcome::Denied
        } else {
            Outcome::Allowed
        },
        reason: "grant".into(),
        forwarded_for: n.is_multiple_of(5).then(|| "alice".into()),
        grant_issuer: n.is_multiple_of(2).then(|| "ab".repeat(32)),
        grant_epoch: n.is_multiple_of(2).then_some(u64::MAX - n),
    }
}

/// Runs the contract on an empty `store`.
pub async fn contract(name: &str, store: &dyn AuditStore) {
    assert!(
        store.tail(10).await.unwrap().is_empty(),
        "{name}: not empty"
    );
    for n in 1..=6 {
        if n % 2 == 0 {
            store.append_durable(event(n)).await.unwrap();
        } else {
            store.append(event(n));
        }
    }
    store.flush().await.unwrap();
    let records = store.tail(100).await.unwrap();
    assert_eq!(records.len(), 6, "{name}: every append is kept");
    assert_eq!(records[0].prev_hash, GENESIS_HASH, "{name}");
    for (n, record) in (1..).zip(&records) {
        let expected = event(n);
        assert_eq!(record.seq, n, "{name}: in order");
        assert_eq!(record.caller, expected.caller, "{name}");
        assert_eq!(record.caller_key, expected.caller_key, "{name}");
        assert_eq!(record.outcome, expected.outcome, "{name}");
        assert_eq!(record.forwarded_for, expected.forwarded_for, "{name}");
        assert_eq!(record.grant_issuer, expected.grant_issuer, "{name}");
        assert_eq!(record.grant_epoch, expected.grant_epoch, "{name}");
        assert_eq!(record.hash, record.compute_hash(), "{name}: sealed");
    }
    for pair in records.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash, "{name}: chained");
    }
    let tail = store.tail(2).await.unwrap();
    assert_eq!(
        tail.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [5, 6],
        "{name}: tail is the newest, oldest first"
    );
    let after: Vec<u64> = store
        .after(2, 3)
        .await
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(
        after,
        [3, 4, 5],
        "{name}: after a seq, oldest first, at most the limit"
    );
    assert!(
        store.after(6, 10).await.unwrap().is_empty(),
        "{name}: nothing after the last"
    );
    let report = store.verify().await.unwrap();
    assert!(report.ok, "{name}: {report:?}");
    assert_eq!(report.records, 6, "{name}");

    // Identical queued decisions may be rolled up, never dropped or invented:
    // the counts of the new records add up to what was appended.
    for _ in 0..25 {
        store.append(event(1));
    }
    store.flush().await.unwrap();
    let rolled = store.tail(100).await.unwrap();
    let counted: u64 = rolled[6..].iter().map(|record| record.count).sum();
    assert_eq!(counted, 25, "{name}: every queued decision is counted");
    assert!(rolled[6..].iter().all(|r| r.caller == "peer:p1"), "{name}");
    assert!(store.verify().await.unwrap().ok, "{name}");

    // Retention: the newest records stay, and still verify from their base.
    let before = store.tail(1000).await.unwrap();
    let head = before.last().unwrap().seq;
    let report = store.compact(3).await.unwrap();
    assert_eq!(report.kept, 3, "{name}: {report:?}");
    assert_eq!(report.base_seq, head - 3, "{name}");
    let kept = store.tail(1000).await.unwrap();
    assert_eq!(kept.first().map(|r| r.seq), Some(head - 2), "{name}");
    store.append_durable(event(2)).await.unwrap();
    let verified = store.verify().await.unwrap();
    assert!(verified.ok, "{name}: {verified:?}");
    assert_eq!(verified.base_seq, Some(head - 3), "{name}");
    assert_eq!(store.compact(1000).await.unwrap().dropped, 0, "{name}");
}
