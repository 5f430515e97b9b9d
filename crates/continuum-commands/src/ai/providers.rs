//! `ai/providers`: the configured providers, without keys.

use super::Providers;
use continuum_inference::ProviderInfo;
use continuum_kernel::command::{Command, CommandError, Ctx, NoParams};
use continuum_wire::Access;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Lists the configured providers.
pub(super) struct AiProviders(pub(super) Arc<Providers>);

/// Result of `ai/providers`.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProvidersOutput {
    /// Name, kind, base URL, default model, thinking mode and credential
    /// *name* of each provider, by name. Never a key.
    pub providers: Vec<ProviderInfo>,
    /// The provider used when a request names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_provider: Option<String>,
    /// Where the configuration is read from (at daemon start).
    pub config_file: String,
    /// Why the configuration could not be used, when it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_error: Option<String>,
}

impl Command for AiProviders {
    const NAME: &'static str = "ai/providers";
    const READ_ONLY: bool = true;
    const DESCRIPTION: &'static str =
        "List the configured model providers (names, kinds, base URLs, models; never keys).";
    const ACCESS: Access = Access::AiSafe;
    type Params = NoParams;
    type Output = ProvidersOutput;

    async fn run(&self, _: Ctx, _: NoParams) -> Result<ProvidersOutput, CommandError> {
        let providers = &self.0;
        Ok(ProvidersOutput {
            providers: providers.registry.providers(),
            default_provider: providers.registry.default_provider().map(str::to_owned),
            config_file: providers.file.clone(),
            config_error: providers.load_error.clone(),
        })
    }
}
