//! `vault/list`: what the vault holds (wallets, services, names, times),
//! never a value. Owner-only.

use super::broker_error;
use continuum_broker::Broker;
use continuum_kernel::command::{Command, CommandError, Ctx};
use continuum_store::CredentialInfo;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Lists credentials.
pub(super) struct VaultList(pub(super) Arc<Broker>);

/// Params of `vault/list`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ListParams {
    /// Only this wallet and those below it (`persona` covers `persona/x`).
    #[serde(default)]
    pub wallet: Option<String>,
}

/// Result of `vault/list`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ListResult {
    /// The items, by wallet, service and name.
    pub items: Vec<CredentialInfo>,
}

impl Command for VaultList {
    const NAME: &'static str = "vault/list";
    const DESCRIPTION: &'static str =
        "List the vault's credentials: wallets, services, names and times, never values (owner-only).";
    const READ_ONLY: bool = true;
    type Params = ListParams;
    type Output = ListResult;

    async fn run(&self, _ctx: Ctx, p: ListParams) -> Result<ListResult, CommandError> {
        let items = self
            .0
            .list(p.wallet.as_deref())
            .await
            .map_err(broker_error)?;
        Ok(ListResult { items })
    }
}
