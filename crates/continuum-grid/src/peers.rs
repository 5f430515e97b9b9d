//! [`Peers`]: the peer registry as the rest of the node uses it (ADR 0015,
//! Decision 3). The [`PeerStore`] is the truth; an in-memory index answers
//! the lookups a TLS handshake and every gate decision make, synchronously,
//! so neither waits on SQLite.
//!
//! Every write goes to the store first and the index second, so a failed
//! write changes nothing.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use continuum_kernel::credential::PeerDirectory;
use continuum_store::{PeerRecord, PeerStore, StoreError};
use continuum_wire::Trust;
use dashmap::DashMap;

use crate::tls::ClientKeys;

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeersError {
    /// The store refused or failed (conflict, not found, I/O ...).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored key is not 64 hex digits (the store checks this on write,
    /// so only a damaged file gets here).
    #[error("peer {peer}: key {key:?} is not an ed25519 key in hex")]
    BadKey {
        /// The peer id.
        peer: String,
        /// The offending text.
        key: String,
    },
}

/// Which of a peer's keys was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyStatus {
    /// Its current key.
    Current,
    /// A key it rotated away from, accepted until its grace ends.
    Previous {
        /// End of the grace, Unix ms.
        valid_until_ms: u64,
    },
}

/// The registry service: the store plus the index.
pub struct Peers {
    store: Arc<dyn PeerStore>,
    by_id: DashMap<String, PeerRecord>,
    /// Current and previous keys -> peer id. Grace is checked at lookup, so
    /// an expired previous key stops matching without a rebuild.
    by_key: DashMap<[u8; 32], String>,
    /// Name -> peer id.
    by_name: DashMap<String, String>,
}

impl std::fmt::Debug for Peers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peers")
            .field("peers", &self.by_id.len())
            .finish_non_exhaustive()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn parse_key(peer: &str, key: &str) -> Result<[u8; 32], PeersError> {
    let bad = || PeersError::BadKey {
        peer: peer.to_owned(),
        key: key.to_owned(),
    };
    hex::decode(key)
        .map_err(|_| bad())?
        .try_into()
        .map_err(|_| bad())
}

/// Every key `peer` holds, decoded.
fn keys_of(peer: &PeerRecord) -> Result<Vec<[u8; 32]>, PeersError> {
    std::iter::once(peer.key.as_str())
        .chain(peer.previous_keys.iter().map(|p| p.key.as_str()))
        .map(|key| parse_key(&peer.id, key))
        .collect()
}

impl Peers {
    /// Loads the index from `store` (at boot).
    pub async fn load(store: Arc<dyn PeerStore>) -> Result<Self, PeersError> {
        let peers = Peers {
            store,
            by_id: DashMap::new(),
            by_key: DashMap::new(),
            by_name: DashMap::new(),
        };
        for peer in peers.store.list().await? {
            peers.index(peer)?;
        }
        Ok(peers)
    }

    fn index(&self, peer: PeerRecord) -> Result<(), PeersError> {
        let keys = keys_of(&peer)?;
        for key in keys {
            self.by_key.insert(key, peer.id.clone());
        }
        self.by_name.insert(peer.name.clone(), peer.id.clone());
        self.by_id.insert(peer.id.clone(), peer);
        Ok(())
    }

    fn unindex(&self, id: &str) {
        if let Some((_, old)) = self.by_id.remove(id) {
            self.by_name.remove_if(&old.name, |_, owner| owner == id);
            for key in keys_of(&old).unwrap_or_default() {
                self.by_key.remove_if(&key, |_, owner| owner == id);
            }
        }
    }

    /// Registers a new peer (store conflicts on id, name or key).
    pub async fn insert(&self, peer: PeerRecord) -> Result<(), PeersError> {
        keys_of(&peer)?;
        self.store.insert(peer.clone()).await?;
        self.index(peer)
    }

