//! The [`EpochWatermarks`] contract: supersede, revoke (through the real
//! `authorize` path with signed grants), preview without side effects,
//! eviction, and a race between two epochs. Every store, here or in another
//! crate, runs [`contract`] with a factory of fresh stores.

use continuum_grant::{
    authorize, issue_grant, EpochDecision, EpochWatermarks, GrantSpec, GrantVerdict, SignedGrant,
    VerifyPolicy,
};
use ed25519_dalek::SigningKey;
use std::sync::{Arc, Barrier};
use std::time::Instant;

/// The clock the contract runs at.
pub const NOW: u64 = 1_800_000_000_000;
const HOUR: u64 = 3_600_000;
/// The retention the factory must give each store it makes.
pub const RETENTION: u64 = 60_000;

/// Makes a fresh, empty store with [`RETENTION`].
pub type Factory<'a> = &'a dyn Fn() -> Arc<dyn EpochWatermarks>;

/// Runs every rule of the contract, each on a fresh store from `make`.
/// `name` labels failures.
pub fn contract(name: &str, make: Factory<'_>) {
    a_higher_epoch_supersedes_and_equal_epochs_keep_working(name, make().as_ref());
    revocation_is_a_higher_epoch_that_confers_nothing(name, make().as_ref());
    previewing_never_moves_the_watermark(name, make().as_ref());
    epochs_compare_exactly_across_the_whole_u64_range(name, make().as_ref());
    entries_are_evicted_only_after_their_latest_expiry_plus_retention(name, make().as_ref());
    racing_epochs_never_let_the_lower_win_after_the_higher_committed(name, make);
}

fn accept(store: &dyn EpochWatermarks, grantee: &str, epoch: u64, expires: u64) -> EpochDecision {
    store
        .check_and_advance(grantee, epoch, expires, NOW)
        .unwrap()
}

fn a_higher_epoch_supersedes_and_equal_epochs_keep_working(
    name: &str,
    store: &dyn EpochWatermarks,
) {
    {
        assert_eq!(
            accept(store, "bob", 3, NOW + HOUR),
            EpochDecision::Accept,
            "{name}"
        );
        assert_eq!(
            accept(store, "bob", 3, NOW + HOUR),
            EpochDecision::Accept,
            "{name}"
        );
        assert_eq!(
            accept(store, "bob", 2, NOW + HOUR),
            EpochDecision::Superseded { watermark: 3 },
            "{name}"
        );
        assert_eq!(
            accept(store, "bob", 4, NOW + HOUR),
            EpochDecision::Accept,
            "{name}"
        );
        assert_eq!(
            accept(store, "bob", 3, NOW + HOUR),
            EpochDecision::Superseded { watermark: 4 },
            "{name}"
        );
        // Grantees are independent.
        assert_eq!(
            accept(store, "carol", 1, NOW + HOUR),
            EpochDecision::Accept,
            "{name}"
        );
    }
}

/// Signed grants for the contract's grantee `bob`.
pub struct Grants {
    issuer: SigningKey,
    grantee: SigningKey,
}

impl Grants {
    /// Fixed issuer and grantee keys.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Grants {
            issuer: SigningKey::from_bytes(&[0x11; 32]),
            grantee: SigningKey::from_bytes(&[0x22; 32]),
        }
    }

    /// A grant to `bob` at `epoch` for `capabilities`.
    pub fn issue(&self, epoch: u64, capabilities: &[&str]) -> SignedGrant {
        issue_grant(
            &self.issuer,
            GrantSpec {
                mesh_id: "mesh".into(),
                grantee_peer_id: "bob".into(),
                grantee_key: self.grantee.verifying_key().to_bytes(),
                capabilities: capabilities.iter().map(|c| c.to_string()).collect(),
                issued_at_ms: NOW - 1000,
                expires_at_ms: NOW + HOUR,
                epoch,
            },
        )
        .unwrap()
    }

    fn policy(&self) -> VerifyPolicy {
        VerifyPolicy {
            trusted_issuers: vec![self.issuer.verifying_key().to_bytes()],
            expected_mesh: "mesh".into(),
            max_clock_skew_ms: 30_000,
        }
    }

    /// Presents `grant` for `command` through the full authorization.
    pub fn present(
        &self,
        store: &dyn EpochWatermarks,
        grant: &SignedGrant,
        command: &str,
    ) -> Result<(), GrantVerdict> {
        authorize(
            grant,
            &self.grantee.verifying_key().to_bytes(),
            command,
            &self.policy(),
            store,
            NOW,
        )
        .map(|_| ())
    }
}

fn revocation_is_a_higher_epoch_that_confers_nothing(name: &str, store: &dyn EpochWatermarks) {
    let g = Grants::new();
    {
        let grant = g.issue(1, &["ai/generate"]);
        assert_eq!(g.present(store, &grant, "ai/generate"), Ok(()), "{name}");
        let revocation = g.issue(2, &[]);
        assert_eq!(
            g.present(store, &revocation, "ai/generate")
                .unwrap_err()
                .code(),
            "not_granted",
            "{name}"
        );
        assert_eq!(
            g.present(store, &grant, "ai/generate").unwrap_err(),
            GrantVerdict::Superseded {
                watermark: 2,
                presented: 1
            },
            "{name}"
        );
    }
}

