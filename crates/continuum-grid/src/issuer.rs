//! Issuing grants: the service behind `grid/grant/issue` and
//! `grid/grant/revoke`. It picks the epoch, supersedes every older grant for
//! the grantee in the gate's own watermarks, signs with the node key, and
//! records the grant, all under the ledger's lock for that grantee.

use crate::NodeIdentity;
use continuum_grant::{EpochDecision, EpochWatermarks, GrantSpec, LimitError, SignedGrant};
use continuum_store::{GrantLedger, IssuedGrant, StoreError};
use std::sync::Arc;

/// The highest epoch a grant that confers anything may carry: one below the
/// format's maximum, so a higher epoch (a revocation) always exists. A
/// revocation may use `u64::MAX` itself.
pub const MAX_ISSUABLE_EPOCH: u64 = u64::MAX - 1;

/// One grant to sign.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    /// The grantee's logical peer id.
    pub grantee: String,
    /// The grantee's ed25519 public key.
    pub grantee_key: [u8; 32],
    /// Commands conferred (none for a revocation).
    pub capabilities: Vec<String>,
    /// Start of validity, Unix ms.
    pub issued_at_ms: u64,
    /// End of validity, Unix ms.
    pub expires_at_ms: u64,
    /// The epoch asked for; `None` = one above the latest issued.
    pub epoch: Option<u64>,
    /// Whether this grant revokes (confers nothing).
    pub revocation: bool,
}

/// Who signs a grant: the node, or one of its personas selling its own
/// compute. The key never leaves the signer.
pub trait GrantSigner: Send + Sync {
    /// Signs `spec`.
    fn sign_grant(&self, spec: GrantSpec) -> Result<SignedGrant, LimitError>;
}

impl GrantSigner for NodeIdentity {
    fn sign_grant(&self, spec: GrantSpec) -> Result<SignedGrant, LimitError> {
        NodeIdentity::sign_grant(self, spec)
    }
}

/// Signs and records this node's grants.
pub struct GrantIssuer {
    identity: Arc<NodeIdentity>,
    ledger: Arc<dyn GrantLedger>,
    watermarks: Arc<dyn EpochWatermarks>,
}

impl GrantIssuer {
    /// An issuer signing with `identity`, recording in `ledger`, and
    /// superseding through `watermarks` (the same store the gate checks).
    pub fn new(
        identity: Arc<NodeIdentity>,
        ledger: Arc<dyn GrantLedger>,
        watermarks: Arc<dyn EpochWatermarks>,
    ) -> Self {
        GrantIssuer {
            identity,
            ledger,
            watermarks,
        }
    }

    /// This node's identity.
    pub fn identity(&self) -> &NodeIdentity {
        &self.identity
    }

    /// The ledger of issued and held grants.
    pub fn ledger(&self) -> &dyn GrantLedger {
        self.ledger.as_ref()
    }

    /// Raises every grantee's epoch watermark to the highest epoch this node
    /// issued it. Issuing already does this; at boot it repairs watermark
    /// stores written before epochs were stored exactly (they clamped epochs
    /// at 2^63-1, so a revocation above that was not remembered). Returns
    /// how many grantees were checked.
    pub async fn reconcile_watermarks(&self, now_ms: u64) -> Result<usize, StoreError> {
        let issued = self.ledger.list_issued(None).await?;
        let mut latest: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
        for grant in &issued {
            let entry = latest.entry(&grant.grantee_peer_id).or_insert((0, 0));
            entry.0 = entry.0.max(grant.epoch);
            entry.1 = entry.1.max(grant.expires_at_ms);
        }
        for (grantee, (epoch, expires_at_ms)) in &latest {
            self.watermarks
                .check_and_advance(grantee, *epoch, *expires_at_ms, now_ms)
                .map_err(|err| StoreError::Backend(err.to_string()))?;
        }
        Ok(latest.len())
    }