    /// Replaces a peer's record (trust, keys, addresses ...).
    pub async fn update(&self, peer: PeerRecord) -> Result<(), PeersError> {
        keys_of(&peer)?;
        self.store.update(peer.clone()).await?;
        // Index the new record before dropping what it no longer holds, so
        // a handshake racing this update never finds the peer missing.
        let old = self.by_id.get(&peer.id).map(|e| e.value().clone());
        let keys = keys_of(&peer)?;
        let id = peer.id.clone();
        let name = peer.name.clone();
        self.index(peer)?;
        if let Some(old) = old {
            if old.name != name {
                self.by_name.remove_if(&old.name, |_, owner| *owner == id);
            }
            for key in keys_of(&old).unwrap_or_default() {
                if !keys.contains(&key) {
                    self.by_key.remove_if(&key, |_, owner| *owner == id);
                }
            }
        }
        Ok(())
    }

    /// Forgets a peer; `false` when it was not registered.
    pub async fn remove(&self, id: &str) -> Result<bool, PeersError> {
        let removed = self.store.remove(id).await?;
        self.unindex(id);
        Ok(removed)
    }

    /// Every registered peer, by name.
    pub fn list(&self) -> Vec<PeerRecord> {
        let mut peers: Vec<PeerRecord> = self.by_id.iter().map(|e| e.value().clone()).collect();
        peers.sort_by(|a, b| a.name.cmp(&b.name));
        peers
    }

    /// The peer with id `id`.
    pub fn by_id(&self, id: &str) -> Option<PeerRecord> {
        self.by_id.get(id).map(|e| e.value().clone())
    }

    /// The peer named `name` locally.
    pub fn by_name(&self, name: &str) -> Option<PeerRecord> {
        let id = self.by_name.get(name)?.value().clone();
        self.by_id(&id)
    }

    /// The peer holding `key` at `now_ms`: its current key, or a previous
    /// key whose grace has not ended. Blocked peers are returned too; the
    /// caller decides.
    pub fn by_key(&self, key: &[u8; 32], now_ms: u64) -> Option<(PeerRecord, KeyStatus)> {
        let id = self.by_key.get(key)?.value().clone();
        let peer = self.by_id(&id)?;
        let status = status_of(&peer, key, now_ms)?;
        Some((peer, status))
    }

    /// The trust of peer `id` proving `key` at `now_ms`; `None` when `key`
    /// is neither its current key nor a previous key in grace.
    pub fn trust_at(&self, id: &str, key: &[u8; 32], now_ms: u64) -> Option<Trust> {
        let peer = self.by_id.get(id)?;
        status_of(peer.value(), key, now_ms).map(|_| peer.value().trust)
    }
}

fn status_of(peer: &PeerRecord, key: &[u8; 32], now_ms: u64) -> Option<KeyStatus> {
    let hex_key = hex::encode(key);
    if peer.key == hex_key {
        return Some(KeyStatus::Current);
    }
    peer.previous_keys
        .iter()
        .find(|p| p.key == hex_key && now_ms < p.valid_until_ms)
        .map(|p| KeyStatus::Previous {
            valid_until_ms: p.valid_until_ms,
        })
}

impl PeerDirectory for Peers {
    fn trust(&self, peer_id: &str, key: &[u8; 32]) -> Option<Trust> {
        self.trust_at(peer_id, key, now_ms())
    }
}

