//! `persona/create`: a new persona with its own home and key. Owner-only.

use super::persona_error;
use crate::ai::Providers;
use continuum_inference::ThinkingMode;
use continuum_kernel::command::{Command, CommandError, Ctx};
use continuum_persona::{NewPersona, PersonaView, Roster};
use continuum_wire::Trust;
use schemars::JsonSchema;
use serde::Deserialize;
use std::sync::Arc;

/// Creates a persona.
pub(super) struct PersonaCreate(pub(super) Arc<Roster>, pub(super) Arc<Providers>);

/// Params of `persona/create`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct CreateParams {
    /// Name, unique; `@name` addresses it in a room.
    pub name: String,
    /// Provider from providers.toml (e.g. `local`).
    pub provider: String,
    /// Model override; the provider's model when absent.
    #[serde(default)]
    pub model: Option<String>,
    /// System prompt.
    #[serde(default)]
    pub system_prompt: Option<String>,
    /// Thinking mode: `suppress` (default), `default` or `on`.
    #[serde(default)]
    pub thinking: Option<ThinkingMode>,
    /// Trust: `provisional` (default), `trusted` or `blocked`; never `owner`.
    #[serde(default)]
    pub trust: Option<Trust>,
}

impl Command for PersonaCreate {
    const NAME: &'static str = "persona/create";
    const DESCRIPTION: &'static str =
        "Create a persona: a name, a provider, a system prompt and a trust level, with its own key and home.";
    type Params = CreateParams;
    type Output = PersonaView;

    async fn run(&self, _: Ctx, p: CreateParams) -> Result<PersonaView, CommandError> {
        self.1.adapter(Some(&p.provider))?;
        self.0
            .create(NewPersona {
                name: p.name,
                provider: p.provider,
                model: p.model,
                system_prompt: p.system_prompt,
                thinking: p.thinking,
                trust: p.trust,
            })
            .await
            .map_err(persona_error)
    }
}
