//! `grid/identity`: who this node is, as peers see it.

use super::GridNode;
use continuum_kernel::command::{Command, CommandError, Ctx, NoParams};
use continuum_wire::Access;
use schemars::JsonSchema;
use serde::Serialize;
use std::sync::Arc;

/// Shows the node's public identity.
pub(super) struct GridIdentity(pub(super) Arc<GridNode>);

/// Result of `grid/identity`. Public facts only; the secret key never leaves
/// its file.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct IdentityResult {
    /// Stable logical node id.
    pub node_id: String,
    /// The mesh this node belongs to.
    pub mesh_id: String,
    /// Ed25519 public key, hex.
    pub public_key: String,
    /// Where peers connect (loopback peer listener), when enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_listener: Option<String>,
}

impl Command for GridIdentity {
    const NAME: &'static str = "grid/identity";
    const READ_ONLY: bool = true;
    const DESCRIPTION: &'static str = "This node's public key, node id and mesh id.";
    const ACCESS: Access = Access::AiSafe;
    type Params = NoParams;
    type Output = IdentityResult;

    async fn run(&self, _: Ctx, _: NoParams) -> Result<IdentityResult, CommandError> {
        let identity = self.0.issuer.identity();
        Ok(IdentityResult {
            node_id: identity.node_id().to_owned(),
            mesh_id: identity.mesh_id().to_owned(),
            public_key: hex::encode(identity.public_key()),
            peer_listener: self.0.peer_listener.map(|addr| addr.to_string()),
        })
    }
}