/// On `continuum-grid/1`, a client key passes when a registered peer holds
/// it (current, or previous in grace) and that peer is not Blocked.
impl ClientKeys for Peers {
    fn accepts(&self, key: &[u8; 32]) -> bool {
        self.by_key(key, now_ms())
            .is_some_and(|(peer, _)| peer.trust != Trust::Blocked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use continuum_store::{InMemoryPeers, PreviousKey};

    fn record(id: &str, name: &str, key: [u8; 32], trust: Trust) -> PeerRecord {
        PeerRecord {
            id: id.to_owned(),
            name: name.to_owned(),
            key: hex::encode(key),
            generation: 0,
            previous_keys: Vec::new(),
            trust,
            addresses: Vec::new(),
            paired_at_ms: 1,
            last_seen_ms: None,
            updated_at_ms: 1,
        }
    }

    async fn peers() -> Peers {
        Peers::load(Arc::new(InMemoryPeers::new())).await.unwrap()
    }

    #[tokio::test]
    async fn lookups_by_key_name_and_id_agree() {
        let peers = peers().await;
        peers
            .insert(record("node-b", "b", [2; 32], Trust::Trusted))
            .await
            .unwrap();
        let (found, status) = peers.by_key(&[2; 32], 0).unwrap();
        assert_eq!(found.id, "node-b");
        assert_eq!(status, KeyStatus::Current);
        assert_eq!(peers.by_name("b").unwrap().id, "node-b");
        assert_eq!(peers.trust_at("node-b", &[2; 32], 0), Some(Trust::Trusted));
        assert_eq!(peers.trust_at("node-b", &[3; 32], 0), None);
        assert!(peers.by_key(&[3; 32], 0).is_none());
    }

    #[tokio::test]
    async fn a_previous_key_counts_only_in_grace() {
        let peers = peers().await;
        let mut peer = record("node-b", "b", [2; 32], Trust::Provisional);
        peer.previous_keys.push(PreviousKey {
            key: hex::encode([9; 32]),
            generation: 0,
            valid_until_ms: 1_000,
        });
        peer.generation = 1;
        peers.insert(peer).await.unwrap();
        assert_eq!(
            peers.by_key(&[9; 32], 999).map(|(_, s)| s),
            Some(KeyStatus::Previous {
                valid_until_ms: 1_000
            })
        );
        assert!(peers.by_key(&[9; 32], 1_000).is_none());
        assert_eq!(peers.trust_at("node-b", &[9; 32], 1_000), None);
    }

    #[tokio::test]
    async fn blocking_refuses_the_key_and_forgetting_drops_it() {
        let peers = peers().await;
        let peer = record("node-b", "b", [2; 32], Trust::Trusted);
        peers.insert(peer.clone()).await.unwrap();
        assert!(peers.accepts(&[2; 32]));
        peers
            .update(PeerRecord {
                trust: Trust::Blocked,
                ..peer
            })
            .await
            .unwrap();
        assert!(!peers.accepts(&[2; 32]));
        assert_eq!(peers.trust("node-b", &[2; 32]), Some(Trust::Blocked));
        assert!(peers.remove("node-b").await.unwrap());
        assert_eq!(peers.trust("node-b", &[2; 32]), None);
        assert!(peers.by_name("b").is_none());
    }

    #[tokio::test]
    async fn an_update_drops_keys_and_names_the_peer_no_longer_holds() {
        let peers = peers().await;
        let peer = record("node-b", "b", [2; 32], Trust::Trusted);
        peers.insert(peer.clone()).await.unwrap();
        peers
            .update(PeerRecord {
                key: hex::encode([4; 32]),
                name: "bee".into(),
                ..peer
            })
            .await
            .unwrap();
        assert!(peers.by_key(&[2; 32], 0).is_none());
        assert_eq!(peers.by_key(&[4; 32], 0).unwrap().0.id, "node-b");
        assert!(peers.by_name("b").is_none());
        assert_eq!(peers.by_name("bee").unwrap().id, "node-b");
    }

    #[tokio::test]
    async fn a_failed_write_changes_nothing() {
        let peers = peers().await;
        peers
            .insert(record("node-b", "b", [2; 32], Trust::Trusted))
            .await
            .unwrap();
        // Same name: the store refuses, the index keeps the first.
        assert!(peers
            .insert(record("node-c", "b", [3; 32], Trust::Trusted))
            .await
            .is_err());
        assert!(peers.by_key(&[3; 32], 0).is_none());
        assert_eq!(peers.by_name("b").unwrap().id, "node-b");
    }

    #[tokio::test]
    async fn the_index_is_loaded_from_the_store() {
        let store = Arc::new(InMemoryPeers::new());
        store
            .insert(record("node-b", "b", [2; 32], Trust::Trusted))
            .await
            .unwrap();
        let peers = Peers::load(store).await.unwrap();
        assert_eq!(peers.by_key(&[2; 32], 0).unwrap().0.name, "b");
    }
}
