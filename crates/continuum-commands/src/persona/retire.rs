//! `persona/retire`: the persona stops answering and its home moves to the
//! archive, whole. Nothing is deleted. Owner-only.

use super::persona_error;
use continuum_kernel::command::{Command, CommandError, Ctx};
use continuum_persona::{PersonaView, Roster};
use schemars::JsonSchema;
use serde::Deserialize;
use std::sync::Arc;

/// Retires a persona.
pub(super) struct PersonaRetire(pub(super) Arc<Roster>);

/// Params of `persona/retire`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RetireParams {
    /// The persona, by name or id.
    pub persona: String,
}

impl Command for PersonaRetire {
    const NAME: &'static str = "persona/retire";
    const DESCRIPTION: &'static str =
        "Retire a persona: it stops answering; its home is archived under archive/personas/, never deleted.";
    type Params = RetireParams;
    type Output = PersonaView;

    async fn run(&self, _: Ctx, p: RetireParams) -> Result<PersonaView, CommandError> {
        self.0.retire(&p.persona).await.map_err(persona_error)
    }
}
