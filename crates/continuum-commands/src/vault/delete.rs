//! `vault/delete`: remove a credential. Owner-only and destructive.

use super::{broker_error, credential_id};
use continuum_broker::{Broker, SHARED_WALLET};
use continuum_kernel::command::{Command, CommandError, Ctx};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Deletes a credential.
pub(super) struct VaultDelete(pub(super) Arc<Broker>);

fn shared() -> String {
    SHARED_WALLET.to_owned()
}

/// Params of `vault/delete`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct DeleteParams {
    /// The wallet (default `shared`).
    #[serde(default = "shared")]
    pub wallet: String,
    /// The service.
    pub service: String,
    /// The name.
    pub name: String,
}

/// Result of `vault/delete`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct DeleteResult {
    /// Always true: deleting what is not there is `not_found`.
    pub deleted: bool,
}

impl Command for VaultDelete {
    const NAME: &'static str = "vault/delete";
    const DESCRIPTION: &'static str = "Delete a credential from the vault (owner-only).";
    const DESTRUCTIVE: bool = true;
    type Params = DeleteParams;
    type Output = DeleteResult;

    async fn run(&self, _ctx: Ctx, p: DeleteParams) -> Result<DeleteResult, CommandError> {
        let id = credential_id(&p.wallet, &p.service, &p.name)?;
        if self.0.delete(&id).await.map_err(broker_error)? {
            Ok(DeleteResult { deleted: true })
        } else {
            Err(CommandError::NotFound(format!("no credential {id}")))
        }
    }
}