    /// Issues `request`. A refusal is `StoreError::Invalid` naming the field
    /// (`/epoch`, `/capabilities`); nothing is issued unless every step
    /// succeeds.
    pub async fn issue(&self, request: IssueRequest) -> Result<IssuedGrant, StoreError> {
        self.issue_signed_by(request, Arc::clone(&self.identity) as Arc<dyn GrantSigner>)
            .await
    }

    /// Issues `request` signed by `signer` (a persona of this node), with
    /// the same epochs, ledger and watermarks as the node's own grants: a
    /// newer grant to a grantee supersedes every older one, whoever signed it.
    pub async fn issue_signed_by(
        &self,
        request: IssueRequest,
        signer: Arc<dyn GrantSigner>,
    ) -> Result<IssuedGrant, StoreError> {
        let identity = Arc::clone(&self.identity);
        let watermarks = Arc::clone(&self.watermarks);
        let grantee = request.grantee.clone();
        let mint = move |latest: Option<u64>| -> Result<IssuedGrant, StoreError> {
            let ceiling = if request.revocation {
                u64::MAX
            } else {
                MAX_ISSUABLE_EPOCH
            };
            let epoch = pick_epoch(request.epoch, latest, &request.grantee, ceiling)?;
            let spec = GrantSpec {
                mesh_id: identity.mesh_id().to_owned(),
                grantee_peer_id: request.grantee.clone(),
                grantee_key: request.grantee_key,
                capabilities: request.capabilities.clone(),
                issued_at_ms: request.issued_at_ms,
                expires_at_ms: request.expires_at_ms,
                epoch,
            };
            let grant = signer
                .sign_grant(spec)
                .map_err(|limit| StoreError::invalid("/capabilities", limit.to_string()))?
                .to_text();
            // Supersede earlier grants here before the new one exists
            // anywhere: if this fails, nothing was issued (fail closed).
            let decision = watermarks
                .check_and_advance(
                    &request.grantee,
                    epoch,
                    request.expires_at_ms,
                    request.issued_at_ms,
                )
                .map_err(|err| StoreError::Backend(err.to_string()))?;
            if let EpochDecision::Superseded { watermark } = decision {
                // The ledger lost track (e.g. restored from an old backup): a
                // grant at this epoch would be dead on arrival.
                return Err(StoreError::invalid(
                    "/epoch",
                    match next_epoch(watermark, ceiling) {
                        Some(next) => format!(
                            "this node has already seen epoch {watermark} for '{}'; issue with epoch {next}",
                            request.grantee
                        ),
                        None => format!(
                            "this node has already seen epoch {watermark} for '{}', the highest there is; issue grants to this peer under a new peer id",
                            request.grantee
                        ),
                    },
                ));
            }
            Ok(IssuedGrant {
                grantee_peer_id: request.grantee,
                epoch,
                capabilities: request.capabilities,
                issued_at_ms: request.issued_at_ms,
                expires_at_ms: request.expires_at_ms,
                revocation: request.revocation,
                grant,
            })
        };
        self.ledger.issue(grantee, Box::new(mint)).await
    }
}

/// The epoch after `epoch`, if it exists and is at most `ceiling`.
fn next_epoch(epoch: u64, ceiling: u64) -> Option<u64> {
    epoch.checked_add(1).filter(|&next| next <= ceiling)
}

