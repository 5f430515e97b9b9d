//! `grid/*`: this node's identity and the capability grants it issues and
//! holds. Everything here but `grid/identity` is owner-only: issuing a grant
//! hands out access, and held grants are credentials for other nodes.

mod grant;
mod identity;

use continuum_grant::EpochWatermarks;
use continuum_grid::NodeIdentity;
use continuum_kernel::command::{erase, ErasedCommand, Module};
use continuum_store::GrantLedger;
use std::sync::Arc;

/// Contributes `grid/identity` and `grid/grant/*`.
pub struct GridModule {
    node: Arc<GridNode>,
}

/// What the grid commands share.
pub(crate) struct GridNode {
    identity: Arc<NodeIdentity>,
    ledger: Arc<dyn GrantLedger>,
    /// The same watermarks the gate checks, so issuing epoch N supersedes
    /// every earlier grant for that peer on this node at once.
    watermarks: Arc<dyn EpochWatermarks>,
    /// The peer listener's address, when enabled.
    peer_listener: Option<std::net::SocketAddr>,
}

impl GridModule {
    /// A module for this node.
    pub fn new(
        identity: Arc<NodeIdentity>,
        ledger: Arc<dyn GrantLedger>,
        watermarks: Arc<dyn EpochWatermarks>,
        peer_listener: Option<std::net::SocketAddr>,
    ) -> Self {
        GridModule {
            node: Arc::new(GridNode {
                identity,
                ledger,
                watermarks,
                peer_listener,
            }),
        }
    }
}

impl Module for GridModule {
    fn commands(&self) -> Vec<ErasedCommand> {
        let node = || Arc::clone(&self.node);
        vec![
            erase(identity::GridIdentity(node())),
            erase(grant::GrantIssue(node())),
            erase(grant::GrantRevoke(node())),
            erase(grant::GrantList(node())),
            erase(grant::GrantHold(node())),
            erase(grant::GrantHeld(node())),
        ]
    }
}
