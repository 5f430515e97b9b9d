//! `grid/*`: this node's identity and the capability grants it issues and
//! holds. Everything here but `grid/identity` is owner-only: issuing a grant
//! hands out access, and held grants are credentials for other nodes.

mod grant;
mod identity;

use continuum_grant::EpochWatermarks;
use continuum_grid::{GrantIssuer, NodeIdentity};
use continuum_kernel::command::{erase, ErasedCommand, Module};
use continuum_persona::Roster;
use continuum_store::GrantLedger;
use std::sync::Arc;

/// Contributes `grid/identity` and `grid/grant/*`.
pub struct GridModule {
    node: Arc<GridNode>,
}

/// What the grid commands share.
pub(crate) struct GridNode {
    /// Signs and records grants (and holds the identity and the ledger).
    issuer: GrantIssuer,
    /// The peer listener's address, when enabled.
    peer_listener: Option<std::net::SocketAddr>,
    /// The personas that may sign grants for their own compute.
    personas: Option<Arc<Roster>>,
}

impl GridModule {
    /// A module for this node. `watermarks` must be the store the gate
    /// checks, so issuing epoch N supersedes every earlier grant for that
    /// peer on this node at once.
    pub fn new(
        identity: Arc<NodeIdentity>,
        ledger: Arc<dyn GrantLedger>,
        watermarks: Arc<dyn EpochWatermarks>,
        peer_listener: Option<std::net::SocketAddr>,
    ) -> Self {
        GridModule {
            node: Arc::new(GridNode {
                issuer: GrantIssuer::new(identity, ledger, watermarks),
                peer_listener,
                personas: None,
            }),
        }
    }

    /// Lets `grid/grant/issue --persona NAME` sign with that persona's key.
    pub fn with_personas(self, roster: Arc<Roster>) -> Self {
        let node = Arc::into_inner(self.node).expect("the module is not shared yet");
        GridModule {
            node: Arc::new(GridNode {
                personas: Some(roster),
                ..node
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
