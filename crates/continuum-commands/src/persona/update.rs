//! `persona/update`: change a persona's name or configuration. Owner-only.
//! Its id, birth time and key never change.

use super::persona_error;
use crate::ai::Providers;
use continuum_inference::ThinkingMode;
use continuum_kernel::command::{Command, CommandError, Ctx};
use continuum_persona::{PersonaPatch, PersonaView, Roster};
use continuum_wire::Trust;
use schemars::JsonSchema;
use serde::Deserialize;
use std::sync::Arc;

/// Updates a persona.
pub(super) struct PersonaUpdate(pub(super) Arc<Roster>, pub(super) Arc<Providers>);

/// Params of `persona/update`: what is absent stays as it is.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct UpdateParams {
    /// The persona, by name or id.
    pub persona: String,
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New provider.
    #[serde(default)]
    pub provider: Option<String>,
    /// New model (empty: the provider's model).
    #[serde(default)]
    pub model: Option<String>,
    /// New system prompt.
    #[serde(default)]
    pub system_prompt: Option<String>,
    /// New thinking mode.
    #[serde(default)]
    pub thinking: Option<ThinkingMode>,
    /// New trust (never `owner`).
    #[serde(default)]
    pub trust: Option<Trust>,
}

impl Command for PersonaUpdate {
    const NAME: &'static str = "persona/update";
    const DESCRIPTION: &'static str =
        "Change a persona's name, provider, model, system prompt, thinking mode or trust.";
    type Params = UpdateParams;
    type Output = PersonaView;

    async fn run(&self, _: Ctx, p: UpdateParams) -> Result<PersonaView, CommandError> {
        if let Some(provider) = &p.provider {
            self.1.adapter(Some(provider))?;
        }
        self.0
            .update(
                &p.persona,
                PersonaPatch {
                    name: p.name,
                    provider: p.provider,
                    model: p.model,
                    system_prompt: p.system_prompt,
                    thinking: p.thinking,
                    trust: p.trust,
                },
            )
            .await
            .map_err(persona_error)
    }
}