fn entries_are_evicted_only_after_their_latest_expiry_plus_retention(
    name: &str,
    store: &dyn EpochWatermarks,
) {
    {
        accept(store, "short", 1, NOW + 1000);
        accept(store, "long", 1, NOW + 1000);
        // A later grant for `long` pushes its entry's expiry out.
        accept(store, "long", 1, NOW + HOUR);
        assert_eq!(
            store.evict_expired(NOW + 1000 + RETENTION).unwrap(),
            0,
            "{name}"
        );
        assert_eq!(
            store.evict_expired(NOW + 1001 + RETENTION).unwrap(),
            1,
            "{name}"
        );
        // `long` is still there: an old epoch is still refused.
        accept(store, "long", 5, NOW + HOUR);
        assert_eq!(
            accept(store, "long", 1, NOW + HOUR),
            EpochDecision::Superseded { watermark: 5 },
            "{name}"
        );
        // `short` was forgotten: a new epoch 1 starts fresh.
        assert_eq!(
            accept(store, "short", 1, NOW + HOUR),
            EpochDecision::Accept,
            "{name}"
        );
        // A superseded presentation still raises the recorded expiry.
        accept(store, "late", 9, NOW + 1000);
        accept(store, "late", 1, NOW + HOUR);
        assert_eq!(
            store.evict_expired(NOW + 2000 + RETENTION).unwrap(),
            0,
            "{name}"
        );
    }
}

/// Many threads present epochs N and N+1 for one grantee at once. Once an
/// N+1 call has returned Accept, no N call that started afterwards may be
/// accepted, and the watermark ends at N+1.
fn racing_epochs_never_let_the_lower_win_after_the_higher_committed(name: &str, make: Factory<'_>) {
    let store = make();
    {
        for round in 0..20u64 {
            let grantee = format!("racer-{round}");
            let low = round * 2 + 1;
            accept(store.as_ref(), &grantee, low, NOW + HOUR);
            let threads = 8;
            let barrier = Arc::new(Barrier::new(threads));
            let epoch0 = Instant::now();
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let store = Arc::clone(&store);
                    let barrier = Arc::clone(&barrier);
                    let grantee = grantee.clone();
                    std::thread::spawn(move || {
                        barrier.wait();
                        let mut log = Vec::new();
                        for i in 0..25 {
                            // One thread in four presents the higher epoch, midway.
                            let epoch = if t % 4 == 0 && i >= 10 { low + 1 } else { low };
                            let started = epoch0.elapsed();
                            let decision = store
                                .check_and_advance(&grantee, epoch, NOW + HOUR, NOW)
                                .unwrap();
                            log.push((started, epoch0.elapsed(), epoch, decision));
                        }
                        log
                    })
                })
                .collect();
            let log: Vec<_> = workers
                .into_iter()
                .flat_map(|w| w.join().unwrap())
                .collect();
            let first_high_done = log
                .iter()
                .filter(|(_, _, epoch, d)| *epoch == low + 1 && *d == EpochDecision::Accept)
                .map(|(_, done, _, _)| *done)
                .min()
                .expect("the higher epoch was accepted");
            for (started, _, epoch, decision) in &log {
                if *epoch == low && *started > first_high_done {
                    assert_eq!(
                        *decision,
                        EpochDecision::Superseded { watermark: low + 1 },
                        "{name}: epoch {low} accepted after {} committed",
                        low + 1
                    );
                }
            }
            assert_eq!(
                accept(store.as_ref(), &grantee, low, NOW + HOUR),
                EpochDecision::Superseded { watermark: low + 1 },
                "{name}"
            );
        }
    }
}

fn previewing_never_moves_the_watermark(name: &str, store: &dyn EpochWatermarks) {
    assert_eq!(store.current("bob").unwrap(), None, "{name}");
    let g = Grants::new();
    g.present(store, &g.issue(3, &["ai/generate"]), "ai/generate")
        .unwrap();
    assert_eq!(store.current("bob").unwrap(), Some(3), "{name}");
    for _ in 0..3 {
        assert_eq!(store.current("bob").unwrap(), Some(3), "{name}");
    }
    accept(store, "bob", 4, NOW + HOUR);
    assert_eq!(store.current("bob").unwrap(), Some(4), "{name}");
}

/// Every epoch the grant format allows is kept and compared exactly: a store
/// that clamps or wraps large epochs lets a revoked grant back in.
fn epochs_compare_exactly_across_the_whole_u64_range(name: &str, store: &dyn EpochWatermarks) {
    let epochs = [
        (1 << 63) - 2,
        (1 << 63) - 1,
        1 << 63,
        u64::MAX - 1,
        u64::MAX,
    ];
    for pair in epochs.windows(2) {
        let (low, high) = (pair[0], pair[1]);
        let grantee = format!("big-{low}");
        assert_eq!(
            accept(store, &grantee, low, NOW + HOUR),
            EpochDecision::Accept,
            "{name}"
        );
        assert_eq!(
            accept(store, &grantee, high, NOW + HOUR),
            EpochDecision::Accept,
            "{name}"
        );
        assert_eq!(
            accept(store, &grantee, low, NOW + HOUR),
            EpochDecision::Superseded { watermark: high },
            "{name}: {low} after {high}"
        );
        assert_eq!(store.current(&grantee).unwrap(), Some(high), "{name}");
    }
}
