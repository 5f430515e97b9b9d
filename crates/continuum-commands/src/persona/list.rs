//! `persona/list` and `persona/show`: what personas this node hosts and
//! where each stands. AI-safe: public keys only; system prompts and problem
//! details for the owner only.

use super::persona_error;
use crate::store_error;
use continuum_kernel::command::{Command, CommandError, Ctx, NoParams};
use continuum_persona::{PersonaView, Roster};
use continuum_store::{MemoryStore, StoreError};
use continuum_wire::{Access, Trust};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Lists personas.
pub(super) struct PersonaList(pub(super) Arc<Roster>);

/// Result of `persona/list`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ListResult {
    /// Every persona ever created here (retired ones too), by birth.
    pub personas: Vec<PersonaView>,
}

impl Command for PersonaList {
    const NAME: &'static str = "persona/list";
    const READ_ONLY: bool = true;
    const DESCRIPTION: &'static str =
        "List personas: id, name, birth time, status (active, retired, key_missing, ...), provider, trust.";
    const ACCESS: Access = Access::AiSafe;
    type Params = NoParams;
    type Output = ListResult;

    async fn run(&self, ctx: Ctx, _: NoParams) -> Result<ListResult, CommandError> {
        let mut personas = self.0.list().await.map_err(persona_error)?;
        if ctx.trust() < Trust::Owner {
            personas.iter_mut().for_each(hide_private);
        }
        Ok(ListResult { personas })
    }
}

/// What only the owner sees of a persona: its system prompt and why it is
/// not running (which names files in the home).
fn hide_private(persona: &mut PersonaView) {
    persona.system_prompt.clear();
    persona.detail = None;
}

/// Shows one persona.
pub(super) struct PersonaShow(pub(super) Arc<Roster>, pub(super) Arc<dyn MemoryStore>);

/// Params of `persona/show`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ShowParams {
    /// Name or id.
    pub persona: String,
}

/// Result of `persona/show`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ShowResult {
    /// The persona.
    #[serde(flatten)]
    pub persona: PersonaView,
    /// How many memories it has.
    pub memories: u64,
}

impl Command for PersonaShow {
    const NAME: &'static str = "persona/show";
    const READ_ONLY: bool = true;
    const DESCRIPTION: &'static str = "Show one persona by name or id, with its memory count.";
    const ACCESS: Access = Access::AiSafe;
    type Params = ShowParams;
    type Output = ShowResult;

    async fn run(&self, ctx: Ctx, p: ShowParams) -> Result<ShowResult, CommandError> {
        let mut persona = self.0.show(&p.persona).await.map_err(persona_error)?;
        let memories = match self.1.count(&persona.id).await {
            Ok(count) => count,
            // Retired or broken: its memories are not reachable here.
            Err(StoreError::NotFound(_)) => 0,
            Err(err) => return Err(store_error(err)),
        };
        if ctx.trust() < Trust::Owner {
            hide_private(&mut persona);
        }
        Ok(ShowResult { persona, memories })
    }
}