/// The epoch to issue: the one asked for, or one above the latest; always
/// above the latest and at most `ceiling`.
fn pick_epoch(
    asked: Option<u64>,
    latest: Option<u64>,
    grantee: &str,
    ceiling: u64,
) -> Result<u64, StoreError> {
    let too_high = |epoch: u64| {
        StoreError::invalid(
            "/epoch",
            format!(
                "epoch {epoch} leaves no higher epoch to revoke it with; the highest issuable epoch is {ceiling}"
            ),
        )
    };
    match (asked, latest) {
        (Some(epoch), _) if epoch > ceiling => Err(too_high(epoch)),
        (Some(epoch), Some(latest)) if epoch <= latest => Err(StoreError::invalid(
            "/epoch",
            match next_epoch(latest, ceiling) {
                Some(next) => format!(
                    "epoch {epoch} is not above {latest}, the latest issued to '{grantee}'; omit it to use {next}"
                ),
                None => format!(
                    "epoch {epoch} is not above {latest}, the latest issued to '{grantee}', and no higher epoch is issuable"
                ),
            },
        )),
        (Some(epoch), _) => Ok(epoch),
        (None, None) => Ok(1),
        (None, Some(latest)) => {
            next_epoch(latest, ceiling).ok_or_else(|| too_high(latest.saturating_add(1)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use continuum_grant::InMemoryWatermarks;
    use continuum_store::SqliteGrantLedger;

    #[tokio::test]
    async fn reconciling_restores_watermarks_an_older_store_clamped() {
        let dir = tempfile::tempdir().unwrap();
        let identity = Arc::new(NodeIdentity::load_or_create(&dir.path().join("id")).unwrap());
        let ledger = Arc::new(SqliteGrantLedger::open(&dir.path().join("grid.sqlite")).unwrap());
        let watermarks = Arc::new(InMemoryWatermarks::default());
        let issuer = GrantIssuer::new(identity, ledger, watermarks.clone());
        let revoked_at = (1u64 << 63) + 5;
        issuer
            .issue(IssueRequest {
                grantee: "bob".into(),
                grantee_key: [9; 32],
                capabilities: vec![],
                issued_at_ms: 1,
                expires_at_ms: u64::MAX / 2,
                epoch: Some(revoked_at),
                revocation: true,
            })
            .await
            .unwrap();
        // What an older store would hold: the epoch clamped at 2^63-1.
        let fresh = Arc::new(InMemoryWatermarks::default());
        fresh.check_and_advance("bob", (1 << 63) - 1, 2, 1).unwrap();
        let issuer = GrantIssuer::new(
            Arc::clone(&issuer.identity),
            Arc::clone(&issuer.ledger),
            fresh.clone(),
        );
        assert_eq!(issuer.reconcile_watermarks(1).await.unwrap(), 1);
        assert_eq!(fresh.watermark("bob"), Some(revoked_at));
        assert_eq!(watermarks.watermark("bob"), Some(revoked_at));
    }

    fn field(result: Result<u64, StoreError>) -> String {
        match result {
            Err(StoreError::Invalid { field, reason }) => format!("{field}: {reason}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn every_issuable_epoch_leaves_room_for_a_revocation() {
        let grant = |asked, latest| pick_epoch(asked, latest, "b", MAX_ISSUABLE_EPOCH);
        let revocation = |asked, latest| pick_epoch(asked, latest, "b", u64::MAX);
        assert_eq!(grant(None, None).unwrap(), 1);
        assert_eq!(grant(None, Some(7)).unwrap(), 8);
        for epoch in [(1 << 63) - 2, (1 << 63) - 1, 1 << 63, u64::MAX - 1] {
            assert_eq!(grant(Some(epoch), None).unwrap(), epoch);
            // ... and each can be revoked.
            assert_eq!(revocation(None, Some(epoch)).unwrap(), epoch + 1);
        }
        assert!(field(grant(Some(u64::MAX), None))
            .starts_with("/epoch: epoch 18446744073709551615 leaves no higher epoch"));
        // After a revocation at the top, nothing more can be issued to the peer.
        assert!(field(grant(None, Some(u64::MAX))).contains("no higher epoch"));
        assert!(field(revocation(None, Some(u64::MAX))).contains("no higher epoch"));
        assert!(field(grant(Some(5), Some(5))).contains("omit it to use 6"));
        assert!(field(grant(Some(3), Some(u64::MAX - 1))).contains("no higher epoch is issuable"));
    }
}
