//! `vault/put`: seal a secret into the vault. Owner-only. The value is a
//! `writeOnly` param: `cu` reads it from stdin, never from a flag `ps`
//! would show, and it is never logged or echoed.

use super::{broker_error, credential_id};
use continuum_broker::{Broker, SHARED_WALLET};
use continuum_kernel::command::{Command, CommandError, Ctx};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Seals a credential.
pub(super) struct VaultPut(pub(super) Arc<Broker>);

fn shared() -> String {
    SHARED_WALLET.to_owned()
}

/// Params of `vault/put`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PutParams {
    /// Whose it is: `shared` (every actor may use it; the default), `owner`,
    /// or `persona/<id>` (that persona only).
    #[serde(default = "shared")]
    pub wallet: String,
    /// The upstream it is for, as providers.toml names it (`vault:SERVICE/NAME`).
    pub service: String,
    /// Its name within the wallet and service.
    pub name: String,
    /// The secret (read from stdin by cu; never a flag).
    #[schemars(extend("writeOnly" = true))]
    pub value: String,
}

impl std::fmt::Debug for PutParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PutParams")
            .field("wallet", &self.wallet)
            .field("service", &self.service)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Result of `vault/put`: where it went, never what.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct PutResult {
    /// The wallet.
    pub wallet: String,
    /// The service.
    pub service: String,
    /// The name.
    pub name: String,
    /// Whether it replaced an item.
    pub replaced: bool,
}

impl Command for VaultPut {
    const NAME: &'static str = "vault/put";
    const DESCRIPTION: &'static str =
        "Seal a credential into the vault (owner-only; the value comes from stdin, never a flag).";
    const DESTRUCTIVE: bool = true;
    type Params = PutParams;
    type Output = PutResult;

    async fn run(&self, _ctx: Ctx, p: PutParams) -> Result<PutResult, CommandError> {
        let id = credential_id(&p.wallet, &p.service, &p.name)?;
        let value = zeroize::Zeroizing::new(p.value);
        let replaced = self
            .0
            .put(id.clone(), value.as_bytes())
            .await
            .map_err(broker_error)?;
        Ok(PutResult {
            wallet: id.wallet,
            service: id.service,
            name: id.name,
            replaced,
        })
    }
}
